"""What a headless run prints when things go wrong: skips, venues down and back, splits."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from dca.executor import Executor
from dca.journal import FanOut, MemoryJournal
from dca.plan import build_plan
from dca.quote import quote
from dca.routing import Mode
from exchanges.clock import SimClock
from exchanges.errors import ErrorKind
from exchanges.market import Health
from exchanges.simulated import Fault, SimulatedMarket
from exchanges.venues import DEFAULT_SPECS
from storage.history.journal import RunConflict
from tui.cli.printers import Printer, quote_json, quote_text
from tui.cli.run import run_command
from tui.fmt import btc, money

D = Decimal
T0 = 1_767_225_600.0


async def troubled_run(as_json: bool) -> list[str]:
    """4 tranches of 2.5 BTC, split mode; Kraken is down for tranche 2, everyone for tranche 3."""
    clock = SimClock(T0)
    faults = [
        Fault(
            "kraken",
            T0 + 3600,
            T0 + 7200,
            Health.DOWN,
            ErrorKind.RESTRICTED,
            "HTTP 451: restricted location",
        )
    ]
    faults += [Fault(v, T0 + 7200, T0 + 10800, Health.DOWN) for v in DEFAULT_SPECS]
    plan = build_plan(amount="10", duration="4h", tranches=4, mode="split", specs=DEFAULT_SPECS)
    out = io.StringIO()
    journal = MemoryJournal()
    await Executor(
        plan,
        SimulatedMarket(clock, faults=faults),
        FanOut(journal, Printer(out, as_json, "USD")),
        clock,
        run_id="r",
    ).run()
    return out.getvalue().splitlines()


async def test_text_lines_tell_the_story() -> None:
    lines = await troubled_run(as_json=False)
    assert (
        lines[0]
        == "Run r: buy 10.00 BTC in USD over 4h, 4 tranches of 2.5 BTC, one every 1h, mode split"
    )
    assert lines[1].startswith("[1/4] 2026-01-01 00:00:00  ")
    assert " + " in lines[1]  # 2.5 BTC is bought in more than one place
    assert "  ! Kraken unavailable: HTTP 451: restricted location" in lines
    skip = next(ln for ln in lines if "skipped" in ln)
    assert skip.startswith("[3/4] 2026-01-01 02:00:15  skipped (no venue reachable): ")
    assert skip.endswith("; 2.50 BTC carried to the next tranche")
    assert "  ✓ Kraken is back" in lines
    assert lines[-2].startswith(
        "Finished: bought 10.00 of 10.00 BTC in 3 tranches (1 skipped) for "
    )
    assert lines[-1].startswith("Execution quality (+ costs more): vs arrival mid ")
    assert lines[-1].endswith("% of cost.")


async def test_json_lines_for_scripts() -> None:
    events = [json.loads(line) for line in await troubled_run(as_json=True)]
    kinds = [e["event"] for e in events]
    assert kinds.count("tranche") == 3 and kinds.count("skipped") == 1
    assert kinds[-1] == "summary"
    down = next(e for e in events if e["event"] == "venue_down" and e["venue"] == "kraken")
    assert (down["kind"], down["error"]) == ("restricted", "HTTP 451: restricted location")
    assert any(e["event"] == "venue_up" for e in events)
    skipped = next(e for e in events if e["event"] == "skipped")
    assert (skipped["index"], skipped["reason"], skipped["carried"]) == (
        3,
        "no_venue_available",
        "2.5",
    )
    tranche2 = next(e for e in events if e["event"] == "tranche" and e["index"] == 2)
    assert tranche2["alternatives"]["kraken"] is None
    split = next(e for e in events if e["event"] == "tranche" and "legs" in e)
    assert sum(D(leg["qty"]) for leg in split["legs"]) == D(split["qty"])
    assert events[-1]["qty"] == "10" and events[-1]["skipped"] == 1


async def test_split_quote_shows_its_legs_and_what_it_saved() -> None:
    clock = SimClock(T0)
    market = SimulatedMarket(clock)
    books = await market.fresh_books(list(DEFAULT_SPECS))
    q = quote(books, market.specs, D("3"), Mode.SPLIT)
    single = quote(books, market.specs, D("3"), Mode.SINGLE)
    assert q.best is not None and single.best is not None
    obj = quote_json(q, "USD")
    best = obj["best"]
    assert isinstance(best, dict)
    assert len(best["legs"]) >= 2
    assert sum(D(leg["qty"]) for leg in best["legs"]) == D("3")
    assert D(best["total"]) == q.best.total < single.best.total
    saved = money(single.best.total - q.best.total)
    text = quote_text(q, "USD", max_price=D("1000"))
    assert f"Best: split {btc(q.best.legs[0].qty)} on " in text
    assert f"{saved} USD less than the best single venue" in text
    assert text.splitlines()[-1].startswith("Above your maximum price: ")


async def test_a_run_with_every_venue_down_exits_3_and_says_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock = SimClock(T0)
    market = SimulatedMarket(
        clock, faults=[Fault(v, T0, T0 + 10, Health.DOWN) for v in DEFAULT_SPECS]
    )
    plan = build_plan(amount="1", duration="1h", tranches=1, specs=DEFAULT_SPECS)
    code = await run_command(plan, market, clock, io.StringIO(), handle_signals=False)
    err = capsys.readouterr().err
    assert code == 3
    assert "kraken: timed out after 5.0s" in err
    assert err.rstrip().endswith("No venue could be reached.")


class FullDisk:
    """A history that fills up after the first tranche, and remembers being told of failure."""

    def __init__(self) -> None:
        self.failed: list[tuple[str, str]] = []
        self.tranches = 0

    async def record(self, event: object) -> None:
        if type(event).__name__ == "TrancheFilled":
            self.tranches += 1
            if self.tranches == 2:
                raise OSError(28, "No space left on device")

    async def fail(self, run_id: str, message: str) -> None:
        self.failed.append((run_id, message))


async def test_a_run_whose_history_cannot_be_written_stops_marked_failed_with_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock = SimClock(T0)
    plan = build_plan(amount="1", duration="4h", tranches=4, specs=DEFAULT_SPECS)
    journal = FullDisk()
    out = io.StringIO()
    code = await run_command(
        plan, SimulatedMarket(clock), clock, out, journal=journal, handle_signals=False
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "failed: [Errno 28] No space left on device" in err
    assert [m for _, m in journal.failed] == ["[Errno 28] No space left on device"]
    assert out.getvalue().count("\n[") == 1  # one tranche printed before the disk filled


def test_a_reader_that_goes_away_stops_the_run_quietly(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BTC_DCA_DATA_DIR": str(tmp_path / "d"),
        "BTC_DCA_CONFIG": str(tmp_path / "c.toml"),
    }
    argv = [
        sys.executable,
        "-m",
        "tui.cli",
        "run",
        "--headless",
        "--demo",
        "--amount",
        "1",
        "--duration",
        "1d",
        "--tranches",
        "500",
        "--speed",
        "10000",
    ]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()  # like `| head -1`
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=30)
    assert first.startswith(b"Run ")
    assert code == 130
    assert "Traceback" not in err


async def test_a_run_another_process_holds_exits_2_without_buying(
    capsys: pytest.CaptureFixture[str],
) -> None:
    class Held:
        async def record(self, event: object) -> None:
            if type(event).__name__ == "RunStarted":
                raise RunConflict("run r is being executed by another process")

    clock = SimClock(T0)
    plan = build_plan(amount="1", duration="4h", tranches=4, specs=DEFAULT_SPECS)
    out = io.StringIO()
    code = await run_command(
        plan, SimulatedMarket(clock), clock, out, journal=Held(), handle_signals=False
    )
    assert code == 2
    assert capsys.readouterr().err.strip() == "btc-dca: run r is being executed by another process"
    assert "[1/4]" not in out.getvalue()
