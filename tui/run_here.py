"""The run this dashboard executes: starting it, steering it, and quitting during it.

A part of the dashboard (``DcaApp`` in ``tui.app`` extends ``RunHere``, and sets the
attributes declared here). One run at a time goes through a ``dca.session.RunSession``
with the same parts as a headless run (history, live files, alerts), plus the
dashboard's own views of it; it executes in a Textual worker. ``p`` and ``c`` steer this
run, or, while none is going here, the run another process executes that the dashboard
shows (``tui.following``). Quitting during a run asks whether to pause it (resumable),
cancel it or hand it over to a background process, and leaves a line for the terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work
from textual.app import App
from textual.worker import Worker

from dca.plan import Plan
from dca.status import IN_PROGRESS, RunStatus
from exchanges.clock import Clock
from exchanges.market import Health, MarketData
from exchanges.venues import display_name
from tui import fmt
from tui.elsewhere import how_to_reach
from tui.following import Following
from tui.screens.main import MainScreen

if TYPE_CHECKING:
    # The engine loads with the first run, not before the first frame
    # (tests/tui/test_start_imports.py keeps it off the start-up path).
    from dca.events import Summary
    from dca.execution import Execution
    from dca.executor import Executor, ResumeState
    from dca.journal import Journal
    from dca.session import RunSession
    from storage.runs.attach import Attached
    from tui.elsewhere import Elsewhere, Started
    from tui.history.source import HistorySource
    from tui.live_options import LiveOptions
    from tui.live_orders import Accounts

log = logging.getLogger(__name__)

# How long quitting waits for a pause or cancel to be recorded, seconds.
# Longer than a live venue's request timeout (3 s), so a cancel caught mid-request
# still gets its RunCancelled written before the app exits.
QUIT_WAIT_S = 10.0

JournalFactory = Callable[[], "Journal"]
# Builds the market for a quote currency (the same factory the launcher used at start).
MarketFactory = Callable[[str], MarketData]


class RunHere(App[int]):
    """The dashboard's own run: start, pause/resume/cancel, quit during it."""

    # Set by ``DcaApp``.
    market: MarketData
    clock: Clock
    journal_factory: JournalFactory | None
    history: HistorySource
    elsewhere: Elsewhere | None
    market_factory: MarketFactory | None
    others: Following | None
    # Set by the main screen whenever the run's state changes (quitting waits on it).
    run_state_changed: asyncio.Event
    # This dashboard's run (None until one starts here).
    session: RunSession | None
    run_worker_: Worker[Summary] | None
    # Printed by the launcher once the app has quit: what became of a run in progress.
    farewell: str
    # Real orders (None: not offered here, e.g. on the demo market).
    live: LiveOptions | None
    # The accounts a live run here trades on (closed when it ends).
    _live_accounts: Accounts | None = None

    @property
    def main(self) -> MainScreen:
        """The main screen (``DcaApp``'s)."""
        raise NotImplementedError

    @property
    def cli(self) -> str:
        """``btc-dca`` as hints spell it here (with the data dir and config in use)."""
        return self.elsewhere.cli if self.elsewhere is not None else "btc-dca"

    async def switch_market(self, quote: str) -> None:
        """Close the market and open the same venues quoted in ``quote`` (``DcaApp``'s)."""
        raise NotImplementedError

    def _reread_history(self) -> object:
        """Read History again in the background (``DcaApp``'s)."""
        raise NotImplementedError

    @property
    def executor(self) -> Executor | None:
        """The executor of this dashboard's run (None until one starts here)."""
        return self.session.executor if self.session is not None else None

    @property
    def run_active(self) -> bool:
        """Whether a run is going (running or paused)."""
        return self.session is not None and self.session.active

    def request_start(
        self, plan: Plan, *, live: bool = False, resume: ResumeState | None = None
    ) -> None:
        """Start ``plan`` on paper, or (``live``) with real orders once the pre-flight
        passed and the user confirmed it in the dialog."""
        if not live:
            self.start_run(plan, resume)
            return
        if self.run_active:
            self.notify("A run is already going: pause or cancel it first", severity="warning")
            return
        self.run_worker(
            self._start_live(plan, resume), group="live", exclusive=True, exit_on_error=False
        )

    def _refuse_live(self, why: str) -> None:
        log.warning("live run not started: %s", why)
        self.notify(f"{why}. Nothing was sent.", title="Live run not started", severity="error")

    async def _start_live(self, plan: Plan, resume: ResumeState | None) -> None:
        """Keys, balances and the worst case, then the dialog; the run starts only on its yes."""
        if self.live is None:
            self._refuse_live(
                "Real orders are never sent on the demo market (its prices are simulated)"
            )
            return
        from tui.live_orders import not_offered_text, open_accounts, preflight

        refused = not_offered_text(plan.venues)
        if refused:
            self._refuse_live(f"Live: {refused}; untick the others or choose Paper")
            return
        options = self.live
        accounts = await open_accounts(plan.venues, self.market.specs, plan.quote, options.env)
        started = False
        try:
            if accounts.refused:
                self._refuse_live("; ".join(str(e) for e in accounts.refused.values()))
                return
            pre = await preflight(plan, self.market, accounts, options.max_slippage)
            if pre.problems:
                self._refuse_live("; ".join(pre.problems.values()))
                return
            from tui.screens.live_confirm import LiveConfirmScreen

            confirmed = await self.push_screen_wait(
                LiveConfirmScreen(plan, pre, options.max_slippage, options.max_spend)
            )
            if not confirmed:
                self.notify("Not confirmed: nothing was sent.", title="Live run")
                return
            if self.run_active:  # started meanwhile (another key, a resume)
                self._refuse_live("A run is already going")
                return
            from tui.live_orders import live_execution

            execution = live_execution(
                accounts,
                self.market,
                plan,
                options.max_slippage,
                options.max_spend,
                await asyncio.to_thread(options.orders),
                None,
            )
            self._live_accounts = accounts
            started = self.start_run(plan, resume, execution=execution)
        finally:
            if not started:
                self._live_accounts = None
                await accounts.close()

    def start_run(
        self,
        plan: Plan,
        resume: ResumeState | None = None,
        *,
        execution: Execution | None = None,
    ) -> bool:
        """Execute ``plan`` in a worker (one run at a time); True when it started.

        ``execution``: real orders (``dca.live_execution``); paper fills when None."""
        if self.run_active:
            self.notify("A run is already going: pause or cancel it first", severity="warning")
            return False
        if plan.quote != self.market.quote and self.market_factory is not None:
            if execution is not None:  # priced and confirmed in another currency: ask again
                self._refuse_live(f"The market is in {self.market.quote}; start it again")
                return False
            # The form's currency was chosen while a run was going: switch now, then start.
            self.run_worker(self._switch_then_start(plan, resume), group="switch", exclusive=True)
            return False
        if plan.quote != self.market.quote:
            self.notify(
                f"This market quotes in {self.market.quote}; start with --quote {plan.quote}",
                title="Quote currency",
                severity="warning",
            )
            return False
        unreachable = self.unreachable(plan)
        if unreachable:
            # As `run --headless` exits 3: a run with no venue would only skip every tranche.
            self.notify(
                f"No ticked venue is reachable ({unreachable}): not starting",
                title="Start",
                severity="error",
            )
            return False
        from dca.session import RunSession
        from tui.history.memory import MemoryHistory
        from tui.ui_journal import UiJournal

        if self.others is not None:
            self.others.forget()  # this dashboard's own run is shown from now on
        store = self.journal_factory() if self.journal_factory is not None else None
        attached: Attached | None = None
        if self.elsewhere is not None:
            from storage.runs.attach import attach

            # Other processes see and steer this run; its alerts go out like a headless run's.
            attached = attach(
                self.elsewhere.data_dir,
                self.elsewhere.notify,
                self.market,
                where="dashboard",
                cli=self.elsewhere.cli,
            )
        views: list[Journal] = []
        if isinstance(self.history, MemoryHistory):
            views.append(self.history)
        views.append(UiJournal(self.main.post_message))
        # A pause (or the time the app was closed) never bunches purchases: tranches whose
        # slot passed are skipped and their BTC rides on the next (the run panel says so).
        self.session = RunSession(
            plan,
            self.market,
            self.clock,
            history=store,
            live=attached.live if attached else None,
            alerts=attached.alerts if attached else None,
            views=views,
            resume=resume,
            catch_up=False,
            execution=execution,
        )
        if attached is not None and execution is not None:
            from dca.live_execution import LiveExecution
            from tui.live_orders import alert_through

            if isinstance(execution, LiveExecution) and execution.alert is None:
                # Money-safety alerts (balance, max_spend, a venue left out) go out like a
                # headless live run's.
                execution.alert = alert_through(attached.alerts)
        self.run_worker_ = self._execute(self.session)
        return True

    def unreachable(self, plan: Plan) -> str:
        """Why none of ``plan``'s venues can be used now ("" when one can).

        A venue counts as reachable when it has a book and is not down, or is still
        connecting for the first time (the run's first tranche waits and retries).
        """
        reasons: list[str] = []
        for venue in plan.venues:
            status = self.market.status(venue)
            if status.health is Health.DOWN:
                reasons.append(f"{display_name(venue)}: {status.error or 'down'}")
            elif status.health is Health.CONNECTING and status.error is not None:
                reasons.append(f"{display_name(venue)}: {status.error}")
            else:
                return ""
        return "; ".join(reasons)

    async def _switch_then_start(self, plan: Plan, resume: ResumeState | None) -> None:
        await self.switch_market(plan.quote)
        if self.market.quote == plan.quote:
            self.start_run(plan, resume)

    @work(exclusive=True, exit_on_error=False, group="run", name="run")
    async def _execute(self, session: RunSession) -> Summary:
        try:
            # A failure is marked in the history (the run stays resumable) by the session,
            # then reported by ``on_worker_state_changed``.
            return await session.run()
        finally:
            accounts, self._live_accounts = self._live_accounts, None
            if accounts is not None:
                await accounts.close()
            # History shows the run as it ended, without a re-read when it opens.
            self._reread_history()

    # -- p and c: this run, or the one shown from another process ----------------------------

    def action_toggle_pause(self) -> None:
        """Pause a running run, resume a paused one (here or in the process shown)."""
        if self._steering_elsewhere():
            paused = self.main.run_state is RunStatus.PAUSED
            self._steer_other("unpause" if paused else "pause")
            return
        session = self.session
        if session is None or not session.active:
            self.notify("No run in progress to pause or resume", severity="warning")
        elif session.state is RunStatus.RUNNING:
            session.pause()
        elif session.state is RunStatus.PAUSED:
            session.resume()

    def action_pause(self) -> None:
        """Pause the run."""
        if self._steering_elsewhere():
            self._steer_other("pause")
        elif self.session is not None:
            self.session.pause()

    def action_resume(self) -> None:
        """Resume the run."""
        if self._steering_elsewhere():
            self._steer_other("unpause")
        elif self.session is not None:
            self.session.resume()

    def action_cancel_run(self) -> None:
        """Cancel the run once the user confirms (the tranches bought so far stay recorded;
        a cancelled run cannot be resumed, so it asks first)."""
        elsewhere = self._steering_elsewhere()
        if not elsewhere and not (self.session is not None and self.session.active):
            self.notify("No run in progress to cancel", severity="warning")
            return
        from tui.screens.confirm import ConfirmScreen

        run_id = self.following if elsewhere else self.executor.run_id if self.executor else ""
        bought = ""
        if not elsewhere and self.executor is not None:
            s = self.executor.summary
            bought = (
                " It has "
                + fmt.bought_of(
                    s.qty, s.target, s.total, s.budget, self.executor.plan.quote, spent=True
                ).replace("bought nothing", "bought nothing yet", 1)
                + "."
            )
        detail = f"What it bought stays recorded; a cancelled run cannot be resumed.{bought}"
        self.push_screen(
            ConfirmScreen(f"Cancel run {run_id}?", detail, "Cancel the run", "Keep it going"),
            self._cancel_confirmed,
        )

    def _cancel_confirmed(self, yes: bool | None) -> None:
        if not yes:
            return
        if self._steering_elsewhere():
            self._steer_other("cancel")
        elif self.session is not None and self.session.active:
            self.session.cancel()

    @property
    def following(self) -> str | None:
        """The run another process executes that this dashboard shows (None: none)."""
        return self.others.run_id if self.others is not None else None

    def _steering_elsewhere(self) -> bool:
        return not self.run_active and self.following is not None

    def _steer_other(self, name: str) -> None:
        assert self.others is not None
        self.others.steer(name)

    # -- quitting during the run ----------------------------------------------------------------

    async def action_quit(self) -> None:
        """Quit; during a run, ask whether to pause it (resumable) or cancel it."""
        if not self.run_active:
            if self.others is not None:  # a run shown here, executed by another process
                self.farewell = self.others.farewell()
            self.exit(0)
            return
        from tui.screens.quit import QuitScreen

        can_hand_over = self.elsewhere is not None and self.elsewhere.hand_over is not None
        self.push_screen(QuitScreen(background=can_hand_over), self._quit_choice)

    async def _quit_choice(self, choice: str | None) -> None:
        session = self.session
        if choice not in ("pause", "cancel", "background") or session is None:
            return
        if choice == "background":
            await self._hand_over(session)
            return
        if choice == "pause":
            session.pause()
            await self._wait(lambda: self.main.run_state is RunStatus.PAUSED)
        else:
            session.cancel()
            await self._wait(lambda: not self.run_active)
        self.farewell = farewell_text(session.executor, self.main.run_state, self.cli)
        self.exit(0)

    async def _hand_over(self, session: RunSession) -> None:
        """Stop the run here (resumable) and have a background process continue it, then quit."""
        from dca.session import StillRunning

        assert self.elsewhere is not None and self.elsewhere.hand_over is not None
        try:
            started = await session.hand_over(self.elsewhere.hand_over, wait_s=QUIT_WAIT_S)
        except StillRunning:
            self.notify("The run did not stop in time; try again", severity="error")
            return
        except Exception as exc:
            log.error("could not hand run %s to a background process: %s", session.run_id, exc)
            self.notify(
                f"{exc}. The run is stopped and can be resumed ({self.cli} resume).",
                title="Run in background failed",
                severity="error",
            )
            return
        log.info("run %s handed over to process %d", started.run_id, started.pid)
        self.farewell = handed_over_text(started, self.cli)
        self.exit(0)

    async def _wait(self, done: Callable[[], bool]) -> None:
        """Wait (at most ``QUIT_WAIT_S``) until ``done()``, re-checking at each run state change."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + QUIT_WAIT_S
        while not done():
            self.run_state_changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.run_state_changed.wait(), remaining)


def farewell_text(executor: Executor, state: RunStatus, cli: str = "btc-dca") -> str:
    """What the terminal says after quitting during a run: how far it got, what next."""
    s, run_id = executor.summary, executor.run_id
    bought = fmt.bought_of(s.qty, s.target, s.total, s.budget, executor.plan.quote)
    if state in IN_PROGRESS:
        # Paused, or still running when the app quits (its worker is stopped: resumable).
        how = "paused" if state is RunStatus.PAUSED else "stopped"
        return f"Run {run_id} {how} ({bought}). Continue it with: {cli} resume {run_id}"
    return f"Run {run_id} {state} ({bought})."


def handed_over_text(started: Started, cli: str = "btc-dca") -> str:
    """What the terminal says after quitting with the run handed to a background process."""
    if started.ended is not None:
        return (
            f"Run {started.run_id} went on in the background (pid {started.pid}) and has "
            f"already ended, {started.ended}.\n  see it:    {cli} history --run {started.run_id}"
        )
    return (
        f"Run {started.run_id} keeps running in the background (pid {started.pid}); it goes "
        f"on after this terminal closes.\n{how_to_reach(started.run_id, started.log_file, cli)}"
    )
