"""One venue's live panel: health, top of book, the next tranche's cost there, recent asks."""

from __future__ import annotations

import time
from collections import deque

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Sparkline

from dca.pricing import Cost, InsufficientDepth
from exchanges.market import Health
from exchanges.venues import display_name
from tui import display, fmt
from tui.palette import venue_colour
from tui.venue_view import VenueView
from tui.widgets.text_line import TextLines

# Seconds of real time between two sparkline samples, and how many are kept.
SAMPLE_EVERY_S = 1.0
SAMPLES = 60
# How long a fill keeps its panel highlighted, seconds.
HIGHLIGHT_S = 2.0

_HEALTH_STYLE = {
    Health.CONNECTING: ("◌", "dim"),
    Health.LIVE: ("●", "green"),
    Health.STALE: ("◐", "yellow"),
    Health.DOWN: ("✕", "red"),
}


def health_text(view: VenueView) -> Text:
    """``● live  <1s``, ``✕ down: timed out after 5.0s``; with a note like ``slow: …`` if any."""
    status = view.status
    icon, style = _HEALTH_STYLE[status.health]
    text = Text.assemble((f"{icon} {status.health.value}", style))
    if status.error is not None and status.health is not Health.LIVE:
        text.append(f": {status.error}", style)
        return text
    text.append(f"  {display.age(view.age_s)}", "dim")
    if status.note:
        text.append(f"  {status.note}", "yellow")
    return text


def quote_text(view: VenueView) -> Text:
    """Ask, bid and spread (absolute and bps), one per line."""
    book = view.status.book
    if book is None:
        return Text("ask —\nbid —\nspread —", "dim")
    return Text.assemble(
        ("ask    ", "dim"),
        (fmt.money(book.best_ask), "bold"),
        ("\nbid    ", "dim"),
        fmt.money(book.best_bid),
        ("\nspread ", "dim"),
        f"{fmt.money(book.spread)} ",
        (f"({display.bps_short(book.spread_bps)})", "dim"),
    )


def cost_text(view: VenueView) -> Text:
    """The next tranche's total there with the fee, its gap to the best, the effective price."""
    cost = view.cost
    if view.qty is None:
        return Text(f"cost   —\nfee {fmt.pct(view.fee_rate)}", "dim")
    if isinstance(cost, InsufficientDepth):
        return Text(f"book too thin for\n{fmt.btc(view.qty)} BTC", "yellow")
    if not isinstance(cost, Cost):
        return Text(f"cost   —\nfee {fmt.pct(view.fee_rate)}", "dim")
    text = Text.assemble(("cost   ", "dim"), (fmt.money(cost.total), "bold"))
    if view.best:
        text.append("  best", "bold green")
    elif view.distance_bps is not None:
        text.append(f" {display.signed_bps_short(view.distance_bps)}", "yellow")
    text.append("\n@ ", "dim")
    text.append(fmt.money(cost.effective_price))
    text.append(f"  fee {fmt.pct(view.fee_rate)}", "dim")
    return text


def line_text(view: VenueView) -> Text:
    """The whole panel on one line, for narrow terminals."""
    status = view.status
    icon, style = _HEALTH_STYLE[status.health]
    name = display_name(status.venue)
    text = Text.assemble(("★ " if view.best else "  ", "bold green"), (f"{icon} ", style))
    text.append(f"{name:<10.10}", venue_colour(status.venue))
    book = status.book
    text.append(f" {fmt.money(book.best_ask) if book else display.DASH:>10}")
    if isinstance(view.cost, Cost):
        gap = "best" if view.best else display.signed_bps_short(view.distance_bps)
        text.append(f" {fmt.money(view.cost.total):>10} ")
        text.append(gap, "bold green" if view.best else "yellow")
    elif status.error is not None and status.health is not Health.LIVE:
        text.append(f" {status.error}", style)
    return text


class VenuePanel(Vertical):
    """A venue's panel; ``show`` touches only the lines whose text changed."""

    def __init__(self, venue: str) -> None:
        super().__init__(id=f"venue-{venue}", classes="venue-panel")
        self.venue = venue
        self.border_title = display_name(venue)
        self._texts: dict[str, Text] = {}
        self._asks: deque[float] = deque(maxlen=SAMPLES)
        self._last_sample = float("-inf")
        self._last_ask: float | None = None
        self._highlight_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        """The panel's lines; ``.vp-line`` replaces the rest on narrow screens."""
        yield TextLines(classes="vp-line")
        yield TextLines(classes="vp-health")
        yield TextLines(classes="vp-quote")
        yield TextLines(classes="vp-cost")
        yield Sparkline([], classes="vp-spark -empty", summary_function=max)
        yield TextLines(classes="vp-fill")

    def _set(self, name: str, text: Text) -> None:
        if self._texts.get(name) == text:
            return
        self._texts[name] = text
        self.query_one(f".{name}", TextLines).set(text)

    def show(self, view: VenueView) -> None:
        """Draw ``view``; unchanged lines are not redrawn."""
        self._set("vp-line", line_text(view))
        self._set("vp-health", health_text(view))
        self._set("vp-quote", quote_text(view))
        self._set("vp-cost", cost_text(view))
        self.set_class(view.best, "-best")
        self.set_class(view.status.health is Health.DOWN, "-down")
        self.set_class(view.status.health is Health.STALE, "-stale")
        subtitle = "★ best" if view.best else ""
        if self.border_subtitle != subtitle:
            self.border_subtitle = subtitle
        book = view.status.book
        if book is not None and view.status.error is None:
            self._sample(float(book.best_ask))

    def _sample(self, ask: float) -> None:
        now = time.monotonic()
        if ask == self._last_ask and now - self._last_sample < SAMPLE_EVERY_S * 10:
            return
        if now - self._last_sample < SAMPLE_EVERY_S:
            return
        self._last_sample = now
        self._last_ask = ask
        self._asks.append(ask)
        spark = self.query_one(Sparkline)
        spark.data = list(self._asks)
        spark.set_class(len(self._asks) < 2, "-empty")

    def show_fill(self, text: Text) -> None:
        """Show a fill on this panel and highlight it for a moment."""
        self._set("vp-fill", text)
        self.add_class("-filled")
        if self._highlight_timer is not None:
            self._highlight_timer.stop()
        self._highlight_timer = self.set_timer(HIGHLIGHT_S, self._unhighlight, name="unhighlight")

    def _unhighlight(self) -> None:
        self.remove_class("-filled")
        self._highlight_timer = None
