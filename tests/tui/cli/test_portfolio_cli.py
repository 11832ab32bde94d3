"""``btc-dca portfolio``: the totals equal the runs they sum; backtests never count."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.standins.binance import BinanceStandIn
from tests.standins.serve import serving_in_thread
from tests.tui.cli.helpers import run

D = Decimal
RUN = ["run", "--demo", "--speed", "10000", "--headless"]
KEY = "k3yForTheStandIn"
SECRET = "s3cretNEVERshownANYWHERE0123456789abcdef"
VENUE = ("--venues", "binance", "--quote", "USDT", "--rest")


def test_the_portfolio_sums_every_paper_run_and_no_backtest() -> None:
    assert run(*RUN, "--amount", "0.01", "--duration", "3h", "--tranches", "3")[0] == 0
    assert run(*RUN, "--spend", "500", "--duration", "2h", "--tranches", "2",
               "--mode", "split")[0] == 0  # fmt: skip
    assert run("backtest", "--demo", "--from", "2026-11-30T00:00:00Z", "--to",
               "2026-11-30T02:00:00Z", "--amount", "0.2", "--tranches", "2")[0] == 0  # fmt: skip
    code, out = run("portfolio", "--demo", "--json")
    assert code == 0, out
    p = json.loads(out)
    rows = [json.loads(line) for line in run("history", "--json")[1].splitlines()]
    runs = [r for r in rows if r["source"] != "backtest"]
    assert len(rows) == 3 and len(runs) == 2
    assert p["scope"] == "paper" and p["quote"] == "USD" and p["runs"] == 2
    assert D(p["btc"]) == sum(D(r["qty_btc"]) for r in runs)
    assert D(p["cost"]) == sum(D(r["total"]) for r in runs)
    assert D(p["fees"]) == sum(D(r["fee"]) for r in runs)
    # A division: rounded half-even to 8 places, as every derived figure (docs/output.md).
    assert D(p["avg_cost"]) == (D(p["cost"]) / D(p["btc"])).quantize(D("1E-8"))
    # The breakdowns add up to the totals, to the last digit.
    for breakdown in (p["venues"], p["months"]):
        assert sum(D(b["btc"]) for b in breakdown.values()) == D(p["btc"])
        assert sum(D(b["cost"]) for b in breakdown.values()) == D(p["cost"])
    # Valued at the simulated market's best bid now.
    assert D(p["value"]) == D(p["btc"]) * D(p["bid"])
    assert D(p["pnl"]) == D(p["value"]) - D(p["cost"])
    assert p["bid_venue"]


def test_the_text_says_what_it_covers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run("portfolio", "--demo")
    assert code == 0 and out.strip() == "No paper runs in USD yet (backtests never count)."
    assert run(*RUN, "--amount", "0.01", "--duration", "1h", "--tranches", "1")[0] == 0
    code, out = run("portfolio", "--demo")
    assert code == 0, out
    assert out.startswith("Portfolio of 1 paper run in USD (backtests never count):")
    assert "avg cost" in out and "P/L" in out and "per venue" in out and "per month" in out
    code, out = run("portfolio", "--demo", "--live")
    assert out.strip() == "No real runs in USD yet (backtests never count)."
    code, out = run("portfolio", "--demo", "--quote", "EUR")
    assert "No paper runs in EUR yet" in out and "Not summed here: 1 in USD" in out


def test_paper_and_live_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run("portfolio", "--paper", "--live")
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_real_runs_on_a_local_venue_are_the_default_and_paper_runs_stay_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    standin = BinanceStandIn(key=KEY, secret=SECRET)
    with serving_in_thread(standin.app()) as url:
        monkeypatch.setenv("BTC_DCA_BINANCE_REST_URL", url)
        monkeypatch.setenv("BTC_DCA_BINANCE_API_KEY", KEY)
        monkeypatch.setenv("BTC_DCA_BINANCE_API_SECRET", SECRET)
        monkeypatch.setenv("BTC_DCA_LOG_DIR", str(tmp_path / "logs"))
        assert run(*RUN, "--amount", "0.01", "--duration", "1h", "--tranches", "1")[0] == 0
        code, out = run(
            "run", "--live", "--yes", "--headless", "--json", *VENUE,
            "--amount", "0.02", "--duration", "2s", "--tranches", "2",
        )  # fmt: skip
        assert code == 0, out + capsys.readouterr().err
        code, out = run("portfolio", "--json", *VENUE[:-1])
        assert code == 0, out
    real = json.loads(out)
    rows = {r["run_id"]: r for r in map(json.loads, run("history", "--json")[1].splitlines())}
    (live_id,) = (i for i, r in rows.items() if r["execution"] == "live")
    assert real["scope"] == "live" and real["quote"] == "USDT" and real["runs"] == 1
    assert D(real["btc"]) == D(rows[live_id]["qty_btc"]) > 0
    assert D(real["cost"]) == D(rows[live_id]["total"])
    assert D(real["fees"]) == D(rows[live_id]["fee"])
    assert list(real["venues"]) == ["binance"] and real["bid_venue"] == "binance"
    assert D(real["value"]) == D(real["btc"]) * D(real["bid"])
    # The paper run is not in it, and --paper shows it alone.
    code, out = run("portfolio", "--json", "--paper", "--demo")
    paper = json.loads(out)
    (paper_id,) = (i for i in rows if i != live_id)
    assert paper["scope"] == "paper" and paper["quote"] == "USD" and paper["runs"] == 1
    assert D(paper["btc"]) == D(rows[paper_id]["qty_btc"])
    assert D(paper["cost"]) == D(rows[paper_id]["total"])
