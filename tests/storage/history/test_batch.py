"""A backtest's tranches frame, built column by column, equals the row-by-row one."""

from __future__ import annotations

from datetime import UTC, datetime

from dca.events import TrancheFilled, TrancheSkipped
from dca.executor import Executor
from dca.journal import MemoryJournal
from dca.plan import build_plan
from exchanges.clock import SimClock
from exchanges.market import Health
from exchanges.simulated import Fault, SimulatedMarket
from exchanges.venues import DEFAULT_SPECS
from storage.history import rows as R
from storage.history.batch import tranches_frame
from storage.history.schema import frame

START = 1_767_225_600.0


async def test_the_batch_frame_is_the_row_frame_for_splits_skips_and_singles() -> None:
    events: list[TrancheFilled | TrancheSkipped] = []
    for mode, max_price in (("split", None), ("single", "90900")):
        clock = SimClock(START)
        # Every venue down for the third hour: that tranche is skipped, its BTC carried.
        faults = [Fault(v, START + 7200, START + 10800, Health.DOWN) for v in DEFAULT_SPECS]
        market = SimulatedMarket(clock, faults=faults)
        plan = build_plan(
            amount="3",
            duration="6h",
            tranches=6,
            mode=mode,
            max_price=max_price,
            specs=DEFAULT_SPECS,
        )
        journal = MemoryJournal()
        await Executor(plan, market, journal, clock, run_id=f"r-{mode}").run()
        events += [e for e in journal.events if isinstance(e, TrancheFilled | TrancheSkipped)]
    kinds = {(type(e).__name__, getattr(getattr(e, "route", None), "mode", None)) for e in events}
    assert ("TrancheSkipped", None) in kinds and len(kinds) >= 3
    assert any(isinstance(e, TrancheFilled) and len(e.route.legs) > 1 for e in events)
    now = datetime(2026, 1, 2, tzinfo=UTC)
    batch = tranches_frame(events, now)
    rows = frame("tranches", [R.tranche_row(e, now) for e in events])
    assert batch.schema == rows.schema
    assert batch.equals(rows)
    assert tranches_frame([], now).equals(frame("tranches", []))
