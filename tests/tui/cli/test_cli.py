"""The plain commands as a script would use them: output, JSON and exit codes."""

from __future__ import annotations

import io
import json
import os
import select
import shlex
import signal
import subprocess
import sys
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import IO

import pytest

from tests.tui.cli.helpers import run
from tui.cli.main import main

D = Decimal


def test_quote_json_has_every_venue_and_the_best_with_exact_decimal_strings() -> None:
    code, out = run("quote", "--demo", "--amount", "2", "--quote", "EUR", "--json")
    assert code == 0
    obj = json.loads(out)
    assert (obj["amount_btc"], obj["quote_currency"], obj["mode"]) == ("2", "EUR", "single")
    venues = {v["venue"]: v for v in obj["venues"]}
    assert set(venues) == {"binance", "binanceus", "coinbase", "kraken", "bitstamp", "okx"}
    for v in venues.values():
        assert v["status"] == "ok"
        notional, fee, total = D(v["notional"]), D(v["fee"]), D(v["total"])
        assert fee == notional * D(v["fee_rate"])
        assert total == notional + fee
        # A derived figure: rounded to 8 places (README, JSON output).
        assert D(v["avg_price"]) == (notional / 2).quantize(D("1e-8"))
        assert isinstance(v["levels_used"], int)
    best = obj["best"]
    assert best["total"] == min((v["total"] for v in venues.values()), key=D)
    assert venues[best["venue"]]["total"] == best["total"]


def test_quote_table_reads_well() -> None:
    code, out = run("quote", "--demo", "--amount", "1", "--venues", "kraken,okx,coinbase")
    assert code == 0
    lines = out.splitlines()
    assert (
        lines[0] == "Cost to buy 1.00 BTC in USD, walking each order book and adding the taker fee:"
    )
    assert lines[2].split() == [
        "venue",
        "status",
        "avg",
        "price",
        "fee",
        "fee",
        "amt",
        "total",
        "vs",
        "best",
    ]
    rows = [ln for ln in lines if ln.split()[:1] and ln.split()[0] in {"kraken", "okx", "coinbase"}]
    assert len(rows) == 3
    assert rows[0].endswith("best")
    assert out.count("Best: ") == 1


def test_quote_split_mode_in_json() -> None:
    code, out = run("quote", "--demo", "--amount", "5", "--mode", "split", "--json")
    assert code == 0
    obj = json.loads(out)
    assert obj["mode"] == "split"
    singles = [D(v["total"]) for v in obj["venues"] if v["status"] == "ok"]
    assert D(obj["best"]["total"]) <= min(singles)


def test_quote_with_a_thin_book_reports_insufficient_depth_and_exits_4() -> None:
    code, out = run("quote", "--demo", "--amount", "900", "--json")
    assert code == 4
    obj = json.loads(out)
    assert {v["status"] for v in obj["venues"]} == {"insufficient_depth"}
    assert obj["best"] is None and "split" not in obj
    code, text = run("quote", "--demo", "--amount", "900")
    assert code == 4
    assert "No venue can fill 900.00 BTC right now, even split across venues (their books " in text


