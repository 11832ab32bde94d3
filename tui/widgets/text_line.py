"""A fixed-height text widget that redraws without a relayout: for lines that change often."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


class TextLines(Widget):
    """Shows a ``Text``; ``set`` repaints only this widget (a ``Static.update`` re-lays the screen).

    Give it a fixed height in CSS: a longer text is clipped, never grown into.
    """

    DEFAULT_CSS = """
    TextLines { height: 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.text = Text()

    def set(self, text: Text) -> None:
        """Show ``text`` (no-op when unchanged)."""
        if text != self.text:
            self.text = text
            self.refresh()

    def render(self) -> Text:
        """The current text."""
        return self.text
