"""One venue's live panel, drawn line by line: a tick repaints only the rows that changed.

The panel is one widget on the Line API (toolong style): ``show`` lays the view out
as rows of text for the panel's size, compares them with the rows on screen and
marks only the changed rows dirty. No child widgets, so a tick never relayouts.
"""

from __future__ import annotations

import textwrap
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from dca.pricing import Cost, InsufficientDepth
from exchanges.market import Health
from exchanges.venues import display_name
from tui import fmt
from tui.palette import venue_colour
from tui.venue_view import VenueView

# Seconds of real time between two sparkline samples, and how many are kept.
SAMPLE_EVERY_S = 1.0
SAMPLES = 60
# How long a fill keeps its panel highlighted, seconds.
HIGHLIGHT_S = 2.0
# Rows above the sparkline (health, ask, bid, spread, cost, effective price) and below (fill).
HEAD_ROWS = 6
FOOT_ROWS = 1
# At most this many lines for a note that does not fit beside the health.
NOTE_ROWS = 2
BLOCKS = " ▁▂▃▄▅▆▇█"

_HEALTH_STYLE = {
    Health.CONNECTING: ("◌", "dim"),
    Health.LIVE: ("●", "green"),
    Health.STALE: ("◐", "yellow"),
    Health.DOWN: ("✕", "red"),
}


@dataclass(frozen=True, slots=True)
class Fill:
    """The panel's latest fill: what it bought, at what average price, when (clock time)."""

    qty: Decimal
    price: Decimal
    at: float


def health_text(view: VenueView, *, with_note: bool = True) -> Text:
    """``● live · changed 42s ago``, ``✕ down``; with a note like ``slow: …`` if any.

    Live means the venue proves the book current (heartbeats on its socket, or a fresh
    REST answer); a quiet book stays live however long since it last changed.
    """
    status = view.status
    icon, style = _HEALTH_STYLE[status.health]
    text = Text.assemble((f"{icon} {status.health.value}", style))
    if status.error is not None and status.health is not Health.LIVE:
        if status.health is not Health.DOWN:
            text.append(f": {status.error}", style)
        return text
    # Fits a 25-column panel: "● live · changed 42s ago".
    ago = " ago" if view.age_s is not None else ""
    text.append(f" · changed {fmt.age(view.age_s)}{ago}", "dim")
    if status.note and with_note:
        text.append(f"  {status.note}", "yellow")
    return text


def head_rows(view: VenueView, width: int, spare: int) -> list[Text]:
    """The health line; a note too long to sit beside it gets up to ``spare`` lines of its
    own (more than that is cut with an ellipsis)."""
    head = health_text(view)
    note = view.status.note
    if not note or head.cell_len <= width or spare <= 0:
        return [head]
    lines = textwrap.wrap(note, max(1, width)) or [note]
    if len(lines) > spare:
        lines = [
            *lines[: spare - 1],
            textwrap.shorten(" ".join(lines[spare - 1 :]), width, placeholder="…"),
        ]
    return [health_text(view, with_note=False), *(Text(line, "yellow") for line in lines)]


def quote_rows(view: VenueView, width: int) -> list[Text]:
    """Ask, bid and spread (absolute and bps); a down venue's reason instead, wrapped."""
    status = view.status
    if status.error is not None and status.health is Health.DOWN:
        lines = [Text(line, "red") for line in textwrap.wrap(str(status.error), max(8, width))]
        return [*lines[:3], *(Text() for _ in range(3 - len(lines[:3])))]
    book = status.book
    if book is None:
        return [Text("ask    —", "dim"), Text("bid    —", "dim"), Text("spread —", "dim")]
    return [
        Text.assemble(("ask    ", "dim"), (fmt.money(book.best_ask), "bold")),
        Text.assemble(("bid    ", "dim"), fmt.money(book.best_bid)),
        Text.assemble(
            ("spread ", "dim"),
            f"{fmt.money(book.spread)} ",
            (f"({fmt.bps_short(book.spread_bps)})", "dim"),
        ),
    ]


def cost_rows(view: VenueView) -> list[Text]:
    """The next tranche's total there with the fee and its gap to the best; the effective price."""
    cost = view.cost
    fee = f"fee {fmt.pct(view.fee_rate)}"
    if isinstance(cost, InsufficientDepth) and view.qty is not None:
        return [Text("book too thin for", "yellow"), Text(f"{fmt.btc(view.qty)} BTC", "yellow")]
    if view.qty is None or not isinstance(cost, Cost):
        return [Text("cost   —", "dim"), Text(fee, "dim")]
    top = Text.assemble(("cost   ", "dim"), (fmt.money(cost.total), "bold"))
    if view.best:
        top.append("  best", "bold green")
    elif view.distance_bps is not None:
        top.append(f" {fmt.signed_bps_short(view.distance_bps)}", "yellow")
    bottom = Text.assemble(("@ ", "dim"), fmt.money(cost.effective_price), (f"  {fee}", "dim"))
    return [top, bottom]


