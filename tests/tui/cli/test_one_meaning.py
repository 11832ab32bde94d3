"""One meaning per word and number, as a script or a person reads the commands: tranches
numbered from 1 everywhere, a skipped tranche's BTC column counts what was bought (0),
"saved" always against the worst venue, a start event first, derived figures rounded."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from pathlib import Path

import pytest

from tests.tui.cli.helpers import run

D = Decimal
FAST = ("--demo", "--speed", "10000", "--venues", "okx,bitstamp,coinbase")


def _events(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def test_run_json_starts_with_the_run_id_and_the_plan_before_any_tranche() -> None:
    code, out = run(
        "run", "--headless", "--amount", "0.3", "--duration", "3m", "--tranches", "3",
        *FAST, "--json",
    )  # fmt: skip
    assert code == 0
    first, *rest = _events(out)
    assert first["event"] == "started"
    run_id = first["run_id"]
    assert isinstance(run_id, str) and run_id
    assert all(e["run_id"] == run_id for e in rest)
    plan = first["plan"]
    assert isinstance(plan, dict)
    assert plan["amount"] == "0.3" and plan["tranches"] == 3 and plan["duration_s"] == 180
    assert plan["quote"] == "USD" and plan["mode"] == "single" and plan["max_price"] is None
    assert plan["venues"] == ["okx", "bitstamp", "coinbase"]
    sizes = first["sizes"]
    assert isinstance(sizes, list) and [D(x) for x in sizes] == [D("0.1")] * 3
    assert first["resumed"] is False and first["done"] == 0


def test_tranches_are_numbered_from_1_in_run_and_history_json_csv_and_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    code, out = run(
        "run", "--headless", "--amount", "0.3", "--duration", "3m", "--tranches", "3",
        "--max-price", "1000", *FAST, "--json",
    )  # fmt: skip
    assert code == 4  # every tranche above the maximum price: short of the amount
    events = _events(out)
    run_id = events[0]["run_id"]
    skipped = [e for e in events if e["event"] == "skipped"]
    assert [e["index"] for e in skipped] == [1, 2, 3]
    code, out = run("history", "--run", str(run_id), "--json")
    assert code == 0
    assert [e["index"] for e in _events(out)] == [1, 2, 3]
    csv_path = tmp_path / "t.csv"
    code, _ = run("history", "--run", str(run_id), "--csv", str(csv_path))
    assert code == 0
    lines = csv_path.read_text().splitlines()
    header = lines[0].split(",")
    at = header.index("index")
    assert [line.split(",")[at] for line in lines[1:]] == ["1", "2", "3"]
    logged = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert any(f"run {run_id} tranche 1 of 3 skipped" in m for m in logged), logged
    assert not any("tranche 0 " in m for m in logged), logged


def test_a_skipped_tranche_counts_no_btc_and_says_what_it_carried(tmp_path: Path) -> None:
    code, out = run(
        "run", "--headless", "--amount", "0.3", "--duration", "3m", "--tranches", "3",
        "--max-price", "1000", *FAST, "--json",
    )  # fmt: skip
    assert code == 4
    events = _events(out)
    skipped = [e for e in events if e["event"] == "skipped"]
    # The BTC bought: none. What it asked for and what it carried are named as such.
    assert [D(str(e["qty"])) for e in skipped] == [0, 0, 0]
    assert [D(str(e["requested"])) for e in skipped] == [D("0.1"), D("0.2"), D("0.3")]
    summary = events[-1]
    assert D(str(summary["qty"])) == sum(D(str(e["qty"])) for e in skipped) == 0
    run_id = str(events[0]["run_id"])
    code, out = run("history", "--run", run_id)
    assert code == 0
    lines = out.splitlines()
    header = lines[0]
    assert "BTC" in header.split()
    rows = lines[2:]
    btc_at = header.index("BTC")
    cells = [row[btc_at - 8 : btc_at + 3].split()[-1] for row in rows if "skipped" in row]
    assert cells == ["0.00000000"] * 3, rows
    assert "0.10000000 BTC carried" in rows[0], rows[0]


def test_saved_is_against_the_worst_venue_and_run_lines_name_the_next_best(tmp_path: Path) -> None:
    code, out = run(
        "run", "--headless", "--amount", "0.3", "--duration", "3m", "--tranches", "3", *FAST,
    )  # fmt: skip
    assert code == 0
    lines = [line for line in out.splitlines() if line.startswith("[")]
    assert len(lines) == 3
    for line in lines:
        # Against the next-best venue it says "vs next best", never "saved".
        assert "saved" not in line, line
        assert "vs next best " in line, line
    # The summary's "saved" says what it is against.
    assert "saved" in out.splitlines()[-2] and "vs the worst venue" in out
    code, out = run("history")
    assert code == 0
    header = out.splitlines()[0]
    assert "saved vs worst" in header
    assert "saved vs worst: " in out  # the legend
    run_id = out.splitlines()[2].split()[2]
    code, out = run("history", "--run", run_id)
    assert "saved vs worst" in out.splitlines()[0]


def test_derived_figures_in_json_are_rounded_at_documented_precisions() -> None:
    code, out = run(
        "run", "--headless", "--amount", "0.37", "--duration", "7m", "--tranches", "7",
        *FAST, "--json",
    )  # fmt: skip
    assert code == 0
    events = _events(out)

    def places(text: object) -> int:
        s = str(text)
        return len(s.split(".")[1]) if "." in s else 0

    for e in events:
        if e["event"] == "tranche":
            assert places(e["avg_price"]) <= 8, e["avg_price"]
    summary = events[-1]
    assert places(summary["avg_price"]) <= 8, summary["avg_price"]
    quality = summary["quality"]
    assert isinstance(quality, dict)
    assert places(quality["fee_share"]) <= 8, quality["fee_share"]
    assert places(quality["twap_mid"]) <= 8, quality["twap_mid"]
    assert places(quality["vs_twap"]) <= 8, quality["vs_twap"]
    code, out = run("status", "--json")
    code, out = run("quote", "--amount", "0.37", "--demo", "--json")
    quote = json.loads(out)
    for v in quote["venues"]:
        if v["status"] == "ok":
            assert places(v["avg_price"]) <= 8, v["avg_price"]


def test_a_backtest_compare_table_rounds_its_derived_figures_too() -> None:
    from tests.tui.cli.test_backtest import backtest

    code, out = backtest(
        "--demo", "--amount", "0.37", "--tranches", "3", "--venues", "kraken,okx,bitstamp",
        "--json", "--compare",
    )  # fmt: skip
    assert code == 0
    events = _events(out)
    compare = next(e for e in events if e["event"] == "compare")
    rows = compare["rows"]
    assert isinstance(rows, list) and rows
    for row in rows:
        for key in ("effective_price", "vs_this_plan"):
            text = str(row[key] or "")
            assert len(text.split(".")[1]) <= 8 if "." in text else True, (key, text)
