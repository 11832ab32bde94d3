"""The executor on the simulated market with a simulated clock: a day in milliseconds."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import TypedDict, Unpack

import pytest

from dca.events import (
    Event,
    RunCancelled,
    RunFinished,
    RunPaused,
    RunResumed,
    RunStarted,
    SkipReason,
    TrancheFilled,
    TrancheSkipped,
    VenueDegraded,
    VenueRecovered,
)
from dca.executor import Executor, ResumeState, new_run_id
from dca.journal import FanOut, MemoryJournal
from dca.plan import Plan, build_plan
from dca.status import RunStatus
from exchanges.clock import SimClock
from exchanges.errors import ErrorKind
from exchanges.market import Health
from exchanges.simulated import Fault, SimulatedMarket
from exchanges.venues import DEFAULT_SPECS

D = Decimal
START = 1_767_225_600.0  # 2026-01-01T00:00Z


class PlanOptions(TypedDict, total=False):
    """The rest of ``build_plan``'s keywords, each optional as it is there."""

    quote: str
    venues: Sequence[str] | None
    mode: str
    max_price: str | Decimal | None
    jitter: bool
    seed: int


def make(
    amount: str = "1", duration: str = "1d", tranches: int | None = 24, **kw: Unpack[PlanOptions]
) -> Plan:
    return build_plan(
        amount=amount, duration=duration, tranches=tranches, specs=DEFAULT_SPECS, **kw
    )


def state_of(executor: Executor) -> RunStatus:
    """The executor's state now, read through a call.

    mypy keeps the narrowing of an earlier ``assert executor.state is ...`` across
    ``resume()`` and ``await``, so a second ``executor.state is ...`` looks impossible to it.
    """
    return executor.state


def of(journal: MemoryJournal, kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in journal.events if isinstance(e, kind)]


async def test_a_day_long_plan_runs_in_a_blink_and_buys_exactly_the_amount() -> None:
    clock = SimClock(START)
    journal = MemoryJournal()
    plan = make("1", "1d", 24)
    summary = await Executor(plan, SimulatedMarket(clock), journal, clock, run_id="r1").run()

    fills = of(journal, TrancheFilled)
    assert [f.index for f in fills] == list(range(24))
    assert [f.scheduled - START for f in fills] == [i * 3600.0 for i in range(24)]
    assert summary.qty == D("1") == sum(f.qty for f in fills)
    assert summary.total == sum(f.route.total for f in fills)
    assert summary.notional + summary.fee == summary.total
    assert summary.filled == 24 and summary.skipped == 0
    assert summary.saved_vs_worst > 0
    assert sum(summary.venue_qty.values()) == D("1")
    assert isinstance(journal.events[0], RunStarted)
    assert isinstance(journal.events[-1], RunFinished)
    assert clock.now() - START == pytest.approx(23 * 3600.0)
    # Each decision keeps what every venue quoted: the archive for replaying the plan.
    assert {q.venue for q in fills[0].quotes} == set(DEFAULT_SPECS)


async def test_the_chosen_venue_is_the_cheapest_total_among_the_quotes() -> None:
    clock = SimClock(START)
    journal = MemoryJournal()
    await Executor(make("2", "6h", 6), SimulatedMarket(clock), journal, clock).run()
    for fill in of(journal, TrancheFilled):
        totals = {v: t for v, t in fill.route.alternatives.items() if t is not None}
        assert fill.route.total == min(totals.values())
        assert fill.route.venue == min(totals, key=lambda v: totals[v])


async def test_a_tranche_with_every_venue_down_is_skipped_and_carried_into_the_next() -> None:
    clock = SimClock(START)
    # Every venue times out from 1h to 2h: tranche 2 (at 1h) cannot be bought.
    faults = [
        Fault(v, START + 3600, START + 7200, Health.DOWN, ErrorKind.TIMEOUT, "timed out")
        for v in DEFAULT_SPECS
    ]
    journal = MemoryJournal()
    plan = make("0.6", "6h", 6)
    summary = await Executor(plan, SimulatedMarket(clock, faults=faults), journal, clock).run()

    skipped = of(journal, TrancheSkipped)
    assert [(s.index, s.reason, s.qty, s.carried) for s in skipped] == [
        (1, SkipReason.NO_VENUE, D("0.1"), D("0.1"))
    ]
    assert "timed out" in skipped[0].detail
    # It was retried within its slot (1s, 2s, 4s, 8s backoff) before giving up.
    assert skipped[0].at - skipped[0].scheduled == pytest.approx(15.0)
    fills = of(journal, TrancheFilled)
    assert [(f.index, f.qty) for f in fills] == [
        (0, D("0.1")),
        (2, D("0.2")),
        (3, D("0.1")),
        (4, D("0.1")),
        (5, D("0.1")),
    ]
    assert summary.qty == D("0.6")
    assert {e.venue for e in of(journal, VenueDegraded)} == set(DEFAULT_SPECS)
    assert {e.venue for e in of(journal, VenueRecovered)} == set(DEFAULT_SPECS)