def fill_text(fill: Fill | None, width: int) -> Text:
    """The latest fill, as long as fits: ``filled 0.02083 @ 89,634.77 12:00:00`` down to ``✓ …``."""
    if fill is None:
        return Text()
    deal = f"{fmt.btc(fill.qty)} @ {fmt.money(fill.price)}"
    at = f"  {fmt.clock_time(fill.at)}"
    for head, tail in (("filled ", at), ("filled ", ""), ("✓ ", at), ("✓ ", "")):
        if len(head) + len(deal) + len(tail) <= width:
            break
    return Text.assemble((head, "bold green"), (deal, "green"), (tail, "dim"))


def spark_rows(samples: Sequence[float], width: int, rows: int, colour: str) -> list[Text]:
    """The last ``width`` samples as block bars ``rows`` high, scaled to their own range."""
    if rows <= 0:
        return []
    shown = list(samples)[-width:] if width > 0 else []
    if len(shown) < 2:
        return [Text() for _ in range(rows)]
    lo, hi = min(shown), max(shown)
    span = hi - lo
    steps = rows * 8
    # A flat line sits on the floor; otherwise 1..steps eighths, so every sample shows.
    levels = [1 if span == 0 else 1 + round((v - lo) / span * (steps - 1)) for v in shown]
    out = []
    for r in range(rows):
        floor = (rows - 1 - r) * 8
        chars = "".join(BLOCKS[max(0, min(8, level - floor))] for level in levels)
        out.append(Text(chars.rjust(width), colour))
    return out


def line_text(view: VenueView) -> Text:
    """The whole panel on one line, for narrow terminals."""
    status = view.status
    icon, style = _HEALTH_STYLE[status.health]
    name = display_name(status.venue)
    text = Text.assemble(("★ " if view.best else "  ", "bold green"), (f"{icon} ", style))
    text.append(f"{name:<10.10}", venue_colour(status.venue))
    book = status.book
    text.append(f" {fmt.money(book.best_ask) if book else fmt.DASH:>10}")
    if isinstance(view.cost, Cost):
        gap = "best" if view.best else fmt.signed_bps_short(view.distance_bps)
        text.append(f" {fmt.money(view.cost.total):>10} ")
        text.append(gap, "bold green" if view.best else "yellow")
    elif status.error is not None and status.health is not Health.LIVE:
        text.append(f" {status.error}", style)
    return text


