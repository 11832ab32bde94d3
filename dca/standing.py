"""A standing plan's run: a buy at every slot of its calendar until its end or a cancel.

``run --every 1w --at "mon 09:00" --tz Europe/Paris --spend 100`` has no fixed number
of tranches: slot ``k`` falls at ``Standing.slot(origin, k)`` (``dca.slots``), and the
run goes on until a slot falls after ``--until``, until ``--budget`` is spent (the last
buy spends only what is left, so the run's total is the budget to within one lot), or
until it is cancelled. Each buy is priced, routed and carried out exactly as a tranche
of any other run (``Executor``); a tranche's index is its slot's number.

The machine may sleep, or the run's process may be stopped, past one or more slots.
When the run gets to a slot later than its grace (a tenth of the period), the slots it
missed follow the plan's ``--missed`` policy (``dca.slots.Missed``): ``skip`` records
them as one skipped tranche (reason ``missed_while_stopped``, its detail naming the
slots) and buys again at the next slot; ``once`` buys the latest of them now, once.
Either way it is said in the log and, as a skipped tranche, in the alerts. A skipped
buy's money is never carried to the next (a standing plan buys per slot); a money
buy's change (less than one lot) is.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from dca.events import (
    QuoteSeen,
    RunStarted,
    SkipReason,
    Summary,
)
from dca.executor import Executor
from dca.orders import OrderRecord
from dca.pricing import ZERO
from dca.slots import Missed, Standing
from dca.status import RunStatus

log = logging.getLogger(__name__)


class StandingExecutor(Executor):
    """Executes a standing plan (``plan.standing``); steered like any run."""

    # Why the last buy was skipped (a budget's last buy below every minimum ends the run).
    _last_skip: SkipReason | None = None

    @property
    def standing(self) -> Standing:
        """The plan's calendar and end."""
        standing = self.plan.standing
        assert standing is not None, "a standing plan"
        return standing

    async def run(self) -> Summary:
        """Buy at every slot until the plan's end or a cancel; the summary."""
        plan, st = self.plan, self.standing
        # No amount to reach: a standing run is complete when its end came (with a
        # budget: when its last buy spent what was left).
        self.summary.target = ZERO
        self.summary.budget = st.budget
        origin = self.resume_state.origin if self.resume_state else self.clock.now()
        done = dict(self.resume_state.done) if self.resume_state else {}
        k = max(done) + 1 if done else 0
        share = plan.spend if plan.spend is not None else plan.amount
        self.state = RunStatus.RUNNING
        # The next buy is known before each event, so the state other processes read
        # (``btc-dca status``) says when it is.
        self._next(origin, k)
        await self.journal.record(
            RunStarted(
                self.run_id,
                plan,
                self.clock.now(),
                (),
                (share,),
                resumed=self.resume_state is not None,
                done=len(done),
                execution="live" if self.execution.live else "paper",
            )
        )
        change = ZERO
        ended = False
        try:
            while True:
                at = st.slot(origin, k)
                if st.ended(at):
                    ended = True
                    break
                self._next(origin, k)
                if not await self._wait_until(at):
                    break
                now = self.clock.now()
                last = st.due(origin, k, now)
                while last > k and st.ended(st.slot(origin, last)):
                    last -= 1  # slots after --until are never due
                late = now - st.slot(origin, last) > st.grace_s(self.clock.speed)
                buy = last if not late or st.missed is Missed.ONCE else None
                missed_to = last - 1 if buy is not None else last
                if missed_to >= k:
                    await self._missed(origin, k, missed_to, share, late and buy is not None)
                elif late and buy is not None:
                    log.warning(
                        "run %s: the buy of %s comes late (%s); buying it now (--missed once)",
                        self.run_id,
                        st.when(st.slot(origin, buy)),
                        st.when(now),
                    )
                k = last + 1
                if buy is None:
                    continue
                change, ended = await self._buy(origin, buy, share, change)
                if ended or self._cancelled.is_set():
                    break
        finally:
            self.next_at = None
            await self._flush_pending()
        return await self._end(done=ended)

    def _next(self, origin: float, k: int) -> None:
        """Slot ``k`` is the next buy (none when it falls after ``--until``)."""
        at = self.standing.slot(origin, k)
        ended = self.standing.ended(at)
        self.next_index, self.next_at = (None, None) if ended else (k, at)

    async def _buy(
        self, origin: float, k: int, share: Decimal, change: Decimal
    ) -> tuple[Decimal, bool]:
        """Buy slot ``k``; the change it leaves (money plans), and whether the plan ended."""
        plan, st = self.plan, self.standing
        scheduled = st.slot(origin, k)
        slot_end = st.slot(origin, k + 1)
        filled = self.summary.filled
        if plan.spend is None:
            self._next(origin, k + 1)
            await self._tranche(k, scheduled, share, slot_end, False)
            return ZERO, False
        money = share + change
        final = False
        if st.budget is not None:
            left = st.budget - self.summary.total
            if left <= money:
                money, final = left, True
        self._last_skip = None
        self._next(origin, k + 1)
        carry = await self._tranche(k, scheduled, money, slot_end, False)
        if self.summary.filled > filled:
            if final:
                self.summary.spent_out = True
                return ZERO, True
            return carry, False
        # What is left of the budget is below every venue's minimum order: nothing more
        # can be bought (the run ends incomplete, saying what is left).
        return ZERO, final and self._last_skip is SkipReason.BELOW_MINIMUM

    async def _missed(
        self, origin: float, first: int, last: int, share: Decimal, catch_up: bool
    ) -> None:
        """Record slots ``first``..``last`` as missed: one skipped tranche at ``last``."""
        st = self.standing
        n = last - first + 1
        span = st.when(st.slot(origin, first))
        if n > 1:
            span = f"{n} slots from {span} to {st.when(st.slot(origin, last))}"
        then = (
            "buying the latest now (--missed once)"
            if catch_up
            else f"next buy {st.when(st.slot(origin, last + 1))}"
        )
        detail = f"missed {span} (the machine slept or the run was stopped); {then}"
        log.warning("run %s %s", self.run_id, detail)
        self._next(origin, last + 1)
        await self._skip(last, st.slot(origin, last), share * n, SkipReason.MISSED, detail, ZERO)

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
        """As ``Executor._skip``, but nothing is carried: a standing plan buys per slot."""
        self._last_skip = reason
        await super()._skip(i, scheduled, qty, reason, detail, ZERO, quotes, lump, orders)
