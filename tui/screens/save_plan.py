"""Naming the form's plan to save it as ``[plans.NAME]`` in the config file."""

from __future__ import annotations

import re
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

# As storage.config reads a plan's name (a TOML bare key): letters, digits, - and _.
NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class SavePlanScreen(ModalScreen[str | None]):
    """Dismisses with the name typed (checked), or None when the user backs out."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, name: str = "", known: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.initial = name
        self.known = known

    def compose(self) -> ComposeResult:
        """The name field, what it will do, and the choice."""
        with Vertical(id="save-plan-box", classes="dialog"):
            yield Label("Save the form as a named plan", classes="dialog-title")
            yield Input(self.initial, placeholder="a name, e.g. weekly", id="plan-name")
            yield Static("", id="plan-name-note")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        """Ready to type."""
        self.query_one("#plan-name", Input).focus()
        self._note(self.initial)

    @on(Input.Changed, "#plan-name")
    def _changed(self, event: Input.Changed) -> None:
        self._note(event.value)

    def _note(self, name: str) -> None:
        name = name.strip()
        if name and not NAME.match(name):
            text = "letters, digits, - and _ only (at most 40)"
        elif name in self.known:
            text = f"replaces [plans.{name}] in the config file"
        else:
            text = f"run it with: btc-dca run --plan {name or 'NAME'}"
        self.query_one("#plan-name-note", Static).update(text)

    @on(Input.Submitted, "#plan-name")
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        name = self.query_one("#plan-name", Input).value.strip()
        if NAME.match(name):
            self.dismiss(name)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
