"""A backtest streamed a day at a time buys exactly what one that read its whole window buys.

The lake below has what real recordings have: venues recording at different paces, a
venue silent for hours (stale books), one missing a whole day (its last book is from the
day before), a window that starts on the day before its first tranche (the max age), all
venues silent at once until a book arrives seconds after a tranche (a retry reads it off
the schedule), a book recorded in another quote, the same snapshot written twice, and
tranches large enough to walk past the levels read up front. Each plan is replayed through
the reader from before streaming (``whole_window``) and through the streaming one, and
every event must be equal, as must the rows saved.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tracemalloc
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from dca.events import Event, TrancheFilled, TrancheSkipped
from dca.executor import Executor
from dca.journal import MemoryJournal
from dca.plan import Plan, build_plan
from dca.schedule import tranche_times
from exchanges.book import OrderBook
from exchanges.clock import SimClock
from exchanges.replay import ReplayClock, ReplayMarket
from exchanges.simulated import SimulatedMarket
from exchanges.venues import DEFAULT_SPECS
from storage.backtest import replay as bt
from storage.history.batch import tranches_frame
from storage.history.dataset import write_atomic
from storage.market.lake import frame, partition_dir, snapshot_row, write_snapshots
from storage.market.stream import DayStream, open_window
from tests.storage.backtest import whole_window

T0 = datetime(2026, 3, 1, tzinfo=UTC).timestamp()
H = 3600.0
DAY = 86400.0
VENUES = ("kraken", "okx", "bitstamp")
STEP = {"kraken": 170.0, "okx": 230.0, "bitstamp": 310.0}
# A split plan with tranches every 9 minutes from 06:00; its tranche 100 falls at 21:00,
# in a silence of every venue that a Kraken book ends 3 s later.
SPLIT_START = T0 + 6 * H
GAP_END = SPLIT_START + 100 * 540


def silent(venue: str, t: float) -> bool:
    """When the venues of the lake below recorded nothing."""
    if GAP_END - 1800 <= t < GAP_END + 10:
        return True  # everyone, for half an hour (but for one Kraken book at GAP_END + 3)
    if venue == "okx" and T0 + 30 * H <= t < T0 + 36 * H:
        return True
    return venue == "bitstamp" and T0 + DAY <= t < T0 + 2 * DAY  # a day with no file at all


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    market = SimulatedMarket(SimClock(T0), venues=VENUES, depth=50)
    rows = []
    for venue in VENUES:
        t = T0 - 2 * H
        while t < T0 + 3 * DAY + H:
            if not silent(venue, t):
                rows.append(snapshot_row(market.book_at(venue, t), t, 50, "demo"))
            t += STEP[venue]
    rows.append(snapshot_row(market.book_at("kraken", GAP_END + 3), GAP_END + 3, 50, "demo"))
    # A Kraken book in EUR, newer than the USD one before it: a USD replay never serves it.
    usd = market.book_at("kraken", T0 + 12 * H + 5)
    eur = OrderBook(usd.venue, "EUR", usd.bids, usd.asks, usd.ts)
    rows.append(snapshot_row(eur, T0 + 12 * H + 5, 50, "demo"))
    write_snapshots(root, rows)
    # The same capture times written again later with other prices: the first file wins.
    other = market.book_at("okx", T0 + 2 * H)
    kraken = OrderBook("kraken", "USD", other.bids, other.asks, other.ts)
    again = [
        snapshot_row(kraken, T0 - 2 * H + k * STEP["kraken"], 50, "demo") for k in range(64, 94)
    ]
    write_atomic(frame(again), partition_dir(root, date(2026, 3, 1), "kraken"))
    return root


def plans() -> list[tuple[Plan, float, float]]:
    """(plan, start, max age): jittered hourly single, a deep split, a plan off midnight."""
    hourly = build_plan(
        amount="3", duration=3 * DAY - H, tranches=71, mode="single", specs=DEFAULT_SPECS
    )
    hourly = replace(hourly, venues=VENUES, jitter=True, seed=11)
    split = build_plan(
        amount="400", duration=400 * 540, tranches=400, mode="split", specs=DEFAULT_SPECS
    )
    split = replace(split, venues=VENUES, jitter=False)
    short = build_plan(amount="1", duration=20 * H, tranches=7, mode="single", specs=DEFAULT_SPECS)
    short = replace(short, venues=("kraken", "okx"), jitter=False)
    return [
        (hourly, T0 + 7 * 60, 600.0),
        (split, SPLIT_START, 120.0),
        (short, T0 + 2 * DAY - 3 * H, 900.0),
    ]


async def whole_window_events(lake: Path, plan: Plan, start: float, max_age: float) -> list[Event]:
    """The plan replayed as before streaming: the whole window read up front."""
    times = tranche_times(plan, start)
    end = start + plan.duration_s
    read = whole_window.load_tapes(lake, plan.venues, plan.quote, start, end, times, max_age)
    clock = ReplayClock(start)
    specs = {v: DEFAULT_SPECS[v] for v in plan.venues}
    market = ReplayMarket(clock, plan.quote, specs, read.tapes, max_age_s=max_age)
    journal = MemoryJournal()
    await Executor(plan, market, journal, clock, run_id="same").run()
    return journal.events


@pytest.mark.parametrize("case", range(3))
async def test_streaming_buys_exactly_what_reading_the_whole_window_bought(
    lake: Path, tmp_path: Path, case: int
) -> None:
    plan, start, max_age = plans()[case]
    before = await whole_window_events(lake, plan, start, max_age)
    prepared = bt.prepare(lake, plan, start, max_age_s=max_age)
    journal = bt.BatchJournal(tmp_path, chunk=50)
    outcome = await bt.replay(prepared, DEFAULT_SPECS, journal, run_id="same", keep_events=True)
    assert outcome.events == before
    tranches = [e for e in before if isinstance(e, TrancheFilled | TrancheSkipped)]
    assert outcome.summary.filled + outcome.summary.skipped == plan.tranches == len(tranches)
    # What is saved, chunk by chunk, is what the whole run's events make in one frame.
    saved = pl.read_parquet(tmp_path / "tranches" / "*" / "*.parquet").sort("index")
    expected = tranches_frame(tranches, datetime.now(UTC))
    assert saved.drop("recorded_at").equals(expected.drop("recorded_at"))
    assert len(journal.written) == -(-plan.tranches // 50) + 1  # the chunks, then the runs
    assert not list((tmp_path / "tranches").glob(".*"))  # the staging folder is gone
    if case == 1:
        # The split walked past the levels read up front, and a retry found a book 3 s late.
        legs = [leg for e in tranches if isinstance(e, TrancheFilled) for leg in e.route.legs]
        assert max(leg.levels_used for leg in legs) > 6
        late = next(e for e in tranches if e.index == 100)
        assert isinstance(late, TrancheFilled) and late.at == GAP_END + 3
        assert outcome.on_demand >= 1
        assert any(
            isinstance(e, TrancheSkipped) and "old (limit" in e.detail for e in tranches
        ) or any(q.health == "stale" for e in tranches for q in e.quotes)
    if case == 0:
        # Bitstamp's day without a file: its book from the day before, hours old.
        day2 = [e for e in tranches if T0 + DAY + H <= e.scheduled < T0 + 2 * DAY]
        reasons = {q.reason for e in day2 for q in e.quotes if q.venue == "bitstamp"}
        assert all(r is not None and "newest recorded book is" in r for r in reasons)


async def test_each_day_is_read_once_and_the_one_before_is_let_go(lake: Path) -> None:
    plan, start, max_age = plans()[0]
    times = tranche_times(plan, start)
    window = open_window(lake, plan.venues, "USD", start, start + plan.duration_s, times, max_age)
    assert window.days == (date(2026, 2, 28), *(date(2026, 3, d) for d in (1, 2, 3)))
    assert window.files_read == 4 + 3 + 3 + 2  # kraken's second file; bitstamp's missing day
    stream = DayStream(window, plan.venues, times)
    assert stream.day is None
    await stream.advance(T0 + DAY + 60)
    assert stream.day == date(2026, 3, 2) and stream.days_read == 3
    kraken = stream.tapes["kraken"]
    held = kraken.day
    assert held is not None and held.lo_us == (T0 + DAY) * 1_000_000
    # A time before the day held (no replay asks for one) is still answered, from the files.
    old = whole_window.load_tapes(lake, ["kraken"], "USD", start, T0 + 3 * DAY, [T0 + 9 * H], 600)
    back = kraken.at(T0 + 9 * H)
    expected = old.tapes["kraken"].at(T0 + 9 * H)
    assert back is not None and expected is not None and back.ts == expected.ts
    assert back.book("kraken", "USD").asks[:6] == expected.book("kraken", "USD").asks[:6]
    assert kraken.at(T0 - 3 * H) is None  # before the window
    await stream.advance(T0 + 10 * DAY)  # past the window: its last day
    assert stream.day == date(2026, 3, 3)
    await stream.advance(T0)  # going back moves nothing
    assert stream.day == date(2026, 3, 3)
    stream.close()
    assert kraken.day is None


async def test_memory_does_not_grow_with_the_window(
    lake: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A replay of three days peaks at what one of two days does (Python's own allocations),
    but for its schedule: the books held are the day replayed and the next one, read ahead,
    whatever the window. Read whole, the peak grew by half."""
    # The warnings of stale venues would be kept by the capture, which is not the replay.
    caplog.set_level(logging.ERROR)

    async def peak(days: int) -> int:
        plan = build_plan(
            amount="1", duration=days * DAY, tranches=days * 360, mode="split", specs=DEFAULT_SPECS
        )
        plan = replace(plan, venues=VENUES)
        prepared = bt.prepare(lake, plan, T0, max_age_s=600)
        tracemalloc.start()
        try:
            await bt.replay(prepared, DEFAULT_SPECS, None)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def schedule(days: int) -> int:
        """What a run keeps from its start to its end, tranche by tranche: the times and
        sizes of its schedule (the executor's lists, the start event's tuples)."""
        plan = build_plan(
            amount="1", duration=days * DAY, tranches=days * 360, mode="split", specs=DEFAULT_SPECS
        )
        tracemalloc.start()
        try:
            times, sizes = tranche_times(plan, T0), plan.sizes()
            kept = (times, sizes, tuple(times), tuple(sizes), list(range(len(times))))
            assert len(kept[4]) == plan.tranches
            return tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()

    await peak(1)  # what is imported on first use is not the replay's
    two, three = await peak(2), await peak(3)
    # The days before kept would add half the peak here; the schedule grows by a sixth.
    grown = schedule(3) - schedule(2)
    assert three - two < 1.5 * grown + 0.2 * two, (two, three, grown)


