"""A mutable local order book kept in sync from a venue's diffs.

Levels live in ``SortedDict``s keyed by ``Decimal`` price, so an update is
O(log n) and the top N is a slice — fast enough to verify a checksum on every
message. The wire's price text is kept beside each level because checksums
(Kraken, OKX) are computed over the text exactly as the venue sent it.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sortedcontainers import SortedDict

from exchanges.book import Level, OrderBook


class LocalBook:
    """Bids and asks as ``price -> (size, price_text, size_text)``; zero size deletes."""

    def __init__(self, venue: str, quote: str, depth: int | None = None) -> None:
        self.venue = venue
        self.quote = quote
        self.depth = depth
        # Bids sorted by negated price, so index 0 is the best on both sides.
        self.bids: SortedDict[Decimal, tuple[Decimal, str, str]] = SortedDict()
        self.asks: SortedDict[Decimal, tuple[Decimal, str, str]] = SortedDict()
        self.ts = 0.0

    def clear(self) -> None:
        """Forget every level (before a new snapshot)."""
        self.bids.clear()
        self.asks.clear()

    def set_bid(self, price_text: str, size_text: str) -> None:
        """Set (or delete, for size 0) one bid level from its wire text."""
        price = Decimal(price_text)
        size = Decimal(size_text)
        if size == 0:
            self.bids.pop(-price, None)
        else:
            self.bids[-price] = (size, price_text, size_text)

    def set_ask(self, price_text: str, size_text: str) -> None:
        """Set (or delete, for size 0) one ask level from its wire text."""
        price = Decimal(price_text)
        size = Decimal(size_text)
        if size == 0:
            self.asks.pop(price, None)
        else:
            self.asks[price] = (size, price_text, size_text)

    def apply(self, bids: Iterable[tuple[str, str]], asks: Iterable[tuple[str, str]]) -> None:
        """Apply a batch of (price text, size text) updates, then truncate to ``depth``."""
        for p, s in bids:
            self.set_bid(p, s)
        for p, s in asks:
            self.set_ask(p, s)
        self.truncate()

    def truncate(self) -> None:
        """Keep only the best ``depth`` levels per side (venues that stream a fixed depth)."""
        if self.depth is None:
            return
        while len(self.bids) > self.depth:
            self.bids.popitem(-1)
        while len(self.asks) > self.depth:
            self.asks.popitem(-1)

    def top_asks(self, n: int) -> list[tuple[str, str]]:
        """The best ``n`` asks as wire text (price, size), lowest first."""
        return [(v[1], v[2]) for v in self.asks.values()[:n]]

    def top_bids(self, n: int) -> list[tuple[str, str]]:
        """The best ``n`` bids as wire text (price, size), highest first."""
        return [(v[1], v[2]) for v in self.bids.values()[:n]]

    def snapshot(self, levels: int | None = None) -> OrderBook:
        """An immutable, validated ``OrderBook`` of the best ``levels`` per side.

        Raises ``VenueError`` for an empty or crossed book.
        """
        bid_items = self.bids.items()[:levels] if levels else self.bids.items()
        ask_items = self.asks.items()[:levels] if levels else self.asks.items()
        return OrderBook.build(
            self.venue,
            self.quote,
            [Level(-k, v[0]) for k, v in bid_items],
            [Level(k, v[0]) for k, v in ask_items],
            self.ts,
            presorted=True,
        )
