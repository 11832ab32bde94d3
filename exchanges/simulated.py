"""The simulated market: six venues that behave like the real ones, with no network.

Every venue's book is a pure function of (seed, venue, time): a shared random walk
for the mid price (multi-scale value noise, so any instant can be asked for
directly — a day-long plan under a ``SimClock`` costs nothing to simulate) plus a
per-venue basis that wanders, so the best venue changes over time. The profiles
make the classic traps happen: Binance's top level is cheap but thin; Coinbase's
book is cheapest but its fee is high. Faults (a venue down, stale or slow for a
while) can be injected for tests and the demo.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from exchanges.book import Level, OrderBook
from exchanges.clock import Clock
from exchanges.errors import ErrorKind, VenueError
from exchanges.market import Health, Listener, VenueStatus
from exchanges.venues import DEFAULT_SPECS, VENUE_IDS, VenueSpec

log = logging.getLogger(__name__)
_MASK = (1 << 64) - 1
# Distinct book shapes drawn per venue; updates cycle through them at shifting prices.
_SHAPES = 64
# Buying only walks asks; the bid side is kept to what a panel shows (best bid, spread).
_BID_DEPTH = 10
_Shape = tuple[list[Decimal], list[Decimal], list[Decimal], list[Decimal]]

# Reference mid prices per quote currency (late 2026 ballpark).
BASE_MID: dict[str, float] = {"USD": 91_000.0, "USDT": 91_040.0, "USDC": 91_010.0, "EUR": 78_600.0}
TICK = Decimal("0.01")
# Typical size of the summed noise; dividing by it gives a roughly unit-sized wander.
_NOISE_SCALE = 0.006
# A venue's basis wanders over minutes to a day: the tick-scale octaves would only add
# noise (the shared mid has that already) and the weekly one would freeze the ranking.
_BASIS_OCTAVES = (2, 5)
SAT = Decimal("0.00000001")
# Multi-scale noise: (period seconds, amplitude as a fraction of price). Roughly a
# random walk with ~2% daily moves and a little tick-scale jitter.
_OCTAVES: tuple[tuple[float, float], ...] = (
    (4.0, 0.00004),
    (30.0, 0.00012),
    (300.0, 0.0004),
    (1800.0, 0.0010),
    (3 * 3600.0, 0.0025),
    (86400.0, 0.008),
    (7 * 86400.0, 0.02),
)


def _mix(x: int) -> int:
    """splitmix64: a fast, well-spread integer hash."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _unit(*keys: int) -> float:
    """A deterministic number in [0, 1) for the given integer keys."""
    h = 0
    for k in keys:
        h = _mix(h ^ (k & _MASK))
    return (h >> 11) / float(1 << 53)


@functools.lru_cache(maxsize=1 << 16)
def _grid(seed: int, channel: int, octave: int, k: int) -> float:
    """The noise value at grid point ``k`` of one octave, in [-1, 1)."""
    return _unit(seed, channel, octave, k) * 2 - 1


def _value_noise(seed: int, channel: int, t: float, first: int = 0, last: int = 99) -> float:
    """Smooth noise summed over octaves ``first`` to ``last``, weighted by their amplitudes."""
    total = 0.0
    for octave, (period, amp) in enumerate(_OCTAVES[first : last + 1], start=first):
        x = t / period
        k = math.floor(x)
        f = x - k
        f = f * f * (3 - 2 * f)
        a = _grid(seed, channel, octave, k)
        b = _grid(seed, channel, octave, k + 1)
        total += amp * (a + (b - a) * f)
    return total


@dataclass(frozen=True, slots=True)
class VenueProfile:
    """How one simulated venue's book looks: basis to the shared mid, spread, depth, pace."""

    basis_bps: float
    wander_bps: float
    half_spread_bps: float
    top_btc: float
    level_btc: float
    gap_bps: float
    update_hz: float
    latency_ms: float


DEFAULT_PROFILES: dict[str, VenueProfile] = {
    # Cheapest top of book, but only a sliver of BTC there: the thin-top trap.
    "binance": VenueProfile(-2.5, 4.0, 0.2, 0.03, 0.06, 0.6, 10.0, 35.0),
    "binanceus": VenueProfile(-1.0, 4.0, 1.0, 0.15, 0.2, 0.5, 4.0, 60.0),
    # Lowest prices of all, but a 0.60% taker fee: the high-fee trap.
    "coinbase": VenueProfile(-40.0, 5.0, 0.4, 0.4, 0.5, 0.2, 8.0, 45.0),
    "kraken": VenueProfile(-31.0, 4.0, 0.6, 0.5, 0.7, 0.25, 5.0, 80.0),
    "bitstamp": VenueProfile(-30.0, 4.0, 0.8, 0.3, 0.4, 0.3, 4.0, 70.0),
    "okx": VenueProfile(0.0, 4.0, 0.3, 0.2, 0.3, 0.3, 10.0, 55.0),
}


