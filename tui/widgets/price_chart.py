"""A small Line-API chart: each tranche's price against the best mid at its decision, the
run's average and the worst venue."""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

LABEL_W = 11
_PRICE = Style(color="#5fd7ff", bold=True)
_WORST = Style(color="#d75f5f")
_AVG = Style(color="#ffd75f")
_MID = Style(color="#87d787")
_AXIS = Style(dim=True)


def _resample(values: Sequence[float], width: int) -> list[float]:
    """``width`` points picked evenly from ``values``."""
    n = len(values)
    if n == 0 or width <= 0:
        return []
    if n <= width:
        return list(values)
    return [values[i * (n - 1) // max(1, width - 1)] for i in range(width)]


class PriceChart(Widget):
    """Rows of characters: ● tranche price, ◦ the best mid when it was decided (the gap is
    its slippage), · the dearest venue's price, ─ the run average."""

    DEFAULT_CSS = """
    PriceChart { height: 8; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.prices: list[float] = []
        self.worst: list[float] = []
        self.mids: list[float] = []
        self.average: float | None = None
        self._lines: list[Strip] = []
        # The size the lines were built for: rebuilt when drawn at another size.
        self._built: Size | None = None

    def set_data(
        self,
        prices: Sequence[float],
        worst: Sequence[float],
        average: float | None,
        mids: Sequence[float] = (),
    ) -> None:
        """Plot a new run (``mids``: the best mid per tranche, 0 where unknown)."""
        self.prices = list(prices)
        self.worst = list(worst)
        self.mids = list(mids)
        self.average = average
        self._built = None
        self.refresh()

    def on_resize(self) -> None:
        """Re-lay the plot for the new size."""
        self._built = None
        self.refresh()

    def _build(self, size: Size) -> None:
        self._built = size
        width, height = size.width - LABEL_W, size.height
        if width < 4 or height < 2 or not self.prices:
            self._lines = []
            return
        prices = _resample(self.prices, width)
        worst = _resample(self.worst, width)
        mids = _resample(self.mids, width)
        ys = [*prices, *(w for w in worst if w > 0), *(m for m in mids if m > 0)]
        if self.average is not None:
            ys.append(self.average)
        lo, hi = min(ys), max(ys)
        span = (hi - lo) or 1.0

        def row(value: float) -> int:
            return round((hi - value) / span * (height - 1))

        grid: list[list[tuple[str, Style]]] = [[(" ", _AXIS)] * width for _ in range(height)]
        avg_row = row(self.average) if self.average is not None else None
        if avg_row is not None:
            grid[avg_row] = [("─", _AVG)] * width
        # Few tranches spread over the width; many are already one per column.
        step = (width - 1) / max(1, len(prices) - 1)
        for i, w in enumerate(worst):
            if w > 0:
                grid[row(w)][round(i * step)] = ("·", _WORST)
        for i, m in enumerate(mids):
            if m > 0:
                grid[row(m)][round(i * step)] = ("◦", _MID)
        for i, p in enumerate(prices):
            grid[row(p)][round(i * step)] = ("●", _PRICE)
        labels = {0: f"{hi:,.0f}", height - 1: f"{lo:,.0f}"}
        if avg_row is not None and self.average is not None:
            labels[avg_row] = f"{self.average:,.0f}"
        lines: list[Strip] = []
        for y, cells in enumerate(grid):
            label = labels.get(y, "")
            style = _AVG if y == avg_row else _AXIS
            segments = [Segment(f"{label:>{LABEL_W - 1}} ", style)]
            # One segment per run of same-styled cells, not one per cell.
            run, run_style = "", None
            for ch, st in cells:
                if st is not run_style and run:
                    segments.append(Segment(run, run_style))
                    run = ""
                run, run_style = run + ch, st
            if run:
                segments.append(Segment(run, run_style))
            lines.append(Strip(segments, LABEL_W + width))
        self._lines = lines

    def render_line(self, y: int) -> Strip:
        """One row of the plot (blank outside it)."""
        if self._built != self.size:
            # Drawn at the size the compositor gives now, even before on_resize has run.
            self._build(self.size)
        if y < len(self._lines):
            return self._lines[y]
        return Strip.blank(self.size.width)
