"""Diff levels from the wire: validated and parsed once, kept with their text, ready for pricing.

A local book keeps the wire text of every level (checksums are computed over it)
beside its ``Decimal``s; the venue modules parse each level once here and hand
the book both. ``PricedBook`` also keeps each level's ``Level`` so a stream can
hand pricing a book after every message.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypeVar

from sortedcontainers import SortedDict

from exchanges.book import Level, OrderBook, to_decimal
from exchanges.errors import ErrorKind, VenueError
from exchanges.localbook import Entry, LocalBook, Update

T = TypeVar("T")


# Levels handed to pricing per streamed update; the local book keeps all of them.
STREAM_LEVELS = 200
# Diffs kept while waiting for the REST snapshot; more means the snapshot is not coming.
MAX_BUFFER = 2000


def hold(buffer: list[T], diff: T, venue: str) -> None:
    """Keep a diff that came before the REST snapshot (Binance, Bitstamp) until it arrives."""
    if len(buffer) >= MAX_BUFFER:
        raise VenueError(venue, ErrorKind.SEQUENCE_GAP, "no snapshot arrived to sync the stream")
    buffer.append(diff)


def amount(value: object, venue: str, what: str, *, text_only: bool = False) -> tuple[Decimal, str]:
    """A wire number as a finite, non-negative Decimal and its text; MALFORMED otherwise.

    ``text_only``: the venue sends amounts as JSON strings, so anything else is malformed.
    """
    if text_only and type(value) is not str:
        raise VenueError(venue, ErrorKind.MALFORMED, f"{what}: {value!r:.30} is not a number")
    parsed = to_decimal(value, venue, what)  # refuses floats, bools, NaN, negatives, huge
    return parsed, value if type(value) is str else str(value)


def level_updates(
    raw: object, venue: str, side: str = "levels", *, text_only: bool = False
) -> list[Update]:
    """``[[price, size, ...], ...]`` as parsed updates; MALFORMED for anything but amounts.

    A zero price is not a level; a zero size deletes one.
    """
    if not isinstance(raw, list):
        raise VenueError(venue, ErrorKind.MALFORMED, f"{side}: expected a list")
    out: list[Update] = []
    for entry in raw:
        if not isinstance(entry, list) or len(entry) < 2:
            raise VenueError(venue, ErrorKind.MALFORMED, f"{side}: bad level {entry!r:.60}")
        price, price_text = amount(entry[0], venue, f"{side} price", text_only=text_only)
        size, size_text = amount(entry[1], venue, f"{side} size", text_only=text_only)
        if not price:
            raise VenueError(venue, ErrorKind.MALFORMED, f"{side}: zero price")
        out.append((price, size, price_text, size_text))
    return out


class PricedBook(LocalBook):
    """A ``LocalBook`` that also keeps its levels as ready ``Level`` objects in price order.

    Streams hand pricing a fresh ``OrderBook`` after every message; rebuilding
    hundreds of ``Level`` objects (and hashing every Decimal key) each time would
    cost far more than applying the diff. Here the ``Level``s sit in plain lists in
    the same order as the sorted keys, so an update replaces, inserts or deletes
    one item at the key's index and a snapshot is two list slices.
    """

    def __init__(self, venue: str, quote: str, depth: int | None = None) -> None:
        super().__init__(venue, quote, depth)
        self._ask_levels: list[Level] = []
        self._bid_levels: list[Level] = []
        # The best index (0 = top) an update touched per side since the caller last reset
        # it: a checksum over the top levels needs redoing only when it is small.
        self.touched_bid = self.touched_ask = 0

    def clear(self) -> None:
        """Forget every level (before a new snapshot)."""
        super().clear()
        self._ask_levels.clear()
        self._bid_levels.clear()

    def put_bid(
        self, price: Decimal, size: Decimal, price_text: str, size_text: str, tag: str = ""
    ) -> None:
        """Set (or delete, for size 0) one bid level already parsed."""
        entry = (size, price_text, size_text, tag)
        index = _put(self.bids, self._bid_levels, -price, price, size, entry)
        if index < self.touched_bid:
            self.touched_bid = index

    def put_ask(
        self, price: Decimal, size: Decimal, price_text: str, size_text: str, tag: str = ""
    ) -> None:
        """Set (or delete, for size 0) one ask level already parsed."""
        entry = (size, price_text, size_text, tag)
        index = _put(self.asks, self._ask_levels, price, price, size, entry)
        if index < self.touched_ask:
            self.touched_ask = index

    def truncate(self) -> None:
        """Keep only the best ``depth`` levels per side."""
        if self.depth is None:
            return
        while len(self.bids) > self.depth:
            self.bids.popitem(-1)
            self._bid_levels.pop()
        while len(self.asks) > self.depth:
            self.asks.popitem(-1)
            self._ask_levels.pop()

    def snapshot(self, levels: int | None = None) -> OrderBook:
        """The best ``levels`` per side as a validated ``OrderBook`` (EMPTY/CROSSED raise)."""
        bids = self._bid_levels[:levels] if levels else self._bid_levels
        asks = self._ask_levels[:levels] if levels else self._ask_levels
        return OrderBook.build(self.venue, self.quote, bids, asks, self.ts, presorted=True)


def _put(
    side: SortedDict[Decimal, Entry],
    levels: list[Level],
    key: Decimal,
    price: Decimal,
    size: Decimal,
    entry: Entry,
) -> int:
    """Set one level in ``side`` and at the same index in ``levels`` (size 0 deletes).

    Returns the level's index (best first); deleting an absent level touches nothing
    and returns the side's length.
    """
    if key in side:
        index = side.bisect_left(key)
        if size:
            side[key] = entry
            levels[index] = Level(price, size)
        else:
            del side[key]
            del levels[index]
        return index
    if not size:
        return len(levels)
    index = side.bisect_left(key)
    side[key] = entry
    levels.insert(index, Level(price, size))
    return index
