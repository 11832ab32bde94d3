"""What each venue module provides: its REST request and parser, and its socket sync.

A venue module (``binance.py``, ``kraken.py``, ...) speaks one venue's wire format
and nothing else. The shared driver (``live.py``) does the I/O — HTTP session,
timeouts, rate limits, reconnects, health — and asks the adapter what to send and
what the answers mean. Keeping the formats pure makes them easy to test against
captured traffic and to fuzz.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from exchanges.book import OrderBook
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


class BookSync(Protocol):
    """The state of one socket connection's local book for one symbol.

    ``on_message`` returns the new ``OrderBook`` when the book changed, None for
    messages that change nothing (acks, heartbeats, buffered diffs), and raises
    ``VenueError`` (SEQUENCE_GAP, CHECKSUM, MALFORMED, EXCHANGE, ...) when the local
    book can no longer be trusted: the driver then resynchronises (new sync, new
    subscription or connection) and reports it.

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
    """

    keepalive: tuple[float, str] | None
    resync_every: float | None

    def subscribe_messages(self) -> list[str]:
        """JSON texts to send right after the socket connects (may be empty)."""
        ...

    @property
    def needs_snapshot(self) -> bool:
        """True while the driver must fetch the REST snapshot and pass it to ``on_snapshot``."""
        ...

    def on_snapshot(self, book: OrderBook, raw: Mapping[str, object]) -> OrderBook | None:
        """Seed the local book from a REST snapshot (Binance, Bitstamp); returns the synced book.

        None when the snapshot is too old to use (the book is then left as it was).
        """
        ...

    def on_message(self, text: str, received: float) -> OrderBook | None:
        """Apply one socket message; see the class docstring."""
        ...


class VenueAdapter(Protocol):
    """One venue's wire format."""

    venue: str
    # Most levels the REST endpoint serves (a deeper walk is "insufficient depth").
    max_depth: int
    # Public REST budget, requests per second, for the polling fallback.
    rest_rate_per_s: float

    def rest_request(self, spec: VenueSpec, symbol: str, depth: int) -> RestRequest:
        """The book request for ``symbol`` with at least ``depth`` levels."""
        ...

    def parse_rest(
        self, status: int, headers: Mapping[str, str], body: bytes, quote: str, received: float
    ) -> tuple[OrderBook, Mapping[str, object]]:
        """The book in an HTTP answer, with the decoded JSON; raises a typed ``VenueError``.

        Handles the venue's own error payloads (also those sent with HTTP 200) and
        maps HTTP statuses (429/418 with Retry-After, 451, 403, 5xx) to error kinds.
        """
        ...

    def ws_url(self, spec: VenueSpec, symbol: str) -> str:
        """The socket URL to connect to for ``symbol``."""
        ...

    def new_sync(self, symbol: str, quote: str) -> BookSync:
        """A fresh local-book state machine for a new connection or resync."""
        ...
