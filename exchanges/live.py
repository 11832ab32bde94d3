"""The live market: real venues over REST and WebSocket behind the ``MarketData`` interface.

One driver serves every venue: the adapters (``binance.py``, ``kraken.py``, ...)
say what to send and what answers mean; this module does the I/O. ``start`` runs
one socket task per venue that keeps a local book in sync, resynchronises on a gap
or bad checksum, reconnects with capped exponential backoff and jitter, and polls
REST while the socket cannot connect. A stream that cannot show a lost message
(Bitstamp's) is re-seeded from a REST snapshot every ``resync_every`` seconds on the
same socket. Health per venue (connecting, live, stale, down — with the reason and
the book's age) goes to listeners on every change.

Proof of life, not proof of change: a streamed book is current while its socket is
heard from — any frame counts (a diff, Kraken's ``heartbeat``, Coinbase's
``heartbeats``, OKX's ``pong``, Bitstamp's ``bts:heartbeat``, a WebSocket ping or
pong). After ``ping_after`` seconds without a frame the driver asks for one (the
venue's own keep-alive text, else a protocol ping); a socket silent for
``stale_after_s`` is stale, and three times that long reconnects. A quiet book on a
live socket stays current however long its prices do not move.

``fresh_books`` serves decisions: every venue concurrently, each under its own
timeout. A venue whose stream cannot vouch for its book (stale, reconnecting,
resyncing, not yet synced) gets a REST snapshot for that call; it is left out only
when that fails too, and its error then says why. Each book handed out carries a
``BookOrigin`` (stream or rest, and its age).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

import aiohttp

from exchanges.adapter import BookSync, VenueAdapter
from exchanges.book import BookOrigin, OrderBook
from exchanges.clock import Clock, RealClock
from exchanges.convert import Pair, ParityRates, Rate, RateSource, VenueRates, resolve
from exchanges.errors import ErrorKind, VenueError
from exchanges.http import DEFAULT_TIMEOUT_S, RateLimiter, fetch, map_exception, new_session
from exchanges.market import Health, Listener, VenueStatus
from exchanges.venues import VenueSpec

log = logging.getLogger(__name__)

# Errors that mean the local book is wrong, not that the venue is unreachable.
RESYNC_NOTES: dict[ErrorKind, str] = {
    ErrorKind.CHECKSUM: "resynced after checksum mismatch",
    ErrorKind.SEQUENCE_GAP: "resynced after sequence gap",
    ErrorKind.CROSSED_BOOK: "resynced after a crossed book",
    ErrorKind.EMPTY_BOOK: "resynced after an empty book",
    ErrorKind.MALFORMED: "resynced after a malformed message",
    ErrorKind.EXCHANGE: "resynced after a venue error",
}

# The origin of a REST snapshot that has just arrived.
_JUST_FETCHED = BookOrigin("rest", 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class LiveSettings:
    """Timing of the live feeds; the defaults suit the real venues."""

    timeout_s: float = DEFAULT_TIMEOUT_S
    # Per-venue timeout overrides (a far-away venue may need longer).
    timeouts: Mapping[str, float] = field(default_factory=dict)
    # A socket with no frame at all (no diff, heartbeat or pong) for this long makes its
    # book stale; three times this reconnects. A quiet book on a live socket is current.
    stale_after_s: float = 10.0
    # Levels asked of REST endpoints that take a depth.
    depth: int = 500
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    # REST polling interval while the socket is down (never faster than the venue's budget).
    poll_interval_s: float = 2.0
    # Resyncs in a row before a resync waits for the backoff like a failed connect.
    quick_resyncs: int = 3
    # Seconds without a frame before the driver asks the venue for one (its keep-alive
    # text, else a WebSocket ping); None: half of ``stale_after_s``.
    ping_after_s: float | None = None

    def timeout_for(self, venue: str) -> float:
        """The timeout in force for ``venue``."""
        return self.timeouts.get(venue, self.timeout_s)

    def ping_after(self, keepalive_s: float | None = None) -> float:
        """Idle seconds before asking for proof of life (never later than the venue needs)."""
        after = self.ping_after_s if self.ping_after_s is not None else self.stale_after_s / 2
        return after if keepalive_s is None else min(after, keepalive_s)


@dataclass(slots=True)
class FeedStats:
    """What one venue's feed has done since the market started (for benchmarks and logs)."""

    # Socket messages that changed the book, and all frames heard (heartbeats, pongs...).
    applied: int = 0
    frames: int = 0
    connects: int = 0
    # Connections opened after the first (the venue closed, the socket broke, a resync).
    reconnects: int = 0
    # Sessions ended because the local book was found wrong (gap, checksum, crossed book),
    # and periodic re-seeds from REST on the same socket (a stream without a gap detector).
    resyncs: int = 0
    # Proof-of-life requests sent on a quiet socket.
    pings: int = 0
    # Decisions served from the stream, and from a REST snapshot instead.
    stream_books: int = 0
    rest_books: int = 0


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: uniform in [half, all] of ``base * 2**(attempt-1)``."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return rng.uniform(ceiling / 2, ceiling)


