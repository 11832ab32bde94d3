"""The run area: progress, countdown, Pause / Resume / Cancel, running summary, tranche table."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from dca.status import RunStatus
from tui import fmt

if TYPE_CHECKING:  # the table (Textual's DataTable) and the run's events load after the first frame
    from dca.events import Summary
    from tui.widgets.tranche_table import TrancheTable


def summary_text(
    summary: Summary, quote: str, lump_sum_total: Decimal | None, standing: str | None = None
) -> Text:
    """Bought of target, spent (fees in), average price before and after fees, fees, saved
    vs the worst venue and vs one lump sum. ``standing``: a standing plan's calendar in
    words (``every week at mon 09:00``), said after what it bought."""
    if summary.budget is not None:
        goal = f" BTC of a {fmt.money(summary.budget)} {quote} budget"
    elif summary.target:
        goal = f" of {fmt.btc(summary.target)} BTC"
    else:  # a standing plan with no end: no goal to measure against
        goal = " BTC"
    text = Text.assemble(
        ("bought ", "dim"),
        (f"{fmt.btc(summary.qty)}", "bold"),
        (goal, "dim"),
        (f", {standing}" if standing else "", "dim"),
        ("  spent ", "dim"),
        (f"{fmt.money(summary.total)} {quote}", "bold"),
        ("  fees ", "dim"),
        fmt.money(summary.fee),
    )
    text.append("\navg price ", "dim")
    text.append(fmt.money(summary.avg_price))
    text.append("  with fees ", "dim")
    text.append(fmt.money(summary.effective_price))
    text.append("  saved vs worst venue ", "dim")
    text.append(fmt.money(summary.saved_vs_worst), "green")
    if lump_sum_total is not None and summary.qty and summary.target:
        lump_price = lump_sum_total / summary.target
        extra = summary.total - lump_price * summary.qty
        text.append("\nvs one lump-sum buy at the start: ", "dim")
        amount = fmt.money(abs(extra))
        if amount == fmt.money(Decimal(0)):
            text.append("the same to the cent")
        elif extra > 0:
            text.append(f"DCA cost {amount} {quote} more", "red")
        else:
            text.append(f"DCA saved {amount} {quote}", "green")
    if summary.skipped:
        text.append(f"  {fmt.plural(summary.skipped, 'tranche')} skipped", "yellow")
    return text


class RunPanel(Vertical):
    """Shows the current run; the buttons post their presses to the app's actions."""

    def __init__(self, *, id: str | None = None) -> None:
        # Born with no run: the classes ``set_state(RunStatus.PENDING)`` would set, given at
        # construction so the first frame is styled once instead of restyled after mount.
        super().__init__(id=id, classes="-over -idle")

    def compose(self) -> ComposeResult:
        """Status line and the tranches' place; the run's controls come with the first run."""
        with Horizontal(id="run-head"):
            yield Static(Text("Fill in the plan and press Start", "dim"), id="run-status")
        yield Static(Text("Each tranche appears here as it fills.", "dim"), id="tranches-idle")

    def _controls(self) -> None:
        """Mount the buttons, progress bar and summary, once (before the first run's state).

        Idle, they are hidden (``-over``, ``-idle``): left out of the first frame, they
        cost it nothing to style and lay out.
        """
        if self.query("#pause"):
            return
        from textual.widgets import ProgressBar

        self.query_one("#run-head").mount(
            Button("Pause", id="pause", compact=True, disabled=True),
            Button("Resume", id="resume", compact=True, disabled=True),
            Button("Cancel", id="cancel", variant="error", compact=True, disabled=True),
        )
        self.mount(
            ProgressBar(id="progress", show_eta=False), Static(id="summary"), after="#run-head"
        )

    @on(Button.Pressed, "#pause, #resume, #cancel")
    async def _control(self, event: Button.Pressed) -> None:
        event.stop()
        action = {"pause": "pause", "resume": "resume", "cancel": "cancel_run"}
        await self.app.run_action(f"app.{action[event.button.id or 'pause']}")

    def set_state(self, state: RunStatus) -> None:
        """Enable the buttons that make sense in ``state`` (pending, running, paused, ...)."""
        running = state is RunStatus.RUNNING
        paused = state is RunStatus.PAUSED
        self._controls()
        self.query_one("#pause", Button).disabled = not running
        self.query_one("#resume", Button).disabled = not paused
        self.query_one("#cancel", Button).disabled = not (running or paused)
        # No run going: no buttons at all (the status line gets their room).
        self.set_class(not (running or paused), "-over")
        self.set_class(paused, "-paused")
        self.set_class(running, "-running")
        self.set_class(state is RunStatus.PENDING, "-idle")

    def set_status(self, text: Text | str) -> None:
        """The status line (state, tranche n of m, countdown)."""
        self.query_one("#run-status", Static).update(text)

    def show_summary(
        self, summary: Summary, quote: str, lump: Decimal | None, standing: str | None = None
    ) -> None:
        """Progress bar and summary lines; ``standing``: a standing plan's calendar in words
        (without a budget it has no end to show progress towards: no bar)."""
        from textual.widgets import ProgressBar

        self._controls()
        bar = self.query_one("#progress", ProgressBar)
        # A standing plan with no end has nothing to be a fraction of: no bar.
        bar.display = summary.budget is not None or bool(summary.target)
        if summary.budget is not None:
            bar.update(total=float(summary.budget), progress=float(summary.total))
        elif summary.target:
            bar.update(total=float(summary.target), progress=float(summary.qty))
        self.query_one("#summary", Static).update(summary_text(summary, quote, lump, standing))

    @property
    def table(self) -> TrancheTable | None:
        """The run's tranche table (None before the first run)."""
        from tui.widgets.tranche_table import TrancheTable

        found = self.query(TrancheTable)
        return found.first() if found else None

    async def reset(self) -> TrancheTable:
        """An empty tranche table for a new run (mounted on the first run)."""
        from tui.widgets.tranche_table import TrancheTable

        table = self.table
        if table is None:
            await self.query_one("#tranches-idle").remove()
            table = TrancheTable(width=self.content_size.width)
            await self.mount(table)
        table.clear()
        return table