async def test_a_venue_outage_mid_run_leaves_it_out_and_the_run_carries_on() -> None:
    clock = SimClock(START)
    faults = [
        Fault(
            "binance", START + 3600, START + 4 * 3600, Health.DOWN, ErrorKind.RESTRICTED, "HTTP 451"
        )
    ]
    journal = MemoryJournal()
    await Executor(make("1", "6h", 6), SimulatedMarket(clock, faults=faults), journal, clock).run()
    fills = of(journal, TrancheFilled)
    assert len(fills) == 6
    for f in fills[1:4]:
        assert f.route.alternatives["binance"] is None
        assert "binance" not in f.route.venue
    down = of(journal, VenueDegraded)
    assert [(d.venue, d.error.kind, d.at - START) for d in down] == [
        ("binance", ErrorKind.RESTRICTED, 3600.0)
    ]
    assert [(r.venue, r.at - START) for r in of(journal, VenueRecovered)] == [
        ("binance", 4 * 3600.0)
    ]


async def test_the_last_tranche_is_not_carried_anywhere() -> None:
    clock = SimClock(START)
    faults = [Fault(v, START + 5 * 3600, START + 6 * 3600, Health.DOWN) for v in DEFAULT_SPECS]
    journal = MemoryJournal()
    summary = await Executor(
        make("0.6", "6h", 6), SimulatedMarket(clock, faults=faults), journal, clock
    ).run()
    (skip,) = of(journal, TrancheSkipped)
    assert (skip.index, skip.carried) == (5, D(0))
    assert summary.qty == D("0.5")
    assert summary.skipped == 1


async def test_above_the_maximum_price_nothing_is_bought() -> None:
    clock = SimClock(START)
    journal = MemoryJournal()
    summary = await Executor(
        make("1", "2h", 2, max_price="1000"), SimulatedMarket(clock), journal, clock
    ).run()
    skips = of(journal, TrancheSkipped)
    assert [s.reason for s in skips] == [SkipReason.ABOVE_MAX_PRICE] * 2
    assert "above the maximum 1,000" in skips[0].detail
    assert re.search(r"best price \d{2},\d{3}\.\d{2} \(fees in\)", skips[0].detail)
    assert [s.carried for s in skips] == [D("0.5"), D(0)]
    assert summary.qty == 0


async def test_insufficient_depth_everywhere_is_a_skip_with_the_deepest_book() -> None:
    clock = SimClock(START)
    journal = MemoryJournal()
    market = SimulatedMarket(clock, depth=3)
    await Executor(make("100", "1h", 1), market, journal, clock).run()
    (skip,) = of(journal, TrancheSkipped)
    assert skip.reason is SkipReason.INSUFFICIENT_DEPTH
    assert "no book can fill 100 BTC" in skip.detail


async def test_pause_holds_the_schedule_and_resume_catches_up() -> None:
    clock = SimClock(START)
    journal = MemoryJournal()
    executor: Executor

    paused = asyncio.Event()

    class PauseAtThird:
        async def record(self, event: Event) -> None:
            if isinstance(event, TrancheFilled) and event.index == 2:
                executor.pause()
            if isinstance(event, RunPaused):
                paused.set()

    executor = Executor(
        make("1", "10h", 10), SimulatedMarket(clock), FanOut(journal, PauseAtThird()), clock
    )
    task = asyncio.create_task(executor.run())
    await asyncio.wait_for(paused.wait(), timeout=5)
    assert executor.state is RunStatus.PAUSED
    assert len(of(journal, TrancheFilled)) == 3
    held_at = clock.now()
    for _ in range(50):
        await asyncio.sleep(0)
    assert clock.now() == held_at  # nothing moves while paused
    executor.resume()
    executor.resume()  # a second resume changes nothing
    summary = await task
    assert summary.qty == D("1")
    kinds = [type(e) for e in journal.events]
    assert kinds.index(RunPaused) < kinds.index(RunResumed)
    assert state_of(executor) is RunStatus.FINISHED


