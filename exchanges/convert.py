"""Pegged quote currencies: pricing a USDT book for a USD plan at a live rate.

binance.com lists no BTC/USD, only BTC/USDT and BTC/USDC. For a USD plan its
USDT book is converted at a live USDT→USD rate read from a venue that lists the
conversion pair (Kraken ``USDTZUSD``, Coinbase ``USDT-USD``), unless the user opted
into treating the peg as parity (config ``peg_parity``). No rate → the venue is
left out with ``NO_RATE``; a venue lacking every usable pair → ``UNSUPPORTED_PAIR``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import aiohttp

from exchanges.adapter import RestRequest
from exchanges.clock import Clock
from exchanges.errors import ErrorKind, VenueError
from exchanges.http import DEFAULT_TIMEOUT_S, fetch
from exchanges.venues import VenueSpec
from exchanges.wire import decode_json, status_error

# For a plan in the key currency, the listed currencies a venue's book may be converted from.
PEGS: dict[str, tuple[str, ...]] = {
    "USD": ("USDT", "USDC"),
    "USDT": ("USD", "USDC"),
    "USDC": ("USD", "USDT"),
    "EUR": (),
}


@dataclass(frozen=True, slots=True)
class Pair:
    """The book a venue is priced on: its symbol, the currency it is listed in, the plan's."""

    venue: str
    symbol: str
    listed: str
    quote: str

    @property
    def converted(self) -> bool:
        """True when the book must be converted to the plan's currency."""
        return self.listed != self.quote


def resolve(spec: VenueSpec, quote: str) -> Pair | VenueError:
    """The pair to price ``quote`` on at ``spec``'s venue, or why there is none."""
    if quote in spec.symbols:
        return Pair(spec.id, spec.symbols[quote], quote, quote)
    for listed in PEGS.get(quote, ()):
        if listed in spec.symbols:
            return Pair(spec.id, spec.symbols[listed], listed, quote)
    lists = ", ".join(f"BTC/{q}" for q in spec.symbols) or "no BTC pairs"
    return VenueError(
        spec.id,
        ErrorKind.UNSUPPORTED_PAIR,
        f"{spec.name} does not list BTC/{quote} (it lists {lists})",
    )


@dataclass(frozen=True, slots=True)
class Rate:
    """Quote currency per unit of the listed one: multiply a listed price by ``value``."""

    listed: str
    quote: str
    value: Decimal
    source: str
    at: float

    def note(self) -> str:
        """The line the venue panel shows beside the book."""
        return f"{self.listed}→{self.quote} {self.value.normalize():f} ({self.source})"


class RateSource(Protocol):
    """Where conversion rates come from."""

    async def rate(self, listed: str, quote: str) -> Rate | VenueError:
        """The current rate, or a ``NO_RATE`` error saying why there is none."""
        ...


