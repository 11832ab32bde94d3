"""The dashboard app: wires market, clock, journals and history into the screens.

``build_app`` is the factory the command line and the tests share: tests hand it a
``SimulatedMarket`` on a ``SimClock`` and a day-long plan runs in milliseconds.
The executor runs in a Textual worker; its events come back as messages through a
journal (``UiJournal``), fanned out with the storage journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.theme import Theme
from textual.widgets import Input, Select
from textual.worker import Worker, WorkerState

from dca.plan import Plan
from dca.status import IN_PROGRESS, RunStatus
from exchanges.clock import Clock
from exchanges.market import Health, MarketData, VenueStatus
from exchanges.venues import display_name
from tui import fmt, startup
from tui.elsewhere import how_to_reach
from tui.following import Following
from tui.messages import RunFailed, StartRequested
from tui.recording import MarketRecording, RecorderFactory, Recording
from tui.screens.main import MainScreen
from tui.widgets.plan_form import FormDefaults, PlanForm

if TYPE_CHECKING:
    # The engine, history and dialogs load when first used, not before the first frame
    # (tests/tui/test_start_imports.py keeps them off the start-up path).
    from dca.events import Summary
    from dca.executor import Executor, ResumeState
    from dca.journal import Journal
    from dca.session import RunSession
    from storage.runs.attach import Attached
    from tui.elsewhere import Elsewhere, Started
    from tui.history.cache import HistoryCache
    from tui.history.source import HistorySource
    from tui.screens.resume import ResumeOffer

log = logging.getLogger(__name__)

DEFAULT_THEME = "textual-dark"
# Loaded in the background after the first frame (see ``_preload``).
PRELOAD = ("tui.widgets.tranche_table", "tui.history.screen")
# The name the history screen is installed under.
HISTORY = "history"
# How long quitting waits for a pause or cancel to be recorded, seconds.
# Longer than a live venue's request timeout (3 s), so a cancel caught mid-request
# still gets its RunCancelled written before the app exits.
QUIT_WAIT_S = 10.0
# After the first frame the app waits this long (seconds) before it starts its background
# threads (resume offers, History's imports, compaction): they load polars and compete for
# the GIL, so the footer's keys and the first quotes are drawn first.
SETTLE_S = 0.5

JournalFactory = Callable[[], "Journal"]
# Builds the market for a quote currency (the same factory the launcher used at start).
MarketFactory = Callable[[str], MarketData]
OffersSource = Callable[[], Sequence["ResumeOffer"]]


class DcaApp(App[int]):
    """The btc-dca dashboard."""

    # Absolute, so subclasses defined elsewhere (tests) find it too.
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "btc-dca"
    SUB_TITLE = "DCA into BTC at the best real price"
    # Run keys (start, pause, cancel) belong to the main screen: other screens' footers
    # show only what works there.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("h", "history", "History"),
        Binding("f1", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        market: MarketData,
        clock: Clock,
        *,
        journal_factory: JournalFactory | None = None,
        history: HistorySource | None = None,
        defaults: FormDefaults | None = None,
        theme: str | None = None,
        on_theme_change: Callable[[str], None] | None = None,
        offers: OffersSource | None = None,
        market_factory: MarketFactory | None = None,
        export_dir: Path | None = None,
        background: Sequence[Callable[[], None]] = (),
        seed: int = 0,
        cursor_blink: bool = True,
        elsewhere: Elsewhere | None = None,
        recorder_factory: RecorderFactory | None = None,
    ) -> None:
        super().__init__()
        # Runs in other processes: seen and steered through the data dir's live files.
        self.elsewhere = elsewhere
        self.others = (
            Following(
                self,
                elsewhere,
                busy=lambda: self.run_active,
                show=lambda message: self.main.post_message(message),
                ended=lambda: self._reread_history(),
            )
            if elsewhere is not None
            else None
        )
        self.cursor_blink = cursor_blink
        self.market = market
        self.clock = clock
        self.journal_factory = journal_factory
        if history is None:
            from tui.history.memory import MemoryHistory

            history = MemoryHistory()
        self.history: HistorySource = history
        # What History shows, read ahead in the background so it paints at once (built on
        # first use: see ``history_cache``).
        self._history_cache: HistoryCache | None = None
        self._history_cache_lock = threading.Lock()
        self.defaults = defaults or FormDefaults(quote=market.quote)
        self.initial_theme = theme or DEFAULT_THEME
        self.on_theme_change = on_theme_change
        self.offers = offers
        self.market_factory = market_factory
        # Where CSV exports and screenshots go (the launcher passes the data dir's exports/).
        self.export_dir = export_dir or Path.cwd()
        self.seed = seed
        # Slow housekeeping (the launcher's compaction) run in a thread after the first frame.
        self.background = tuple(background)
        self._theme_lock = threading.Lock()
        self._theme_to_save: str | None = None
        # This dashboard's run (None until one starts here).
        self.session: RunSession | None = None
        self.run_worker_: Worker[Summary] | None = None
        self._unlisten: Callable[[], None] | None = None
        self._main: MainScreen
        # perf_counter() when the first frame had been drawn (for the start-up benchmark).
        self.first_frame_at: float | None = None
        # Whether the background threads have been started (SETTLE_S after the first frame).
        self.background_started = False
        # Printed by the launcher once the app has quit: what became of a run in progress.
        self.farewell = ""
        # Set by the main screen whenever the run's state changes (quitting waits on it).
        self.run_state_changed = asyncio.Event()
        # Recording the books to market/ while the dashboard is open (key m).
        self.recording = MarketRecording(self, recorder_factory, lambda: self.market)

    # -- lifecycle -------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[None]:
        """The main screen, seeded with each venue's current status."""
        statuses = {v: self.market.status(v) for v in self.market.specs}
        self._main = MainScreen(
            self.market.specs, self.clock, self.defaults, statuses, seed=self.seed
        )
        return self._main

    @property
    def main(self) -> MainScreen:
        """The main screen (always at the bottom of the stack)."""
        return self._main

    @property
    def history_cache(self) -> HistoryCache:
        """What History shows, read ahead; made on first use (from a thread or the loop)."""
        with self._history_cache_lock:
            if self._history_cache is None:
                from tui.history.cache import HistoryCache

                self._history_cache = HistoryCache(self.history)
            return self._history_cache

    def on_mount(self) -> None:
        """Listen to the market, start it, apply the theme, offer unfinished runs."""
        self.theme = self.initial_theme
        if not self.cursor_blink:
            for field in self.main.query(Input):
                field.cursor_blink = False
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self._unlisten = self.market.add_listener(self._on_status)
        self.run_worker(self.market.start(), group="market", exit_on_error=False)
        # After the first frame: what the user may ask for next, off the event loop.
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        self.first_frame_at = time.perf_counter()
        log.info("first frame drawn")
        self.set_timer(SETTLE_S, self._start_background, name="settle")

    def _start_background(self) -> None:
        startup.release()  # the collector runs as usual from here (see tui.startup)
        self.background_started = True
        if self.offers is not None:
            self._load_offers()
        self._preload()
        for task in self.background:
            self.run_worker(task, thread=True, group="background", exit_on_error=False)
        if self.others is not None:
            self.others.start()

    @work(thread=True, group="preload", exit_on_error=False)
    def _preload(self) -> None:
        """Import the history screen's modules (Arrow, its table, the source's queries) and
        read what it shows, in a thread, so opening History later does not wait."""
        for name in PRELOAD:
            importlib.import_module(name)
        preload = getattr(self.history, "preload", None)
        if callable(preload):
            preload()
        # History opened already has read it: unchanged, it is not read (and redrawn) again.
        self.history_cache.load(only_if_changed=True)

    async def on_unmount(self) -> None:
        """Stop recording (its books are written), stop listening, close the connections."""
        await self.recording.stop()
        if self._unlisten is not None:
            self._unlisten()
        await self.market.close()

    # -- recording the market ----------------------------------------------------------

    async def action_toggle_recording(self) -> None:
        """Start or stop recording every venue's book to market/ (shown in the header)."""
        await self.recording.toggle()

    @property
    def recorder(self) -> Recording | None:
        """The market recorder running now (None: not recording)."""
        return self.recording.recorder

    def _on_status(self, status: VenueStatus) -> None:
        # Called by the market on every tick, on this loop: the screen stores it for its
        # next redraw (a message per tick would cost more than the drawing).
        self.main.market_changed(status)

    def _theme_changed(self, theme: Theme) -> None:
        if self.on_theme_change is not None:
            self._theme_to_save = theme.name
            self._save_theme()

    @work(thread=True, group="theme", exit_on_error=False)
    def _save_theme(self) -> None:
        """Write the theme off the event loop; the latest choice wins however threads race."""
        assert self.on_theme_change is not None
        with self._theme_lock:
            name, self._theme_to_save = self._theme_to_save, None
            if name is not None:
                self.on_theme_change(name)

    # -- resume ----------------------------------------------------------------------------

    @work(thread=True, group="offers", exit_on_error=False)
    def _load_offers(self) -> None:
        assert self.offers is not None
        offers = list(self.offers())
        if offers:
            from tui.screens.resume import ResumeScreen

            self.call_from_thread(self.push_screen, ResumeScreen(offers), self._resume_chosen)

    def _resume_chosen(self, offer: ResumeOffer | None) -> None:
        if offer is None:
            return
        jump = getattr(self.clock, "jump_to", None)
        if offer.clock_at is not None and callable(jump) and self.clock.now() < offer.clock_at:
            # A demo clock restarts at the wall clock, behind where the run had got to.
            jump(offer.clock_at)
        self.main.earlier = offer.earlier
        self.start_run(offer.plan, resume=offer.state)

    # -- the run ---------------------------------------------------------------------------

    @property
    def executor(self) -> Executor | None:
        """The executor of this dashboard's run (None until one starts here)."""
        return self.session.executor if self.session is not None else None

    @property
    def run_active(self) -> bool:
        """Whether a run is going (running or paused)."""
        return self.session is not None and self.session.active

    def start_run(self, plan: Plan, resume: ResumeState | None = None) -> None:
        """Execute ``plan`` in a worker (one run at a time)."""
        if self.run_active:
            self.notify("A run is already going: pause or cancel it first", severity="warning")
            return
        if plan.quote != self.market.quote and self.market_factory is not None:
            # The form's currency was chosen while a run was going: switch now, then start.
            self.run_worker(self._switch_then_start(plan, resume), group="switch", exclusive=True)
            return
        if plan.quote != self.market.quote:
            self.notify(
                f"This market quotes in {self.market.quote}; start with --quote {plan.quote}",
                title="Quote currency",
                severity="warning",
            )
            return
        unreachable = self.unreachable(plan)
        if unreachable:
            # As `run --headless` exits 3: a run with no venue would only skip every tranche.
            self.notify(
                f"No ticked venue is reachable ({unreachable}): not starting",
                title="Start",
                severity="error",
            )
            return
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
        )
        self.run_worker_ = self._execute(self.session)

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
            # History shows the run as it ended, without a re-read when it opens.
            self._reread_history()

    @work(thread=True, group="preload", exit_on_error=False)
    def _reread_history(self) -> None:
        self.history_cache.load()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed run becomes a notification and a log line, never a crash."""
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.group in ("preload", "background", "theme"):
            # Nothing lost: History imports what it needs when it opens; compaction and the
            # theme are tried again at the next start.
            log.warning("%s worker failed: %r", worker.group, worker.error)
            return
        if event.state is WorkerState.ERROR and worker.group in ("run", "market", "offers"):
            error = worker.error or RuntimeError("unknown error")
            log.error("%s worker failed: %r", worker.group, error, exc_info=error)
            self.notify(f"{error}", title=f"{worker.group.title()} failed", severity="error")
            if worker.group == "run":
                self.main.post_message(RunFailed(error))

    @on(Select.Changed, "#quote")
    async def _quote_chosen(self, event: Select.Changed) -> None:
        """Another quote currency in the form: re-open the market in it (not during a run)."""
        quote = str(event.value)
        if quote == self.market.quote:
            return
        if self.run_active:
            self.notify(
                f"A run in {self.market.quote} is going: prices switch to {quote} after it",
                title="Quote currency",
                severity="warning",
            )
            return
        if self.market_factory is None:
            self.notify(
                f"This market quotes in {self.market.quote}; start with --quote {quote}",
                title="Quote currency",
                severity="warning",
            )
            return
        await self.switch_market(quote)

    async def switch_market(self, quote: str) -> None:
        """Close the market and open the same venues quoted in ``quote``."""
        assert self.market_factory is not None
        try:
            market = self.market_factory(quote)
        except Exception as exc:  # a factory refusal is shown, the old market stays
            log.error("cannot open the market in %s: %r", quote, exc)
            self.notify(f"{exc}", title=f"No market in {quote}", severity="error")
            return
        if self._unlisten is not None:
            self._unlisten()
        self.workers.cancel_group(self, "market")
        await self.market.close()
        self.market = market
        self.main.market_switched(market)
        self._unlisten = market.add_listener(self._on_status)
        self.run_worker(market.start(), group="market", exit_on_error=False)
        log.info("market switched to %s", quote)
        self.notify(f"Prices now in {quote}", title="Quote currency")

    def on_start_requested(self, message: StartRequested) -> None:
        """The form's Start button."""
        self.start_run(message.plan)

    # -- actions ---------------------------------------------------------------------------

    def _form_plan(self) -> Plan | None:
        """The form's plan, or None after saying what is wrong with it."""
        form = self.main.query_one(PlanForm)
        form.touched.update(("amount", "spend", "duration", "tranches", "max_price"))
        plan = form.validate(again=True)
        if plan is None:
            wrong = "; ".join(f"{k}: {v}" for k, v in form.errors.items())
            self.notify(wrong or "the plan is not complete", title="Plan", severity="error")
        return plan

    def action_start(self) -> None:
        """Start the plan in the form, or say what is wrong with it (on a narrow screen
        still showing an ended run's results: bring the form back first)."""
        if self.main.show_form():
            return
        plan = self._form_plan()
        if plan is not None:
            self.start_run(plan)

    def action_start_background(self) -> None:
        """Start the form's plan in a background process that goes on after quitting."""
        if self.main.show_form():
            return
        if self.others is None or not self.others.can_detach:
            self.notify(
                f"This dashboard cannot start background processes; use {self.cli} run --detach",
                title="Run in background",
                severity="warning",
            )
            return
        plan = self._form_plan()
        if plan is not None:
            self.others.detach(plan)

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
        """Cancel the run (the tranches bought so far stay recorded)."""
        if self._steering_elsewhere():
            self._steer_other("cancel")
        elif self.session is not None and self.session.active:
            self.session.cancel()
        else:
            self.notify("No run in progress to cancel", severity="warning")

    @property
    def following(self) -> str | None:
        """The run another process executes that this dashboard shows (None: none)."""
        return self.others.run_id if self.others is not None else None

    def _steering_elsewhere(self) -> bool:
        return not self.run_active and self.following is not None

    def _steer_other(self, name: str) -> None:
        assert self.others is not None
        self.others.steer(name)

    def action_history(self) -> None:
        """Open the history screen."""
        from tui.history.screen import HistoryScreen

        if isinstance(self.screen, HistoryScreen):
            return
        # One history screen, kept between visits (it re-reads only what changed).
        if not self.is_screen_installed(HISTORY):
            self.install_screen(HistoryScreen(self.history_cache, self.export_dir), HISTORY)
        self.push_screen(HISTORY)

    def action_help(self) -> None:
        """Open the help screen (its Markdown loads on first use, not at start)."""
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_export(self) -> None:
        """Export the table shown (history), or the current run's tranches, to CSV."""
        from tui.history.screen import HistoryScreen

        if isinstance(self.screen, HistoryScreen):
            await self.screen.action_export()
            return
        if self.executor is None:
            self.notify("No run to export yet: open History (h) for past runs", severity="warning")
            return
        self.action_history()
        self.notify("Press e to export the table shown", title="Export")

    async def action_screenshot_svg(self) -> None:
        """Save an SVG screenshot in the export folder and say where."""
        svg = self.export_screenshot()
        name = time.strftime("btc-dca-%Y%m%d-%H%M%S.svg")
        path = self.export_dir / name

        def write(to: Path) -> None:
            to.write_text(svg, encoding="utf-8")

        from tui.files import write_file

        if await write_file(self, path, write, "Screenshot"):
            self.notify(str(path.resolve()), title="Screenshot saved")

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The app's commands in the palette, then Textual's own (theme, quit, keys)."""
        yield SystemCommand("Start", "Start the plan in the form", self.action_start)
        yield SystemCommand(
            "Run in background",
            "Start the plan in a background process that goes on after quitting",
            self.action_start_background,
        )
        yield SystemCommand("Pause", "Pause the run (resume later)", self.action_pause)
        yield SystemCommand("Resume", "Resume the paused run", self.action_resume)
        yield SystemCommand(
            "Cancel run", "Stop the run; bought tranches stay", self.action_cancel_run
        )
        yield SystemCommand(
            "Record the market",
            "Start or stop writing every venue's book to market/ (key m)",
            self.action_toggle_recording,
        )
        yield SystemCommand("History", "Past runs and their tranches", self.action_history)
        yield SystemCommand("Export CSV", "Write the table shown to a CSV file", self.action_export)
        yield SystemCommand("Help", "Keys and what the panels show", self.action_help)
        yield SystemCommand("Screenshot", "Save an SVG of the screen", self.action_screenshot_svg)
        for command in super().get_system_commands(screen):
            if command.title != "Screenshot":
                yield command

    @property
    def cli(self) -> str:
        """``btc-dca`` as hints spell it here (with the data dir and config in use)."""
        return self.elsewhere.cli if self.elsewhere is not None else "btc-dca"

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
        self.farewell = farewell(session.executor, self.main.run_state, self.cli)
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
        self.farewell = handed_over(started, self.cli)
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


def farewell(executor: Executor, state: RunStatus, cli: str = "btc-dca") -> str:
    """What the terminal says after quitting during a run: how far it got, what next."""
    s, run_id = executor.summary, executor.run_id
    bought = fmt.bought_of(s.qty, s.target, s.total, s.budget, executor.plan.quote)
    if state in IN_PROGRESS:
        # Paused, or still running when the app quits (its worker is stopped: resumable).
        how = "paused" if state is RunStatus.PAUSED else "stopped"
        return f"Run {run_id} {how} ({bought}). Continue it with: {cli} resume {run_id}"
    return f"Run {run_id} {state} ({bought})."


def handed_over(started: Started, cli: str = "btc-dca") -> str:
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


def build_app(
    market: MarketData,
    clock: Clock,
    journal_factory: JournalFactory | None = None,
    **kwargs: object,
) -> DcaApp:
    """The dashboard over ``market`` and ``clock`` (shared by the command line and the tests)."""
    return DcaApp(market, clock, journal_factory=journal_factory, **kwargs)  # type: ignore[arg-type]