async def test_a_pause_that_comes_while_earlier_control_events_are_written_holds_at_once() -> None:
    # A pause and an unpause during tranche 2, then tranche 3 already due: their events
    # are still being journaled when another pause comes. Nothing is bought after it.
    clock = SimClock(START)
    journal = MemoryJournal()
    executor: Executor
    held = asyncio.Event()

    class PauseTwice:
        async def record(self, event: Event) -> None:
            if isinstance(event, TrancheFilled) and event.index == 2:
                executor.pause()
                executor.resume()
                clock.advance(3600)  # tranche 3 falls due (its slot has not ended)
            elif isinstance(event, RunResumed) and not held.is_set():
                await asyncio.sleep(0)  # the write takes a moment; the pause comes meanwhile
                executor.pause()
            elif isinstance(event, RunPaused) and of(journal, RunResumed):
                held.set()

    executor = Executor(
        make("1", "10h", 10), SimulatedMarket(clock), FanOut(journal, PauseTwice()), clock
    )
    task = asyncio.create_task(executor.run())
    await asyncio.wait_for(held.wait(), timeout=5)
    for _ in range(50):
        await asyncio.sleep(0)
    assert executor.state is RunStatus.PAUSED
    assert type(journal.events[-1]) is RunPaused  # journaled, and nothing after it
    assert len(of(journal, TrancheFilled)) == 3
    executor.resume()
    summary = await task
    assert summary.qty == D("1")
    kinds = [type(e) for e in journal.events]
    assert kinds.count(RunPaused) == kinds.count(RunResumed) == 2


async def test_cancel_stops_with_a_summary_of_what_was_done() -> None:
    clock = SimClock(START)
    journal = MemoryJournal()
    executor: Executor

    class CancelAtFifth:
        async def record(self, event: Event) -> None:
            if isinstance(event, TrancheFilled) and event.index == 4:
                executor.cancel()

    executor = Executor(
        make("1", "10h", 10), SimulatedMarket(clock), FanOut(journal, CancelAtFifth()), clock
    )
    summary = await executor.run()
    assert summary.filled == 5
    assert summary.qty == D("0.5")
    assert isinstance(journal.events[-1], RunCancelled)
    assert executor.state is RunStatus.CANCELLED


async def test_cancel_while_paused_ends_the_run() -> None:
    clock = SimClock(START)
    journal = MemoryJournal()
    executor = Executor(make("1", "10h", 10), SimulatedMarket(clock), journal, clock)
    executor.pause()  # before it runs: nothing to pause yet
    task = asyncio.create_task(executor.run())
    await asyncio.sleep(0)
    executor.pause()
    await asyncio.sleep(0)
    executor.cancel()
    summary = await task
    assert summary.filled <= 1
    kinds = [type(e) for e in journal.events]
    assert RunPaused in kinds
    assert kinds.index(RunPaused) < kinds.index(RunCancelled) == len(kinds) - 1


async def test_resume_skips_recorded_tranches_and_ends_with_the_exact_amount() -> None:
    clock = SimClock(START + 5 * 3600 + 60)  # came back 5h later
    journal = MemoryJournal()
    plan = make("1", "10h", 10)
    # Tranches 0-2 were bought; tranche 3 was skipped (0 bought) and its 0.1 never carried.
    state = ResumeState("r-old", START, {0: D("0.1"), 1: D("0.1"), 2: D("0.1"), 3: D(0)})
    summary = await Executor(
        plan, SimulatedMarket(clock), journal, clock, resume=state, catch_up=True
    ).run()
    fills = of(journal, TrancheFilled)
    assert [f.index for f in fills] == [4, 5, 6, 7, 8, 9]
    assert fills[0].qty == D("0.2")  # the skipped tranche's share rides on the first one left
    assert summary.qty == D("1")  # what was bought before counts (no totals known)
    started = journal.events[0]
    assert isinstance(started, RunStarted) and started.resumed and started.done == 4
    assert all(f.run_id == "r-old" for f in fills)


async def test_resume_can_skip_tranches_missed_while_stopped() -> None:
    clock = SimClock(START + 6 * 3600 + 1)
    journal = MemoryJournal()
    plan = make("1", "10h", 10)
    state = ResumeState("r-old", START, {0: D("0.1")})
    summary = await Executor(
        plan, SimulatedMarket(clock), journal, clock, resume=state, catch_up=False
    ).run()
    missed = [s.index for s in of(journal, TrancheSkipped) if s.reason is SkipReason.MISSED]
    assert missed == [1, 2, 3, 4, 5]  # each slot ended before it came back
    assert summary.qty == D("1")


async def test_jitter_moves_each_tranche_within_its_slot_the_same_way_for_the_same_seed() -> None:
    async def times(seed: int) -> list[float]:
        clock = SimClock(START)
        journal = MemoryJournal()
        await Executor(
            make("1", "4h", 4, jitter=True, seed=seed), SimulatedMarket(clock), journal, clock
        ).run()
        return [f.scheduled - START for f in of(journal, TrancheFilled)]

    first, again, other = await times(1), await times(1), await times(2)
    assert first == again != other
    assert all(i * 3600 <= t < (i + 1) * 3600 for i, t in enumerate(first))


