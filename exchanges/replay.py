"""A market that replays recorded books: what a backtest runs the real executor on.

At clock time ``t`` each venue serves its newest recorded book captured at or before
``t``; a book older than ``max_age_s`` is not served (the venue is out of that tranche,
with the book's age as the reason), nor is a venue with nothing recorded before ``t``.

Recorded levels are integers with a decimal exponent (``storage/market/lake.py``). A book
decodes its asks lazily (``PackedLevels``): pricing a small tranche walks two or three
levels, so a 43,200-tranche backtest decodes a few hundred thousand Decimals, not
thirteen million, and every figure is still exact. Of the bids only the best is kept:
the engine reads nothing else of that side (the mid, the spread).
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol, overload

from exchanges.book import BookOrigin, Level, OrderBook
from exchanges.clock import Clock, SimClock
from exchanges.errors import ErrorKind, VenueError
from exchanges.market import Health, Listener, VenueStatus
from exchanges.venues import VenueSpec

DEFAULT_MAX_AGE_S = 60.0
# The ``BookOrigin.source`` of a replayed book.
RECORDED = "recorded"

# Loads a snapshot's whole ask side (prices, sizes), by its capture time in µs, when the
# levels read up front run out.
AskLoader = Callable[[int], tuple[Sequence[int], Sequence[int]]]


@functools.cache
def _scale(exp: int) -> Decimal:
    """``10 ** exp`` as a Decimal of coefficient 1: ``Decimal(n) * _scale(e)`` is exactly
    ``Decimal(n).scaleb(e)`` (the same digits and exponent, rounded alike past 28 digits),
    in half the time."""
    return Decimal(1).scaleb(exp)


def decode(value: int, exp: int) -> Decimal:
    """A recorded integer with its decimal exponent as the exact ``Decimal`` it stands for."""
    return Decimal(value) * _scale(exp)


@dataclass(slots=True)
class Snapshot:
    """One recorded book, still packed: capture time ``ts`` (clock seconds), the best bid and
    the first ask levels as integers (``asks`` of ``ask_levels`` in all; ``more(key)`` loads
    the rest)."""

    ts: float
    book_ts: float
    price_exp: int
    size_exp: int
    bid: tuple[int, int] | None
    ask_price: Sequence[int]
    ask_size: Sequence[int]
    ask_levels: int
    more: AskLoader | None = None
    key: int = 0
    _sides: tuple[tuple[Level, ...], PackedLevels] | None = field(default=None, repr=False)

    def book(self, venue: str, quote: str, origin: BookOrigin | None = None) -> OrderBook:
        """This snapshot as an ``OrderBook`` (its levels decoded once, however often asked)."""
        sides = self._sides
        if sides is None:
            bid = self.bid
            bids = (
                (Level(decode(bid[0], self.price_exp), decode(bid[1], self.size_exp)),)
                if bid is not None
                else ()
            )
            sides = self._sides = (bids, PackedLevels(self))
        return OrderBook(venue, quote, sides[0], sides[1], self.book_ts, origin)


class PackedLevels(Sequence[Level]):
    """A snapshot's ask levels, decoded to exact ``Decimal`` levels as they are read.

    It keeps the snapshot's packed asks, not the snapshot: the snapshot keeps its book,
    and a reference back would make a cycle that only the garbage collector frees (a
    replay runs with it off, so a year of books would stay in memory).
    """

    __slots__ = ("_decoded", "_key", "_levels", "_more", "_pe", "_prices", "_se", "_sizes")

    def __init__(self, snap: Snapshot) -> None:
        self._prices, self._sizes = snap.ask_price, snap.ask_size
        self._pe, self._se = snap.price_exp, snap.size_exp
        self._levels, self._more, self._key = snap.ask_levels, snap.more, snap.key
        self._decoded: list[Level] = []
        if snap.ask_levels:
            self._decode_to(1)  # the best ask: every use of a book reads it

    def __len__(self) -> int:
        return self._levels

    def _decode_to(self, n: int) -> None:
        if n > len(self._prices) and self._more is not None:
            self._prices, self._sizes = self._more(self._key)
            self._more = None
        pe, se = _scale(self._pe), _scale(self._se)
        prices, sizes, out = self._prices, self._sizes, self._decoded
        for i in range(len(out), min(n, len(prices))):
            out.append(Level(Decimal(prices[i]) * pe, Decimal(sizes[i]) * se))

    @overload
    def __getitem__(self, index: int) -> Level: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Level]: ...

    def __getitem__(self, index: int | slice) -> Level | Sequence[Level]:
        decoded = self._decoded
        if type(index) is int and 0 <= index < len(decoded):
            return decoded[index]  # the best ask, read by every use of a book
        if isinstance(index, slice):
            self._decode_to(len(self))
            return tuple(self._decoded[index])
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        self._decode_to(index + 1)
        return self._decoded[index]

    def __iter__(self) -> Iterator[Level]:
        decoded = self._decoded
        total = self._levels
        i = 0
        while i < total:
            if i >= len(decoded):
                # Decode in doubling steps: most walks stop within the first level or two.
                self._decode_to(max(1, 2 * i))
            for level in decoded[i:]:
                yield level
                i += 1

    def __repr__(self) -> str:
        return f"PackedLevels({self._levels} levels, {len(self._decoded)} decoded)"


class ReplayClock(SimClock):
    """A ``SimClock`` that yields to the event loop once every ``yield_every`` sleeps.

    A backtest sleeps once per tranche; a loop round trip each time would be a third of
    its cost. Yielding now and then still lets Ctrl-C (a signal handler on the loop) in.
    """

    def __init__(self, start: float, yield_every: int = 1024) -> None:
        super().__init__(start)
        self.yield_every = yield_every
        self._sleeps = 0

    async def sleep(self, seconds: float) -> None:
        """Jump ``seconds`` forward; yield to the loop every ``yield_every``-th time."""
        self.advance(seconds)
        self._sleeps += 1
        if self._sleeps % self.yield_every == 0:
            await asyncio.sleep(0)


class Tape(Protocol):
    """One venue's recorded books in time order."""

    def at(self, t: float) -> Snapshot | None:
        """The newest snapshot captured at or before ``t``, or None."""
        ...


