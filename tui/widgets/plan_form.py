"""The plan form: every field validated as you type by the engine's own ``build_plan``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, SelectionList, Static
from textual.widgets.selection_list import Selection

from dca.plan import Plan, PlanInvalid, build_plan, each_tranche, format_duration
from dca.routing import Mode
from exchanges.venues import QUOTES, VenueSpec, display_name
from storage.config import NamedPlan
from tui.messages import PlanChanged, SavePlanRequested, StartRequested
from tui.widgets.text_line import TextLines

# The form's fields in the order they are shown; the ids match build_plan's field names.
FIELDS = ("amount", "spend", "duration", "tranches", "quote", "venues", "mode", "max_price")
# The fields typed in (validated once touched).
TYPED = ("amount", "spend", "duration", "tranches", "max_price")


@dataclass(frozen=True, slots=True)
class FormDefaults:
    """What the form starts with (from the command line or the config file)."""

    amount: str = ""
    spend: str = ""
    duration: str = ""
    tranches: str = ""
    quote: str = "USD"
    venues: Sequence[str] = ()
    mode: str = "single"
    max_price: str = ""
    jitter: bool = False
    # "paper" (the default: no order is ever sent) or "live" (real orders, after a dialog).
    execution: str = "paper"
    extra: Mapping[str, str] = field(default_factory=dict)
    # The config's named plans (the Plan selector), and the one the form starts from.
    plans: Mapping[str, NamedPlan] = field(default_factory=dict)
    plan_name: str = ""
    # Names of the config's other plans (standing ones, not listed): saving under one of
    # them replaces it, and the save dialog says so.
    unlisted: tuple[str, ...] = ()


def preview_text(plan: Plan) -> Text:
    """Tranche sizes (the real ones: 0.08333 to 0.08334 BTC, or a budget's money) and
    interval of a valid plan."""
    text = Text.assemble(
        (f"{plan.tranches} tranche{'s' if plan.tranches != 1 else ''}", "bold"),
        f" of {each_tranche(plan)} every {format_duration(plan.interval_s)}",
    )
    if plan.tranches_defaulted and plan.default_reason:
        text.append(f"\n({plan.default_reason})", "dim")
    return text


class PlanForm(VerticalScroll):
    """Fields for a plan, inline errors per field, a preview and the Start button."""

    def __init__(
        self, specs: Mapping[str, VenueSpec], defaults: FormDefaults, *, seed: int = 0
    ) -> None:
        super().__init__(id="plan-form")
        self.specs = specs
        self.defaults = defaults
        self.seed = seed
        self.plan: Plan | None = None
        self.errors: dict[str, str] = {}
        self.touched: set[str] = set()
        self._validated: tuple[str, frozenset[str]] | None = None
        self._estimate = Text()
        # Best ask per venue now (set by the screen): a budget is checked against each
        # venue's minimum order at these prices.
        self.prices: dict[str, Decimal] = {}
        self.plans: dict[str, NamedPlan] = dict(defaults.plans)

    def compose(self) -> ComposeResult:
        """Label and field per row; then preview and Start (error lines come with errors)."""
        d = self.defaults
        enabled = [v for v in self.specs if self.specs[v].enabled]
        chosen = set(d.venues or enabled)
        # Focused at start with its cursor after the value, nothing selected: a key typed
        # from habit (s) adds to the amount instead of replacing it, and the field says so.
        amount = Input(d.amount, placeholder="BTC, e.g. 0.5", compact=True, select_on_focus=False)
        yield from self._row("amount", "Amount", amount)
        yield from self._row(
            "spend",
            "Budget",
            Input(d.spend, placeholder="or money, e.g. 500", compact=True),
        )
        yield from self._row(
            "duration", "Window", Input(d.duration, placeholder="90s, 30m, 6h, 2d", compact=True)
        )
        yield from self._row(
            "tranches", "Tranches", Input(d.tranches, placeholder="default", compact=True)
        )
        quotes = [(q, q) for q in QUOTES]
        yield from self._row(
            "quote", "Quote", Select(quotes, value=d.quote, allow_blank=False, compact=True)
        )
        modes = [("single venue", Mode.SINGLE.value), ("split", Mode.SPLIT.value)]
        yield from self._row(
            "mode", "Mode", Select(modes, value=d.mode, allow_blank=False, compact=True)
        )
        yield from self._row(
            "max_price",
            "Max price",
            Input(d.max_price, placeholder="none (optional)", compact=True),
        )
        yield Checkbox("Jitter tranche times", d.jitter, id="jitter", compact=True)
        yield Label("Venues", classes="form-label")
        yield SelectionList[str](
            *(Selection(display_name(v), v, v in chosen) for v in self.specs),
            id="venues",
            compact=True,
        )
        yield TextLines(id="preview")
        # Paper or Live beside Start: the choice is made where the run is started, and the
        # form keeps its height (80x24 shows it whole).
        orders = [("Paper", "paper"), ("LIVE", "live")]
        with Horizontal(id="start-row"):
            yield Select(orders, value=d.execution, allow_blank=False, compact=True, id="execution")
            yield Button("Start", id="start", variant="success", disabled=True, compact=True)
        # Named plans under Start: the fields (Amount first, focused at start) and Start
        # stay in view on a 24-row terminal; choosing a plan fills the fields above.
        names = sorted(self.plans)
        chooser: Select[str] = Select(
            [(n, n) for n in names],
            prompt="load one" if names else "none saved",  # 80 columns show 12
            compact=True,
        )
        if d.plan_name in self.plans:
            chooser.value = d.plan_name
        yield from self._row("plan", "Plan", chooser)
        yield Button("Save as plan…", id="save-plan", disabled=True, compact=True)

    def _row(self, name: str, label: str, widget: Input | Select[str]) -> ComposeResult:
        widget.id = name
        with Horizontal(classes="form-row"):
            yield Label(label, classes="form-label")
            yield widget

    def on_mount(self) -> None:
        """Validate the defaults so the preview and Start reflect them at once."""
        for name in TYPED:
            if self.query_one(f"#{name}", Input).value:
                self.touched.add(name)
        if self.defaults.execution == "live":
            self._execution_changed()
        self.validate()

    def values(self) -> dict[str, object]:
        """The raw field values, as build_plan takes them."""
        return {
            "amount": self.query_one("#amount", Input).value,
            "spend": self.query_one("#spend", Input).value,
            "duration": self.query_one("#duration", Input).value,
            "tranches": self.query_one("#tranches", Input).value or None,
            "quote": str(self.query_one("#quote", Select).value),
            "venues": list(self.query_one("#venues", SelectionList).selected),
            "mode": str(self.query_one("#mode", Select).value),
            "max_price": self.query_one("#max_price", Input).value or None,
            "jitter": self.query_one("#jitter", Checkbox).value,
        }

    @property
    def live(self) -> bool:
        """Whether Live (real orders) is chosen; Paper is the default."""
        return self.query_one("#execution", Select).value == "live"

    def ticked(self) -> list[str]:
        """The venues ticked in the list (whether or not the rest of the plan is valid)."""
        return list(self.query_one("#venues", SelectionList).selected)

    def validate(self, *, again: bool = False) -> Plan | None:
        """Build the plan from the fields, show per-field errors, enable Start when valid.

        ``again``: also when no field changed (a budget's check depends on prices)."""
        v = self.values()
        # Fields set at construction each report a change as they mount: the same values,
        # validated once (the plan and what is shown depend on nothing else).
        key = (repr(v), frozenset(self.touched))
        if key == self._validated and not again:
            return self.plan
        self._validated = key
        venues = v["venues"]
        assert isinstance(venues, list)
        try:
            plan: Plan | None = build_plan(
                amount=str(v["amount"]),
                spend=str(v["spend"]),
                prices=self.prices if v["spend"] else None,
                duration=str(v["duration"]),
                tranches=v["tranches"],  # type: ignore[arg-type]
                quote=str(v["quote"]),
                venues=venues,
                mode=str(v["mode"]),
                max_price=v["max_price"],  # type: ignore[arg-type]
                jitter=bool(v["jitter"]),
                seed=self.seed,
                specs=self.specs,
            )
            errors: dict[str, str] = {}
        except PlanInvalid as invalid:
            plan = None
            errors = invalid.by_field()
        if not venues:
            # build_plan reads "no venues" as "all venues"; an empty checklist means none.
            plan = None
            errors["venues"] = "choose at least one venue"
        self.plan, self.errors = plan, errors
        self._show(plan, errors)
        self.post_message(PlanChanged(plan, errors))
        return plan

    def _show(self, plan: Plan | None, errors: dict[str, str]) -> None:
        for name in FIELDS:
            shown = errors.get(name, "") if name in self.touched or name == "venues" else ""
            field = self.query_one(f"#{name}")
            self._error_line(name, field, shown)
            field.set_class(bool(shown), "-invalid")
        tranches = self.query_one("#tranches", Input)
        if plan is not None and plan.tranches_defaulted:
            tranches.placeholder = f"default: {plan.tranches}"
        elif not tranches.value:
            tranches.placeholder = "default"
        self.query_one("#start", Button).disabled = plan is None
        self.query_one("#save-plan", Button).disabled = plan is None
        self._draw_preview()

    def _error_line(self, name: str, field: Widget, shown: str) -> None:
        """Show ``shown`` under ``name``'s row (the venue list for venues); "" hides it.

        A field's error line is mounted with its first error: a form without errors has
        none, so the first frame styles and lays out seven widgets fewer.
        """
        found = self.query(f"#{name}-error").results(Static)
        line = next(found, None)
        if line is not None:
            line.update(shown)
            line.set_class(bool(shown), "-shown")
        elif shown:
            row = field if name == "venues" else field.parent
            assert isinstance(row, Widget)
            self.mount(Static(shown, classes="field-error -shown", id=f"{name}-error"), after=row)

    def show_warning(self, name: str, text: str) -> None:
        """A warning under ``name``'s row that does not block Start ("" hides it): the
        preview's lines are few and clipped, a warning there could go unseen."""
        found = next(self.query(f"#{name}-warning").results(Static), None)
        if found is not None:
            if str(found.render()) != text:
                found.update(text)
            found.set_class(bool(text), "-shown")
        elif text:
            row = self.query_one(f"#{name}").parent
            assert isinstance(row, Widget)
            self.mount(
                Static(text, classes="field-warning -shown", id=f"{name}-warning"), after=row
            )

    def _draw_preview(self) -> None:
        preview = self.query_one("#preview", TextLines)
        if self.plan is None:
            missing = [
                n
                for n in ("amount", "duration")
                if n not in self.touched and not (n == "amount" and "spend" in self.touched)
            ]
            hint = (
                f"Fill in {' and '.join(missing)} to see the plan"
                if missing
                else "Fix the fields marked above"
            )
            preview.set(Text(hint, "dim"))
            return
        text = preview_text(self.plan)
        if self._estimate:
            text.append("\n")
            text.append_text(self._estimate)
        preview.set(text)

    def show_estimate(self, estimate: Text) -> None:
        """Show the estimated cost at current prices (computed by the screen from live books)."""
        if estimate != self._estimate:
            self._estimate = estimate
            self._draw_preview()

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        if event.input.id:
            self.touched.add(event.input.id)
        self.validate()

    @on(Select.Changed, "#execution")
    def _execution_changed(self) -> None:
        # Unmistakable while chosen: the field and the form's title say LIVE.
        live = self.live
        self.query_one("#execution", Select).set_class(live, "-live")
        self.set_class(live, "-live")
        self.border_title = "Plan · LIVE: real orders" if live else "Plan"
        self.query_one("#start", Button).label = "Start LIVE" if live else "Start"

    @on(Select.Changed)
    @on(Checkbox.Changed)
    @on(SelectionList.SelectedChanged)
    def _other_changed(self) -> None:
        self.validate()

    @on(Select.Changed, "#plan")
    def _plan_chosen(self, event: Select.Changed) -> None:
        event.stop()
        found = self.plans.get(str(event.value))
        if found is not None:
            self.load(found)

    def load(self, named: NamedPlan) -> None:
        """Fill every field from a named plan (a field it leaves out is cleared or reset)."""
        self.query_one("#amount", Input).value = named.amount or ""
        self.query_one("#spend", Input).value = named.spend or ""
        self.query_one("#duration", Input).value = named.duration or ""
        self.query_one("#tranches", Input).value = (
            "" if named.tranches is None else str(named.tranches)
        )
        self.query_one("#max_price", Input).value = named.max_price or ""
        self.query_one("#quote", Select).value = named.quote or "USD"
        self.query_one("#mode", Select).value = named.mode or Mode.SINGLE.value
        self.query_one("#jitter", Checkbox).value = bool(named.jitter)
        venues = self.query_one("#venues", SelectionList)
        wanted = set(named.venues or [v for v in self.specs if self.specs[v].enabled])
        for v in self.specs:
            if v in wanted:
                venues.select(v)
            else:
                venues.deselect(v)
        self.touched.update(n for n in TYPED if self.query_one(f"#{n}", Input).value)
        self.validate(again=True)

    def as_named(self, name: str = "") -> NamedPlan:
        """The form's fields as a named plan (what "Save as plan" writes)."""
        v = self.values()
        venues = v["venues"]
        assert isinstance(venues, list)
        tranches = v["tranches"]
        jitter = bool(v["jitter"])
        return NamedPlan(
            name,
            amount=str(v["amount"]).strip() or None,
            spend=str(v["spend"]).strip() or None,
            duration=str(v["duration"]).strip() or None,
            tranches=int(str(tranches)) if tranches else None,
            quote=str(v["quote"]),
            venues=tuple(venues),
            mode=str(v["mode"]),
            max_price=str(v["max_price"]).strip() if v["max_price"] else None,
            jitter=jitter or None,
        )

    def add_plan(self, named: NamedPlan) -> None:
        """A plan saved: list it in the selector, chosen."""
        self.plans[named.name] = named
        select = self.query_one("#plan", Select)
        select.set_options([(n, n) for n in sorted(self.plans)])
        with select.prevent(Select.Changed):
            select.value = named.name

    @on(Button.Pressed, "#save-plan")
    def _save_plan(self, event: Button.Pressed) -> None:
        event.stop()
        if self.validate(again=True) is not None:
            current = self.query_one("#plan", Select).value
            name = str(current) if current in self.plans else ""
            self.post_message(SavePlanRequested(self.as_named(name)))

    @on(Input.Submitted)
    @on(Button.Pressed, "#start")
    def _start(self, event: Input.Submitted | Button.Pressed) -> None:
        event.stop()
        self.touched.update(FIELDS)
        plan = self.validate(again=True)
        if plan is not None:
            self.post_message(StartRequested(plan, live=self.live))
