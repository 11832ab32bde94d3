"""One venue's feed: the socket loop that keeps its book live, and its REST snapshots.

``VenueFeed.run`` connects, subscribes and syncs a local book, resynchronises on a gap
or bad checksum, reconnects with capped exponential backoff and jitter, and polls REST
while the socket cannot connect. A stream that cannot show a lost message
(Bitstamp's) is re-seeded from a REST snapshot every ``resync_every`` seconds on the
same socket. Every status change (connecting, live, stale, down, with the reason and
the book's age) goes to the market that runs the feed (``exchanges.live.LiveMarket``),
which tells its listeners.

Proof of life, not proof of change: a streamed book is current while its socket is
heard from; any frame counts (a diff, Kraken's ``heartbeat``, Coinbase's
``heartbeats``, OKX's ``pong``, Bitstamp's ``bts:heartbeat``, a WebSocket ping or
pong). After ``ping_after`` seconds without a frame the feed asks for one (the venue's
own keep-alive text, else a protocol ping); a socket silent for ``stale_after_s`` is
stale, and three times that long reconnects. A quiet book on a live socket stays
current however long its prices do not move.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

import aiohttp

from exchanges.adapter import BookSync, VenueAdapter
from exchanges.book import OrderBook
from exchanges.clock import Clock
from exchanges.convert import Pair, Rate, RateSource
from exchanges.errors import ErrorKind, VenueError
from exchanges.http import DEFAULT_TIMEOUT_S, RateLimiter, fetch, map_exception
from exchanges.market import Health, VenueStatus
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


class FeedHost(Protocol):
    """What a feed needs from the market that runs it."""

    @property
    def closed(self) -> bool:
        """Whether the market was closed (the feed's loop then ends)."""
        ...

    async def session(self) -> aiohttp.ClientSession:
        """The market's shared HTTP session."""
        ...

    def changed(self, status: VenueStatus) -> None:
        """The feed's status changed (worth a redraw): tell the market's listeners."""
        ...


class VenueFeed:
    """Everything kept for one venue, and the loop that keeps its book live."""

    def __init__(
        self,
        spec: VenueSpec,
        adapter: VenueAdapter,
        pair: Pair | VenueError,
        limiter: RateLimiter,
        status: VenueStatus,
        *,
        host: FeedHost,
        clock: Clock,
        settings: LiveSettings,
        rates: RateSource,
        rng: random.Random,
    ) -> None:
        self.spec = spec
        self.adapter = adapter
        self.pair = pair
        self.limiter = limiter
        self.status = status
        self.host = host
        self.clock = clock
        self.settings = settings
        self.rates = rates
        self.rng = rng
        self.task: asyncio.Task[None] | None = None
        self.rate_note = ""
        self.event_note = ""
        self.quick_resyncs = 0
        self.attempt = 0
        # A periodic REST re-seed is in flight: the streamed book is not priced meanwhile.
        self.resyncing = False
        self.stats = FeedStats()

    @property
    def venue(self) -> str:
        """The venue's id."""
        return self.spec.id

    # -- status ----------------------------------------------------------------------------

    def aged(self) -> VenueStatus:
        """The status with a live book turned stale once the venue has been silent too long."""
        status = self.status
        silent = status.silence(self.clock.now())
        if (
            status.health is Health.LIVE
            and silent is not None
            and silent > self.settings.stale_after_s
        ):
            return replace(status, health=Health.STALE, error=self.silent(silent))
        return status

    def silent(self, seconds: float) -> VenueError:
        """The error of a venue not heard from for ``seconds``."""
        what = "socket" if self.status.source == "stream" else "venue"
        return VenueError(self.venue, ErrorKind.STALE, f"{what} silent for {seconds:.0f}s")

    def change(self, **changes: object) -> None:
        """Change the status; the market's listeners hear of a change worth a redraw."""
        note = "; ".join(n for n in (self.rate_note, self.event_note) if n)
        new = replace(self.status, note=note, **changes)  # type: ignore[arg-type]
        old = self.status
        self.status = new
        if (
            new.book is old.book
            and new.health is old.health
            and new.error == old.error
            and new.note == old.note
        ):
            return
        self.host.changed(new)

    # -- REST -------------------------------------------------------------------------------

    async def rest_raw(
        self, depth: int | None = None
    ) -> tuple[OrderBook, Mapping[str, object], float]:
        """One REST snapshot in the listed currency, with its decoded JSON and latency (ms)."""
        assert isinstance(self.pair, Pair)
        timeout = self.settings.timeout_for(self.venue)
        levels = self.settings.depth if depth is None else depth
        request = self.adapter.rest_request(self.spec, self.pair.symbol, levels)
        await self.limiter.acquire(timeout)
        session = await self.host.session()
        answer = await fetch(session, self.venue, request, timeout)
        try:
            book, raw = self.adapter.parse_rest(
                answer.status, answer.headers, answer.body, self.pair.listed, self.clock.now()
            )
        except VenueError as exc:
            if exc.kind in (ErrorKind.RATE_LIMITED, ErrorKind.BANNED):
                self.limiter.back_off(exc)
            raise
        self.status = replace(self.status, latency_ms=answer.elapsed_ms)
        return book, raw, answer.elapsed_ms

    async def rest_book(self, depth: int | None = None) -> OrderBook:
        """A REST book converted to the plan's currency (book and rate fetched together)."""
        assert isinstance(self.pair, Pair)
        if not self.pair.converted:
            return (await self.rest_raw(depth))[0]
        rate = asyncio.create_task(self.rates.rate(self.pair.listed, self.pair.quote))
        try:
            book, _raw, _ms = await self.rest_raw(depth)
        except BaseException:
            rate.cancel()
            await asyncio.gather(rate, return_exceptions=True)
            raise
        return self._apply_rate(book, await rate)

    async def _convert(self, book: OrderBook) -> OrderBook:
        assert isinstance(self.pair, Pair)
        if not self.pair.converted:
            return book
        return self._apply_rate(book, await self.rates.rate(self.pair.listed, self.pair.quote))

    def _apply_rate(self, book: OrderBook, rate: Rate | VenueError) -> OrderBook:
        assert isinstance(self.pair, Pair)
        if isinstance(rate, VenueError):
            self.rate_note = ""
            raise VenueError(self.venue, ErrorKind.NO_RATE, rate.message)
        self.rate_note = rate.note()
        if rate.value == 1:  # parity: relabel, don't copy every level
            return replace(book, quote=self.pair.quote)
        return book.scaled(rate.value, self.pair.quote)

    async def run(self) -> None:
        """Keep one venue's book live until closed: connect, sync, resync, back off, poll.

        Any failure, a bug included, is logged with the venue and shows the venue down;
        only closing the market ends the loop.
        """
        while not self.host.closed:
            try:
                opened = time.monotonic()
                error = await self._stream_until_broken()
                self._unsynced(error, time.monotonic() - opened)
                if not self._resync_quickly(error):
                    await self._back_off(error)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = map_exception(self.venue, exc, self.settings.timeout_for(self.venue))
                log.exception("%s: feed failed (%s); reconnecting", self.venue, error.message)
                self.event_note = ""
                self.change(health=Health.DOWN, error=error)
                self.attempt += 1
                await asyncio.sleep(self._delay())

    async def _stream_until_broken(self) -> VenueError:
        """Run one socket session; the error it ended on (a closed socket is one too)."""
        try:
            await self._stream()
        except VenueError as exc:
            return exc
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return map_exception(self.venue, exc, self.settings.timeout_for(self.venue))
        return VenueError(self.venue, ErrorKind.NETWORK, "the venue closed the socket")

    def _unsynced(self, error: VenueError, lasted: float) -> None:
        """A socket session ended: its book can no longer be vouched for.

        The last streamed book is kept for the panel but no decision prices it (the
        venue shows connecting until a new session syncs, or REST polling takes over).
        A session that outlived the longest backoff was a success: the next reconnect
        starts the backoff afresh; short-lived ones keep growing it (no bursts).
        """
        if lasted >= self.settings.backoff_max_s:
            self.attempt = 0
        if error.kind in RESYNC_NOTES:
            self.stats.resyncs += 1
        if self.status.source == "stream" and self.status.health in (Health.LIVE, Health.STALE):
            self.change(health=Health.CONNECTING, error=None)

    def _resync_quickly(self, error: VenueError) -> bool:
        """Whether ``error`` only means a wrong local book worth resyncing without waiting."""
        note = RESYNC_NOTES.get(error.kind)
        if note is None or self.quick_resyncs >= self.settings.quick_resyncs:
            return False
        self.quick_resyncs += 1
        self.event_note = note
        log.warning("%s: %s (%s)", self.venue, note, error.message)
        self.change()
        return True

    def _delay(self) -> float:
        return backoff_delay(
            self.attempt, self.settings.backoff_base_s, self.settings.backoff_max_s, self.rng
        )

    async def _back_off(self, error: VenueError) -> None:
        """Wait out the backoff before reconnecting, polling REST meanwhile."""
        self.attempt += 1
        delay = self._delay()
        log.warning(
            "%s: socket down (%s); retrying in %.1fs, polling REST meanwhile",
            self.venue,
            error.message,
            delay,
        )
        if self._polling_fresh():
            # REST keeps the book fresh: the venue stays usable, the note says why.
            self.event_note = f"polling REST; socket: {error.message}"
            self.change()
        elif self.status.health is Health.CONNECTING and self.status.book is not None:
            # A live session ended (the venue closed it, a dead socket): routine, not down.
            # The REST poll below serves the book until the socket is back, or says why not.
            self.event_note = f"reconnecting; socket: {error.message}"
            self.change(error=None)
        else:
            self.change(health=Health.DOWN, error=error)
        await self._poll(error, time.monotonic() + delay)

    def _polling_fresh(self) -> bool:
        status = self.aged()
        return self.event_note.startswith("polling") and status.health is Health.LIVE

    async def _stream(self) -> None:
        """One socket session: connect, subscribe, sync, apply messages until it breaks."""
        assert isinstance(self.pair, Pair)
        timeout = self.settings.timeout_for(self.venue)
        sync = self.adapter.new_sync(self.pair.symbol, self.pair.listed)
        url = self.adapter.ws_url(self.spec, self.pair.symbol)
        if self.status.book is None:
            self.change(health=Health.CONNECTING)
        session = await self.host.session()
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
            raise self.adapter.advise(map_exception(self.venue, exc, timeout)) from None
        if self.stats.connects:
            self.stats.reconnects += 1
        self.stats.connects += 1
        async with ws:
            for text in sync.subscribe_messages():
                await ws.send_str(text)
            await self._receive(sync, ws)

    async def _receive(self, sync: BookSync, ws: aiohttp.ClientWebSocketResponse) -> None:
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
                    self.venue,
                    ErrorKind.STALE,
                    f"socket silent for {silent:.0f}s; reconnecting",
                )
            if synced and silent > silent_limit and self.status.health is Health.LIVE:
                self.change(health=Health.STALE, error=self.silent(silent))
            if silent >= ping_after and now - asked >= ping_after:
                # Ask for proof of life: the venue's own keep-alive, else a protocol ping.
                if keepalive is not None:
                    await ws.send_str(keepalive[1])
                else:
                    await ws.ping()
                self.stats.pings += 1
                asked = now
            if now >= resync_at:
                await self._resync(sync)
                resync_at = time.monotonic() + (sync.resync_every or math.inf)
                continue
            wait = min(silent_limit / 2, max(heard, asked) + ping_after - now, resync_at - now)
            try:
                async with asyncio.timeout(max(0.05, wait)):
                    msg = await ws.receive()
            except TimeoutError:
                continue
            heard = time.monotonic()
            self.stats.frames += 1
            if msg.type is aiohttp.WSMsgType.TEXT:
                text = msg.data
            elif msg.type is aiohttp.WSMsgType.BINARY:
                text = msg.data.decode("utf-8", "replace")
            elif msg.type is aiohttp.WSMsgType.PING:
                await ws.pong(msg.data)  # Binance drops sockets that leave its pings unanswered
                self._heard(synced)
                continue
            elif msg.type is aiohttp.WSMsgType.PONG:
                self._heard(synced)
                continue
            elif msg.type is aiohttp.WSMsgType.ERROR:
                exc = ws.exception() or ConnectionError("socket error")
                raise map_exception(self.venue, exc, self.settings.timeout_for(self.venue))
            else:
                code = ws.close_code
                raise VenueError(
                    self.venue, ErrorKind.NETWORK, f"the venue closed the socket (code {code})"
                )
            book = sync.on_message(text, self.clock.now())
            if sync.needs_snapshot:
                book = await self._snapshot(sync) or book
                if sync.resync_every is not None:
                    resync_at = time.monotonic() + sync.resync_every
            if book is not None:
                self.stats.applied += 1
                synced = True
                await self._publish(book)
            else:
                self._heard(synced)

    def _heard(self, synced: bool) -> None:
        """A frame on a synced session: the book is current (and no longer stale)."""
        if not synced:
            return
        now = self.clock.now()
        if self.status.health is Health.STALE:
            log.info("%s: heard from again", self.venue)
            self.change(health=Health.LIVE, error=None, heard=now)
        elif self.status.source == "stream":
            self.status = replace(self.status, heard=now)  # no change worth a redraw

    async def _snapshot(self, sync: BookSync) -> OrderBook | None:
        """Seed a snapshot-synced stream (Binance, Bitstamp) from REST; retry a stale one."""
        for attempt in range(3):
            book, raw, _ms = await self.rest_raw()
            synced = sync.on_snapshot(book, raw)
            if synced is not None or not sync.needs_snapshot:
                return synced
            await asyncio.sleep(0.2 * (attempt + 1))
        raise VenueError(
            self.venue, ErrorKind.SEQUENCE_GAP, "the REST snapshot never caught up with the stream"
        )

    async def _resync(self, sync: BookSync) -> None:
        """Re-seed a synced book from a fresh REST snapshot; the socket stays open.

        The socket is not read meanwhile: its diffs wait there, and the sync drops the
        ones the snapshot holds. Decisions take a REST snapshot of their own until the
        re-seeded book is published. A failed fetch keeps the streamed book until the
        next time; a sync that fails on the snapshot ends the session (its book is wrong).
        """
        self.resyncing = True
        try:
            try:
                book, raw, _ms = await self.rest_raw()
            except VenueError as exc:
                log.warning("%s: periodic resync failed (%s)", self.venue, exc.message)
                return
            synced = sync.on_snapshot(book, raw)
            if synced is None:
                log.warning(
                    "%s: periodic resync skipped: REST book older than the stream", self.venue
                )
                return
            self.stats.resyncs += 1
            log.info(
                "%s: resynced from a fresh REST snapshot (periodic, every %gs)",
                self.venue,
                sync.resync_every,
            )
            await self._publish(synced)
        finally:
            self.resyncing = False

    async def _publish(self, book: OrderBook) -> None:
        converted = await self._convert(book)
        if self.event_note.startswith(("polling", "reconnecting")):
            self.event_note = ""  # the socket is back
        if self.status.health is not Health.LIVE or self.status.source != "stream":
            log.info("%s: live", self.venue)
        now = self.clock.now()
        self.change(
            health=Health.LIVE,
            book=converted,
            error=None,
            received=now,
            heard=now,
            source="stream",
        )
        self.quick_resyncs = 0

    async def _poll(self, socket_error: VenueError, until: float) -> None:
        """Poll REST until ``until`` (monotonic) within the venue's rate budget."""
        interval = max(self.settings.poll_interval_s, 1.0 / max(self.adapter.rest_rate_per_s, 0.01))
        while not self.host.closed:
            started = time.monotonic()
            if started >= until:
                return
            try:
                book = await self.rest_book()
            except VenueError as exc:
                self.event_note = ""
                self.change(health=Health.DOWN, error=exc)
            else:
                self.event_note = f"polling REST; socket: {socket_error.message}"
                now = self.clock.now()
                self.change(
                    health=Health.LIVE,
                    book=book,
                    error=None,
                    received=now,
                    heard=now,
                    source="rest",
                )
            await asyncio.sleep(max(0.0, min(until, started + interval) - time.monotonic()))