@dataclass
class _Feed:
    """Everything the driver keeps for one venue."""

    spec: VenueSpec
    adapter: VenueAdapter
    pair: Pair | VenueError
    limiter: RateLimiter
    status: VenueStatus
    task: asyncio.Task[None] | None = None
    rate_note: str = ""
    event_note: str = ""
    quick_resyncs: int = 0
    attempt: int = 0
    # A periodic REST re-seed is in flight: the streamed book is not priced meanwhile.
    resyncing: bool = False
    stats: FeedStats = field(default_factory=FeedStats)

    @property
    def venue(self) -> str:
        return self.spec.id


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
        self._feeds: dict[str, _Feed] = {}
        for venue, spec in self._specs.items():
            adapter = adapters.get(venue)
            pair: Pair | VenueError
            if adapter is None:
                pair = VenueError(venue, ErrorKind.UNAVAILABLE, f"no client for {venue} yet")
            else:
                pair = resolve(spec, quote)
            self._feeds[venue] = _Feed(
                spec,
                adapter,  # type: ignore[arg-type]
                pair,
                RateLimiter(venue, adapter.rest_rate_per_s if adapter else 1.0),
                VenueStatus(venue, Health.CONNECTING),
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
                feed.task = asyncio.create_task(self._run(feed), name=f"feed-{feed.venue}")

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
        return self._aged(feed)

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

    # -- status --------------------------------------------------------------------------

    def _aged(self, feed: _Feed) -> VenueStatus:
        """The status with a live book turned stale once the venue has been silent too long."""
        status = feed.status
        silent = status.silence(self.clock.now())
        if (
            status.health is Health.LIVE
            and silent is not None
            and silent > self.settings.stale_after_s
        ):
            return replace(status, health=Health.STALE, error=self._silent(feed, silent))
        return status

    @staticmethod
    def _silent(feed: _Feed, seconds: float) -> VenueError:
        what = "socket" if feed.status.source == "stream" else "venue"
        return VenueError(feed.venue, ErrorKind.STALE, f"{what} silent for {seconds:.0f}s")

    def _set(self, feed: _Feed, **changes: object) -> None:
        note = "; ".join(n for n in (feed.rate_note, feed.event_note) if n)
        new = replace(feed.status, note=note, **changes)  # type: ignore[arg-type]
        old = feed.status
        feed.status = new
        if (
            new.book is old.book
            and new.health is old.health
            and new.error == old.error
            and new.note == old.note
        ):
            return
        for listener in list(self._listeners):
            try:
                listener(new)
            except Exception:
                log.exception("status listener failed for %s", feed.venue)

    # -- one-off books -------------------------------------------------------------------

    async def _fresh(self, venue: str, min_btc: Decimal | None = None) -> OrderBook | VenueError:
        feed = self._feeds.get(venue)
        if feed is None:
            return VenueError(venue, ErrorKind.DISABLED, f"{venue} is not enabled")
        if isinstance(feed.pair, VenueError):
            return feed.pair
        streaming = feed.task is not None and not feed.task.done()
        status = self._aged(feed)
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
            book = await self._rest_book(feed)
            if _thin(book, min_btc) and self._cut_short(feed, book):
                book = await self._deeper(feed, book)
            book = replace(book, origin=_JUST_FETCHED)
            if streaming:
                feed.stats.rest_books += 1
            else:
                now = self.clock.now()
                self._set(
                    feed,
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
                    self._set(feed, health=Health.DOWN, error=exc)
                return exc
            return _also_stream(exc, status, feed.resyncing)
        except Exception as exc:  # a bug must not take the other venues down with it
            log.exception("unexpected failure fetching %s", venue)
            return map_exception(venue, exc, self.settings.timeout_for(venue))

    def _cut_short(self, feed: _Feed, book: OrderBook) -> bool:
        """Whether a REST book filled the depth asked for and the venue serves deeper ones."""
        symbol = feed.pair.symbol if isinstance(feed.pair, Pair) else ""
        depth = self.settings.depth
        asked = feed.adapter.rest_request(feed.spec, symbol, depth)
        deepest = feed.adapter.rest_request(feed.spec, symbol, feed.adapter.max_depth)
        # Venues that always send the whole book (Bitstamp, Coinbase) ask the same both ways.
        return asked != deepest and len(book.asks) >= min(depth, feed.adapter.max_depth)

    async def _deeper(self, feed: _Feed, book: OrderBook) -> OrderBook:
        """The REST book at the venue's maximum depth; ``book`` itself if that fetch fails."""
        try:
            return await self._rest_book(feed, feed.adapter.max_depth)
        except VenueError as exc:
            log.warning("%s: deeper book unavailable (%s); pricing the thin one", feed.venue, exc)
            return book

    async def _rest_raw(
        self, feed: _Feed, depth: int | None = None
    ) -> tuple[OrderBook, Mapping[str, object], float]:
        """One REST snapshot in the listed currency, with its decoded JSON and latency (ms)."""
        assert isinstance(feed.pair, Pair)
        timeout = self.settings.timeout_for(feed.venue)
        levels = self.settings.depth if depth is None else depth
        request = feed.adapter.rest_request(feed.spec, feed.pair.symbol, levels)
        await feed.limiter.acquire(timeout)
        session = await self.session()
        answer = await fetch(session, feed.venue, request, timeout)
        try:
            book, raw = feed.adapter.parse_rest(
                answer.status, answer.headers, answer.body, feed.pair.listed, self.clock.now()
            )
        except VenueError as exc:
            if exc.kind in (ErrorKind.RATE_LIMITED, ErrorKind.BANNED):
                feed.limiter.back_off(exc)
            raise
        feed.status = replace(feed.status, latency_ms=answer.elapsed_ms)
        return book, raw, answer.elapsed_ms

    async def _rest_book(self, feed: _Feed, depth: int | None = None) -> OrderBook:
        """A REST book converted to the plan's currency (book and rate fetched together)."""
        assert isinstance(feed.pair, Pair)
        if not feed.pair.converted:
            return (await self._rest_raw(feed, depth))[0]
        rate = asyncio.create_task(self.rates.rate(feed.pair.listed, feed.pair.quote))
        try:
            book, _raw, _ms = await self._rest_raw(feed, depth)
        except BaseException:
            rate.cancel()
            await asyncio.gather(rate, return_exceptions=True)
            raise
        return self._apply_rate(feed, book, await rate)

    async def _convert(self, feed: _Feed, book: OrderBook) -> OrderBook:
        assert isinstance(feed.pair, Pair)
        if not feed.pair.converted:
            return book
        return self._apply_rate(
            feed, book, await self.rates.rate(feed.pair.listed, feed.pair.quote)
        )

    def _apply_rate(self, feed: _Feed, book: OrderBook, rate: Rate | VenueError) -> OrderBook:
        assert isinstance(feed.pair, Pair)
        if isinstance(rate, VenueError):
            feed.rate_note = ""
            raise VenueError(feed.venue, ErrorKind.NO_RATE, rate.message)
        feed.rate_note = rate.note()
        if rate.value == 1:  # parity: relabel, don't copy every level
            return replace(book, quote=feed.pair.quote)
        return book.scaled(rate.value, feed.pair.quote)

    # -- streaming -----------------------------------------------------------------------

    async def _run(self, feed: _Feed) -> None:
        """Keep one venue's book live until closed: connect, sync, resync, back off, poll.

        Any failure, a bug included, is logged with the venue and shows the venue down;
        only closing the market ends the loop.
        """
        while not self._closed:
            try:
                opened = time.monotonic()
                error = await self._stream_until_broken(feed)
                self._unsynced(feed, error, time.monotonic() - opened)
                if not self._resync_quickly(feed, error):
                    await self._back_off(feed, error)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = map_exception(feed.venue, exc, self.settings.timeout_for(feed.venue))
                log.exception("%s: feed failed (%s); reconnecting", feed.venue, error.message)
                feed.event_note = ""
                self._set(feed, health=Health.DOWN, error=error)
                feed.attempt += 1
                await asyncio.sleep(self._delay(feed))

    async def _stream_until_broken(self, feed: _Feed) -> VenueError:
        """Run one socket session; the error it ended on (a closed socket is one too)."""
        try:
            await self._stream(feed)
        except VenueError as exc:
            return exc
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return map_exception(feed.venue, exc, self.settings.timeout_for(feed.venue))
        return VenueError(feed.venue, ErrorKind.NETWORK, "the venue closed the socket")

    def _unsynced(self, feed: _Feed, error: VenueError, lasted: float) -> None:
        """A socket session ended: its book can no longer be vouched for.

        The last streamed book is kept for the panel but no decision prices it (the
        venue shows connecting until a new session syncs, or REST polling takes over).
        A session that outlived the longest backoff was a success: the next reconnect
        starts the backoff afresh; short-lived ones keep growing it (no bursts).
        """
        if lasted >= self.settings.backoff_max_s:
            feed.attempt = 0
        if error.kind in RESYNC_NOTES:
            feed.stats.resyncs += 1
        if feed.status.source == "stream" and feed.status.health in (Health.LIVE, Health.STALE):
            self._set(feed, health=Health.CONNECTING, error=None)

    def _resync_quickly(self, feed: _Feed, error: VenueError) -> bool:
        """Whether ``error`` only means a wrong local book worth resyncing without waiting."""
        note = RESYNC_NOTES.get(error.kind)
        if note is None or feed.quick_resyncs >= self.settings.quick_resyncs:
            return False
        feed.quick_resyncs += 1
        feed.event_note = note
        log.warning("%s: %s (%s)", feed.venue, note, error.message)
        self._set(feed)
        return True

    def _delay(self, feed: _Feed) -> float:
        return backoff_delay(
            feed.attempt, self.settings.backoff_base_s, self.settings.backoff_max_s, self._rng
        )

    async def _back_off(self, feed: _Feed, error: VenueError) -> None:
        """Wait out the backoff before reconnecting, polling REST meanwhile."""
        feed.attempt += 1
        delay = self._delay(feed)
        log.warning(
            "%s: socket down (%s); retrying in %.1fs, polling REST meanwhile",
            feed.venue,
            error.message,
            delay,
        )
        if self._polling_fresh(feed):
            # REST keeps the book fresh: the venue stays usable, the note says why.
            feed.event_note = f"polling REST; socket: {error.message}"
            self._set(feed)
        elif feed.status.health is Health.CONNECTING and feed.status.book is not None:
            # A live session ended (the venue closed it, a dead socket): routine, not down.
            # The REST poll below serves the book until the socket is back, or says why not.
            feed.event_note = f"reconnecting; socket: {error.message}"
            self._set(feed, error=None)
        else:
            self._set(feed, health=Health.DOWN, error=error)
        await self._poll(feed, error, time.monotonic() + delay)

    def _polling_fresh(self, feed: _Feed) -> bool:
        status = self._aged(feed)
        return feed.event_note.startswith("polling") and status.health is Health.LIVE

    async def _stream(self, feed: _Feed) -> None:
        """One socket session: connect, subscribe, sync, apply messages until it breaks."""
        assert isinstance(feed.pair, Pair)
        timeout = self.settings.timeout_for(feed.venue)
        sync = feed.adapter.new_sync(feed.pair.symbol, feed.pair.listed)
        url = feed.adapter.ws_url(feed.spec, feed.pair.symbol)
        if feed.status.book is None:
            self._set(feed, health=Health.CONNECTING)
        session = await self.session()
        try:
            async with asyncio.timeout(timeout):
                # Pings and pongs come to ``_receive``: they are proof of life too.
                ws = await session.ws_connect(
                    url,
                    autoping=False,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=1.0),
                    max_msg_size=64 * 1024 * 1024,
                )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise feed.adapter.advise(map_exception(feed.venue, exc, timeout)) from None
        if feed.stats.connects:
            feed.stats.reconnects += 1
        feed.stats.connects += 1
        async with ws:
            for text in sync.subscribe_messages():
                await ws.send_str(text)
            await self._receive(feed, sync, ws)

    async def _receive(
        self, feed: _Feed, sync: BookSync, ws: aiohttp.ClientWebSocketResponse
    ) -> None:
        """Apply the session's messages; every frame heard is proof the book is current.

        Only a book this session has synced is ever published, so a decision never
        prices a half-synced one; until then the status keeps saying connecting (or
        the REST poll's book).
        """
        silent_limit = self.settings.stale_after_s
        keepalive = sync.keepalive
        ping_after = self.settings.ping_after(keepalive[0] if keepalive else None)
        heard = asked = time.monotonic()
        synced = False
        # When to re-seed the synced book from REST (a stream that cannot show a loss).
        resync_at = math.inf
        while True:
            now = time.monotonic()
            silent = now - heard
            if silent > 3 * silent_limit:
                raise VenueError(
                    feed.venue,
                    ErrorKind.STALE,
                    f"socket silent for {silent:.0f}s; reconnecting",
                )
            if synced and silent > silent_limit and feed.status.health is Health.LIVE:
                self._set(feed, health=Health.STALE, error=self._silent(feed, silent))
            if silent >= ping_after and now - asked >= ping_after:
                # Ask for proof of life: the venue's own keep-alive, else a protocol ping.
                if keepalive is not None:
                    await ws.send_str(keepalive[1])
                else:
                    await ws.ping()
                feed.stats.pings += 1
                asked = now
            if now >= resync_at:
                await self._resync(feed, sync)
                resync_at = time.monotonic() + (sync.resync_every or math.inf)
                continue
            wait = min(silent_limit / 2, max(heard, asked) + ping_after - now, resync_at - now)
            try:
                async with asyncio.timeout(max(0.05, wait)):
                    msg = await ws.receive()
            except TimeoutError:
                continue
            heard = time.monotonic()
            feed.stats.frames += 1
            if msg.type is aiohttp.WSMsgType.TEXT:
                text = msg.data
            elif msg.type is aiohttp.WSMsgType.BINARY:
                text = msg.data.decode("utf-8", "replace")
            elif msg.type is aiohttp.WSMsgType.PING:
                await ws.pong(msg.data)  # Binance drops sockets that leave its pings unanswered
                self._heard(feed, synced)
                continue
            elif msg.type is aiohttp.WSMsgType.PONG:
                self._heard(feed, synced)
                continue
            elif msg.type is aiohttp.WSMsgType.ERROR:
                exc = ws.exception() or ConnectionError("socket error")
                raise map_exception(feed.venue, exc, self.settings.timeout_for(feed.venue))
            else:
                code = ws.close_code
                raise VenueError(
                    feed.venue, ErrorKind.NETWORK, f"the venue closed the socket (code {code})"
                )
            book = sync.on_message(text, self.clock.now())
            if sync.needs_snapshot:
                book = await self._snapshot(feed, sync) or book
                if sync.resync_every is not None:
                    resync_at = time.monotonic() + sync.resync_every
            if book is not None:
                feed.stats.applied += 1
                synced = True
                await self._publish(feed, book)
            else:
                self._heard(feed, synced)

    def _heard(self, feed: _Feed, synced: bool) -> None:
        """A frame on a synced session: the book is current (and no longer stale)."""
        if not synced:
            return
        now = self.clock.now()
        if feed.status.health is Health.STALE:
            log.info("%s: heard from again", feed.venue)
            self._set(feed, health=Health.LIVE, error=None, heard=now)
        elif feed.status.source == "stream":
            feed.status = replace(feed.status, heard=now)  # no change worth a redraw

    async def _snapshot(self, feed: _Feed, sync: BookSync) -> OrderBook | None:
        """Seed a snapshot-synced stream (Binance, Bitstamp) from REST; retry a stale one."""
        for attempt in range(3):
            book, raw, _ms = await self._rest_raw(feed)
            synced = sync.on_snapshot(book, raw)
            if synced is not None or not sync.needs_snapshot:
                return synced
            await asyncio.sleep(0.2 * (attempt + 1))
        raise VenueError(
            feed.venue, ErrorKind.SEQUENCE_GAP, "the REST snapshot never caught up with the stream"
        )

    async def _resync(self, feed: _Feed, sync: BookSync) -> None:
        """Re-seed a synced book from a fresh REST snapshot; the socket stays open.

        The socket is not read meanwhile: its diffs wait there, and the sync drops the
        ones the snapshot holds. Decisions take a REST snapshot of their own until the
        re-seeded book is published. A failed fetch keeps the streamed book until the
        next time; a sync that fails on the snapshot ends the session (its book is wrong).
        """
        feed.resyncing = True
        try:
            try:
                book, raw, _ms = await self._rest_raw(feed)
            except VenueError as exc:
                log.warning("%s: periodic resync failed (%s)", feed.venue, exc.message)
                return
            synced = sync.on_snapshot(book, raw)
            if synced is None:
                log.warning(
                    "%s: periodic resync skipped: REST book older than the stream", feed.venue
                )
                return
            feed.stats.resyncs += 1
            log.info(
                "%s: resynced from a fresh REST snapshot (periodic, every %gs)",
                feed.venue,
                sync.resync_every,
            )
            await self._publish(feed, synced)
        finally:
            feed.resyncing = False

    async def _publish(self, feed: _Feed, book: OrderBook) -> None:
        converted = await self._convert(feed, book)
        if feed.event_note.startswith(("polling", "reconnecting")):
            feed.event_note = ""  # the socket is back
        if feed.status.health is not Health.LIVE or feed.status.source != "stream":
            log.info("%s: live", feed.venue)
        now = self.clock.now()
        self._set(
            feed,
            health=Health.LIVE,
            book=converted,
            error=None,
            received=now,
            heard=now,
            source="stream",
        )
        feed.quick_resyncs = 0

    async def _poll(self, feed: _Feed, socket_error: VenueError, until: float) -> None:
        """Poll REST until ``until`` (monotonic) within the venue's rate budget."""
        interval = max(self.settings.poll_interval_s, 1.0 / max(feed.adapter.rest_rate_per_s, 0.01))
        while not self._closed:
            started = time.monotonic()
            if started >= until:
                return
            try:
                book = await self._rest_book(feed)
            except VenueError as exc:
                feed.event_note = ""
                self._set(feed, health=Health.DOWN, error=exc)
            else:
                feed.event_note = f"polling REST; socket: {socket_error.message}"
                now = self.clock.now()
                self._set(
                    feed,
                    health=Health.LIVE,
                    book=book,
                    error=None,
                    received=now,
                    heard=now,
                    source="rest",
                )
            await asyncio.sleep(max(0.0, min(until, started + interval) - time.monotonic()))


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
