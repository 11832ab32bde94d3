"""One run from its start to its end: the lifecycle every way of starting a run shares.

``run --headless``, ``resume``, a run in a background process, the dashboard and a
backtest all execute a plan through a ``RunSession``. It

- fans the run's events out in one order: the history first (it takes the run's
  lock), then the run's live files (other processes see and steer the run), its
  alerts, then whatever shows the run (a printer, the dashboard);
- binds the live files to the executor, so a pause or cancel from another process
  reaches it;
- starts the run, or resumes it (``resume``: what was done before it stopped), its
  tranches carried out by the ``execution`` given (paper fills, or real orders);
- when the executor raises, marks the run failed in the history and sends the
  ``failed`` alert, then re-raises (the caller says it its own way);
- at the end, whatever happened, closes the live files and the alerts;
- hands a run over to another process: stops it here, resumable, then starts the other.

The parts come from ``storage/`` and the shell as the small protocols below, so this
module never imports them. ``tui`` and ``storage`` wire the real ones in
(``storage.runs.attach`` builds the live files and the alerts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from dca.events import Summary
from dca.execution import Execution
from dca.executor import Executor, ResumeState
from dca.journal import FanOut, Journal, RecordsFailures, RunRefused
from dca.plan import Plan
from dca.standing import StandingExecutor
from dca.status import IN_PROGRESS, INTERRUPTED, RunStatus
from exchanges.clock import Clock
from exchanges.market import MarketData

log = logging.getLogger(__name__)

T = TypeVar("T")


class Steerable(Protocol):
    """What steers a run and reports on it: the executor's control entry points."""

    state: RunStatus
    clock: Clock
    # When the next tranche is due (clock time; None when none is waiting).
    next_at: float | None
    summary: Summary
    # Paper or real orders (a run with real orders is marked LIVE wherever it is seen).
    execution: Execution

    def pause(self) -> None:
        """Hold the schedule."""

    def resume(self) -> None:
        """Continue a paused run."""

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop the run at the next safe point."""


class LiveFiles(Journal, Protocol):
    """The run's files other processes read and steer it through (``storage.runs.control``)."""

    def bind(self, run: Steerable) -> None:
        """The run whose state is reported and whose control entry points are called."""
        ...

    async def aclose(self) -> None:
        """Stop watching for commands and remove the run's files."""
        ...


class Alerts(Journal, Protocol):
    """Sends the run's alerts (``storage.alerts.send.Notifier``)."""

    async def fail(self, run_id: str, message: str, summary: Summary | None = None) -> None:
        """The run stopped on an error: send the ``failed`` alert."""
        ...

    async def aclose(self) -> None:
        """Wait (a bounded time) for alerts still on their way."""
        ...


class StillRunning(Exception):
    """The run did not stop in time; it goes on here."""


class RunSession:
    """One run of ``plan``: build it, ``await run()``; steer it with pause/resume/cancel.

    ``history`` stores the run (and is told when it fails), ``live`` lets other
    processes see and steer it, ``alerts`` sends its alerts; ``views`` get every event
    after them (a printer, the dashboard). ``resume``: continue a stopped run.
    ``catch_up``: run tranches whose slot passed while stopped, instead of skipping
    them (their BTC then rides on the next). ``execution``: how a tranche's decision is
    carried out (``dca.execution``; paper fills unless told otherwise).
    """

    def __init__(
        self,
        plan: Plan,
        market: MarketData,
        clock: Clock,
        *,
        history: Journal | None = None,
        live: LiveFiles | None = None,
        alerts: Alerts | None = None,
        views: Sequence[Journal] = (),
        run_id: str | None = None,
        resume: ResumeState | None = None,
        catch_up: bool = False,
        execution: Execution | None = None,
    ) -> None:
        self.history = history
        self.live = live
        self.alerts = alerts
        journals = [j for j in (history, live, alerts) if j is not None] + list(views)
        # One journal goes straight to the executor (a backtest writes one per tranche).
        journal: Journal = journals[0] if len(journals) == 1 else FanOut(*journals)
        # A standing plan (``run --every``) has a calendar instead of a fixed schedule.
        kind = StandingExecutor if plan.standing is not None else Executor
        self.executor = kind(
            plan,
            market,
            journal,
            clock,
            run_id=run_id,
            resume=resume,
            catch_up=catch_up,
            execution=execution,
        )
        if live is not None:
            live.bind(self.executor)
        self._ended = asyncio.Event()

    @property
    def run_id(self) -> str:
        """The run's id (a resumed run keeps its own)."""
        return self.executor.run_id

    @property
    def state(self) -> RunStatus:
        """Where the run is."""
        return self.executor.state

    @property
    def summary(self) -> Summary:
        """What the run has bought so far."""
        return self.executor.summary

    @property
    def active(self) -> bool:
        """Whether the run has not ended: not started yet, running or paused."""
        return self.state is RunStatus.PENDING or self.state in IN_PROGRESS

    def pause(self) -> None:
        """Hold the schedule (see ``Executor.pause``)."""
        self.executor.pause()

    def resume(self) -> None:
        """Continue a paused run."""
        self.executor.resume()

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop the run at the next safe point; ``"interrupted"`` leaves it resumable."""
        self.executor.cancel(reason)

    async def run(self) -> Summary:
        """Execute the run to its end; the summary (also when cancelled).

        Raises what the executor raised, after marking the run failed (history, alerts);
        a ``RunRefused`` (another process has the run) marks nothing: nothing ran here.
        """
        try:
            return await self.executor.run()
        except RunRefused:
            raise
        except Exception as exc:
            await self._failed(str(exc))
            raise
        finally:
            await self._close()
            self._ended.set()

    async def _failed(self, message: str) -> None:
        """Mark the run failed in the history (it stays resumable) and send the alert."""
        if isinstance(self.history, RecordsFailures):
            with contextlib.suppress(Exception):
                await self.history.fail(self.run_id, message)
        if self.alerts is not None:
            await self.alerts.fail(self.run_id, message, self.summary)

    async def _close(self) -> None:
        if self.live is not None:
            await self.live.aclose()
        if self.alerts is not None:
            await self.alerts.aclose()

    async def stop(self, reason: str = "cancelled", *, wait_s: float) -> bool:
        """Cancel the run and wait (at most ``wait_s``) until it has ended; whether it has."""
        self.cancel(reason)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ended.wait(), wait_s)
        return self._ended.is_set()

    async def hand_over(self, start: Callable[[str], T], *, wait_s: float) -> T:
        """Stop the run here, resumable, then have ``start(run_id)`` continue it elsewhere.

        ``start`` (which starts a process and waits until it has the run) runs in a
        thread once the run has ended here. Raises ``StillRunning`` when it did not end
        within ``wait_s`` seconds, and whatever ``start`` raises (the run is then stopped
        and can be resumed).
        """
        if not await self.stop(INTERRUPTED, wait_s=wait_s):
            raise StillRunning(f"run {self.run_id} did not stop within {wait_s:g} s")
        started = await asyncio.to_thread(start, self.run_id)
        log.info("run %s handed over", self.run_id)
        return started
