"""Asked when quitting during a run: keep it running in the background, pause it
(resumable later), cancel it, or stay."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class QuitScreen(ModalScreen[str]):
    """Dismisses with ``background``, ``pause``, ``cancel`` or ``stay``."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss('stay')", "Stay")]

    def __init__(self, *, background: bool = False) -> None:
        super().__init__()
        # Whether the run can be handed to a background process (the launcher can start one).
        self.background = background

    def compose(self) -> ComposeResult:
        """The question and its buttons."""
        with Vertical(id="quit-box", classes="dialog"):
            yield Label("A run is in progress. Quit and…", classes="dialog-title")
            # Stacked: side by side, the four do not fit 80 columns (the last ones were cut).
            with Vertical(classes="dialog-buttons -stacked"):
                if self.background:
                    yield Button(
                        "Keep it running in the background", id="background", variant="success"
                    )
                yield Button("Pause (resume later)", id="pause", variant="primary")
                yield Button("Cancel the run", id="cancel", variant="error")
                yield Button("Stay", id="stay")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id or "stay")
