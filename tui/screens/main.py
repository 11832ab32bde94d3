"""The main screen: venue panels, plan form, run area; panels redraw at most ten times a second."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.events import Resize, ScreenResume
from textual.screen import Screen
from textual.widgets import Footer, Header

from dca.plan import Plan
from dca.pricing import Cost
from dca.quote import quote
from dca.routing import Mode
from dca.status import IN_PROGRESS, RunStatus
from exchanges.clock import Clock
from exchanges.errors import ErrorKind, VenueError
from exchanges.market import Health, MarketData, VenueStatus
from exchanges.venues import VenueSpec, display_name
from tui import fmt
from tui.messages import ElsewhereEnded, ElsewhereSeen, PlanChanged, RunEvent, RunFailed
from tui.palette import venue_label
from tui.venue_view import VenueView, usable_books, venue_views
from tui.widgets.plan_form import FormDefaults, PlanForm
from tui.widgets.run_panel import RunPanel
from tui.widgets.venue_panel import VenuePanel

if TYPE_CHECKING:
    from dca.events import RunCancelled, RunFinished
    from dca.lines import TrancheLine
    from tui.widgets.tranche_table import TrancheTable

log = logging.getLogger(__name__)

# Redraw period of the venue panels, seconds (at most 10 redraws a second).
REDRAW_S = 0.1
# The form's cost estimate follows the prices more calmly: a number that changes ten
# times a second cannot be read, and redrawing the form costs as much as a panel.
ESTIMATE_S = 1.0
# Below this width the panels shrink to one line each; below this height too.
NARROW_COLS = 110
SHORT_ROWS = 32
TALL_ROWS = 48


def estimate_text(
    plan: Plan, views: Mapping[str, VenueView], specs: Mapping[str, VenueSpec]
) -> Text:
    """The form's line under the preview: what the plan would cost now on its venues.

    Only the plan's (ticked) venues count; when none can price it, it says which and
    why. A split plan is priced as the router would split the next tranche (its legs
    named), not at the best single venue's price. (A maximum price below every ticked
    venue is said under its field: ``max_price_warning``.)
    """
    best = next((v for v in views.values() if v.best), None)
    cost = best.cost if best is not None else None
    if not isinstance(cost, Cost):
        down = [v for v in plan.venues if v in views and views[v].status.health is Health.DOWN]
        if down and len(down) == len(plan.venues):
            names = ", ".join(display_name(v) for v in down)
            return Text(f"no ticked venue is reachable ({names} down)", "yellow")
        return Text("none of the ticked venues can price it right now", "yellow")
    price, venue = cost.effective_price, cost.venue
    if plan.mode is Mode.SPLIT:
        books = usable_books({v: view.status for v, view in views.items()}, plan.venues)
        split = quote(books, specs, cost.qty, Mode.SPLIT).best
        if split is not None:
            price, venue = split.effective_price, split.venue
    what = (
        f"{fmt.btc(plan.spend / price)} BTC for {fmt.money(plan.spend)} {plan.quote}"
        if plan.spend is not None
        else f"{fmt.money(price * plan.amount)} {plan.quote}"
    )
    return Text.assemble(
        ("est. ", "dim"),
        (what, "bold"),
        (" at current prices, " + ("split " if "+" in venue else "best "), "dim"),
        venue_label(venue),
    )


def max_price_warning(plan: Plan, views: Mapping[str, VenueView]) -> str:
    """Under the Max price field, as ``quote --max-price`` says it: "" unless the maximum
    is below the best ticked venue's price per BTC with fees (then every tranche priced
    now would be skipped)."""
    best = next((v for v in views.values() if v.best), None)
    cost = best.cost if best is not None else None
    if plan.max_price is None or not isinstance(cost, Cost):
        return ""
    if cost.effective_price <= plan.max_price:
        return ""
    return (
        f"below every ticked venue (best {fmt.money(cost.effective_price)} with fees): "
        "tranches would be skipped"
    )


class MainScreen(Screen[None]):
    """Live venues on the right, the plan on the left, the run below the venues."""

    # The first field is focused after the first frame (see on_mount), not by Textual before it.
    AUTO_FOCUS = ""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "app.start", "Start"),
        # Not in the footer (it would push Quit off an 80-column one): in Help and the palette.
        Binding("b", "app.start_background", "Run in background", show=False),
        Binding("p", "app.toggle_pause", "Pause/Resume"),
        Binding("c", "app.cancel_run", "Cancel run"),
        # Not in the footer (80 columns hold the run keys and quit): the help and the palette
        # name it, the header shows when it is on.
        Binding("m", "app.toggle_recording", "Record the market", show=False),
        # Out of a text field, so s, p and c are keys again instead of letters in Amount.
        # In the footer only while a field has the focus: there the run keys are letters.
        Binding("escape", "leave_field", "Leave field"),
    ]

    def __init__(
        self,
        specs: Mapping[str, VenueSpec],
        clock: Clock,
        defaults: FormDefaults,
        statuses: Mapping[str, VenueStatus],
        *,
        seed: int = 0,
    ) -> None:
        super().__init__(id="main")
        self.specs = specs
        self.clock = clock
        self.defaults = defaults
        self.seed = seed
        self.latest: dict[str, VenueStatus] = dict(statuses)
        self.form_plan: Plan | None = None
        self.run_plan: Plan | None = None
        self.run_sizes: tuple[Decimal, ...] = ()
        self.run_state = RunStatus.PENDING
        # A resumed run's recorded tranches, shown when it starts (set by the app).
        self.earlier: Sequence[TrancheLine] = ()
        self.next_index: int | None = None
        self._dirty = True
        self._changed: set[str] = set(statuses)
        self._panels: dict[str, VenuePanel] = {}
        self._table: TrancheTable | None = None
        self._estimated_qty: Decimal | None = None
        self._estimated_at = float("-inf")
        self._health: dict[str, Health] = {}
        self._notes: dict[str, str] = {v: s.note for v, s in statuses.items()}
        # Venues the user has been told are down (by the feed or by the run), told once each.
        self._down: set[str] = set()
        self._resumed = False
        # Whether the run shown buys with real orders (marked LIVE in the header and panel).
        self.live_run = False

    def compose(self) -> ComposeResult:
        """Header, form | (venue grid over run area), footer."""
        yield Header()
        with Horizontal(id="body"):
            yield PlanForm(self.specs, self.defaults, seed=self.seed)
            with Vertical(id="right"):
                with Grid(id="venue-grid"):
                    for venue in self.specs:
                        yield VenuePanel(venue)
                yield RunPanel(id="run")
        yield Footer()

    def on_screen_resume(self, event: ScreenResume) -> None:
        """The first resume skips Textual's restyle of the whole screen (Screen's own
        handler runs after this one and reads ``refresh_styles``).

        It comes right after the widgets were mounted, each styled as it was: restyling
        them all again would only repeat that before the first frame. Later resumes (back
        from a dialog or History) restyle as usual.
        """
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False

    def on_mount(self) -> None:
        """Start the redraw and countdown timers."""
        self._panels = {p.venue: p for p in self.query(VenuePanel)}
        self._form = form = self.query_one(PlanForm)
        form.border_title = "Plan"
        self.query_one(RunPanel).border_title = "Run"
        # The first field, as the README says (enter in it starts a ready plan; escape
        # leaves it for the run keys). Focus restyles the focused widget's ancestors
        # (:focus-within): after the first frame.
        first = form.query_one("#amount")

        def focus_first() -> None:
            if self.focused is None:  # unless something was focused meanwhile
                first.focus()

        self.call_after_refresh(focus_first)
        self.set_interval(REDRAW_S, self.flush, name="redraw")
        self.set_interval(1.0, self.tick_countdown, name="countdown")
        self.flush()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Escape is offered (and does something) only while a text field has the focus."""
        if action == "leave_field":
            from textual.widgets import Input

            return isinstance(self.focused, Input)
        return True

    def action_leave_field(self) -> None:
        """Take the focus out of a text field (elsewhere escape does nothing here)."""
        from textual.widgets import Input

        if isinstance(self.focused, Input):
            self.set_focus(None)

    def on_resize(self, event: Resize) -> None:
        """Switch the compact layouts on small terminals."""
        self.set_class(event.size.width < NARROW_COLS, "-narrow")
        self.set_class(event.size.height < SHORT_ROWS, "-short")
        self.set_class(event.size.height >= TALL_ROWS, "-tall")

    # -- market ----------------------------------------------------------------------------

    def market_changed(self, status: VenueStatus) -> None:
        """Keep the newest status of a venue; the next redraw shows it.

        The market calls this on every tick (tens a second, on the app's loop): it only
        stores, so a burst of ticks costs one redraw, and nothing is drawn here.
        """
        self.latest[status.venue] = status
        self._changed.add(status.venue)
        self._dirty = True

    def market_switched(self, market: MarketData) -> None:
        """Show ``market``'s venues from now on; a venue it lacks is down with the reason."""
        self.specs = {**self.specs, **market.specs}
        for panel in self._panels.values():
            panel.restart()
        for venue in self._panels:
            if venue in market.specs:
                status = market.status(venue)
            else:
                why = VenueError(venue, ErrorKind.UNSUPPORTED_PAIR, f"no BTC/{market.quote} here")
                status = VenueStatus(venue, Health.DOWN, error=why)
            self.latest[venue] = status
            self._changed.add(venue)
        self._estimated_qty = None
        self._dirty = True

    def _notify_health(self, status: VenueStatus) -> None:
        name = display_name(status.venue)
        if status.health is not self._health.get(status.venue):
            self._health[status.venue] = status.health
            if status.health is Health.DOWN:
                self._venue_down(status.venue, str(status.error))
            elif status.health is Health.LIVE:
                self._venue_up(status.venue)
        note_before = self._notes.get(status.venue, "")
        if status.note != note_before:
            self._notes[status.venue] = status.note
            if "resync" in status.note.lower():
                self.notify(f"{name}: {status.note}", title="Resync")

    def _venue_down(self, venue: str, why: str) -> None:
        if venue not in self._down:
            self._down.add(venue)
            log.warning("venue %s down: %s", venue, why)
            self.notify(f"{display_name(venue)}: {why}", title="Venue down", severity="warning")

    def _venue_up(self, venue: str) -> None:
        if venue in self._down:
            self._down.discard(venue)
            log.info("venue %s recovered", venue)
            self.notify(f"{display_name(venue)} is usable again", title="Venue recovered")

    def next_qty(self) -> Decimal | None:
        """The next tranche's size: the running plan's, else the form's first tranche."""
        if self.run_state in IN_PROGRESS and self.next_index is not None:
            if self.next_index < len(self.run_sizes):
                size = self.run_sizes[self.next_index]
                return self._btc_for(size) if self.run_plan and self.run_plan.is_budget else size
            return None
        if self.form_plan is None:
            return None
        size = self.form_plan.sizes()[0]
        return self._btc_for(size) if self.form_plan.is_budget else size

    def _btc_for(self, money: Decimal) -> Decimal | None:
        """Roughly what a budget tranche's ``money`` buys at the best ask of the ticked venues."""
        asks = [
            status.book.best_ask * (1 + self.specs[v].taker_fee)
            for v in self.ticked()
            if (status := self.latest.get(v)) is not None
            and status.book is not None
            and status.book.best_ask
            and v in self.specs
        ]
        return (money / min(asks)).quantize(Decimal("0.00000001")) if asks else None

    def flush(self) -> None:
        """Redraw the panels if anything changed since the last redraw."""
        if not self._dirty:
            return
        self._dirty = False
        changed, self._changed = self._changed, set()
        for venue in changed:
            self._notify_health(self.latest[venue])
        qty = self.next_qty()
        views = venue_views(
            self.latest, self.specs, qty, self.clock.now(), self.clock.speed, self.ticked()
        )
        for venue, view in views.items():
            self._panels[venue].show(view)
        now = time.monotonic()
        if qty != self._estimated_qty or now - self._estimated_at >= ESTIMATE_S:
            self._estimated_qty, self._estimated_at = qty, now
            self._estimate(views)

    def ticked(self) -> tuple[str, ...]:
        """The venues the plan uses: the running plan's, else the form's ticked ones."""
        if self.run_plan is not None and self.run_state in IN_PROGRESS:
            return self.run_plan.venues
        if self.form_plan is not None:
            return self.form_plan.venues
        return tuple(self._form.ticked())

    def _estimate(self, views: Mapping[str, VenueView]) -> None:
        self._form.prices = {
            v: s.book.best_ask
            for v, s in self.latest.items()
            if s.book is not None and s.book.best_ask and s.error is None
        }
        plan = self.form_plan
        if plan is None:
            self._form.show_estimate(Text())
            self._form.show_warning("max_price", "")
            return
        self._form.show_estimate(estimate_text(plan, views, self.specs))
        self._form.show_warning("max_price", max_price_warning(plan, views))

    @on(PlanChanged)
    def plan_changed(self, message: PlanChanged) -> None:
        """Price the new tranche size on every venue."""
        self.form_plan = message.plan
        self._estimated_qty = None  # a new plan re-estimates at once
        self._dirty = True

    # -- run -------------------------------------------------------------------------------

    def tick_countdown(self) -> None:
        """Refresh the status line: state, tranches done of all, time to the next tranche."""
        executor = getattr(self.app, "executor", None)
        run = self.query_one(RunPanel)
        if executor is None or self.run_plan is None or self.run_state not in IN_PROGRESS:
            return
        text = Text()
        if self.live_run:
            text.append("LIVE ", "bold red")
        text.append("PAUSED" if self.run_state is RunStatus.PAUSED else "RUNNING", "bold")
        st = self.run_plan.standing
        now = self.clock.now()
        if st is not None:
            # A standing plan: what it bought, and its next buy in its own zone.
            text.append(f"  {executor.summary.filled} bought")
            if executor.next_at is not None:
                text.append(f"  next {fmt.soon_local(executor.next_at, st.tz, now)}")
        elif executor.next_index is not None:
            # Tranches done of all, as `btc-dca status` says it (not the next one's number).
            text.append(f"  {executor.next_index}/{self.run_plan.tranches} done")
        if executor.next_at is not None and self.run_state is RunStatus.RUNNING:
            left = executor.next_at - now
            text.append("  in " if st is not None else "  next in ", "dim")
            text.append(fmt.wait_left(left), "bold")
        if self.run_state is RunStatus.PAUSED and not executor.catch_up:
            text.append("  missed slots are skipped", "dim")
        run.set_status(text)

    @on(RunEvent)
    async def run_event(self, message: RunEvent) -> None:
        """Draw what the executor recorded."""
        # The run's events load with the first run, not before the first frame.
        from dca.events import (
            RunCancelled,
            RunFinished,
            RunPaused,
            RunResumed,
            RunStarted,
            TrancheFilled,
            TrancheSkipped,
            VenueDegraded,
            VenueRecovered,
        )

        event = message.event
        run = self.query_one(RunPanel)
        executor = getattr(self.app, "executor", None)
        lump = executor.lump_sum_total if executor is not None else None
        if isinstance(event, RunStarted):
            self.run_plan = event.plan
            self.run_sizes = event.sizes
            self.next_index = event.done
            self.show_live(event.execution == "live")
            self._set_state(RunStatus.RUNNING)
            self._table = await run.reset()
            self._clear_fills()
            if event.resumed:
                # What the run bought before it stopped stays in view above the new rows.
                for earlier in self.earlier:
                    self._table.add_line(earlier, dim=True)
            self.earlier = ()
            self.query_one(PlanForm).disabled = True
            verb = "Resumed" if event.resumed else "Started"
            live = "LIVE run (real orders)" if self.live_run else "run"
            run.set_status(Text(f"{verb} {live} {event.run_id}", "bold"))
        elif isinstance(event, TrancheFilled):
            self._tranche_table().add_fill(event)
            self.next_index = event.index + 1
            if event.carried_why:
                self.notify(
                    f"Tranche {event.index + 1}: {fmt.btc(event.carried)} BTC carried to the "
                    f"next tranche: {event.carried_why}",
                    title="Filled in part",
                    severity="warning",
                )
            for leg in event.route.legs:
                self._panels[leg.venue].show_fill(leg.qty, leg.avg_price, event.at)
        elif isinstance(event, TrancheSkipped):
            self._tranche_table().add_skip(event)
            self.next_index = event.index + 1
            quote = self.run_plan.quote if self.run_plan else ""
            if event.spend is not None:  # a budget: what it carries is money
                moved = (
                    f"{fmt.money(event.spend_carried)} {quote} carried to the next tranche"
                    if event.spend_carried
                    else f"{fmt.money(event.spend)} {quote} not spent"
                )
            elif event.carried:
                moved = f"{fmt.btc(event.carried)} BTC carried to the next tranche"
            else:
                moved = f"{fmt.btc(event.qty)} BTC not bought"
            self.notify(
                f"Tranche {event.index + 1}: {event.detail}; {moved}",
                title="Tranche skipped",
                severity="warning",
            )
        elif isinstance(event, VenueDegraded):
            self._venue_down(event.venue, str(event.error))
        elif isinstance(event, VenueRecovered):
            self._venue_up(event.venue)
        elif isinstance(event, RunPaused):
            self._set_state(RunStatus.PAUSED)
        elif isinstance(event, RunResumed):
            self._set_state(RunStatus.RUNNING)
        elif isinstance(event, RunFinished | RunCancelled):
            self._finish(event)
        if executor is not None and self.run_plan is not None:
            st = self.run_plan.standing
            calendar = (
                None if st is None else st.every.words() + (f" at {st.at.text}" if st.at else "")
            )
            run.show_summary(executor.summary, self.run_plan.quote, lump, calendar)
        self._dirty = True
        self.tick_countdown()

    def _clear_fills(self) -> None:
        """A new run on screen: the panels forget what an earlier run bought on them."""
        for panel in self._panels.values():
            panel.clear_fill()

    def _tranche_table(self) -> TrancheTable:
        assert self._table is not None, "a run's tranches arrive after its start"
        return self._table

    def _finish(self, event: RunFinished | RunCancelled) -> None:
        s = event.summary
        quote = self.run_plan.quote if self.run_plan else ""
        status = event.status
        self._set_state(status)
        self.query_one(PlanForm).disabled = False
        quote = self.run_plan.quote if self.run_plan is not None else ""
        bought = fmt.bought_of(s.qty, s.target, s.total, s.budget, quote)
        skipped = f" ({fmt.plural(s.skipped, 'tranche')} skipped)" if s.skipped else ""
        spent = (
            f" for {fmt.money(s.total)} {quote}, avg price {fmt.money(s.avg_price)}, "
            f"with fees {fmt.money(s.effective_price)}"
            if s.qty
            else ""
        )
        title = f"Run {status.value}"
        done = status is RunStatus.FINISHED
        line = bought + spent + skipped
        self.notify(line, title=title, severity="information" if done else "warning")
        # The panel's summary lines below show what was spent: the status line fits 80 columns.
        live = "LIVE " if self.live_run else ""
        self.query_one(RunPanel).set_status(
            Text(f"{live}{title.upper()}: {bought}{skipped}", "bold")
        )

    def show_form(self) -> bool:
        """Bring back the form a narrow screen gave to an ended run's results; False when
        it is on screen already (the plan can start)."""
        if not (self.has_class("-ran") and self.has_class("-narrow")):
            return False
        self.remove_class("-ran")
        self.query_one("#amount").focus()
        return True

    def show_live(self, live: bool) -> None:
        """Mark the run shown as real orders (or not): the run panel's title and border;
        the header too while it is in progress (``_set_state`` clears that at its end)."""
        self.live_run = live
        run = self.query_one(RunPanel)
        run.set_class(live, "-live")
        run.border_title = "Run · LIVE: real orders" if live else "Run"
        self._live_header(live)

    def _live_header(self, live: bool) -> None:
        self.query_one(Header).set_class(live, "-live")
        app = self.app
        app.title = f"{app.TITLE} · LIVE: REAL ORDERS" if live else (app.TITLE or "")

    def _set_state(self, state: RunStatus) -> None:
        self.run_state = state
        if self.live_run and state not in IN_PROGRESS:
            self._live_header(False)
        self.set_class(state in IN_PROGRESS, "-running")
        # An ended run's results keep the room they had on a narrow screen (``show_form``).
        self.set_class(state is not RunStatus.PENDING and state not in IN_PROGRESS, "-ran")
        self.query_one(RunPanel).set_state(state)
        changed = getattr(self.app, "run_state_changed", None)
        if changed is not None:
            changed.set()

    # -- a run in another process -----------------------------------------------------------

    def _told(self) -> set[tuple[str, str]]:
        """What the user was already told about runs in other processes (their own b, c)."""
        others = getattr(self.app, "others", None)
        told: set[tuple[str, str]] = getattr(others, "told", set())
        return told

    @on(ElsewhereSeen)
    async def elsewhere_seen(self, message: ElsewhereSeen) -> None:
        """Draw a run another process executes: its state, new tranches, the venue chosen."""
        look = message.look
        s = look.state
        assert s is not None, "only runs in progress are seen"
        run = self.query_one(RunPanel)
        told = self._told()
        if message.first:
            self._table = await run.reset()
            self._clear_fills()
        if s.live != self.live_run or message.first:
            self.show_live(s.live)
        detaching = getattr(getattr(self.app, "others", None), "detaching", False)
        if message.first and (s.run_id, "started") not in told and not detaching:
            self.notify(
                f"Run {s.run_id} is in progress in process {s.pid} ({s.where}); "
                "p pauses or resumes it, c cancels it",
                title="Run in progress elsewhere",
            )
        for line in look.lines:
            self._tranche_table().add_line(line)
            for venue, qty, price in line.legs:
                if venue in self._panels:
                    self._panels[venue].show_fill(qty, price, line.at)
        for venue in s.down:
            self._venue_down(venue, "unavailable to the run in the other process")
        if s.state != self.run_state:
            self._set_state(s.state)
        run.show_summary(s.summary(), s.quote, None, s.standing)
        text = Text()
        if s.live:
            text.append("LIVE ", "bold red")
        text.append("PAUSED" if s.state == RunStatus.PAUSED else "RUNNING", "bold")
        left = s.next_in_s(time.time())
        if s.tz is not None and s.standing is not None:
            # A standing plan: what it bought, and its next buy in its own zone (the line
            # is short of room beside the buttons: the summary below says its calendar).
            text.append(f" pid {s.pid}", "dim")
            text.append(f"  {s.filled} bought")
            if left is not None and s.next_at is not None:
                text.append(f"  next {fmt.soon_local(s.next_at, s.tz, s.clock_now(time.time()))}")
                text.append("  in ", "dim")
                text.append(fmt.wait_left(left), "bold")
        else:
            text.append(f" pid {s.pid} ({s.where})", "dim")
            text.append(f"  {s.done}/{s.of} done")
            if left is not None:
                text.append("  next in ", "dim")
                text.append(fmt.countdown(left), "bold")
        run.set_status(text)

    @on(ElsewhereEnded)
    def elsewhere_ended(self, message: ElsewhereEnded) -> None:
        """The run shown is no longer in progress in its process: say how it ended."""
        # No record of it in history: gone, an end the run's own process could not write.
        word = message.status.value if message.status is not None else "gone"
        self._set_state(message.status or RunStatus.FAILED)  # the header's LIVE ends with it
        line = f"RUN {message.run_id} {word.upper()} (in its own process)"
        self.query_one(RunPanel).set_status(Text(line, "bold"))
        if (message.run_id, word) not in self._told():
            self.notify(f"Run {message.run_id}: {word}", title="Run in another process")

    @on(RunFailed)
    def run_failed(self, message: RunFailed) -> None:
        """The worker died: unlock the form, say so in the run area."""
        error = message.error
        self._set_state(RunStatus.FAILED)
        self.query_one(PlanForm).disabled = False
        self.query_one(RunPanel).set_status(Text(f"RUN FAILED: {error}", "bold red"))
