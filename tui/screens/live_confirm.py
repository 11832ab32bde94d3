"""Asked before a live run's first order: what it will spend at most, per venue, against
each venue's free balance; then the word the command line asks for, typed.

It cannot be passed by the key that starts paper runs (s) nor by a stray enter: Cancel
has the focus, escape backs out, and the send button stays disabled until ``BUY`` is
typed in its field (enter there sends only then). It fits 80x24.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from dca.plan import Plan
from exchanges.venues import display_name
from tui import fmt
from tui.live_orders import CONFIRM_WORD, Preflight


def spend_table(plan: Plan, pre: Preflight) -> Table:
    """Per venue: what the run will spend there at most, its free balance, and whether it
    covers that (any tranche may go to any ticked venue, so each is held to the whole)."""
    q = plan.quote
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold")
    table.add_column("venue")
    table.add_column(f"at most {q}", justify="right")
    table.add_column(f"free {q}", justify="right")
    table.add_column("")
    worst = fmt.money(pre.worst) if pre.worst is not None else "?"
    for venue, free in pre.free.items():
        short = pre.short(venue)
        table.add_row(
            display_name(venue),
            worst,
            fmt.money(free),
            Text("SHORT: tranches may skip", "bold yellow")
            if short
            else Text("covers it", "green"),
        )
    return table


def summary_text(
    plan: Plan, pre: Preflight, max_slippage: Decimal, max_spend: Decimal | None
) -> Text:
    """The plan, its cost on the books now and the most it will spend."""
    q = plan.quote
    what = (
        f"{fmt.money(plan.spend)} {q} of BTC"
        if plan.spend is not None
        else f"{fmt.btc(plan.amount)} BTC"
    )
    text = Text.assemble(
        "Buy ",
        (what, "bold"),
        f" in {fmt.plural(plan.tranches, 'tranche')}, quote {q}.\n",
    )
    if pre.estimate is not None and pre.worst is not None:
        text.append("On the books now ", "dim")
        text.append(f"{fmt.money(pre.estimate)} {q}", "bold")
        text.append("; at most ", "dim")
        text.append(f"{fmt.money(pre.worst)} {q}", "bold red")
        text.append(
            f"\n(each order a limit {(max_slippage * 100).normalize():f} % above the walk, IOC)",
            "dim",
        )
    else:
        text.append("No book prices the whole amount now; each tranche is priced at its time.")
    if max_spend is not None:
        text.append(f"\nThe run stops spending at max_spend {fmt.money(max_spend)} {q}.")
    return text


class LiveConfirmScreen(ModalScreen[bool]):
    """Dismisses with True only after ``BUY`` was typed and sent; False otherwise."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(False)", "Cancel")]

    def __init__(
        self, plan: Plan, pre: Preflight, max_slippage: Decimal, max_spend: Decimal | None
    ) -> None:
        super().__init__()
        self.plan = plan
        self.pre = pre
        self.max_slippage = max_slippage
        self.max_spend = max_spend

    def compose(self) -> ComposeResult:
        """Title, the spend against each balance, the word's field, Cancel and Send."""
        with Vertical(id="live-box", classes="dialog"):
            yield Label(
                "REAL ORDERS: this run buys with your money", classes="dialog-title live-title"
            )
            yield Static(
                summary_text(self.plan, self.pre, self.max_slippage, self.max_spend),
                id="live-summary",
            )
            yield Static(spend_table(self.plan, self.pre), id="live-venues")
            yield Label(
                f"To send real orders, type {CONFIRM_WORD} here (tab), then enter:", id="live-ask"
            )
            yield Input(placeholder="the word", id="live-word", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="cancel", variant="primary", compact=True)
                yield Button(
                    "Send real orders", id="send", variant="error", disabled=True, compact=True
                )

    def on_mount(self) -> None:
        """Cancel first in focus: enter alone backs out."""
        self.query_one("#cancel", Button).focus()

    @on(Input.Changed, "#live-word")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#send", Button).disabled = event.value.strip() != CONFIRM_WORD

    @on(Input.Submitted, "#live-word")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip() == CONFIRM_WORD:
            self.dismiss(True)
        else:
            self.notify(f"Type {CONFIRM_WORD} exactly, or press escape", severity="warning")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        word = self.query_one("#live-word", Input).value.strip()
        self.dismiss(event.button.id == "send" and word == CONFIRM_WORD)