@dataclass(frozen=True, slots=True)
class Fault:
    """An injected failure of ``venue`` from ``start`` to ``end`` (clock times).

    ``kind`` DOWN answers with ``error``; STALE freezes the book at ``start``; SLOW
    adds ``latency_ms`` to every answer.
    """

    venue: str
    start: float
    end: float
    kind: Health = Health.DOWN
    error: ErrorKind = ErrorKind.TIMEOUT
    message: str = "timed out after 5.0s"
    latency_ms: float = 0.0

    def active(self, t: float) -> bool:
        """Whether the fault is in force at clock time ``t``."""
        return self.start <= t < self.end


def demo_faults(origin: float) -> list[Fault]:
    """The demo's scripted trouble: Kraken drops out for a while, OKX turns slow."""
    return [
        Fault(
            "kraken",
            origin + 20 * 60,
            origin + 35 * 60,
            Health.DOWN,
            ErrorKind.TIMEOUT,
            "timed out after 5.0s",
        ),
        Fault("okx", origin + 50 * 60, origin + 70 * 60, Health.LIVE, latency_ms=900.0),
        Fault("bitstamp", origin + 90 * 60, origin + 100 * 60, Health.STALE),
    ]


class SimulatedMarket:
    """``MarketData`` over simulated venues; deterministic for a given seed and clock."""

    stale_after_s = 10.0

    def __init__(
        self,
        clock: Clock,
        *,
        quote: str = "USD",
        venues: Iterable[str] = VENUE_IDS,
        specs: Mapping[str, VenueSpec] | None = None,
        seed: int = 7,
        depth: int = 40,
        faults: Sequence[Fault] = (),
        profiles: Mapping[str, VenueProfile] | None = None,
        real_latency: bool = False,
    ) -> None:
        all_specs = specs or DEFAULT_SPECS
        self._venues = tuple(v for v in venues)
        self._specs = {v: all_specs[v] for v in self._venues}
        self._quote = quote
        self.clock = clock
        self.seed = seed
        self.depth = depth
        self.faults = list(faults)
        self.profiles = dict(profiles or DEFAULT_PROFILES)
        self.real_latency = real_latency
        self._listeners: list[Listener] = []
        self._cache: dict[str, tuple[int, OrderBook]] = {}
        self._shapes: dict[tuple[str, int], _Shape] = {}
        self._mid_cache: tuple[int, float] = (-1, 0.0)
        self._status_at: dict[str, float] = {}
        self._status: dict[str, VenueStatus] = {
            v: VenueStatus(v, Health.CONNECTING) for v in self._venues
        }
        self._tasks: list[asyncio.Task[None]] = []

    # -- MarketData ----------------------------------------------------------------------

    @property
    def quote(self) -> str:
        """The quote currency of every book."""
        return self._quote

    @property
    def specs(self) -> Mapping[str, VenueSpec]:
        """The simulated venues and their fees and limits."""
        return self._specs

    async def start(self) -> None:
        """Tick every venue at its own update rate, notifying listeners (for the dashboard)."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._tick(v), name=f"sim-{v}") for v in self._venues
            ]

    async def close(self) -> None:
        """Stop ticking."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task, result in zip(
            tasks, await asyncio.gather(*tasks, return_exceptions=True), strict=True
        ):
            if isinstance(result, Exception):
                # A feed that died before close: say so rather than swallow it.
                log.error("simulated feed %s failed: %r", task.get_name(), result)

    def status(self, venue: str) -> VenueStatus:
        """The venue's status at the clock's current time."""
        return self._refresh(venue)

    async def fresh_books(
        self, venues: Sequence[str], *, min_btc: Decimal | None = None
    ) -> dict[str, OrderBook | VenueError]:
        """Each venue's book now, or its error; slow venues answer late, concurrently.

        ``min_btc`` is ignored: a simulated book is always as deep as it gets.
        """
        if not self.real_latency:
            # No waiting to simulate: answer in place, without a task per venue.
            return {v: self._answer(self._refresh(v)) for v in venues}
        results = await asyncio.gather(*(self._one(v) for v in venues))
        return dict(zip(venues, results, strict=True))

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` on every tick of every venue."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # -- simulation ----------------------------------------------------------------------

    def mid(self, t: float) -> float:
        """The shared mid price at clock time ``t`` (it moves once a second)."""
        key = math.floor(t)
        if self._mid_cache[0] != key:
            noise = _value_noise(self.seed, 0, float(key))
            self._mid_cache = (key, BASE_MID.get(self._quote, BASE_MID["USD"]) * math.exp(noise))
        return self._mid_cache[1]

    def book_at(self, venue: str, t: float) -> OrderBook:
        """``venue``'s book at clock time ``t`` (the state of its last update before ``t``)."""
        profile = self.profiles[venue]
        step = math.floor(t * profile.update_hz)
        cached = self._cache.get(venue)
        if cached and cached[0] == step:
            return cached[1]
        ts = step / profile.update_hz
        channel = VENUE_IDS.index(venue) + 1 if venue in VENUE_IDS else 99
        basis = (
            profile.basis_bps
            + profile.wander_bps
            * _value_noise(self.seed, channel, ts, *_BASIS_OCTAVES)
            / _NOISE_SCALE
        )
        mid = self.mid(ts) * (1 + basis / 10_000)
        half = mid * profile.half_spread_bps / 10_000
        ask0 = math.ceil((mid + half) * 100)
        bid0 = min(math.floor((mid - half) * 100), ask0 - 1)
        ask_off, ask_sizes, bid_off, bid_sizes = self._shape(venue, channel, step % _SHAPES)
        best_ask = Decimal(ask0) * TICK
        best_bid = Decimal(bid0) * TICK
        asks = [Level(best_ask + off, size) for off, size in zip(ask_off, ask_sizes, strict=True)]
        bids = [Level(best_bid - off, size) for off, size in zip(bid_off, bid_sizes, strict=False)]
        book = OrderBook(venue, self._quote, tuple(bids), tuple(asks), ts)
        self._cache[venue] = (step, book)
        return book

    def _shape(self, venue: str, channel: int, k: int) -> _Shape:
        """Level offsets from the best price and sizes, one of ``_SHAPES`` per venue.

        Books are built by shifting a pre-drawn shape to the current best prices, so
        a book costs a few Decimal additions per level rather than a draw and a parse.
        """
        key = (venue, k)
        shape = self._shapes.get(key)
        if shape is not None:
            return shape
        profile = self.profiles[venue]
        rng = random.Random(_mix(_mix(self.seed) ^ channel) ^ k)
        gap_ticks = BASE_MID.get(self._quote, BASE_MID["USD"]) * 100 * profile.gap_bps / 10_000
        ask_off: list[Decimal] = []
        bid_off: list[Decimal] = []
        ask_sizes: list[Decimal] = []
        bid_sizes: list[Decimal] = []
        ask_ticks = bid_ticks = 0
        for j in range(self.depth):
            r1, r2 = rng.random(), rng.random()
            base = profile.top_btc if j == 0 else profile.level_btc * (1 + j / 20)
            ask_off.append(Decimal(ask_ticks) * TICK)
            ask_sizes.append(Decimal(max(1000, int(base * (0.5 + r1) * 1e8))) * SAT)
            if j < _BID_DEPTH:
                bid_off.append(Decimal(bid_ticks) * TICK)
                bid_sizes.append(Decimal(max(1000, int(base * (0.5 + r2) * 1e8))) * SAT)
            ask_ticks += 1 + int(gap_ticks * (0.5 + r2))
            bid_ticks += 1 + int(gap_ticks * (0.5 + r1))
        shape = (ask_off, ask_sizes, bid_off, bid_sizes)
        self._shapes[key] = shape
        return shape

    def _fault(self, venue: str, t: float) -> Fault | None:
        for fault in self.faults:
            if fault.venue == venue and fault.active(t):
                return fault
        return None

    def _refresh(self, venue: str) -> VenueStatus:
        now = self.clock.now()
        if self._status_at.get(venue) == now:
            return self._status[venue]
        self._status_at[venue] = now
        profile = self.profiles[venue]
        fault = self._fault(venue, now)
        latency = profile.latency_ms + (fault.latency_ms if fault else 0.0)
        if fault and fault.kind is Health.DOWN:
            prev = self._status.get(venue)
            status = VenueStatus(
                venue,
                Health.DOWN,
                prev.book if prev else None,
                VenueError(venue, fault.error, fault.message),
                prev.received if prev else None,
                None,
            )
        elif fault and fault.kind is Health.STALE:
            book = self.book_at(venue, fault.start)
            age = now - fault.start
            health = Health.STALE if age > self.stale_after_s else Health.LIVE
            error = (
                VenueError(venue, ErrorKind.STALE, f"no update for {age:.0f}s")
                if health is Health.STALE
                else None
            )
            status = VenueStatus(venue, health, book, error, fault.start, latency)
        else:
            book = self.book_at(venue, now)
            note = f"slow: answers in {latency:.0f} ms" if fault else ""
            status = VenueStatus(venue, Health.LIVE, book, None, book.ts, latency, note)
        self._status[venue] = status
        return status

    async def _one(self, venue: str) -> OrderBook | VenueError:
        status = self._refresh(venue)
        if status.latency_ms:
            await self.clock.sleep(status.latency_ms / 1000)
        return self._answer(status)

    @staticmethod
    def _answer(status: VenueStatus) -> OrderBook | VenueError:
        if status.error is not None:
            return status.error
        assert status.book is not None
        return status.book

    async def _tick(self, venue: str) -> None:
        interval = 1.0 / self.profiles[venue].update_hz
        last: VenueStatus | None = None
        while True:
            status = self._refresh(venue)
            if status != last:
                last = status
                for listener in list(self._listeners):
                    listener(status)
            await asyncio.sleep(interval)
