"""A mutable local order book kept in sync from a venue's diffs.

Levels live in ``SortedDict``s keyed by ``Decimal`` price, so an update is
O(log n) and the top N is a slice — fast enough to verify a checksum on every
message. The wire's price text is kept beside each level because checksums
(Kraken, OKX) are computed over the text exactly as the venue sent it; a venue
may keep one more string per level (Kraken keeps the level's checksum fragment,
so a message re-encodes only the levels it changed).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sortedcontainers import SortedDict

from exchanges.book import Level, OrderBook

# One level as the wire said it: price and size parsed once, and their exact text.
Update = tuple[Decimal, Decimal, str, str]
# What the book keeps per level: size, price text, size text, and the venue's tag.
Entry = tuple[Decimal, str, str, str]


def parsed(pairs: Iterable[tuple[str, str]]) -> list[Update]:
    """(price text, size text) pairs as updates; the texts must be valid decimals."""
    return [(Decimal(p), Decimal(s), p, s) for p, s in pairs]


class LocalBook:
    """Bids and asks as ``price -> (size, price_text, size_text, tag)``; zero size deletes."""

    def __init__(self, venue: str, quote: str, depth: int | None = None) -> None:
        self.venue = venue
        self.quote = quote
        self.depth = depth
        # Bids sorted by negated price, so index 0 is the best on both sides.
        self.bids: SortedDict[Decimal, Entry] = SortedDict()
        self.asks: SortedDict[Decimal, Entry] = SortedDict()
        self.ts = 0.0

    def clear(self) -> None:
        """Forget every level (before a new snapshot)."""
        self.bids.clear()
        self.asks.clear()

    def put_bid(
        self, price: Decimal, size: Decimal, price_text: str, size_text: str, tag: str = ""
    ) -> None:
        """Set (or delete, for size 0) one bid level already parsed."""
        if size == 0:
            self.bids.pop(-price, None)
        else:
            self.bids[-price] = (size, price_text, size_text, tag)

    def put_ask(
        self, price: Decimal, size: Decimal, price_text: str, size_text: str, tag: str = ""
    ) -> None:
        """Set (or delete, for size 0) one ask level already parsed."""
        if size == 0:
            self.asks.pop(price, None)
        else:
            self.asks[price] = (size, price_text, size_text, tag)

    def set_bid(self, price_text: str, size_text: str) -> None:
        """Set (or delete, for size 0) one bid level from its wire text."""
        self.put_bid(Decimal(price_text), Decimal(size_text), price_text, size_text)

    def set_ask(self, price_text: str, size_text: str) -> None:
        """Set (or delete, for size 0) one ask level from its wire text."""
        self.put_ask(Decimal(price_text), Decimal(size_text), price_text, size_text)

    def update(self, bids: Iterable[Update], asks: Iterable[Update]) -> None:
        """Apply a batch of parsed updates, then truncate to ``depth``."""
        put_bid, put_ask = self.put_bid, self.put_ask
        for price, size, price_text, size_text in bids:
            put_bid(price, size, price_text, size_text)
        for price, size, price_text, size_text in asks:
            put_ask(price, size, price_text, size_text)
        self.truncate()

    def apply(self, bids: Iterable[tuple[str, str]], asks: Iterable[tuple[str, str]]) -> None:
        """Apply a batch of (price text, size text) updates, then truncate to ``depth``."""
        self.update(parsed(bids), parsed(asks))

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
