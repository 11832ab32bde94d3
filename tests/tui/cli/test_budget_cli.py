"""``run --spend``: a budget in money from the command line, into history, exact to the cent."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from storage.history.queries import History
from storage.history.resume import load_resumable
from tests.tui.cli.helpers import run

D = Decimal
RUN = ["run", "--demo", "--speed", "10000", "--headless"]


def data_dir() -> Path:
    import os

    return Path(os.environ["BTC_DCA_DATA_DIR"])


def test_a_budget_run_spends_it_to_the_cent_and_history_shows_the_budget() -> None:
    """On venues that sell to the satoshi the run spends its budget to the cent."""
    code, out = run(
        *RUN, "--json", "--spend", "1000", "--duration", "6h", "--tranches", "6",
        "--venues", "coinbase,kraken,bitstamp,okx",
    )  # fmt: skip
    assert code == 0, out
    events = [json.loads(line) for line in out.splitlines()]
    tranches = [e for e in events if e["event"] == "tranche"]
    summary = events[-1]
    assert len(tranches) == 6 and summary["status"] == "finished"
    assert D(summary["total"]).quantize(D("0.01")) == D("1000.00")
    assert summary["budget"] == "1000" and D(summary["left"]) < D("0.01")
    assert sum(D(t["total"]) for t in tranches) == D(summary["total"])
    assert tranches[0]["spend"] == "166.66"

    code, text = run("history")
    assert code == 0
    assert "1,000.00 USD" in text.splitlines()[2]  # the budget where an amount would be
    code, text = run("history", "--json")
    row = json.loads(text.splitlines()[0])
    assert row["spend"] == "1000" and row["amount_btc"] == "0"


def test_a_budget_run_on_coarse_lots_leaves_less_than_one_lot_and_says_so() -> None:
    """Binance sells in steps of 0.00001 BTC (about 0.90 USD): the last tranche's change,
    under one lot at its price, is what the run leaves, and the summary says so."""
    code, out = run(
        *RUN, "--json", "--spend", "1000", "--duration", "6h", "--tranches", "6",
        "--venues", "binance",
    )  # fmt: skip
    assert code == 0, out
    events = [json.loads(line) for line in out.splitlines()]
    last = [e for e in events if e["event"] == "tranche"][-1]
    summary = events[-1]
    assert summary["status"] == "finished"
    total, left = D(summary["total"]), D(summary["left"])
    assert D(0) <= left < D("0.00001") * D(last["avg_price"]) * D("1.001")
    assert total + left == D("1000") and D(last["change"]) == left


def test_the_text_lines_say_the_budget_and_what_is_left() -> None:
    code, out = run(*RUN, "--spend", "300", "--duration", "2h", "--tranches", "2")
    assert code == 0, out
    assert "spend 300.00 USD (fees in) over 2h, 2 tranches of 150.00 USD, one every 1h" in out
    code, seven = run(*RUN, "--spend", "1000", "--duration", "7h", "--tranches", "7")
    assert "7 tranches of 142.85 to 142.86 USD, one every 1h" in seven
    assert "with a budget of 300.00 USD, 0.00 USD left, in 2 tranches for 300.00 USD" in out


def test_an_incomplete_budget_run_says_how_much_is_left(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(
        *RUN, "--spend", "300", "--duration", "2h", "--tranches", "2", "--max-price", "1"
    )
    assert code == 4, out
    assert "Incomplete: bought nothing of a budget of 300.00 USD (2 tranches skipped)" in out
    assert "150.00 USD carried to the next tranche" in out


@pytest.mark.parametrize(
    ("args", "fields"),
    [
        (["--spend", "100", "--amount", "0.1"], ["--amount", "--spend"]),
        (["--spend", "1.234"], ["--spend"]),
        (["--spend", "10", "--tranches", "6"], ["--tranches"]),  # 1.66 USD a tranche
        (["--spend", "5"], ["--spend"]),  # under Kraken's 0.0001 BTC even in one tranche
    ],
)
def test_bad_budgets_exit_2_naming_the_field_and_write_nothing(
    args: list[str], fields: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run(*RUN, "--duration", "6h", *args)
    err = capsys.readouterr().err
    assert code == 2, err
    for name in fields:
        assert f"btc-dca: {name}: " in err
    assert History(data_dir()).run_count() == 0


def test_neither_amount_nor_spend_names_both(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(*RUN, "--duration", "6h")[0] == 2
    assert "--amount: required (BTC to buy), or --spend" in capsys.readouterr().err


def test_a_budget_run_resumes_with_the_money_still_to_spend() -> None:
    # Interrupt after the first tranche: the reader of the output goes away.
    import io

    from tui.cli.main import main

    class OneLine(io.StringIO):
        def write(self, s: str) -> int:
            if "[2/" in s:
                raise BrokenPipeError
            return super().write(s)

    code = main([*RUN, "--spend", "400", "--duration", "4h", "--tranches", "4"], out=OneLine())
    assert code == 130
    runs = History(data_dir()).run_summaries()
    run_id = str(runs["run_id"][0])
    stopped = load_resumable(data_dir(), run_id)
    assert stopped.plan.spend == D("400") and stopped.before.budget == D("400")
    code, out = run("resume", run_id, "--headless", "--json", "--demo", "--speed", "10000")
    assert code == 0, out
    summary = json.loads(out.splitlines()[-1])
    assert summary["status"] == "finished"
    assert D(summary["total"]).quantize(D("0.01")) == D("400.00")
