"""The executor: runs a plan's schedule, pricing and routing each tranche at its time.

It decides; an ``Execution`` (``dca.execution``) carries the decision out: on paper
(the default) a "fill" is the cost of the tranche on the live books at that moment.
Everything that varies (market, clock, journal, execution) is injected, so a day-long
plan runs in milliseconds under a ``SimClock``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from dca.events import (
    Event,
    QuoteSeen,
    RunCancelled,
    RunFinished,
    RunPaused,
    RunResumed,
    RunStarted,
    SkipReason,
    Summary,
    TrancheFilled,
    TrancheSkipped,
    VenueDegraded,
    VenueRecovered,
)
from dca.execution import Execution, NotExecuted, PaperExecution
from dca.journal import Journal
from dca.orders import OrderRecord
from dca.plan import Plan
from dca.pricing import ZERO, Cost, InsufficientDepth
from dca.routing import price_all, route
from dca.schedule import tranche_times
from dca.status import RunStatus, end_status, stop_status
from exchanges.book import OrderBook
from exchanges.clock import Clock
from exchanges.errors import ErrorKind, VenueError
from exchanges.market import MarketData

log = logging.getLogger(__name__)

# Chunk of real time the waiting loop sleeps at most, so pause and cancel act promptly.
_POLL_REAL_S = 0.2


@dataclass(frozen=True, slots=True)
class ResumeState:
    """What a run had done before it stopped: its origin and BTC bought per recorded tranche."""

    run_id: str
    origin: float
    done: Mapping[int, Decimal]
    # Totals of the recorded tranches, so the resumed run's summary covers the whole run.
    before: Summary | None = None


def _btc(value: Decimal) -> str:
    """BTC in a message: as typed, never with an exponent (``0``, ``0.5``, ``100``)."""
    return "0" if not value else f"{value.normalize():f}"


def new_run_id(now: float) -> str:
    """A sortable, unique run id: UTC date-time plus a random suffix."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return f"{stamp}-{uuid.uuid4().hex[:6]}"


