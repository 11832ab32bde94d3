"""record and backtest as a user runs them: the demo lake, the replay, compare, bad input."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from tests.tui.cli.helpers import run
from tui.cli.backtest import parse_time
from tui.cli.options import UsageError
from tui.cli.parser import join_relative_times

D = Decimal
FROM, TO = "2026-11-30T00:00:00Z", "2026-11-30T04:00:00Z"


def backtest(*argv: str) -> tuple[int, str]:
    """``backtest`` over the recorded window FROM to TO."""
    return run("backtest", "--from", FROM, "--to", TO, *argv)


def test_times_read_as_iso_utc_or_relative_to_now() -> None:
    now = 1_767_225_600.0
    assert parse_time("now", now, "--to") == now
    assert parse_time("-24h", now, "--from") == now - 86400
    assert parse_time("2026-01-01T00:00", now, "--from") == now  # UTC when it says nothing
    assert parse_time("2026-01-01T01:00+01:00", now, "--from") == now
    with pytest.raises(UsageError, match="--from: 'yesterday' is not a time"):
        parse_time("yesterday", now, "--from")
    assert join_relative_times(["backtest", "--from", "-6h", "--to", "-1h", "--amount", "1"]) == [
        "backtest",
        "--from=-6h",
        "--to=-1h",
        "--amount",
        "1",
    ]


def test_a_demo_backtest_replays_prints_like_a_run_and_is_saved_as_a_backtest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = backtest(
        "--demo",
        "--amount",
        "0.4",
        "--tranches",
        "4",
        "--venues",
        "kraken,okx,bitstamp",
        "--json",
        "--compare",
    )
    assert code == 0, capsys.readouterr().err
    events = [json.loads(line) for line in out.splitlines()]
    head, *rest = events
    assert head["event"] == "backtest" and head["venues"] == ["kraken", "okx", "bitstamp"]
    assert head["from"] == "2026-11-30T00:00:00Z" and head["snapshots"] == 12  # 4 × 3 venues
    tranches = [e for e in rest if e["event"] == "tranche"]
    assert [t["at"] for t in tranches] == [f"2026-11-30T0{h}:00:00.000Z" for h in range(4)]
    for t in tranches:
        alts = {v: D(x) for v, x in t["alternatives"].items() if x is not None}
        assert D(t["total"]) == min(alts.values())  # the cheapest venue, as live
        assert D(t["quality"]["mid_best"]) > 0
    summary = next(e for e in rest if e["event"] == "summary")
    assert D(summary["qty"]) == D("0.4")
    assert D(summary["total"]) == sum(D(t["total"]) for t in tranches)
    q = summary["quality"]
    assert D(q["shortfall"]) == D(summary["total"]) - D("0.4") * D(q["arrival_mid"])
    compare = next(e for e in rest if e["event"] == "compare")
    labels = [r["plan"] for r in compare["rows"]]
    assert labels == [
        "this plan (single)",
        "single",
        "split",
        "kraken alone",
        "okx alone",
        "bitstamp alone",
        "all at the start",
    ]
    rows = {r["plan"]: r for r in compare["rows"]}
    assert rows["single"]["total"] == summary["total"]
    assert D(rows["split"]["total"]) <= D(summary["total"])  # split never loses to single
    alone = [D(rows[f"{v} alone"]["total"]) for v in ("kraken", "okx", "bitstamp")]
    assert D(summary["total"]) <= min(alone)
    assert rows["all at the start"]["tranches"] == 1

    runs = pl.read_parquet(tmp_path / "data" / "runs" / "*" / "*.parquet")
    assert set(runs["source"]) == {"backtest"}
    assert runs.sort("rev")["status"].to_list() == ["running", "finished"]
    extra = json.loads(runs["plan_extra"][0])
    assert extra["backtest_from"] == "2026-11-30T00:00:00Z"
    tr = pl.read_parquet(tmp_path / "data" / "tranches" / "*" / "*.parquet")
    assert tr.height == 4 and tr["tca_mid_best"].null_count() == 0
    assert not (tmp_path / "data" / "quotes").exists()  # the lake is the archive

    # The text output: the same lines as a run, then the comparison table.
    code, text = backtest(
        "--amount",
        "0.4",
        "--tranches",
        "4",
        "--venues",
        "kraken,okx,bitstamp",
        "--compare",
    )
    assert code == 0
    lines = text.splitlines()
    assert lines[0].startswith(
        "Backtest over recorded books 2026-11-30 00:00:00 → 2026-11-30 04:00:00"
    )
    assert lines[1].startswith("Run ") and lines[2].startswith("[1/4] 2026-11-30 00:00:00  ")
    assert any(ln.startswith("Execution quality (+ costs more): vs arrival mid ") for ln in lines)
    assert any(ln.startswith("okx alone ") for ln in lines)


def test_compare_measures_every_row_from_one_arrival_mid_and_agrees_on_the_lump_sum(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every row's shortfall is from the plan's arrival mid (a dearer row costs more bps),
    and under --max-price the "all at the start" row is the summary's lump sum."""
    code, out = backtest(
        "--demo",
        "--amount",
        "0.4",
        "--tranches",
        "4",
        "--venues",
        "kraken,okx,bitstamp",
        "--max-price",
        "89500",
        "--json",
        "--compare",
    )
    assert code == 0, capsys.readouterr().err
    events = [json.loads(line) for line in out.splitlines()]
    summary = next(e for e in events if e["event"] == "summary")
    rows = [r for e in events if e["event"] == "compare" for r in e["rows"]]
    arrival = D(summary["quality"]["arrival_mid"])
    for r in rows:
        if D(r["qty"]):
            # shortfall_bps = (total - qty x arrival) / (qty x arrival), in bps, to 4 places.
            expected = (D(r["total"]) - D(r["qty"]) * arrival) / (D(r["qty"]) * arrival)
            assert abs(D(r["shortfall_bps"]) - expected * 10000) < D("0.001"), r["plan"]
    lump = next(r for r in rows if r["plan"] == "all at the start")
    assert D(lump["total"]) == D(summary["quality"]["lump_total"])
    assert D(lump["qty"]) == D("0.4")


