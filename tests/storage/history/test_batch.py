"""A backtest's tranches frame, built column by column, equals the row-by-row one."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from storage.history.schema import MONEY, frame, money, money_text

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


_EDGES = ["0", "-0", "0.00", "1E+2", "-5.5", "0.00000001", "1E-7", "99999999999999"]
_EDGES += ["12345678901234.123456789012345678901234", "0.123456789012345678901234"]
_EDGES += [
    "0.1234567890123456789012345",
    "-0.0000000000000000000000005",
    "0.0000000000000000000000015",
]


@given(
    st.lists(
        st.decimals(
            min_value=Decimal("-1E14") + 1,
            max_value=Decimal("1E14") - 1,
            allow_nan=False,
            allow_infinity=False,
        ),
        max_size=40,
    )
)
@settings(max_examples=200, deadline=None)
def test_money_as_text_lands_in_the_column_as_the_rounded_value(values: list[Decimal]) -> None:
    """A value short enough goes in as its own text, any other rounded first: the column
    holds exactly what ``money`` rounds to, and too many digits still raise."""
    values = [*values, *(Decimal(e) for e in _EDGES)]
    texts = pl.Series([money_text(v) for v in values], dtype=pl.Utf8).cast(MONEY)
    rounded = pl.Series([str(money(v)) for v in values], dtype=pl.Utf8).cast(MONEY)
    for got, want in zip(texts.to_list(), rounded.to_list(), strict=True):
        assert got.as_tuple() == want.as_tuple()
    with pytest.raises(InvalidOperation):
        money_text(Decimal("123456789012345.5"))
