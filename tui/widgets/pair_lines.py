"""Lines of "label value" pairs that wrap between pairs, never inside one.

A summary like ``total 2,239,018.83 USD  fees 3,245.16`` wrapped by words on a narrow
terminal leaves ``fees`` at the end of one line and its figure on the next. Here each
logical line is a list of pairs; a pair that does not fit goes whole to the next line.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

# A pair: its label (shown dim, may be "") and its value.
Pair = tuple[str, Text]
# Each logical line: its pairs, in order.
Lines = Sequence[Sequence[Pair]]
GAP = "  "


def pack(lines: Lines, width: int | None = None) -> Text:
    """``lines`` as one Text: the pairs of a line joined by two spaces, a pair moved to a
    new line when it would end past ``width`` (None: never). A pair wider than ``width``
    stands alone on its line."""
    out = Text()
    for n, pairs in enumerate(lines):
        if n:
            out.append("\n")
        used = 0
        for i, (label, value) in enumerate(pairs):
            size = len(label) + value.cell_len
            gap = ""
            if i and width is not None and used + len(GAP) + size > width:
                out.append("\n")
                used = 0
            elif i:
                gap = GAP
            # The gap goes in with the label, in its style, as one run of text.
            out.append(gap + label, "dim" if label else None)
            out.append_text(value)
            used += len(gap) + size
    return out


class PairLines(Widget):
    """Shows ``Lines`` packed to its width; as tall as the packed lines."""

    DEFAULT_CSS = """
    PairLines { height: auto; }
    """

    def __init__(self, lines: Lines = (), *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines = lines

    def set(self, lines: Lines) -> None:
        """Show ``lines`` (its height follows)."""
        self.lines = lines
        self.refresh(layout=True)

    def render(self) -> Text:
        """The lines packed to the width there is."""
        return pack(self.lines, self.content_size.width or None)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """Rows the lines take at ``width`` (a pair wider than that wraps on its own)."""
        packed = pack(self.lines, width or None)
        return sum(max(1, -(-line.cell_len // max(1, width))) for line in packed.split("\n"))