class VenuePanel(Widget):
    """A venue's panel; ``show`` repaints only the rows whose text changed."""

    def __init__(self, venue: str) -> None:
        super().__init__(id=f"venue-{venue}", classes="venue-panel")
        self.venue = venue
        self.border_title = display_name(venue)
        self.view: VenueView | None = None
        self.fill: Fill | None = None
        self._asks: deque[float] = deque(maxlen=SAMPLES)
        self._last_sample = float("-inf")
        self._last_ask: float | None = None
        self._highlight_timer: Timer | None = None
        self._rows: list[Text] = []
        self._laid_for = Size(0, 0)
        self._strips: dict[int, Strip] = {}
        self._strip_style: Style | None = None
        self._styles: dict[tuple[str, ...], Style] = {}
        self._samples = 0
        self._spark_key: tuple[int, int, int] = (-1, 0, 0)
        self._spark_rows: list[Text] = []

    # -- content ---------------------------------------------------------------------------

    def rows(self, size: Size) -> list[Text]:
        """The panel's rows for a content area of ``size``: one line when it is one row high."""
        width, height = size
        view = self.view
        if view is None or height <= 0:
            return [Text() for _ in range(max(0, height))]
        if height == 1:
            return [line_text(view)]
        spare = max(0, height - HEAD_ROWS - FOOT_ROWS)
        # A long note (a venue that answers slowly, REST polling and why) takes a line or two
        # from the sparkline while it lasts: it matters more than the recent asks.
        head = head_rows(view, width, min(NOTE_ROWS, spare))
        spark = spare - (len(head) - 1)
        rows = [
            *head,
            *quote_rows(view, width),
            *cost_rows(view),
            *self._spark(width, spark),
            fill_text(self.fill, width),
        ]
        return rows[:height]

    def _spark(self, width: int, rows: int) -> list[Text]:
        # Rebuilt when a sample arrives (at most once a second) or the size changes.
        key = (self._samples, width, rows)
        if key != self._spark_key:
            self._spark_key = key
            self._spark_rows = spark_rows(self._asks, width, rows, venue_colour(self.venue))
        return self._spark_rows

    def text(self) -> str:
        """What the panel shows now, one line per row (for logs and tests)."""
        return "\n".join(t.plain for t in self._relaid())

    def show(self, view: VenueView) -> None:
        """Draw ``view``: classes for the border, then only the rows that changed."""
        self.view = view
        self.set_class(view.best, "-best")
        self.set_class(view.status.health is Health.DOWN, "-down")
        self.set_class(view.status.health is Health.STALE, "-stale")
        subtitle = "★ best" if view.best else ""
        if self.border_subtitle != subtitle:
            self.border_subtitle = subtitle
        book = view.status.book
        if book is not None and view.status.error is None:
            self._sample(float(book.best_ask))
        self._redraw()

    def _sample(self, ask: float) -> None:
        now = time.monotonic()
        if now - self._last_sample < SAMPLE_EVERY_S:
            return
        if ask == self._last_ask and now - self._last_sample < SAMPLE_EVERY_S * 10:
            return
        self._last_sample = now
        self._last_ask = ask
        self._asks.append(ask)
        self._samples += 1

    @property
    def sparkline(self) -> tuple[float, ...]:
        """The asks the sparkline draws, oldest first."""
        return tuple(self._asks)

    def restart(self) -> None:
        """Forget the sparkline's samples and the last fill: prices now come in another
        currency, and one line mixing two would show a cliff."""
        self._asks.clear()
        self._last_sample = float("-inf")
        self._last_ask = None
        self._samples += 1  # the sparkline is rebuilt at the next draw
        self.fill = None
        self._redraw()

    def clear_fill(self) -> None:
        """Forget the last fill (a new run starts: what an earlier one bought is not its)."""
        if self._highlight_timer is not None:
            self._highlight_timer.stop()
            self._highlight_timer = None
        self.remove_class("-filled")
        if self.fill is not None:
            self.fill = None
            self._redraw()

    def show_fill(self, qty: Decimal, price: Decimal, at: float) -> None:
        """Show a fill on this panel and highlight it for a moment."""
        self.fill = Fill(qty, price, at)
        self.add_class("-filled")
        if self._highlight_timer is not None:
            self._highlight_timer.stop()
        self._highlight_timer = self.set_timer(HIGHLIGHT_S, self._unhighlight, name="unhighlight")
        self._redraw()

    def _unhighlight(self) -> None:
        self.remove_class("-filled")
        self._highlight_timer = None

    # -- drawing ---------------------------------------------------------------------------

    def _redraw(self) -> None:
        size = self.content_size
        if size != self._laid_for or not self.is_mounted:
            # Not laid out at this size yet: the next paint lays it out whole.
            self.refresh()
            return
        new = self.rows(size)
        changed = [y for y, (a, b) in enumerate(zip(self._rows, new, strict=True)) if a != b]
        self._rows = new
        for y in changed:
            self._strips.pop(y, None)
        if changed:
            self.refresh(*(Region(0, y, size.width, 1) for y in changed))

    def _relaid(self) -> list[Text]:
        size = self.content_size
        if size != self._laid_for:
            self._laid_for = size
            self._rows = self.rows(size)
            self._strips.clear()
        return self._rows

    def notify_style_update(self) -> None:
        """Classes or theme changed (a highlight, a new border): re-render every row."""
        super().notify_style_update()
        self._strip_style = None
        self._strips.clear()
        self._styles.clear()

    def _segments(self, text: Text, base: Style) -> list[Segment]:
        """``text`` as segments over ``base``: our rows have flat, non-overlapping spans, so
        this skips rich's general span merging (the costliest step of a repaint)."""
        plain = text.plain
        outer = text.style
        out: list[Segment] = []
        pos = 0
        for span in sorted(text.spans, key=lambda s: s.start):
            if span.start > pos:
                out.append(Segment(plain[pos : span.start], self._style(base, outer)))
            out.append(Segment(plain[span.start : span.end], self._style(base, outer, span.style)))
            pos = max(pos, span.end)
        if pos < len(plain):
            out.append(Segment(plain[pos:], self._style(base, outer)))
        return out

    def _style(self, base: Style, *names: str | Style) -> Style:
        """``base`` with ``names`` on top, parsed once per style change."""
        key = tuple(str(n) for n in names)
        style = self._styles.get(key)
        if style is None:
            style = base
            for name in names:
                if name:
                    style += name if isinstance(name, Style) else Style.parse(name)
            self._styles[key] = style
        return style

    def render_line(self, y: int) -> Strip:
        """Row ``y``, cropped or padded to the width (cached until its text changes)."""
        rows = self._relaid()
        style = self._strip_style
        if style is None:
            # Reading rich_style walks the DOM: once per style change, not once per row.
            style = self._strip_style = self.rich_style
        strip = self._strips.get(y)
        if strip is None:
            width = self._laid_for.width
            text = rows[y] if y < len(rows) else Text()
            strip = Strip(self._segments(text, style)).adjust_cell_length(width, style)
            strip = strip.crop(0, width)
            self._strips[y] = strip
        return strip
