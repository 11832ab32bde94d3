"""The live market: real venues over REST and WebSocket behind the ``MarketData`` interface.

One driver serves every venue: the adapters (``binance.py``, ``kraken.py``, ...)
say what to send and what answers mean; the feeds (``feed.py``) do the I/O, one
socket task per venue that keeps a local book in sync (resyncs, reconnects with
backoff, REST polling while the socket is down, proof of life). This module holds
them together: it starts and closes them, shares one HTTP session and the currency
rates, and passes every status change on to its listeners.

``fresh_books`` serves decisions: every venue concurrently, each under its own
timeout. A venue whose stream cannot vouch for its book (stale, reconnecting,
resyncing, not yet synced) gets a REST snapshot for that call; it is left out only
when that fails too, and its error then says why. Each book handed out carries a
``BookOrigin`` (stream or rest, and its age).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

import aiohttp

from exchanges.adapter import VenueAdapter
from exchanges.book import BookOrigin, OrderBook
from exchanges.clock import Clock, RealClock
from exchanges.convert import Pair, ParityRates, RateSource, VenueRates, resolve
from exchanges.errors import ErrorKind, VenueError
from exchanges.feed import FeedStats, LiveSettings, VenueFeed
from exchanges.http import RateLimiter, map_exception, new_session
from exchanges.market import Health, Listener, VenueStatus
from exchanges.venues import VenueSpec

# Built here, defined with the feeds they time and count.
__all__ = ["FeedStats", "LiveMarket", "LiveSettings"]

log = logging.getLogger(__name__)

# The origin of a REST snapshot that has just arrived.
_JUST_FETCHED = BookOrigin("rest", 0.0, 0.0)


class LiveMarket:
    """``MarketData`` over the real venues (or any server speaking their formats)."""

    def __init__(
        self,
        specs: Mapping[str, VenueSpec],
        quote: str,
        *,
        venues: Iterable[str] | None = None,
        adapters: Mapping[str, VenueAdapter] | None = None,
        session: aiohttp.ClientSession | None = None,
        clock: Clock | None = None,
        settings: LiveSettings | None = None,
        rates: RateSource | None = None,
        peg_parity: bool = False,
        rng: random.Random | None = None,
    ) -> None:
        if adapters is None:
            from exchanges.registry import adapters_for

            adapters = adapters_for(specs)
        chosen = tuple(venues) if venues is not None else tuple(specs)
        self._quote = quote
        self._specs = {v: specs[v] for v in chosen if v in specs}
        self.clock: Clock = clock or RealClock()
        self.settings = settings or LiveSettings()
        self._session = session
        self._own_session = session is None
        self._session_lock = asyncio.Lock()
        self._rng = rng or random.Random()
        self._listeners: list[Listener] = []
        self._closed = False
        self._started = False
        if rates is not None:
            self.rates: RateSource = rates
        elif peg_parity:
            self.rates = ParityRates(self.clock)
        else:
            self.rates = VenueRates(
                self.session, specs, self.clock, timeout_s=self.settings.timeout_s
            )
        self._feeds: dict[str, VenueFeed] = {}
        for venue, spec in self._specs.items():
            adapter = adapters.get(venue)
            pair: Pair | VenueError
            if adapter is None:
                pair = VenueError(venue, ErrorKind.UNAVAILABLE, f"no client for {venue} yet")
            else:
                pair = resolve(spec, quote)
            self._feeds[venue] = VenueFeed(
                spec,
                adapter,  # type: ignore[arg-type]
                pair,
                RateLimiter(venue, adapter.rest_rate_per_s if adapter else 1.0),
                VenueStatus(venue, Health.CONNECTING),
                host=self,
                clock=self.clock,
                settings=self.settings,
                rates=self.rates,
                rng=self._rng,
            )
            if isinstance(pair, VenueError):
                self._feeds[venue].status = VenueStatus(venue, Health.DOWN, error=pair)

    # -- MarketData ----------------------------------------------------------------------

    @property
    def quote(self) -> str:
        """The plan's quote currency; converted books are expressed in it too."""
        return self._quote

    @property
    def specs(self) -> Mapping[str, VenueSpec]:
        """The venues served, with fees and limits in force."""
        return self._specs

    async def session(self) -> aiohttp.ClientSession:
        """The shared HTTP session, created on first use inside the running loop."""
        async with self._session_lock:
            if self._session is None or self._session.closed:
                self._session = new_session()
                self._own_session = True
            return self._session

    async def start(self) -> None:
        """Open one socket task per venue with a usable pair."""
        if self._started or self._closed:
            return
        self._started = True
        for feed in self._feeds.values():
            if not isinstance(feed.pair, VenueError):
                feed.task = asyncio.create_task(feed.run(), name=f"feed-{feed.venue}")

    async def close(self) -> None:
        """Stop every feed and close the session (if ours); safe to call twice."""
        self._closed = True
        running = {f.venue: f.task for f in self._feeds.values() if f.task is not None}
        for feed in self._feeds.values():
            feed.task = None
        for task in running.values():
            task.cancel()
        results = await asyncio.gather(*running.values(), return_exceptions=True)
        for venue, result in zip(running, results, strict=True):
            if isinstance(result, Exception):  # a feed that died of a bug: say so, once
                log.error("%s: feed had stopped on an error", venue, exc_info=result)
        session, self._session = self._session, None
        if session is not None and self._own_session and not session.closed:
            await session.close()

    def status(self, venue: str) -> VenueStatus:
        """The venue's status now; a live book past its age limit reads as stale."""
        feed = self._feeds.get(venue)
        if feed is None:
            error = VenueError(venue, ErrorKind.DISABLED, f"{venue} is not enabled")
            return VenueStatus(venue, Health.DOWN, error=error)
        return feed.aged()

    def stats(self) -> dict[str, FeedStats]:
        """Each venue's feed counters (messages applied, reconnects, resyncs, ...)."""
        return {venue: feed.stats for venue, feed in self._feeds.items()}

    async def fresh_books(
        self, venues: Sequence[str], *, min_btc: Decimal | None = None
    ) -> dict[str, OrderBook | VenueError]:
        """Every venue's freshest usable book or its error, all venues at once.

        A streamed book is handed out while its socket is heard from; otherwise the
        venue gets a REST snapshot for this call (under its own timeout). Each book
        carries its ``BookOrigin``. A book holding less than ``min_btc`` on the ask
        side that was cut short (the streamed depth, or the REST depth asked for) is
        fetched again at the venue's maximum depth: only then is a thin book really
        too thin.
        """
        results = await asyncio.gather(*(self._fresh(v, min_btc) for v in venues))
        return dict(zip(venues, results, strict=True))

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` on every status change; returns its remover."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    # -- what the feeds need (``exchanges.feed.FeedHost``) ----------------------------------

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called (the feeds' loops then end)."""
        return self._closed

    def changed(self, status: VenueStatus) -> None:
        """A feed's status changed: tell every listener (a failing one is logged, not fatal)."""
        for listener in list(self._listeners):
            try:
                listener(status)
            except Exception:
                log.exception("status listener failed for %s", status.venue)

    # -- one-off books -------------------------------------------------------------------

    async def _fresh(self, venue: str, min_btc: Decimal | None = None) -> OrderBook | VenueError:
        feed = self._feeds.get(venue)
        if feed is None:
            return VenueError(venue, ErrorKind.DISABLED, f"{venue} is not enabled")
        if isinstance(feed.pair, VenueError):
            return feed.pair
        streaming = feed.task is not None and not feed.task.done()
        status = feed.aged()
        try:
            if (
                streaming
                and status.health is Health.LIVE
                and status.book is not None
                and not feed.resyncing
            ):
                now = self.clock.now()
                origin = BookOrigin(
                    status.source or "stream",
                    status.silence(now) or 0.0,
                    status.age(now),
                )
                if _thin(status.book, min_btc):
                    # A stream keeps (or hands out) a fixed depth: ask REST for more.
                    deeper = await self._deeper(feed, status.book)
                    if deeper is not status.book:
                        feed.stats.rest_books += 1
                        return replace(deeper, origin=_JUST_FETCHED)
                feed.stats.stream_books += 1
                return replace(status.book, origin=origin)
            # Not started, or the stream cannot vouch for its book: a snapshot for this call.
            book = await feed.rest_book()
            if _thin(book, min_btc) and self._cut_short(feed, book):
                book = await self._deeper(feed, book)
            book = replace(book, origin=_JUST_FETCHED)
            if streaming:
                feed.stats.rest_books += 1
            else:
                now = self.clock.now()
                feed.change(
                    health=Health.LIVE,
                    book=book,
                    error=None,
                    received=now,
                    heard=now,
                    source="rest",
                )
            return book
        except VenueError as exc:
            if not streaming:
                if feed.task is None:
                    feed.change(health=Health.DOWN, error=exc)
                return exc
            return _also_stream(exc, status, feed.resyncing)
        except Exception as exc:  # a bug must not take the other venues down with it
            log.exception("unexpected failure fetching %s", venue)
            return map_exception(venue, exc, self.settings.timeout_for(venue))

    def _cut_short(self, feed: VenueFeed, book: OrderBook) -> bool:
        """Whether a REST book filled the depth asked for and the venue serves deeper ones."""
        symbol = feed.pair.symbol if isinstance(feed.pair, Pair) else ""
        depth = self.settings.depth
        asked = feed.adapter.rest_request(feed.spec, symbol, depth)
        deepest = feed.adapter.rest_request(feed.spec, symbol, feed.adapter.max_depth)
        # Venues that always send the whole book (Bitstamp, Coinbase) ask the same both ways.
        return asked != deepest and len(book.asks) >= min(depth, feed.adapter.max_depth)

    async def _deeper(self, feed: VenueFeed, book: OrderBook) -> OrderBook:
        """The REST book at the venue's maximum depth; ``book`` itself if that fetch fails."""
        try:
            return await feed.rest_book(feed.adapter.max_depth)
        except VenueError as exc:
            log.warning("%s: deeper book unavailable (%s); pricing the thin one", feed.venue, exc)
            return book


def _also_stream(error: VenueError, status: VenueStatus, resyncing: bool = False) -> VenueError:
    """The REST error of a decision's fallback, also saying why the stream could not serve."""
    why = status.error.message if status.error is not None else status.health.value
    if status.health is Health.CONNECTING and status.error is None:
        why = "reconnecting" if status.book is not None else "not yet synced"
    elif resyncing and status.health is Health.LIVE:
        why = "resyncing"
    # The same failure on both paths (no network: a DNS lookup) is said once.
    said = (
        f"{error.message} (stream too)"
        if why == error.message
        else f"{error.message} (stream: {why})"
    )
    return VenueError(
        error.venue,
        error.kind,
        said,
        status=error.status,
        retry_after=error.retry_after,
    )


def _thin(book: OrderBook, min_btc: Decimal | None) -> bool:
    """Whether ``book`` holds less than ``min_btc`` BTC on the ask side."""
    return min_btc is not None and book.ask_depth() < min_btc
