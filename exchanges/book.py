"""The order book model: an immutable, validated snapshot of one venue's book.

Prices and sizes are ``Decimal`` parsed from the wire's text. A book is always
sorted (asks ascending, bids descending), has no zero-size levels, and is never
empty on the ask side nor crossed: those are venue errors, not books.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from exchanges.errors import ErrorKind, VenueError
from exchanges.frozen import fast_init


class Level(NamedTuple):
    """One price level: ``size`` BTC offered at ``price`` quote currency per BTC."""

    price: Decimal
    size: Decimal


def to_decimal(value: object, venue: str, what: str) -> Decimal:
    """Parse a wire value into a finite Decimal; a float is refused (it has lost digits)."""
    if isinstance(value, bool | float):
        raise VenueError(venue, ErrorKind.MALFORMED, f"{what}: expected a decimal string")
    if isinstance(value, Decimal):
        parsed = value
    elif isinstance(value, str | int):
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            raise VenueError(
                venue, ErrorKind.MALFORMED, f"{what}: {value!r} is not a number"
            ) from None
    else:
        raise VenueError(venue, ErrorKind.MALFORMED, f"{what}: {value!r} is not a number")
    if not parsed.is_finite() or parsed < 0:
        raise VenueError(venue, ErrorKind.MALFORMED, f"{what}: {value!r} is not a valid amount")
    # Plain decimal text of at most 28 digits is in range by construction: skip the check.
    short = isinstance(value, str) and len(value) <= 29 and "e" not in value and "E" not in value
    if not short and not in_range(parsed):
        raise VenueError(venue, ErrorKind.MALFORMED, f"{what}: {value!r:.40} is out of range")
    return parsed


def in_range(value: Decimal) -> bool:
    """Whether ``value`` is exact under Decimal's 28-digit context and of a sane magnitude.

    Beyond that, negating it (bids sort by negated price) rounds two prices into one
    or overflows outright (``-Decimal("1e999999999")`` raises): no real book needs it.
    """
    return len(value.as_tuple().digits) <= 28 and -30 <= value.adjusted() <= 30


def parse_levels(raw: object, venue: str, side: str) -> list[Level]:
    """Turn ``[[price, size, ...], ...]`` from the wire into levels, skipping zero sizes."""
    if not isinstance(raw, list):
        raise VenueError(venue, ErrorKind.MALFORMED, f"{side}: expected a list of levels")
    levels: list[Level] = []
    for entry in raw:
        if not isinstance(entry, list | tuple) or len(entry) < 2:
            raise VenueError(venue, ErrorKind.MALFORMED, f"{side}: bad level {entry!r:.60}")
        price = to_decimal(entry[0], venue, f"{side} price")
        size = to_decimal(entry[1], venue, f"{side} size")
        if size > 0:
            levels.append(Level(price, size))
    return levels


@fast_init
@dataclass(frozen=True, slots=True)
class BookOrigin:
    """Where a book handed out for a decision came from, and how current it was then.

    ``source`` is "stream" (a local book kept in sync over the venue's socket) or
    "rest" (a snapshot fetched over HTTP). ``age_s``: seconds since the venue last
    vouched for the book (a frame on its synced socket, or the REST answer);
    ``changed_s``: seconds since the book last changed (a quiet book on a live
    socket is old in this sense only).
    """

    source: str
    age_s: float
    changed_s: float | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class OrderBook:
    """A validated snapshot of one venue's BTC book in one quote currency.

    ``ts`` is the time of the data in epoch seconds (the venue's timestamp when
    it sends one, else the time we received it). ``origin`` is set on books a
    market hands out for a decision (None elsewhere); it takes no part in equality.
    """

    venue: str
    quote: str
    bids: tuple[Level, ...]
    # A tuple, or levels decoded as they are read (a replayed book, ``exchanges.replay``).
    asks: Sequence[Level]
    ts: float
    origin: BookOrigin | None = field(default=None, compare=False)

    @classmethod
    def build(
        cls,
        venue: str,
        quote: str,
        bids: Iterable[Level],
        asks: Iterable[Level],
        ts: float,
        *,
        presorted: bool = False,
    ) -> OrderBook:
        """Sort, drop empty levels, and validate; raises ``VenueError`` for empty or crossed."""
        if presorted:
            b = tuple(bids)
            a = tuple(asks)
        else:
            b = tuple(sorted((lv for lv in bids if lv.size > 0), key=lambda lv: -lv.price))
            a = tuple(sorted((lv for lv in asks if lv.size > 0), key=lambda lv: lv.price))
        if not a:
            raise VenueError(venue, ErrorKind.EMPTY_BOOK, "the book has no asks")
        if a[0].price <= 0 or (b and b[-1].price <= 0):
            # A free ask would win every route: it can only be a broken feed.
            raise VenueError(venue, ErrorKind.MALFORMED, "a price level at or below zero")
        if b and b[0].price >= a[0].price:
            raise VenueError(
                venue,
                ErrorKind.CROSSED_BOOK,
                f"crossed book: best bid {b[0].price} >= best ask {a[0].price}",
            )
        return cls(venue, quote, b, a, ts)

    @property
    def best_ask(self) -> Decimal:
        """Lowest ask price."""
        return self.asks[0].price

    @property
    def best_bid(self) -> Decimal | None:
        """Highest bid price, or None for a book with no bids."""
        return self.bids[0].price if self.bids else None

    @property
    def mid(self) -> Decimal:
        """Mid price (the best ask when there are no bids)."""
        bid = self.best_bid
        return self.best_ask if bid is None else (bid + self.best_ask) / 2

    @property
    def spread(self) -> Decimal | None:
        """Best ask minus best bid, in quote currency."""
        bid = self.best_bid
        return None if bid is None else self.best_ask - bid

    @property
    def spread_bps(self) -> Decimal | None:
        """Spread relative to the mid, in basis points."""
        spread = self.spread
        return None if spread is None else spread / self.mid * 10_000

    def ask_depth(self) -> Decimal:
        """Total BTC on the ask side."""
        return sum((lv.size for lv in self.asks), Decimal(0))

    def scaled(self, rate: Decimal, quote: str) -> OrderBook:
        """This book with prices multiplied by ``rate`` (a conversion to ``quote``)."""
        return OrderBook(
            self.venue,
            quote,
            tuple(Level(lv.price * rate, lv.size) for lv in self.bids),
            tuple(Level(lv.price * rate, lv.size) for lv in self.asks),
            self.ts,
        )


def top(levels: Sequence[Level], n: int) -> tuple[Level, ...]:
    """The first ``n`` levels."""
    return tuple(levels[:n])
