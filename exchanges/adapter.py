"""What every venue module provides: an adapter for its REST book and socket, and a book sync.

A venue module (``binance.py``, ``bitstamp.py``, ``coinbase.py``, ``kraken.py``,
``okx.py``) speaks one venue's wire format and nothing else. The shared driver
(``live.py``) does the I/O — HTTP session, timeouts, rate limits, reconnects,
health — and asks the adapter what to send and what the answers mean. Keeping the
formats pure makes them easy to test against captured traffic and to fuzz.

Every venue module reads in the same order:

1. its constants: ``VENUE``, ``REST_MAX_DEPTH`` (most levels its REST book serves),
   ``REST_RATE_PER_S`` (its public REST budget), then what only it has;
2. ``<Venue>Adapter(VenueAdapter)``: ``rest_request``, ``parse_rest``, ``ws_url``
   (when not the configured URL), ``new_sync``;
3. its error helpers: ``error_text`` (the venue's own words in an error answer),
   ``venue_error`` (the typed error for an answer the venue marked as an error) and,
   when its socket refuses requests in its own shape, ``socket_error``;
4. ``<Venue>Sync(BookSync)``: ``subscribe_messages``, ``apply_message`` and, for a
   socket that sends no snapshot (Binance, Bitstamp), ``apply_snapshot``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from exchanges.book import OrderBook
from exchanges.errors import VenueError
from exchanges.levels import PricedBook
from exchanges.venues import VenueSpec


@dataclass(frozen=True, slots=True)
class RestRequest:
    """A GET to make: full URL and query parameters."""

    url: str
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def at(cls, base_url: str, path: str, **params: str) -> RestRequest:
        """A GET of ``path`` under the configured REST URL (with or without a trailing slash)."""
        return cls(f"{base_url.rstrip('/')}{path}", params)


def clamp(depth: int, least: int, most: int) -> int:
    """A requested depth within what an endpoint accepts."""
    return min(max(depth, least), most)


class BookSync:
    """The state of one socket connection's local book for one symbol.

    ``on_message`` returns the new ``OrderBook`` when the book changed, None for
    messages that change nothing (acks, heartbeats, buffered diffs), and raises
    ``VenueError`` (SEQUENCE_GAP, CHECKSUM, MALFORMED, EXCHANGE, ...) when the local
    book can no longer be trusted: the driver then resynchronises (new sync, new
    subscription or connection) and reports it. Each book handed out holds the best
    ``levels`` per side (None: all the local book keeps).

    ``rest_seeded``: the socket sends no snapshot (Binance, Bitstamp), so while
    ``needs_snapshot`` the driver fetches a REST snapshot and passes it to
    ``on_snapshot``; the others send theirs on the socket.

    ``keepalive`` is ``(idle seconds, text)`` for venues with their own keep-alive
    request (OKX wants a text "ping" within 30 s and answers "pong"; Bitstamp answers
    ``bts:heartbeat``): on a quiet socket the driver sends the text after at most that
    long without a message, and the answer proves the connection (and so the book)
    current. None: a WebSocket ping frame asks instead (Binance), or the venue sends
    heartbeats unasked (Kraken, Coinbase's ``heartbeats`` channel).

    ``resync_every`` is seconds between re-seeds of a synced book from a fresh REST
    snapshot, for a stream that cannot show a lost message (Bitstamp): the driver
    passes the snapshot to ``on_snapshot`` while the socket stays open. None: the
    stream shows every loss (update ids, sequence numbers, checksums).

    A venue's sync implements ``subscribe_messages`` and ``apply_message`` (and, when
    ``rest_seeded``, ``apply_snapshot``); everything else is here.
    """

    rest_seeded = False
    keepalive: tuple[float, str] | None = None
    resync_every: float | None = None

    def __init__(
        self, venue: str, symbol: str, quote: str, book: PricedBook, levels: int | None
    ) -> None:
        self.venue = venue
        self.symbol = symbol
        self.quote = quote
        self.book = book
        self.levels = levels
        # Whether the local book holds a snapshot that every message since has followed.
        self.synced = False

    def subscribe_messages(self) -> list[str]:
        """JSON texts to send right after the socket connects (may be empty)."""
        raise NotImplementedError

    @property
    def needs_snapshot(self) -> bool:
        """True while the driver must fetch the REST snapshot and pass it to ``on_snapshot``."""
        return self.rest_seeded and not self.synced

    def on_snapshot(self, book: OrderBook, raw: Mapping[str, object]) -> OrderBook | None:
        """Seed the local book from a REST snapshot (``book`` parsed, ``raw`` its JSON).

        Returns the synced book; None when the snapshot is too old to use (the book is
        then left as it was) or the venue sends its snapshot on the socket.
        """
        if not self.apply_snapshot(book, raw):
            return None
        return self.book.snapshot(self.levels)

    def on_message(self, text: str | bytes, received: float) -> OrderBook | None:
        """Apply one socket message; see the class docstring."""
        if not self.apply_message(text, received):
            return None
        return self.book.snapshot(self.levels)

    def apply_snapshot(self, book: OrderBook, raw: Mapping[str, object]) -> bool:
        """Seed the local book from a REST snapshot; False when it is too old to use.

        Only a ``rest_seeded`` venue has one to apply.
        """
        return False

    def apply_message(self, text: str | bytes, received: float) -> bool:
        """Apply one socket message to the local book; True when the book changed."""
        raise NotImplementedError


class VenueAdapter:
    """One venue's wire format: what to ask its REST and socket APIs, and what answers mean."""

    venue: str
    # Most levels the REST endpoint serves (``REST_MAX_DEPTH``): a deeper walk is
    # "insufficient depth".
    max_depth: int
    # Public REST budget, requests per second (``REST_RATE_PER_S``), for the polling fallback.
    rest_rate_per_s: float

    def rest_request(self, spec: VenueSpec, symbol: str, depth: int) -> RestRequest:
        """The book request for ``symbol`` with at least ``depth`` levels."""
        raise NotImplementedError

    def parse_rest(
        self, status: int, headers: Mapping[str, str], body: bytes, quote: str, received: float
    ) -> tuple[OrderBook, Mapping[str, object]]:
        """The book in an HTTP answer, with the decoded JSON; raises a typed ``VenueError``.

        Handles the venue's own error payloads (also those sent with HTTP 200) and
        maps HTTP statuses (429/418 with Retry-After, 451, 403, 5xx) to error kinds.
        """
        raise NotImplementedError

    def ws_url(self, spec: VenueSpec, symbol: str) -> str:
        """The socket URL to connect to for ``symbol``: the configured one, which serves
        every pair (Bitstamp, Coinbase, Kraken, OKX); Binance names the stream in it."""
        return spec.ws_url

    def new_sync(self, symbol: str, quote: str) -> BookSync:
        """A fresh local-book state machine for a new connection or resync."""
        raise NotImplementedError

    def advise(self, error: VenueError) -> VenueError:
        """``error`` with the venue's own advice to the user, if it has any (Binance, when
        the location is restricted: use Binance.US); most venues have none."""
        return error
