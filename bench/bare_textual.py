"""The floor for start-up: a bare Textual app shaped like the dashboard.

A header, six bordered panels and a footer, nothing else. ``bench_startup.py`` starts it
in a pseudo-terminal beside ``btc-dca --demo`` and prints the ratio.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Grid
from textual.widgets import Footer, Header, Static

VENUES = ("Binance", "Binance.US", "Coinbase", "Kraken", "Bitstamp", "OKX")


class Bare(App[None]):
    """Six bordered panels between a header and a footer."""

    CSS = """
    Grid { grid-size: 3 2; }
    Static { border: round $accent; height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        ("q", "quit", "Quit"),
        ("s", "bell", "Start"),
        ("h", "bell", "History"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Grid():
            for name in VENUES:
                yield Static(name)
        yield Footer()


if __name__ == "__main__":
    Bare().run()