def test_an_amount_only_a_split_can_fill_points_to_mode_split_and_exits_4() -> None:
    code, text = run("quote", "--demo", "--amount", "100")
    assert code == 4
    last = text.strip().splitlines()[-1]
    assert last.startswith("No single venue can fill 100.00 BTC right now; --mode split can: ")
    code, out = run("quote", "--demo", "--amount", "100", "--json")
    obj = json.loads(out)
    assert code == 4 and obj["best"] is None and len(obj["split"]["legs"]) > 1
    code, out = run("quote", "--demo", "--amount", "100", "--mode", "split", "--json")
    assert code == 0 and len(json.loads(out)["best"]["legs"]) > 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["quote", "--demo", "--amount", "-1"], "--amount: must be more than 0 BTC"),
        (
            ["quote", "--demo", "--amount", "1", "--quote", "JPY"],
            "--quote: 'JPY' is not one of USD, USDT, USDC, EUR",
        ),
        (["quote", "--demo", "--amount", "1", "--venues", "ftx"], "--venues: unknown venue ftx"),
        (
            ["run", "--headless", "--demo", "--amount", "1", "--duration", "soon"],
            "--duration: 'soon' is not a duration",
        ),
        (
            ["run", "--headless", "--demo", "--amount", "1", "--duration", "1h", "--tranches", "0"],
            "--tranches: must be at least 1",
        ),
        (
            [
                "run",
                "--headless",
                "--demo",
                "--amount",
                "1",
                "--duration",
                "1h",
                "--max-price",
                "x",
            ],
            "--max-price: 'x' is not a price",
        ),
        (
            ["run", "--headless", "--demo", "--amount", "1", "--duration", "1h", "--speed", "fast"],
            "--speed: 'fast' is not a number",
        ),
        (
            ["run", "--headless", "--demo", "--amount", "1", "--duration", "1h", "--speed", "0"],
            "--speed: must be a number above 0",
        ),
        (
            ["run", "--headless", "--demo", "--amount", "1", "--duration", "1h", "--speed", "1e9"],
            "--speed: at most 10,000 (a week of demo time a minute); 1e9 would date",
        ),
        (
            # A frozen demo clock: the simulated venues would never answer.
            ["quote", "--demo", "--amount", "1", "--speed", "1e-9"],
            "--speed: at least 0.1 (1 is real time)",
        ),
        # A negative duration gets the app's message, as a negative amount does.
        (
            ["run", "--headless", "--demo", "--amount", "1", "--duration", "-1h"],
            "--duration: '-1h' is not a duration",
        ),
        (["run", "--demo", "--amount", "1", "--duration", "1h", "--tranches", "-3"], "--tranches"),
        # Live venues have no clock to speed up: refused, not silently ignored.
        (["quote", "--amount", "1", "--speed", "100"], "--speed: only with --demo"),
        (["--speed", "100", "history"], "--speed: only with --demo"),
        # An empty data dir would be the current folder.
        (["--data-dir", "", "history"], "--data-dir: empty"),
        (["history", "--data-dir", " "], "--data-dir: empty"),
        # A mistyped config path would run on a fresh default config without a word.
        (["--config", "/nonexistent/btc-dca.toml", "history"], "--config: /nonexistent/btc-"),
        (["quote", "--demo", "--amount", "1", "--config", ""], "--config: empty"),
    ],
)
def test_invalid_input_names_the_field_and_exits_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = run(*argv)
    assert code == 2
    assert out == ""
    assert message in capsys.readouterr().err
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").rglob("*.parquet"))