def test_bad_windows_and_venues_say_what_is_wrong_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("backtest", "--from", TO, "--to", FROM, "--amount", "1")
    assert code == 2
    assert (
        "--from: 2026-11-30 04:00:00 is not before --to 2026-11-30 00:00:00"
        in capsys.readouterr().err
    )

    code, _ = backtest("--amount", "1")
    assert code == 2
    assert "no books are recorded in" in capsys.readouterr().err
    # No book is ever 0 s old; with --demo that limit would have no lake to generate.
    assert backtest("--demo", "--amount", "1", "--max-age", "0s") == (2, "")
    assert capsys.readouterr().err.startswith("btc-dca: --max-age: must be longer than 0s")
    assert not (tmp_path / "data" / "market").exists()

    # Record a window for two venues, then ask for other things.
    assert (
        backtest(
            "--demo",
            "--amount",
            "0.1",
            "--tranches",
            "2",
            "--venues",
            "kraken,okx",
        )[0]
        == 0
    )
    capsys.readouterr()
    before = sorted(p.name for p in (tmp_path / "data" / "runs").rglob("*.parquet"))
    code, _ = backtest("--amount", "1", "--venues", "coinbase")
    assert code == 2
    assert "--venues: coinbase never recorded (recorded: kraken, okx)" in capsys.readouterr().err
    code, _ = run(
        "backtest",
        "--from",
        "2026-10-01T00:00Z",
        "--to",
        "2026-10-02T00:00Z",
        "--amount",
        "1",
        "--venues",
        "kraken",
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "no USD books recorded between 2026-10-01 00:00:00 and 2026-10-02 00:00:00" in err
    assert "market/ holds 2026-11-29 to 2026-11-30" in err
    code, _ = backtest(
        "--amount",
        "1",
        "--venues",
        "kraken",
        "--quote",
        "EUR",
    )
    assert code == 2
    assert "kraken: recorded in USD in the window, not EUR" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "data" / "runs").rglob("*.parquet")) == before

    # A corrupt file is skipped with a warning naming it; the backtest still runs.
    part = next((tmp_path / "data" / "market").rglob("venue=okx/*.parquet")).parent
    (part / "part-0-broken.parquet").write_bytes(b"not parquet")
    code, _ = backtest(
        "--amount",
        "0.1",
        "--tranches",
        "2",
        "--venues",
        "kraken,okx",
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "warning: skipped " in err and "part-0-broken.parquet: not a readable Parquet" in err


def test_record_writes_the_demo_books_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The demo clock at 60x: 2 minutes of market in 2 seconds, a line a (clock) minute.
    code, out = run(
        "record",
        "--demo",
        "--speed",
        "60",
        "--venues",
        "kraken,okx",
        "--interval",
        "10s",
        "--duration",
        "2m",
        "--depth",
        "20",
    )
    assert code == 0, capsys.readouterr().err
    lines = out.splitlines()
    assert lines[0].startswith("Recording Kraken, OKX in USD: top 20 levels a side every 10s")
    assert lines[-1].startswith("Done: ") and "live: Kraken, OKX" in lines[-1]
    assert any("recorded" in ln for ln in lines[1:-1])  # the line a minute
    df = pl.read_parquet(tmp_path / "data" / "market" / "*" / "*" / "*.parquet")
    assert set(df["venue"]) == {"kraken", "okx"}
    assert df["ask_price"].list.len().max() == 20
    assert 20 <= df.height <= 30  # ~12 looks a venue, written when the book changed
    assert run("record", "--depth", "0")[0] == 2
    capsys.readouterr()
    for option in ("--interval", "--duration"):
        assert run("record", "--demo", option, "-1")[0] == 2
        assert capsys.readouterr().err.startswith(f"btc-dca: {option}: '-1' is not a duration")
    # A window of nothing is refused, not read as "until Ctrl-C" and ended at once.
    assert run("record", "--demo", "--duration", "0s") == (2, "")
    assert capsys.readouterr().err.startswith("btc-dca: --duration: must be longer than 0s")


def test_ctrl_c_stops_a_recording_with_every_snapshot_written_whole(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    data = tmp_path / "rec"
    env = {**os.environ, "BTC_DCA_DATA_DIR": str(data), "BTC_DCA_CONFIG": str(tmp_path / "c.toml")}
    argv = [sys.executable, "-m", "tui.cli", "record", "--demo", "--speed", "60"]
    argv += ["--venues", "kraken,okx", "--interval", "10s"]
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("Recording Kraken, OKX in USD"), first
        time.sleep(1.5)  # 90 s of the demo clock: a few looks, nothing flushed yet
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert rest.splitlines()[-1].startswith("Stopped: ")
    files = list((data / "market").rglob("*"))
    assert not [f for f in files if f.name.endswith(".tmp")]  # nothing torn
    books = pl.read_parquet(data / "market" / "*" / "*" / "*.parquet")
    assert set(books["venue"]) == {"kraken", "okx"} and books.height >= 2