class ParityRates:
    """The user's opt-in: a stablecoin is worth exactly its peg (config ``peg_parity``)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def rate(self, listed: str, quote: str) -> Rate | VenueError:
        """Always 1."""
        return Rate(listed, quote, Decimal(1), "parity, peg_parity = true", self.clock.now())


class FixedRates:
    """Rates given up front (tests, the simulated market)."""

    def __init__(self, clock: Clock, rates: Mapping[tuple[str, str], Decimal]) -> None:
        self.clock = clock
        self.rates = dict(rates)

    async def rate(self, listed: str, quote: str) -> Rate | VenueError:
        """The fixed rate, its inverse, or NO_RATE."""
        if (listed, quote) in self.rates:
            return Rate(listed, quote, self.rates[listed, quote], "fixed", self.clock.now())
        if (quote, listed) in self.rates:
            value = 1 / self.rates[quote, listed]
            return Rate(listed, quote, value, "fixed", self.clock.now())
        return _no_rate(listed, quote, "no fixed rate")


def _no_rate(listed: str, quote: str, why: str) -> VenueError:
    return VenueError("convert", ErrorKind.NO_RATE, f"no {listed}→{quote} rate: {why}")


@dataclass(frozen=True, slots=True)
class Ticker:
    """Best bid and ask of a conversion pair ``base/counter`` on one venue."""

    base: str
    counter: str
    bid: Decimal
    ask: Decimal
    source: str


# (base, counter) -> venue -> the venue's name for the pair.
CONVERSION_PAIRS: dict[tuple[str, str], dict[str, str]] = {
    ("USDT", "USD"): {"kraken": "USDTZUSD", "coinbase": "USDT-USD"},
    ("USDC", "USD"): {"kraken": "USDCUSD"},
    ("USDC", "USDT"): {"kraken": "USDCUSDT"},
    ("USDT", "USDC"): {"coinbase": "USDT-USDC"},
}


def _positive(value: object, venue: str) -> Decimal:
    try:
        parsed = Decimal(str(value))
    except ArithmeticError:
        parsed = Decimal(0)
    if isinstance(value, bool | float) or not parsed.is_finite() or parsed <= 0:
        raise VenueError(venue, ErrorKind.MALFORMED, f"ticker: {value!r:.30} is not a price")
    return parsed


def kraken_ticker(body: bytes, status: int, headers: Mapping[str, str], pair: str) -> Ticker:
    """Kraken ``/0/public/Ticker``: ``result.{pair}.a[0]`` / ``.b[0]``; errors in ``error``."""
    if status != 200:
        raise status_error("kraken", status, headers)
    payload = decode_json("kraken", body)
    if not isinstance(payload, dict):
        raise VenueError("kraken", ErrorKind.MALFORMED, "ticker: expected an object")
    errors = payload.get("error")
    if isinstance(errors, list) and errors:
        raise VenueError("kraken", ErrorKind.EXCHANGE, f"Kraken error: {errors[0]}")
    result = payload.get("result")
    if not isinstance(result, dict) or len(result) != 1:
        raise VenueError("kraken", ErrorKind.MALFORMED, "ticker: expected one result")
    entry = next(iter(result.values()))
    ask = entry.get("a") if isinstance(entry, dict) else None
    bid = entry.get("b") if isinstance(entry, dict) else None
    if not isinstance(ask, list) or not isinstance(bid, list) or not ask or not bid:
        raise VenueError("kraken", ErrorKind.MALFORMED, "ticker: no bid/ask")
    base, counter = _pair_of(pair, "kraken")
    return Ticker(
        base, counter, _positive(bid[0], "kraken"), _positive(ask[0], "kraken"), f"kraken {pair}"
    )


def coinbase_ticker(body: bytes, status: int, headers: Mapping[str, str], pair: str) -> Ticker:
    """Coinbase Exchange ``/products/{pair}/ticker``: ``{"bid": ..., "ask": ...}``."""
    payload = decode_json("coinbase", body) if body else {}
    if status != 200:
        message = payload.get("message") if isinstance(payload, dict) else None
        raise status_error("coinbase", status, headers, message if isinstance(message, str) else "")
    if not isinstance(payload, dict) or "ask" not in payload or "bid" not in payload:
        raise VenueError("coinbase", ErrorKind.MALFORMED, "ticker: no bid/ask")
    base, counter = _pair_of(pair, "coinbase")
    return Ticker(
        base,
        counter,
        _positive(payload["bid"], "coinbase"),
        _positive(payload["ask"], "coinbase"),
        f"coinbase {pair}",
    )


def _pair_of(name: str, venue: str) -> tuple[str, str]:
    for key, names in CONVERSION_PAIRS.items():
        if names.get(venue) == name:
            return key
    raise VenueError(venue, ErrorKind.UNSUPPORTED_PAIR, f"unknown conversion pair {name}")


TickerParser = Callable[[bytes, int, Mapping[str, str], str], Ticker]


def ticker_request(spec: VenueSpec, pair: str) -> tuple[RestRequest, TickerParser]:
    """The REST call for a conversion pair's ticker at ``spec``'s venue, and its parser."""
    base = spec.rest_url.rstrip("/")
    if spec.id == "kraken":
        return RestRequest(f"{base}/0/public/Ticker", {"pair": pair}), kraken_ticker
    return RestRequest(f"{base}/products/{pair}/ticker"), coinbase_ticker


def rate_from(ticker: Ticker, listed: str, quote: str, at: float) -> Rate:
    """What buying with ``quote`` money on a ``listed`` book really costs per listed unit.

    We hold ``quote`` and the venue wants ``listed``: buy ``listed`` at the ask, or
    when the pair is the other way round, sell ``quote`` at the bid.
    """
    if (ticker.base, ticker.counter) == (listed, quote):
        return Rate(listed, quote, ticker.ask, ticker.source, at)
    return Rate(listed, quote, 1 / ticker.bid, ticker.source, at)


class VenueRates:
    """Live rates from the venues that list the conversion pairs, cached for ``max_age_s``."""

    def __init__(
        self,
        session: Callable[[], Awaitable[aiohttp.ClientSession]],
        specs: Mapping[str, VenueSpec],
        clock: Clock,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_age_s: float = 60.0,
    ) -> None:
        self._session = session
        self.specs = specs
        self.clock = clock
        self.timeout_s = timeout_s
        self.max_age_s = max_age_s
        self._cache: dict[tuple[str, str], Rate] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def rate(self, listed: str, quote: str) -> Rate | VenueError:
        """A cached or freshly fetched rate; NO_RATE with every source's reason if none."""
        key = (listed, quote)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._cache.get(key)
            if cached is not None and self.clock.now() - cached.at <= self.max_age_s:
                return cached
            result = await self._fetch(listed, quote)
            if isinstance(result, Rate):
                self._cache[key] = result
            return result

    async def _fetch(self, listed: str, quote: str) -> Rate | VenueError:
        calls: list[tuple[str, str]] = []
        for key in ((listed, quote), (quote, listed)):
            for venue, pair in CONVERSION_PAIRS.get(key, {}).items():
                spec = self.specs.get(venue)
                if spec is not None and spec.enabled:
                    calls.append((venue, pair))
        if not calls:
            return _no_rate(listed, quote, "no enabled venue lists the conversion pair")
        session = await self._session()
        answers = await asyncio.gather(*(self._ticker(session, v, p) for v, p in calls))
        reasons = []
        for answer in answers:
            if isinstance(answer, Ticker):
                return rate_from(answer, listed, quote, self.clock.now())
            reasons.append(f"{answer.venue}: {answer.message}")
        return _no_rate(listed, quote, "; ".join(reasons))

    async def _ticker(
        self, session: aiohttp.ClientSession, venue: str, pair: str
    ) -> Ticker | VenueError:
        request, parse = ticker_request(self.specs[venue], pair)
        try:
            answer = await fetch(session, venue, request, self.timeout_s)
            return parse(answer.body, answer.status, answer.headers, pair)
        except VenueError as exc:
            return exc
