"""The dashboard app: wires market, clock, journals and history into the screens.

``build_app`` is the factory the command line and the tests share: tests hand it a
``SimulatedMarket`` on a ``SimClock`` and a day-long plan runs in milliseconds.
The executor runs in a Textual worker; its events come back as messages through a
journal (``UiJournal``), fanned out with the storage journal.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.theme import Theme
from textual.widgets import Input, Select
from textual.worker import Worker, WorkerState

from dca.plan import Plan
from exchanges.clock import Clock
from exchanges.market import MarketData, VenueStatus
from storage.config import ConfigError, NamedPlan
from tui import fmt, startup
from tui.following import Following
from tui.messages import RunFailed, SavePlanRequested, StartRequested
from tui.recording import MarketRecording, RecorderFactory, Recording
from tui.run_here import JournalFactory, MarketFactory, RunHere
from tui.screens.main import MainScreen
from tui.views import Views
from tui.widgets.plan_form import FormDefaults, PlanForm

if TYPE_CHECKING:
    # The engine, history and dialogs load when first used, not before the first frame
    # (tests/tui/test_start_imports.py keeps them off the start-up path).
    from dca.events import Summary
    from dca.session import RunSession
    from storage.history.portfolio import Portfolio
    from tui.elsewhere import Elsewhere
    from tui.history.cache import HistoryCache
    from tui.history.source import HistorySource
    from tui.live_options import LiveOptions
    from tui.screens.resume import Abandon, ResumeOffer

log = logging.getLogger(__name__)

DEFAULT_THEME = "textual-dark"
# Loaded in the background after the first frame (see ``_preload``).
PRELOAD = ("tui.widgets.tranche_table", "tui.history.screen")
# After the first frame the app waits this long (seconds) before it starts its background
# threads (resume offers, History's imports, compaction): they load polars and compete for
# the GIL, so the footer's keys and the first quotes are drawn first.
SETTLE_S = 0.5

OffersSource = Callable[[], Sequence["ResumeOffer"]]


class DcaApp(RunHere, Views):
    """The btc-dca dashboard."""

    # Absolute, so subclasses defined elsewhere (tests) find it too.
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "btc-dca"
    SUB_TITLE = "DCA into BTC at the best real price"
    # Run keys (start, pause, cancel) belong to the main screen: other screens' footers
    # show only what works there.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("h", "history", "History"),
        # Not in the footer (80 columns hold the run keys, History and Quit): in Help, the
        # README and the palette.
        Binding("o", "portfolio", "Portfolio", show=False),
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
        resume_at_once: bool = False,
        market_factory: MarketFactory | None = None,
        export_dir: Path | None = None,
        background: Sequence[Callable[[], None]] = (),
        seed: int = 0,
        cursor_blink: bool = True,
        elsewhere: Elsewhere | None = None,
        recorder_factory: RecorderFactory | None = None,
        plan_saver: Callable[[NamedPlan], None] | None = None,
        portfolio_source: Callable[[], Portfolio] | None = None,
        live: LiveOptions | None = None,
    ) -> None:
        super().__init__()
        # Real orders: offered when given (None: the demo, or a dashboard without them).
        self.live = live
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
        # Writes a named plan to the config file (None: this dashboard cannot save plans).
        self.plan_saver = plan_saver
        # Reads the portfolio of every run (None: this dashboard has no history to sum).
        self.portfolio_source = portfolio_source
        self.offers = offers
        # ``btc-dca resume RUN_ID``: the one offer is the user's choice already; no dialog.
        self.resume_at_once = resume_at_once
        self.market_factory = market_factory
        # Where CSV exports and screenshots go (the launcher passes the data dir's exports/).
        self.export_dir = export_dir or Path.cwd()
        self.seed = seed
        # Slow housekeeping (the launcher's compaction) run in a thread after the first frame.
        self.background = tuple(background)
        self._theme_lock = threading.Lock()
        self._theme_to_save: str | None = None
        self.session: RunSession | None = None
        self.run_worker_: Worker[Summary] | None = None
        self._unlisten: Callable[[], None] | None = None
        self._main: MainScreen
        # perf_counter() when the first frame had been drawn (for the start-up benchmark).
        self.first_frame_at: float | None = None
        # Whether the background threads have been started (SETTLE_S after the first frame).
        self.background_started = False
        self.farewell = ""
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
        if offers and self.resume_at_once:
            self.call_from_thread(self._resume_chosen, offers[0])
        elif offers:
            from tui.screens.resume import ResumeScreen

            self.call_from_thread(self.push_screen, ResumeScreen(offers), self._resume_chosen)

    def _resume_chosen(self, offer: ResumeOffer | Abandon | None) -> None:
        from tui.screens.resume import Abandon

        if isinstance(offer, Abandon):
            self._abandon(offer.offer.state.run_id, offer.offer.plan.quote)
            return
        if offer is None:
            return
        if offer.live and self.live is None:
            # No real orders here (the demo market): never continued as paper.
            self.notify(
                f"Run {offer.state.run_id} places real orders; continue it with: "
                f"{self.cli} resume {offer.state.run_id} --detach",
                title="Resume run",
                severity="warning",
                timeout=15,
            )
            return
        jump = getattr(self.clock, "jump_to", None)
        if offer.clock_at is not None and callable(jump) and self.clock.now() < offer.clock_at:
            # A demo clock restarts at the wall clock, behind where the run had got to.
            jump(offer.clock_at)
        self.main.earlier = offer.earlier
        # A live run resumes live, after the same pre-flight and confirmation.
        self.request_start(offer.plan, live=offer.live, resume=offer.state)

    @work(thread=True, group="offers", exit_on_error=False)
    def _abandon(self, run_id: str, quote: str) -> None:
        """Record ``run_id`` as abandoned, say so, and offer the other stopped runs again."""
        from storage.history.resume import ResumeError, abandon_run

        if self.elsewhere is None:
            self.call_from_thread(
                self.notify, f"Abandon it with: {self.cli} abandon {run_id}", severity="warning"
            )
            return
        try:
            s = abandon_run(self.elsewhere.data_dir, run_id)
        except (ResumeError, OSError) as exc:
            self.call_from_thread(
                self.notify, str(exc), title="Abandon run failed", severity="error"
            )
            return
        self.call_from_thread(
            self.notify,
            f"Run {run_id} abandoned ({fmt.bought_of(s.qty, s.target, s.total, s.budget, quote)}); "
            "it is no longer offered for resuming.",
            title="Abandon run",
        )
        self._load_offers()

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
        """The form's Start button (or enter in a field): paper, or live once confirmed."""
        self.request_start(message.plan, live=message.live)

    def action_portfolio(self) -> None:
        """The Portfolio screen: what every run added up to, and its value now."""
        from tui.screens.portfolio import PortfolioScreen

        if isinstance(self.screen, PortfolioScreen):
            return
        if self.portfolio_source is None:
            self.notify("This dashboard has no runs to sum", title="Portfolio", severity="warning")
            return
        self.push_screen(PortfolioScreen(self.portfolio_source, self.best_bid))

    def best_bid(self, quote: str) -> Decimal | None:
        """The highest bid on screen in ``quote`` (None when the market shows another)."""
        if self.market.quote != quote:
            return None
        bids = [
            s.book.best_bid
            for s in self.main.latest.values()
            if s.book is not None and s.book.best_bid and s.error is None
        ]
        return max(bids, default=None)

    def on_save_plan_requested(self, message: SavePlanRequested) -> None:
        """The form's "Save as plan": ask for a name, then write it to the config file."""
        from tui.screens.save_plan import SavePlanScreen

        if self.plan_saver is None:
            self.notify(
                "This dashboard has no config file to save plans to",
                title="Save plan",
                severity="warning",
            )
            return
        form = self.main.query_one(PlanForm)

        def chosen(name: str | None) -> None:
            if name:
                self._save_plan(replace(message.plan, name=name))

        known = (*form.plans, *form.defaults.unlisted)
        self.push_screen(SavePlanScreen(message.plan.name, known), chosen)

    @work(thread=True, group="save-plan", exclusive=True, exit_on_error=False)
    def _save_plan(self, named: NamedPlan) -> None:
        assert self.plan_saver is not None
        try:
            self.plan_saver(named)
        except (OSError, ConfigError) as exc:
            log.error("could not save plan %s: %s", named.name, exc)
            self.call_from_thread(self.notify, str(exc), title="Save plan failed", severity="error")
            return
        self.call_from_thread(self._plan_saved, named)

    def _plan_saved(self, named: NamedPlan) -> None:
        self.main.query_one(PlanForm).add_plan(named)
        self.notify(
            f"Saved as [plans.{named.name}]; run it with btc-dca run --plan {named.name}",
            title="Plan saved",
        )

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
            self.request_start(plan, live=self.main.query_one(PlanForm).live)

    def action_start_background(self) -> None:
        """Start the form's plan in a background process that goes on after quitting."""
        if self.main.show_form():
            return
        if self.main.query_one(PlanForm).live:
            self.notify(
                "A live run starts here (s), after its confirmation; or in the background "
                f"with: {self.cli} run --live --detach",
                title="Run in background",
                severity="warning",
            )
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


def build_app(
    market: MarketData,
    clock: Clock,
    journal_factory: JournalFactory | None = None,
    **kwargs: object,
) -> DcaApp:
    """The dashboard over ``market`` and ``clock`` (shared by the command line and the tests)."""
    return DcaApp(market, clock, journal_factory=journal_factory, **kwargs)  # type: ignore[arg-type]