async def test_a_stopped_backtest_saves_nothing(lake: Path, tmp_path: Path) -> None:
    plan, start, max_age = plans()[1]
    prepared = bt.prepare(lake, plan, start, max_age_s=max_age)
    journal = bt.BatchJournal(tmp_path, chunk=20)
    stop = asyncio.Event()

    class StopAfter:
        async def record(self, event: Event) -> None:
            await journal.record(event)
            if isinstance(event, TrancheFilled) and event.index == 150:
                stop.set()

    outcome = await bt.replay(prepared, DEFAULT_SPECS, StopAfter(), stop=stop)
    assert outcome.interrupted and outcome.summary.filled >= 150
    assert journal.staged == [] and not journal.staging.exists()
    assert not saved_files(tmp_path)  # no tranche, no run


def saved_files(root: Path) -> list[Path]:
    return list(root.rglob("*.parquet"))


def test_a_staging_folder_left_by_a_killed_backtest_goes_with_the_next(tmp_path: Path) -> None:
    orphan = tmp_path / "tranches" / ".staging-999999999-abc"
    orphan.mkdir(parents=True)
    (orphan / "part-1.parquet").write_bytes(b"x")
    mine = tmp_path / "tranches" / f".staging-{os.getpid()}-abc"  # a backtest running
    mine.mkdir()
    bt.BatchJournal(tmp_path)
    assert not orphan.exists() and mine.exists()
