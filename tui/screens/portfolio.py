"""The Portfolio screen: what every run added up to, what it is worth now, and over time."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, Sparkline, Static

from tui import fmt

if TYPE_CHECKING:
    from storage.history.portfolio import Bucket, Point, Portfolio

# The sparklines show at most this many points (the newest), one per filled tranche.
POINTS = 400


def summary_text(p: Portfolio, bid: Decimal | None) -> Text:
    """Totals, value at the best bid and P/L, then per venue and per month."""
    q = p.quote
    kind = "real" if p.scope.value == "live" else "paper"
    others = ", ".join(f"{n:,} in {c}" for c, n in p.other_quotes.items())
    note = f"\nNot summed here: {others} (btc-dca portfolio --quote CCY)" if others else ""
    if not p.runs:
        return Text(f"No {kind} runs in {q} yet (backtests never count).{note}", "dim")
    t = p.total
    text = Text.assemble(
        (f"{fmt.plural(p.runs, kind + ' run')} in {q}", "bold"),
        (" (backtests never count; cost has the fees in)\n", "dim"),
        ("BTC ", "dim"),
        (fmt.btc(t.btc), "bold"),
        ("  cost ", "dim"),
        f"{fmt.money(t.cost)} {q}",
        ("  fees ", "dim"),
        fmt.money(t.fees),
        ("  avg cost ", "dim"),
        f"{fmt.money(t.avg_cost)}/BTC",
    )
    if bid is not None:
        pnl = p.pnl(bid)
        assert pnl is not None
        text.append("\nvalue at the best bid ", "dim")
        text.append(f"{fmt.money(p.value(bid))} {q}")
        text.append(f" ({fmt.money(bid)})  P/L ", "dim")
        text.append(
            f"{'+' if pnl >= 0 else '-'}{fmt.money(abs(pnl))} {q}", "green" if pnl >= 0 else "red"
        )
    else:
        text.append("\nvalue: no book on screen in " + q, "dim")
    text.append(note, "dim")
    for title, rows in (("venue", p.venues), ("month", p.months)):
        if rows:
            head = f"{'per ' + title:<12}{'BTC':>14}{'cost':>16}{'fees':>12}{'avg cost':>14}"
            text.append("\n\n" + head, "bold")
            for key, b in rows.items():
                text.append("\n" + _row(key, b))
    return text


def _row(key: str, b: Bucket) -> str:
    return (
        f"{key:<12}{fmt.btc(b.btc):>14}{fmt.money(b.cost):>16}{fmt.money(b.fees):>12}"
        f"{fmt.money(b.avg_cost):>14}"
    )


def chart_caption(
    series: tuple[Point, ...], unit: str, value: Callable[[Point], str], from_zero: bool
) -> str:
    """What a chart spans: from nothing (or its first point) to the last figure, over how
    many filled tranches, and when (UTC)."""
    if not series:
        return "nothing bought yet"
    first, last = series[0].at, series[-1].at
    when = f"{first:%Y-%m-%d %H:%M}"
    if last != first:
        when += f" to {last:%Y-%m-%d %H:%M}" if last.date() != first.date() else f"-{last:%H:%M}"
    start = "0" if from_zero else value(series[0])
    tranches = fmt.plural(len(series), "filled tranche")
    return f"{start} to {value(series[-1])} {unit} over {tranches}, {when} UTC"


class PortfolioScreen(Screen[None]):
    """Reads the portfolio in a worker thread, then shows it; escape goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("o", "app.pop_screen", "Back", show=False),
    ]

    def __init__(
        self, source: Callable[[], Portfolio], bid: Callable[[str], Decimal | None]
    ) -> None:
        super().__init__()
        self.source = source
        self.bid = bid
        self.portfolio: Portfolio | None = None

    def compose(self) -> ComposeResult:
        """Summary, then the two series, then the footer."""
        yield Header()
        with VerticalScroll(id="portfolio"):
            yield Static(Text("Reading the runs…", "dim"), id="portfolio-summary")
            yield Label("BTC held", classes="portfolio-label")
            yield Sparkline([], id="portfolio-btc")
            yield Label("", id="portfolio-btc-caption", classes="portfolio-caption")
            yield Label("cost basis (fees in)", classes="portfolio-label")
            yield Sparkline([], id="portfolio-cost")
            yield Label("", id="portfolio-cost-caption", classes="portfolio-caption")
        yield Footer()

    def on_mount(self) -> None:
        """Read in the background (polars loads there)."""
        self.title = "Portfolio"
        self._read()

    @work(thread=True, exclusive=True, exit_on_error=False, group="portfolio")
    def _read(self) -> None:
        try:
            p = self.source()
        except Exception as exc:  # a broken file is shown, never a crash
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self._show, p)

    def _failed(self, message: str) -> None:
        self.query_one("#portfolio-summary", Static).update(
            Text(f"Could not read the runs: {message}", "red")
        )

    def _show(self, p: Portfolio) -> None:
        self.portfolio = p
        bid = self.bid(p.quote) if p.total.btc else None
        self.query_one("#portfolio-summary", Static).update(summary_text(p, bid))
        # From nothing held (a chart scaled from its lowest point would show the first buy
        # as nothing), then after each filled tranche: the newest POINTS of them.
        series = p.series[-POINTS:]
        whole = len(series) == len(p.series)
        start = [0.0] if whole else []
        btc_line = self.query_one("#portfolio-btc", Sparkline)
        btc_line.data = start + [float(s.btc) for s in series]
        cost_line = self.query_one("#portfolio-cost", Sparkline)
        cost_line.data = start + [float(s.cost) for s in series]
        self.query_one("#portfolio-btc-caption", Label).update(
            chart_caption(series, "BTC", lambda s: fmt.btc(s.btc), whole)
        )
        self.query_one("#portfolio-cost-caption", Label).update(
            chart_caption(series, p.quote, lambda s: fmt.money(s.cost), whole)
        )