def test_run_ids_sort_by_time() -> None:
    assert new_run_id(START).startswith("20260101-000000-")
    assert new_run_id(START) != new_run_id(START)


async def test_a_tranche_only_a_split_can_fill_is_bought_and_saves_nothing_on_paper() -> None:
    # Every book holds 0.3-0.7 BTC at its top levels: no venue alone can fill 40 BTC, together they can.
    clock = SimClock(START)
    market = SimulatedMarket(clock, depth=40)
    depth = {v: market.book_at(v, START).ask_depth() for v in DEFAULT_SPECS}
    qty = (max(depth.values()) + sum(depth.values())) / 2
    qty = qty.quantize(D("0.00001"))
    journal = MemoryJournal()
    plan = make(str(qty), "1h", 1, mode="split")
    summary = await Executor(plan, market, journal, clock).run()
    (fill,) = of(journal, TrancheFilled)
    assert set(fill.route.alternatives.values()) == {None}
    assert len(fill.route.legs) >= 2
    assert summary.qty == qty
    assert (summary.saved_vs_worst, summary.saved_vs_median) == (D(0), D(0))


async def _pause_for(catch_up: bool, hours: float) -> tuple[MemoryJournal, Executor]:
    """A 10-tranche hourly plan paused right after tranche 2 for ``hours`` of clock time."""
    clock = SimClock(START)
    journal = MemoryJournal()
    executor: Executor
    paused = asyncio.Event()

    class PauseAtThird:
        async def record(self, event: Event) -> None:
            if isinstance(event, TrancheFilled) and event.index == 2:
                executor.pause()
            if isinstance(event, RunPaused):
                paused.set()

    executor = Executor(
        make("1", "10h", 10),
        SimulatedMarket(clock),
        FanOut(journal, PauseAtThird()),
        clock,
        catch_up=catch_up,
    )
    task = asyncio.create_task(executor.run())
    await asyncio.wait_for(paused.wait(), timeout=5)
    clock.advance(hours * 3600)  # 02:00 + 3.5h: back at 05:30
    executor.resume()
    await task
    return journal, executor


async def test_a_pause_never_bunches_purchases_tranches_whose_slot_ended_are_skipped() -> None:
    journal, executor = await _pause_for(catch_up=False, hours=3.5)
    skipped = of(journal, TrancheSkipped)
    # Slots 3 (03:00-04:00) and 4 (04:00-05:00) ended while paused; slot 5 is going on.
    assert [(s.index, s.reason) for s in skipped] == [
        (3, SkipReason.MISSED),
        (4, SkipReason.MISSED),
    ]
    fills = of(journal, TrancheFilled)
    after = [(f.index, round((f.at - START) / 3600, 2)) for f in fills if f.index > 2]
    assert after == [(5, 5.5), (6, 6.0), (7, 7.0), (8, 8.0), (9, 9.0)]  # one per slot
    assert fills[3].qty == D("0.3")  # the skipped BTC rides on the next tranche, not lost
    assert executor.summary.qty == D("1")
    assert state_of(executor) is RunStatus.FINISHED


async def test_a_pause_with_catch_up_buys_the_missed_tranches_at_once_when_asked() -> None:
    journal, _ = await _pause_for(catch_up=True, hours=3.5)
    assert of(journal, TrancheSkipped) == []
    at = {f.index: round((f.at - START) / 3600, 2) for f in of(journal, TrancheFilled)}
    assert (at[3], at[4], at[5]) == (5.5, 5.5, 5.5)


async def test_a_short_pause_inside_the_slot_skips_nothing() -> None:
    journal, _ = await _pause_for(catch_up=False, hours=0.5)
    assert of(journal, TrancheSkipped) == []


async def test_a_run_that_ends_short_of_its_amount_is_incomplete_not_finished() -> None:
    clock = SimClock(START)
    journal = MemoryJournal()
    executor = Executor(
        make("1", "2h", 2, max_price="1000"), SimulatedMarket(clock), journal, clock
    )
    summary = await executor.run()
    assert summary.qty == 0 and summary.short == D("1")
    assert state_of(executor) is RunStatus.INCOMPLETE
    (end,) = of(journal, RunFinished)
    assert end.status == "incomplete"


async def test_an_interrupted_run_says_so_and_a_cancelled_one_is_cancelled() -> None:
    for reason, state in (
        ("interrupted", RunStatus.INTERRUPTED),
        ("cancelled", RunStatus.CANCELLED),
    ):
        clock = SimClock(START)
        journal = MemoryJournal()
        executor = Executor(make("1", "10h", 10), SimulatedMarket(clock), journal, clock)
        executor.cancel(reason)
        await executor.run()
        assert state_of(executor) is state
        (end,) = of(journal, RunCancelled)
        assert end.status == state.value