class Feed(Protocol):
    """Brings the tapes to a clock time before the market answers for it (a replay that
    reads its books as the clock goes, see ``storage.market.stream``)."""

    async def advance(self, t: float) -> None:
        """Have the tapes hold the books of clock time ``t``."""
        ...


class ListTape:
    """A tape held as a sorted list of snapshots (tests, small recordings)."""

    def __init__(self, snapshots: Sequence[Snapshot]) -> None:
        self.snapshots = sorted(snapshots, key=lambda s: s.ts)
        self.times = [s.ts for s in self.snapshots]

    def at(self, t: float) -> Snapshot | None:
        """The newest snapshot captured at or before ``t``, or None."""
        i = bisect.bisect_right(self.times, t) - 1
        return self.snapshots[i] if i >= 0 else None


def _clock_text(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


class ReplayMarket:
    """``MarketData`` over recorded tapes, at the time of the clock it is given."""

    def __init__(
        self,
        clock: Clock,
        quote: str,
        specs: Mapping[str, VenueSpec],
        tapes: Mapping[str, Tape],
        *,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        feed: Feed | None = None,
    ) -> None:
        self.clock = clock
        self.feed = feed
        self._quote = quote
        self._specs = dict(specs)
        self.tapes = dict(tapes)
        self.max_age_s = max_age_s
        # The answers at the last time asked: the executor asks for books, then statuses.
        self._at: float | None = None
        self._answers: dict[str, tuple[OrderBook | VenueError, float | None]] = {}
        self._statuses: dict[str, VenueStatus] = {}

    @property
    def quote(self) -> str:
        """The quote currency the books were recorded in."""
        return self._quote

    @property
    def specs(self) -> Mapping[str, VenueSpec]:
        """The venues replayed, with the fees and limits in force now."""
        return self._specs

    async def start(self) -> None:
        """Nothing to start: the tapes are read already."""

    async def close(self) -> None:
        """Nothing to release."""

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """A replay announces nothing: the executor asks at each tranche."""
        return lambda: None

    def book_or_error(self, venue: str, t: float) -> OrderBook | VenueError:
        """``venue``'s recorded book at clock time ``t``, or why it is out."""
        return self._answer(venue, t)[0]

    def _answer(self, venue: str, t: float) -> tuple[OrderBook | VenueError, float | None]:
        """The book (or why none) and its capture time, kept for the last time asked."""
        if t != self._at:
            self._at = t
            self._answers = {}
            self._statuses = {}
        known = self._answers.get(venue)
        if known is not None:
            return known
        tape = self.tapes.get(venue)
        snap = tape.at(t) if tape is not None else None
        answer: tuple[OrderBook | VenueError, float | None]
        if snap is None:
            error = VenueError(
                venue, ErrorKind.UNAVAILABLE, f"no book recorded at or before {_clock_text(t)}"
            )
            answer = (error, None)
        elif t - snap.ts > self.max_age_s:
            error = VenueError(
                venue,
                ErrorKind.STALE,
                f"newest recorded book is {t - snap.ts:.0f}s old (limit {self.max_age_s:.0f}s)",
            )
            answer = (error, snap.ts)
        else:
            # The age the freshness columns record: how old the recorded book was then.
            origin = BookOrigin(RECORDED, t - snap.ts)
            answer = (snap.book(venue, self._quote, origin), snap.ts)
        self._answers[venue] = answer
        return answer

    def status(self, venue: str) -> VenueStatus:
        """The venue as the replay sees it at the clock's time."""
        result, received = self._answer(venue, self.clock.now())
        known = self._statuses.get(venue)
        if known is not None:
            return known
        if isinstance(result, OrderBook):
            status = VenueStatus(venue, Health.LIVE, result, None, received)
        else:
            health = Health.STALE if result.kind is ErrorKind.STALE else Health.DOWN
            status = VenueStatus(venue, health, None, result, received)
        self._statuses[venue] = status
        return status

    async def fresh_books(
        self, venues: Sequence[str], *, min_btc: Decimal | None = None
    ) -> dict[str, OrderBook | VenueError]:
        """Each venue's recorded book at the clock's time (``min_btc`` is moot: the whole
        recorded depth is there)."""
        now = self.clock.now()
        if self.feed is not None:
            await self.feed.advance(now)
        answer = self._answer
        return {v: answer(v, now)[0] for v in venues}