def test_run_headless_json_lines_add_up(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(
        "run",
        "--headless",
        "--demo",
        "--amount",
        "0.5",
        "--duration",
        "12m",
        "--tranches",
        "12",
        "--speed",
        "10000",
        "--json",
    )
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    tranches = [e for e in events if e["event"] == "tranche"]
    summary = events[-1]
    assert summary["event"] == "summary"
    assert [t["index"] for t in tranches] == list(range(1, 13))
    assert {t["of"] for t in tranches} == {12}
    assert sum(D(t["qty"]) for t in tranches) == D(summary["qty"]) == D("0.5")
    assert sum(D(t["total"]) for t in tranches) == D(summary["total"])
    assert summary["tranches"] == 12
    for t in tranches:
        assert set(t) >= {
            "run_id",
            "at",
            "venue",
            "qty",
            "avg_price",
            "notional",
            "fee",
            "total",
            "alternatives",
        }
        assert D(t["total"]) == min(D(v) for v in t["alternatives"].values() if v is not None)
        assert t["at"].endswith("Z")
    assert D(summary["saved_vs_worst"]) >= 0


def test_run_headless_text_prints_a_line_per_tranche_and_a_summary() -> None:
    code, out = run(
        "run",
        "--headless",
        "--demo",
        "--amount",
        "0.3",
        "--duration",
        "3m",
        "--tranches",
        "3",
        "--speed",
        "10000",
        # Venues the demo's scripted trouble leaves alone (Kraken drops out 20 demo-minutes
        # in, under 0.2 s at this speed: a slow start would print its outage first).
        "--venues",
        "okx,binance",
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Run ")
    assert (
        "buy 0.30 BTC in USD over 3m, 3 tranches of 0.1 BTC, one every 1m, mode single" in lines[0]
    )
    assert [ln[:5] for ln in lines if ln.startswith("[")] == ["[1/3]", "[2/3]", "[3/3]"]
    assert "next best" in lines[1]
    assert lines[-2].startswith("Finished: bought 0.30 of 0.30 BTC in 3 tranches for ")
    assert lines[-1].startswith("Execution quality (+ costs more): vs arrival mid ")


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for word in ("quote", "run", "--demo", "--data-dir", "BTC_DCA_CONFIG", "exit codes"):
        assert word in text


def test_version_says_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"btc-dca {metadata.version('btc-dca')}\n"


def _line(stream: IO[str], deadline_s: float = 20.0) -> str:
    """One line from a child's pipe, or fail the test after ``deadline_s`` (never hang)."""
    ready, _, _ = select.select([stream], [], [], deadline_s)
    assert ready, "the child printed nothing in time"
    return stream.readline()


def test_ctrl_c_stops_cleanly_with_a_summary_and_exit_130(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BTC_DCA_DATA_DIR": str(tmp_path / "d"),
        "BTC_DCA_CONFIG": str(tmp_path / "c.toml"),
    }
    argv = [sys.executable, "-m", "tui.cli", "run", "--headless", "--demo", "--amount", "1"]
    argv += ["--duration", "1d", "--tranches", "1000", "--speed", "3600"]
    argv += ["--venues", "okx,binance,coinbase"]  # no scripted outage among the lines read
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        assert proc.stdout is not None
        lines = [_line(proc.stdout), _line(proc.stdout)]
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert lines[1].startswith("[1/1000]")
    assert rest.splitlines()[-3].startswith("Interrupted: bought ")
    assert rest.splitlines()[-2].startswith("Execution quality (+ costs more): ")
    hint = rest.splitlines()[-1]
    assert hint.startswith("Resume it with: btc-dca --data-dir ")
    # Followed verbatim from another shell (none of this one's variables), it resumes the run.
    words = shlex.split(hint.removeprefix("Resume it with: "))
    assert words[0] == "btc-dca"
    exe = str(Path(sys.executable).with_name("btc-dca"))
    bare = {k: v for k, v in env.items() if k not in ("BTC_DCA_DATA_DIR", "BTC_DCA_CONFIG")}
    with subprocess.Popen(
        [exe, *words[1:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=bare
    ) as proc:
        assert proc.stdout is not None
        first = _line(proc.stdout)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert first.startswith("Resuming run "), first


def test_a_run_that_buys_nothing_is_incomplete_with_exit_4(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["run", "--headless", "--demo", "--amount", "0.3", "--duration", "3m"]
    argv += ["--tranches", "3", "--speed", "10000", "--max-price", "80000"]
    argv += ["--venues", "okx,binance"]  # no scripted outage line before the first skip
    code, out = run(*argv)
    assert code == 4
    assert out.splitlines()[-1] == "Incomplete: bought nothing of 0.30 BTC (3 tranches skipped)."
    skip = out.splitlines()[1]
    assert "skipped (above the maximum price): best price " in skip
    assert "is above the maximum 80,000" in skip
    code, out = run(*argv, "--json")
    summary = json.loads(out.splitlines()[-1])
    assert (code, summary["status"], summary["qty"], summary["target"]) == (
        4,
        "incomplete",
        "0",
        "0.3",
    )


def test_the_dashboard_is_refused_when_stdout_is_not_a_terminal(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BTC_DCA_DATA_DIR": str(tmp_path / "d"),
        "BTC_DCA_CONFIG": str(tmp_path / "c.toml"),
    }
    env.pop("TEXTUAL_DRIVER", None)
    for args, hint in (
        (["run", "--demo", "--amount", "0.1", "--duration", "1h"], "btc-dca run --headless"),
        (["resume"], "btc-dca resume --headless"),
        ([], "with --headless (run, resume), quote or history"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "tui.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert done.stdout == ""
        assert done.stderr.startswith(
            "btc-dca: the dashboard needs a terminal and stdout is not one; use "
        )
        assert hint in done.stderr


class _ReaderGoneAfter(io.StringIO):
    """An output whose reader goes away once it has read ``lines`` lines (``| head -N``)."""

    def __init__(self, lines: int) -> None:
        super().__init__()
        self.left = lines

    def write(self, text: str) -> int:
        if self.left <= 0:
            raise BrokenPipeError(32, "Broken pipe")
        self.left -= text.count("\n")
        return super().write(text)


def test_a_reader_gone_after_the_last_fill_leaves_the_run_finished_not_resumable(
    tmp_path: Path,
) -> None:
    argv = ["run", "--headless", "--demo", "--amount", "0.02", "--duration", "2m"]
    argv += ["--tranches", "2", "--speed", "10000", "--venues", "okx,binance"]
    # The plan line and the first fill are read; the last fill's line finds no reader.
    # The run had bought its whole amount: finished, and its exit code says so.
    out = _ReaderGoneAfter(2)
    assert main(argv, out=out) == 0
    assert out.getvalue().splitlines()[-1].startswith("[1/2] ")
    _code, listed = run("history", "--json")
    row = json.loads(listed.splitlines()[0])
    assert (row["status"], row["resumable"], row["qty_btc"]) == ("finished", False, "0.02")
    assert run("resume", "--headless")[0] == 2


def test_record_whose_reader_goes_away_stops_quietly_with_130(tmp_path: Path) -> None:
    """``btc-dca record | head -1``: like every other command, not a data dir failure."""
    env = {
        **os.environ,
        "BTC_DCA_DATA_DIR": str(tmp_path / "d"),
        "BTC_DCA_CONFIG": str(tmp_path / "c.toml"),
    }
    argv = [sys.executable, "-m", "tui.cli", "record", "--demo", "--speed", "600"]
    argv += ["--duration", "1h", "--venues", "okx,binance"]
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert _line(proc.stdout).startswith("Recording OKX, Binance in USD")
        proc.stdout.close()  # head -1 has its line and goes
        err = proc.stderr.read()
        proc.wait(timeout=30)
    assert (proc.returncode, err) == (130, "")


def test_quote_below_a_venues_minimum_marks_that_venue_and_quotes_the_others(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """0.00005 BTC is below Kraken's and Bitstamp's 0.0001 minimum, not the others'."""
    argv = ("quote", "--demo", "--amount", "0.00005", "--venues", "kraken,okx,binance")
    code, out = run(*argv)
    assert code == 0, capsys.readouterr().err
    lines = out.splitlines()
    assert any(line.startswith("okx ") and " ok " in line for line in lines)
    kraken = next(line for line in lines if line.startswith("kraken"))
    assert "below minimum" in kraken and "its minimum order is 0.0001 BTC" in kraken
    code, out = run(*argv, "--json")
    obj = json.loads(out)
    rows = {r["venue"]: r for r in obj["venues"]}
    assert rows["kraken"] == {
        "venue": "kraken",
        "status": "below_minimum",
        "min_order_btc": "0.0001",
    }
    assert rows["okx"]["status"] == "ok" and obj["best"]["venue"] in ("okx", "binance")
    # Only Kraken chosen: nothing left to quote, and the minimum says why.
    assert run("quote", "--demo", "--amount", "0.00005", "--venues", "kraken")[0] == 2
    assert "below Kraken's minimum order of 0.0001 BTC" in capsys.readouterr().err


def test_an_interrupted_run_can_be_abandoned_and_is_then_over(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["run", "--headless", "--demo", "--amount", "0.02", "--duration", "2m"]
    argv += ["--tranches", "2", "--speed", "10000", "--venues", "okx,binance"]
    # The reader goes after the first fill's line: the run stops there, interrupted.
    assert main(argv, out=_ReaderGoneAfter(1)) == 130
    run_id = json.loads(run("history", "--json")[1].splitlines()[0])["run_id"]
    capsys.readouterr()
    # cancel is for runs in progress; it says how to give a stopped one up.
    assert run("cancel", run_id)[0] == 2
    assert f"abandon {run_id}" in capsys.readouterr().err
    code, out = run("abandon", run_id)
    assert code == 0
    assert out.startswith(f"Run {run_id} abandoned (bought 0.01 of 0.02 BTC in 1 tranche for ")
    row = json.loads(run("history", "--json")[1].splitlines()[0])
    assert (row["status"], row["resumable"], row["qty_btc"]) == ("abandoned", False, "0.01")
    assert run("resume", "--headless")[0] == 2  # nothing left to resume
    assert run("abandon", run_id)[0] == 2
    assert "is abandoned; only paused, interrupted and failed runs" in capsys.readouterr().err