class Executor:
    """Executes one plan: create, then ``await run()``.

    ``pause``, ``resume`` and ``cancel`` may be called from anywhere on the same loop.
    """

    def __init__(
        self,
        plan: Plan,
        market: MarketData,
        journal: Journal,
        clock: Clock,
        *,
        run_id: str | None = None,
        resume: ResumeState | None = None,
        catch_up: bool = False,
        retry_base_s: float = 1.0,
        retries: int = 4,
        execution: Execution | None = None,
    ) -> None:
        self.plan = plan
        # Paper unless told otherwise: the decision is the fill.
        self.execution: Execution = execution if execution is not None else PaperExecution()
        self.market = market
        self.journal = journal
        self.clock = clock
        self.resume_state = resume
        # Ids follow the wall clock, so a fast demo clock cannot date them weeks ahead.
        self.run_id = resume.run_id if resume else (run_id or new_run_id(time.time()))
        # What to do with tranches whose slot ended while the run was stopped (a pause, or
        # the process being down before a resume): run them at once, or skip them.
        self.catch_up = catch_up
        self.retry_base_s = retry_base_s
        self.retries = retries
        before = resume.before if resume else None
        if resume is not None and before is None:
            # Totals unknown: at least what was bought, so the run's end status is right.
            before = Summary(target=plan.amount, qty=sum(resume.done.values(), ZERO))
        self.summary = (
            replace(
                before, target=plan.amount, venue_qty=dict(before.venue_qty), tca=before.tca.copy()
            )
            if before is not None
            else Summary(target=plan.amount)
        )
        self.state: RunStatus = RunStatus.PENDING
        self.next_at: float | None = None
        self.next_index: int | None = None
        self._unpaused = asyncio.Event()
        self._unpaused.set()
        self._cancelled = asyncio.Event()
        self._degraded: set[str] = set()
        self._pending: list[Event] = []
        self.cancel_reason = "cancelled"
        # Set by a pause (and by resuming from disk) until a tranche is executed again:
        # only a stop makes a tranche "missed", never a slow book fetch on a fast clock.
        self._stopped = resume is not None

    @property
    def lump_sum_total(self) -> Decimal | None:
        """The cost of the whole amount bought at the run's first decision (None until then)."""
        return self.summary.tca.lump_total

    # -- control -------------------------------------------------------------------------

    def pause(self) -> None:
        """Hold the schedule; on resume, tranches whose slot ended meanwhile follow ``catch_up``.

        With ``catch_up`` False (the dashboard's default) they are skipped and their BTC
        rides on the next tranche, so a pause never bunches purchases together.
        """
        if self.state is RunStatus.RUNNING:
            self.state = RunStatus.PAUSED
            self._stopped = True
            self._unpaused.clear()
            self._emit_soon(RunPaused(self.run_id, self.clock.now()))

    def resume(self) -> None:
        """Continue a paused run."""
        if self.state is RunStatus.PAUSED:
            self.state = RunStatus.RUNNING
            self._unpaused.set()
            self._emit_soon(RunResumed(self.run_id, self.clock.now()))

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop the run at the next safe point; ``run`` then returns the summary so far.

        ``reason`` "interrupted" (Ctrl-C, quitting with pause) leaves the run resumable.
        """
        self.cancel_reason = reason
        self._cancelled.set()
        self._unpaused.set()

    def _emit_soon(self, event: Event) -> None:
        # Control calls are synchronous; their events are journaled by the run loop, in order.
        self._pending.append(event)

    # -- the run -------------------------------------------------------------------------

    async def run(self) -> Summary:
        """Execute every remaining tranche; returns the summary (also when cancelled)."""
        plan = self.plan
        origin = self.resume_state.origin if self.resume_state else self.clock.now()
        times = tranche_times(plan, origin)
        sizes = plan.sizes()
        done = dict(self.resume_state.done) if self.resume_state else {}
        bought_before = sum(done.values(), ZERO)
        remaining_idx = [i for i in range(plan.tranches) if i not in done]
        # Whatever earlier skips left unbought rides on the first remaining tranche.
        carry = plan.amount - bought_before - sum((sizes[i] for i in remaining_idx), ZERO)
        self.state = RunStatus.RUNNING
        await self.journal.record(
            RunStarted(
                self.run_id,
                plan,
                self.clock.now(),
                tuple(times),
                tuple(sizes),
                resumed=self.resume_state is not None,
                done=len(done),
            )
        )
        try:
            for pos, i in enumerate(remaining_idx):
                self.next_index = i
                self.next_at = times[i]
                if not await self._wait_until(times[i]):
                    break
                qty = sizes[i] + carry
                carry = ZERO
                is_last = pos == len(remaining_idx) - 1
                # Its slot (not just its time, which jitter moves) ended while stopped.
                missed = self._stopped and self.clock.now() >= origin + (i + 1) * plan.interval_s
                if missed and not self.catch_up and not is_last:
                    carry = qty
                    await self._skip(
                        i, times[i], qty, SkipReason.MISSED, "its time passed while stopped", carry
                    )
                    continue
                self._stopped = False
                slot_end = times[i + 1] if i + 1 < plan.tranches else origin + plan.duration_s
                carry = await self._tranche(i, times[i], qty, slot_end, is_last)
                if self._cancelled.is_set():
                    break
        finally:
            self.next_at = None
            await self._flush_pending()
        now = self.clock.now()
        if self._cancelled.is_set():
            self.state = stop_status(self.cancel_reason)
            await self.journal.record(
                RunCancelled(self.run_id, now, self.summary, reason=self.cancel_reason)
            )
        else:
            self.state = end_status(self.summary.qty, self.summary.target)
            await self.journal.record(RunFinished(self.run_id, now, self.summary))
        return self.summary

    async def _flush_pending(self) -> None:
        # An event leaves the queue only once written: an empty queue means recorded,
        # and a write cut short (the task cancelled) is not lost but tried again.
        while self._pending:
            await self.journal.record(self._pending[0])
            self._pending.pop(0)

    async def _wait_until(self, when: float) -> bool:
        """Sleep until ``when`` (clock time), holding while paused; False if cancelled.

        Pause and resume events are journaled first, then the state is read with no await
        before returning: a pause that came while they were written holds here, so a
        recorded pause is never followed by a purchase.
        """
        while True:
            await self._flush_pending()
            if self._cancelled.is_set():
                return False
            if not self._unpaused.is_set():
                await self._unpaused.wait()
                continue
            remaining = when - self.clock.now()
            if remaining <= 0:
                return True
            await self.clock.sleep(min(remaining, _POLL_REAL_S * self.clock.speed))

    async def _tranche(
        self, i: int, scheduled: float, qty: Decimal, slot_end: float, is_last: bool
    ) -> Decimal:
        """Price, route and record tranche ``i``; returns the BTC to carry into the next."""
        attempt = 0
        while True:
            books, quotes = await self._look(qty)
            if books or attempt >= self.retries:
                break
            delay = self.retry_base_s * 2**attempt
            if self.clock.now() + delay >= slot_end and not is_last:
                break
            attempt += 1
            log.info("tranche %d: no venue available, retry %d in %.0fs", i, attempt, delay)
            if not await self._wait_until(self.clock.now() + delay):
                return ZERO
        now = self.clock.now()
        carry = ZERO if is_last else qty
        if not books:
            errors = "; ".join(f"{q.venue}: {q.outcome}" for q in quotes)
            await self._skip(
                i, scheduled, qty, SkipReason.NO_VENUE, errors or "no venue", carry, quotes
            )
            return carry
        lump = self._lump(books)
        costs = {
            q.venue: q.outcome for q in quotes if isinstance(q.outcome, Cost | InsufficientDepth)
        }
        down = [q.venue for q in quotes if isinstance(q.outcome, VenueError)]
        chosen = route(books, self.market.specs, qty, self.plan.mode, costs=costs, unavailable=down)
        if chosen is None:
            deepest = max(
                (c.available for c in costs.values() if isinstance(c, InsufficientDepth)),
                default=ZERO,
            )
            await self._skip(
                i,
                scheduled,
                qty,
                SkipReason.INSUFFICIENT_DEPTH,
                f"no book can fill {_btc(qty)} BTC (the deepest holds {_btc(deepest)})",
                carry,
                quotes,
                lump,
            )
            return carry
        if self.plan.max_price is not None and chosen.effective_price > self.plan.max_price:
            await self._skip(
                i,
                scheduled,
                qty,
                SkipReason.ABOVE_MAX_PRICE,
                f"best price {chosen.effective_price:,.2f} (fees in) "
                f"is above the maximum {self.plan.max_price:,}",
                carry,
                quotes,
                lump,
            )
            return carry
        done = await self.execution.execute(self.run_id, i, chosen)
        if isinstance(done, NotExecuted):
            await self._skip(
                i, scheduled, qty, done.reason, done.detail, carry, quotes, lump, done.orders
            )
            return carry
        # A partial fill's remainder rides on the next tranche like a skip's.
        short = ZERO if is_last else qty - done.route.qty
        event = TrancheFilled(
            self.run_id,
            i,
            self.plan.tranches,
            scheduled,
            now,
            done.route,
            quotes,
            *lump,
            orders=done.orders,
            decision=done.decision,
            carried=short,
        )
        self.summary.add(event)
        await self.journal.record(event)
        return short

    async def _skip(
        self,
        i: int,
        scheduled: float,
        qty: Decimal,
        reason: SkipReason,
        detail: str,
        carry: Decimal,
        quotes: tuple[QuoteSeen, ...] = (),
        lump: tuple[Decimal | None, Decimal | None] = (None, None),
        orders: tuple[OrderRecord, ...] = (),
    ) -> None:
        self.summary.skipped += 1
        log.warning("run %s tranche %d skipped: %s (%s)", self.run_id, i, reason.value, detail)
        event = TrancheSkipped(
            self.run_id,
            i,
            self.plan.tranches,
            scheduled,
            self.clock.now(),
            qty,
            reason,
            detail,
            carry,
            quotes,
            *lump,
            orders=orders,
        )
        self.summary.see(event)
        await self.journal.record(event)

    def _lump(self, books: Mapping[str, OrderBook]) -> tuple[Decimal | None, Decimal | None]:
        """At the run's first decision: the cost of the whole amount bought at once, with the
        amount (for the execution-quality figures); ``(None, None)`` at every later one."""
        if self.summary.tca.lump_amount is not None:
            return None, None
        lump = route(books, self.market.specs, self.plan.amount, self.plan.mode)
        return (lump.total if lump else None), self.plan.amount

    async def _look(self, qty: Decimal) -> tuple[dict[str, OrderBook], tuple[QuoteSeen, ...]]:
        """The usable books for the plan's venues and what each venue quoted for ``qty``."""
        results = await self.market.fresh_books(self.plan.venues, min_btc=qty)
        now = self.clock.now()
        books = {v: r for v, r in results.items() if isinstance(r, OrderBook)}
        costs = price_all(books, self.market.specs, qty)
        seen: list[QuoteSeen] = []
        for venue in self.plan.venues:
            result = results.get(venue)
            status = self.market.status(venue)
            if isinstance(result, OrderBook):
                if venue in self._degraded:
                    self._degraded.discard(venue)
                    await self.journal.record(VenueRecovered(self.run_id, venue, now))
                origin = result.origin
                seen.append(
                    QuoteSeen(
                        venue,
                        costs[venue],
                        result.best_bid,
                        result.best_ask,
                        origin.age_s if origin is not None else status.age(now),
                        status.latency_ms,
                        status.health.value,
                        source=origin.source if origin is not None else None,
                        book_changed_s=origin.changed_s if origin is not None else None,
                    )
                )
            else:
                error = (
                    result
                    if isinstance(result, VenueError)
                    else VenueError(venue, ErrorKind.UNAVAILABLE, "no answer")
                )
                if venue not in self._degraded:
                    self._degraded.add(venue)
                    log.warning("run %s venue %s degraded: %s", self.run_id, venue, error)
                    await self.journal.record(VenueDegraded(self.run_id, venue, error, now))
                seen.append(
                    QuoteSeen(
                        venue,
                        error,
                        None,
                        None,
                        status.age(now),
                        status.latency_ms,
                        status.health.value,
                    )
                )
        return books, tuple(seen)
