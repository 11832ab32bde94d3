"""Diff levels from the wire: validated as decimals, kept as text, ready for pricing.

A local book keeps the wire text of every level (checksums are computed over it),
so diffs are validated as decimals here but handed on as text; ``PricedBook`` also
keeps each level's ``Level`` so a stream can hand pricing a book after every message.
"""

from __future__ import annotations

from decimal import Decimal

from sortedcontainers import SortedKeyList, SortedList

from exchanges.book import Level, OrderBook, in_range
from exchanges.errors import ErrorKind, VenueError
from exchanges.localbook import LocalBook


def level_texts(raw: object, venue: str, side: str = "levels") -> list[tuple[str, str]]:
    """``[[price, size, ...], ...]`` as text pairs; MALFORMED for anything not a finite amount."""
    if not isinstance(raw, list):
        raise VenueError(venue, ErrorKind.MALFORMED, f"{side}: expected a list")
    out: list[tuple[str, str]] = []
    for entry in raw:
        if not isinstance(entry, list) or len(entry) < 2:
            raise VenueError(venue, ErrorKind.MALFORMED, f"{side}: bad level {entry!r:.60}")
        out.append((_amount(entry[0], venue, side), _amount(entry[1], venue, side)))
    return out


def _amount(value: object, venue: str, side: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | Decimal | int):
        raise VenueError(venue, ErrorKind.MALFORMED, f"{side}: {value!r:.30} is not a number")
    text = str(value)
    try:
        parsed = Decimal(text)
    except ArithmeticError:
        raise VenueError(
            venue, ErrorKind.MALFORMED, f"{side}: {text[:30]!r} is not a number"
        ) from None
    if not parsed.is_finite() or parsed < 0:
        raise VenueError(venue, ErrorKind.MALFORMED, f"{side}: {text[:30]!r} is not an amount")
    if not in_range(parsed):
        raise VenueError(venue, ErrorKind.MALFORMED, f"{side}: {text[:30]!r} is out of range")
    return text


class PricedBook(LocalBook):
    """A ``LocalBook`` that also keeps its levels as ready ``Level`` objects in price order.

    Streams hand pricing a fresh ``OrderBook`` after every message; rebuilding
    hundreds of ``Level`` objects (and hashing every Decimal key) each time would
    cost far more than applying the diff. Here an update touches one ``Level`` and a
    snapshot is two list slices.
    """

    def __init__(self, venue: str, quote: str, depth: int | None = None) -> None:
        super().__init__(venue, quote, depth)
        self._ask_levels: SortedList[Level] = SortedList()
        self._bid_levels: SortedKeyList[Level, Decimal] = SortedKeyList(key=_neg_price)

    def clear(self) -> None:
        """Forget every level (before a new snapshot)."""
        super().clear()
        self._ask_levels.clear()
        self._bid_levels.clear()

    def set_bid(self, price_text: str, size_text: str) -> None:
        """Set (or delete, for size 0) one bid level from its wire text."""
        price = Decimal(price_text)
        size = Decimal(size_text)
        old = self.bids.pop(-price, None)
        if old is not None:
            self._bid_levels.remove(Level(price, old[0]))
        if size != 0:
            self.bids[-price] = (size, price_text, size_text)
            self._bid_levels.add(Level(price, size))

    def set_ask(self, price_text: str, size_text: str) -> None:
        """Set (or delete, for size 0) one ask level from its wire text."""
        price = Decimal(price_text)
        size = Decimal(size_text)
        old = self.asks.pop(price, None)
        if old is not None:
            self._ask_levels.remove(Level(price, old[0]))
        if size != 0:
            self.asks[price] = (size, price_text, size_text)
            self._ask_levels.add(Level(price, size))

    def truncate(self) -> None:
        """Keep only the best ``depth`` levels per side."""
        if self.depth is None:
            return
        while len(self.bids) > self.depth:
            self.bids.popitem(-1)
            self._bid_levels.pop(-1)
        while len(self.asks) > self.depth:
            self.asks.popitem(-1)
            self._ask_levels.pop(-1)

    def snapshot(self, levels: int | None = None) -> OrderBook:
        """The best ``levels`` per side as a validated ``OrderBook`` (EMPTY/CROSSED raise)."""
        bids = self._bid_levels[:levels] if levels else list(self._bid_levels)
        asks = self._ask_levels[:levels] if levels else list(self._ask_levels)
        return OrderBook.build(self.venue, self.quote, bids, asks, self.ts, presorted=True)


def _neg_price(level: Level) -> Decimal:
    return -level.price
