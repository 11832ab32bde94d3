"""What a headless run prints when things go wrong: skips, venues down and back, splits."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest

from dca.executor import Executor
from dca.journal import FanOut, MemoryJournal
from dca.plan import build_plan
from dca.routing import Mode
from exchanges.clock import SimClock
from exchanges.errors import ErrorKind
from exchanges.market import Health
from exchanges.simulated import Fault, SimulatedMarket
from exchanges.venues import DEFAULT_SPECS
from tui.headless import Printer, quote_json, quote_text, run_command

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
    assert lines[0] == "Run r: buy 10.00 BTC in USD over 4h, 4 tranches, one every 1h, mode split"
    assert lines[1].startswith("[1/4] 2026-01-01 00:00:00  ")
    assert " + " in lines[1]  # 2.5 BTC is bought in more than one place
    assert "  ! Kraken unavailable: HTTP 451: restricted location" in lines
    skip = next(ln for ln in lines if "skipped" in ln)
    assert skip.startswith("[3/4] 2026-01-01 02:00:15  skipped (no venue available): ")
    assert skip.endswith("; 2.50 BTC carried to the next tranche")
    assert "  ✓ Kraken is back" in lines
    assert lines[-1].startswith(
        "Finished: bought 10.00 of 10.00 BTC in 3 tranches (1 skipped) for "
    )


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
    obj = quote_json(D("3"), "USD", Mode.SPLIT, books, market)
    best = obj["best"]
    assert isinstance(best, dict)
    assert len(best["legs"]) >= 2
    text = quote_text(D("3"), "USD", Mode.SPLIT, books, market)
    assert "Best: split " in text
    assert "less than the best single venue" in text


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
