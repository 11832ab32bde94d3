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

from dca.budget import buy_for, takes
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
from dca.plan import BTC_QUANTUM, Plan
from dca.pricing import ZERO, Cost, InsufficientDepth, cost_to_buy
from dca.routing import Route, price_all, route, venue_order
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
                before,
                target=plan.amount,
                budget=plan.budget_total,
                venue_qty=dict(before.venue_qty),
                tca=before.tca.copy(),
            )
            if before is not None
            else Summary(target=plan.amount, budget=plan.budget_total)
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
        # A budget tranche's route, found while its books were priced (``_look``).
        self._budget_route: Route | None = None
        self._budget_alone: dict[str, Decimal | None] = {}

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
        remaining_idx = [i for i in range(plan.tranches) if i not in done]
        # Whatever earlier skips left unbought (BTC; for a budget, money: also the change
        # of earlier tranches) rides on the first remaining tranche.
        if plan.spend is not None:
            carry = plan.spend - self.summary.total - sum((sizes[i] for i in remaining_idx), ZERO)
        else:
            bought_before = sum(done.values(), ZERO)
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
                execution="live" if self.execution.live else "paper",
            )
        )
        # Set once the last tranche is recorded: a stop that comes after it (a reader of
        # the output gone after the last fill) finds the schedule ended, not cut short.
        scheduled_all = not remaining_idx
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
                recorded = self.summary.filled + self.summary.skipped
                carry = await self._tranche(i, times[i], qty, slot_end, is_last)
                scheduled_all = is_last and self.summary.filled + self.summary.skipped > recorded
                if self._cancelled.is_set():
                    break
        finally:
            self.next_at = None
            await self._flush_pending()
        return await self._end(done=scheduled_all)

    async def _end(self, *, done: bool) -> Summary:
        """Record how the run ended: cancelled (or paused, interrupted) unless ``done``, the
        schedule handled to its end, else finished or incomplete by what it bought."""
        now = self.clock.now()
        if self._cancelled.is_set() and not done:
            self.state = stop_status(self.cancel_reason)
            await self.journal.record(
                RunCancelled(self.run_id, now, self.summary, reason=self.cancel_reason)
            )
        else:
            self.state = end_status(self.summary)
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
        """Price, route and record tranche ``i``; returns the BTC to carry into the next.

        For a budget plan ``qty`` is the tranche's money, and so is what it returns.
        """
        attempt = 0
        while True:
            books, quotes = await self._look(qty)
            if books or attempt >= self.retries:
                break
            delay = self.retry_base_s * 2**attempt
            if self.clock.now() + delay >= slot_end and not is_last:
                break
            attempt += 1
            log.info("tranche %d: no venue available, retry %d in %.0fs", i + 1, attempt, delay)
            if not await self._wait_until(self.clock.now() + delay):
                return ZERO
        now = self.clock.now()
        carry = ZERO if is_last else qty
        out = self.execution.left_out
        if out:
            # Venues whose keys stopped working this run: priced, never routed to.
            books = {v: b for v, b in books.items() if v not in out}
        if not books:
            errors = "; ".join(f"{q.venue}: {out.get(q.venue, q.outcome)}" for q in quotes)
            await self._skip(
                i, scheduled, qty, SkipReason.NO_VENUE, errors or "no venue", carry, quotes
            )
            return carry
        lump = self._lump(books)
        costs = {
            q.venue: q.outcome
            for q in quotes
            if isinstance(q.outcome, Cost | InsufficientDepth) and q.venue not in out
        }
        down = [q.venue for q in quotes if isinstance(q.outcome, VenueError) or q.venue in out]
        if self.plan.spend is not None:
            return await self._budget_tranche(i, scheduled, qty, is_last, quotes, lump, down)
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
        if (dear := self._above_max_price(chosen)) is not None:
            await self._skip(
                i, scheduled, qty, SkipReason.ABOVE_MAX_PRICE, dear, carry, quotes, lump
            )
            return carry
        done = await self.execution.execute(self.run_id, i, chosen)
        if isinstance(done, NotExecuted):
            carry = carry if done.carry else ZERO
            await self._skip(
                i, scheduled, qty, done.reason, done.detail, carry, quotes, lump, done.orders
            )
            return carry
        # A partial fill's remainder rides on the next tranche like a skip's.
        short = ZERO if is_last else max(qty - done.route.qty, ZERO)
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
            carried_why=done.carried_why if short else "",
        )
        self.summary.add(event)
        await self.journal.record(event)
        return short

    async def _budget_tranche(
        self,
        i: int,
        scheduled: float,
        money: Decimal,
        is_last: bool,
        quotes: tuple[QuoteSeen, ...],
        lump: tuple[Decimal | None, Decimal | None],
        down: list[str],
    ) -> Decimal:
        """Buy what ``money`` buys (``dca.budget``); returns the money to carry into the next."""
        carry = ZERO if is_last else money
        chosen = self._budget_route
        if chosen is None:
            thin = all(q is None for q in self._budget_alone.values())
            reason = SkipReason.INSUFFICIENT_DEPTH if thin else SkipReason.BELOW_MINIMUM
            detail = (
                f"no book can take {money:,.2f} {self.plan.quote}"
                if thin
                else f"{money:,.2f} {self.plan.quote} buys less than every venue's minimum order"
            )
            await self._skip(i, scheduled, money, reason, detail, carry, quotes, lump)
            return carry
        names = sorted({*chosen.alternatives, *(q.venue for q in quotes), *down}, key=venue_order)
        # A venue whose lot step or minimum cannot take the quantity could not have filled
        # it: no total to compare with ("vs next best", "saved vs worst").
        specs = self.market.specs
        alternatives = {
            v: next((q.total for q in quotes if q.venue == v), None)
            if v in specs and takes(specs[v], chosen.qty)
            else None
            for v in names
        }
        chosen = Route(chosen.qty, chosen.mode, chosen.legs, alternatives)
        if (dear := self._above_max_price(chosen)) is not None:
            await self._skip(
                i, scheduled, money, SkipReason.ABOVE_MAX_PRICE, dear, carry, quotes, lump
            )
            return carry
        done = await self.execution.execute(self.run_id, i, chosen)
        if isinstance(done, NotExecuted):
            carry = carry if done.carry else ZERO  # an unconfirmed order may have spent it
            await self._skip(
                i, scheduled, money, done.reason, done.detail, carry, quotes, lump, done.orders
            )
            return carry
        event = TrancheFilled(
            self.run_id,
            i,
            self.plan.tranches,
            scheduled,
            self.clock.now(),
            done.route,
            quotes,
            *lump,
            orders=done.orders,
            decision=done.decision,
            spend=money,
        )
        self.summary.add(event)
        if is_last:
            self.summary.spent_out = True
        await self.journal.record(event)
        # The change (under one lot) rides on the next tranche; the last one's stays unspent.
        return ZERO if is_last else event.change

    def _above_max_price(self, chosen: Route) -> str | None:
        """Why ``chosen`` is dearer than the plan's maximum price allows (None when it is not)."""
        limit = self.plan.max_price
        if limit is None or chosen.effective_price <= limit:
            return None
        return f"best price {chosen.effective_price:,.2f} (fees in) is above the maximum {limit:,}"

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
        log.warning(
            "run %s tranche %d%s skipped: %s (%s)",
            self.run_id,
            i + 1,  # numbered from 1, as everywhere a person reads it
            f" of {self.plan.tranches}" if self.plan.tranches else "",
            reason.value,
            detail,
        )
        budget = self.plan.spend is not None
        # A budget tranche's qty and carry are money: its BTC fields are then 0.
        event = TrancheSkipped(
            self.run_id,
            i,
            self.plan.tranches,
            scheduled,
            self.clock.now(),
            ZERO if budget else qty,
            reason,
            detail,
            ZERO if budget else carry,
            quotes,
            *lump,
            orders=orders,
            spend=qty if budget else None,
            spend_carried=carry if budget else ZERO,
        )
        self.summary.see(event)
        await self.journal.record(event)

    def _lump(self, books: Mapping[str, OrderBook]) -> tuple[Decimal | None, Decimal | None]:
        """At the run's first decision: the cost of the whole amount bought at once, with the
        amount (for the execution-quality figures); ``(None, None)`` at every later one."""
        if self.summary.tca.lump_amount is not None:
            return None, None
        if self.plan.spend is not None:
            # A budget's lump sum: what the whole budget buys at once.
            whole, _ = buy_for(books, self.market.specs, self.plan.spend, self.plan.mode)
            return (whole.total, whole.qty) if whole else (None, ZERO)
        lump = route(books, self.market.specs, self.plan.amount, self.plan.mode)
        return (lump.total if lump else None), self.plan.amount

    async def _look(self, qty: Decimal) -> tuple[dict[str, OrderBook], tuple[QuoteSeen, ...]]:
        """The usable books for the plan's venues and what each venue quoted for ``qty``.

        For a budget plan ``qty`` is money: the venues quote the quantity it buys
        (``dca.budget``), and the route that buys it is kept for the tranche.
        """
        budget = self.plan.spend is not None
        results = await self.market.fresh_books(
            self.plan.venues, min_btc=self._btc_for(qty) if budget else qty
        )
        now = self.clock.now()
        books = {v: r for v, r in results.items() if isinstance(r, OrderBook)}
        if budget:
            costs = self._budget_costs(books, qty)
        else:
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

    def _btc_for(self, money: Decimal) -> Decimal | None:
        """Roughly how much BTC ``money`` buys at the best ask known (None before any book)."""
        asks = [
            book.best_ask
            for v in self.plan.venues
            if (book := self.market.status(v).book) is not None and book.best_ask
        ]
        return (money / min(asks) * Decimal("1.01")).quantize(BTC_QUANTUM) if asks else None

    def _budget_costs(
        self, books: Mapping[str, OrderBook], money: Decimal
    ) -> dict[str, Cost | InsufficientDepth]:
        """Per venue, its cost for the quantity ``money`` buys on the best route (or, when no
        route can, for what the venue alone would buy; too thin: the BTC its book holds)."""
        specs = self.market.specs
        chosen, alone = buy_for(books, specs, money, self.plan.mode)
        self._budget_route = chosen
        self._budget_alone = alone
        out: dict[str, Cost | InsufficientDepth] = {}
        for v, book in books.items():
            q = chosen.qty if chosen is not None else alone[v]
            held = sum((size for _, size in book.asks), ZERO)
            if q is None or q <= 0 or q > held:
                want = money / book.best_ask if book.best_ask else held
                out[v] = InsufficientDepth(v, want.quantize(BTC_QUANTUM), held)
            else:
                out[v] = cost_to_buy(book, q, specs[v].taker_fee)
        return out
