"""Asked at start when runs were left unfinished: resume one, abandon one, or start fresh."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList

from dca.executor import ResumeState
from dca.lines import TrancheLine
from dca.plan import Plan


@dataclass(frozen=True, slots=True)
class ResumeOffer:
    """An unfinished run that can be continued: its plan, progress, and a line describing it.

    ``earlier`` are its recorded tranches (the table shows them above the new ones);
    ``clock_at`` is where a demo run's simulated clock had got to (its last tranche), so
    the schedule goes on from there instead of from a clock restarted behind it.
    ``live`` runs place real orders: the dashboard continues them only through the same
    pre-flight and typed confirmation as a live start (never as paper; not at all where
    real orders are not offered, as on the demo market).
    """

    plan: Plan
    state: ResumeState
    label: str
    earlier: tuple[TrancheLine, ...] = ()
    clock_at: float | None = None
    live: bool = False


@dataclass(frozen=True, slots=True)
class Abandon:
    """The answer that gives ``offer``'s run up for good (asked twice: it cannot be undone)."""

    offer: ResumeOffer


class ResumeScreen(ModalScreen[ResumeOffer | Abandon | None]):
    """Dismisses with the chosen offer, ``Abandon(offer)``, or None to start fresh."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Not now")]

    def __init__(self, offers: Sequence[ResumeOffer]) -> None:
        super().__init__()
        self.offers = list(offers)

    def compose(self) -> ComposeResult:
        """The unfinished runs and the choice."""
        with Vertical(id="resume-box", classes="dialog"):
            yield Label("Unfinished runs: resume one?", id="resume-title", classes="dialog-title")
            yield OptionList(*(o.label for o in self.offers), id="offers")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Resume", id="resume", variant="primary")
                yield Button("Abandon", id="abandon", variant="error")
                yield Button("Not now", id="skip")

    def on_mount(self) -> None:
        """Preselect the newest."""
        self.query_one(OptionList).highlighted = 0

    @on(OptionList.OptionSelected)
    @on(Button.Pressed, "#resume")
    def _resume(self) -> None:
        index = self.query_one(OptionList).highlighted
        self.dismiss(self.offers[index] if index is not None else None)

    @on(Button.Pressed, "#skip")
    def _skip(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#abandon")
    def _abandon(self, event: Button.Pressed) -> None:
        index = self.query_one(OptionList).highlighted
        if index is None:
            return
        button = event.button
        if str(button.label) != "Abandon?":
            # Irreversible: the first press asks, the second gives the run up.
            button.label = "Abandon?"
            # Said in the dialog itself: a toast could cover the buttons on a small screen.
            self.query_one("#resume-title", Label).update(
                "Abandon it for good? Press Abandon? again (what it bought stays)"
            )
            return
        self.dismiss(Abandon(self.offers[index]))

    @on(OptionList.OptionHighlighted)
    def _rearm(self) -> None:
        # Another run highlighted: its abandon asks again.
        for button in self.query("#abandon").results(Button):
            button.label = "Abandon"
        for title in self.query("#resume-title").results(Label):
            title.update("Unfinished runs: resume one?")
