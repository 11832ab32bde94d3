"""Binance and Binance.US: REST depth snapshots and the diff-depth stream's U/u sync.

Both venues speak the same format; only the base URLs (from the spec) and the
listed pairs differ, so one adapter class serves ``binance`` and ``binanceus`` and
takes the venue id. The diff stream has no snapshot: the sync buffers events, seeds
the book from a REST snapshot, drops events it already contains
(``u <= lastUpdateId``) and then requires every event's ``U`` to follow the previous
``u``; anything else is a gap. binance.com refuses some locations (HTTP 451, or 403
from its firewall): its errors then say to use Binance.US.
"""

from __future__ import annotations

from collections.abc import Mapping

from exchanges.adapter import BookSync, RestRequest, VenueAdapter, clamp
from exchanges.book import OrderBook, parse_levels
from exchanges.errors import ErrorKind, VenueError
from exchanges.levels import STREAM_LEVELS, PricedBook, hold, level_updates
from exchanges.venues import VenueSpec
from exchanges.wire import decode_json, json_message, status_error, try_json

VENUE = "binance"
# ``/api/v3/depth`` serves at most 5000 levels.
REST_MAX_DEPTH = 5000
# Depth weight 5 (<=100 levels) to 25 (<=500) of 6000/min per IP: 2/s leaves headroom.
REST_RATE_PER_S = 2.0
# What binance.com's refusals of a location add, by HTTP status (not said for binanceus).
HINTS = {451: "; try binanceus", 403: " (for Binance from the US, use binanceus)"}


class BinanceAdapter(VenueAdapter):
    """The wire format of Binance (``binance``) and Binance.US (``binanceus``)."""

    max_depth = REST_MAX_DEPTH
    rest_rate_per_s = REST_RATE_PER_S

    def __init__(self, venue: str = VENUE) -> None:
        self.venue = venue

    def rest_request(self, spec: VenueSpec, symbol: str, depth: int) -> RestRequest:
        """``/api/v3/depth`` with a limit covering ``depth`` (100 at least, 5000 at most)."""
        limit = clamp(depth, 100, REST_MAX_DEPTH)
        return RestRequest.at(spec.rest_url, "/api/v3/depth", symbol=symbol, limit=str(limit))

    def parse_rest(
        self, status: int, headers: Mapping[str, str], body: bytes, quote: str, received: float
    ) -> tuple[OrderBook, Mapping[str, object]]:
        """The book in a depth answer; Binance's ``{code, msg}`` errors become typed errors."""
        if status != 200:
            detail = error_text(try_json(body))
            raise self.advise(status_error(self.venue, status, headers, detail))
        payload = decode_json(self.venue, body)
        if not isinstance(payload, dict):
            raise VenueError(self.venue, ErrorKind.MALFORMED, "depth: expected a JSON object")
        if "code" in payload and "bids" not in payload:
            raise venue_error(self.venue, payload)
        if not isinstance(payload.get("lastUpdateId"), int):
            raise VenueError(self.venue, ErrorKind.MALFORMED, "depth: no lastUpdateId")
        bids = parse_levels(payload.get("bids"), self.venue, "bids")
        asks = parse_levels(payload.get("asks"), self.venue, "asks")
        return OrderBook.build(self.venue, quote, bids, asks, received), payload

    def ws_url(self, spec: VenueSpec, symbol: str) -> str:
        """The raw diff-depth stream for ``symbol`` (stream names are lowercase)."""
        return f"{spec.ws_url.rstrip('/')}/ws/{symbol.lower()}@depth@100ms"

    def new_sync(self, symbol: str, quote: str) -> BinanceSync:
        """A fresh U/u sync for one connection."""
        return BinanceSync(symbol, quote, venue=self.venue)

    def advise(self, error: VenueError) -> VenueError:
        """A refused location on binance.com (451, or 403 from its firewall): use binanceus."""
        hint = HINTS.get(error.status or 0, "") if self.venue == VENUE else ""
        if not hint:
            return error
        return VenueError(
            error.venue,
            error.kind,
            error.message + hint,
            status=error.status,
            retry_after=error.retry_after,
        )


def error_text(payload: object) -> str:
    """Binance's own words in an error answer (``{code, msg}``); "" when it has none."""
    if not isinstance(payload, dict) or ("msg" not in payload and "code" not in payload):
        return ""
    code = payload.get("code")
    msg = json_message(payload, "msg", "message")
    return f"Binance error {code}: {msg}" if msg else f"Binance error {code}"


def venue_error(venue: str, payload: Mapping[str, object]) -> VenueError:
    """The typed error for a ``{code, msg}`` answer (REST with HTTP 200, or the socket)."""
    return VenueError(venue, ErrorKind.EXCHANGE, error_text(payload))


class BinanceSync(BookSync):
    """One connection's local book, kept by Binance's documented snapshot + U/u procedure."""

    rest_seeded = True

    def __init__(
        self, symbol: str, quote: str, levels: int | None = STREAM_LEVELS, *, venue: str = VENUE
    ) -> None:
        super().__init__(venue, symbol.upper(), quote, PricedBook(venue, quote), levels)
        self._buffer: list[tuple[int, int, list[object], list[object], float]] = []
        # The final update id in the book (the snapshot's lastUpdateId, then each event's u).
        self._last: int | None = None

    def subscribe_messages(self) -> list[str]:
        """Nothing to send: the stream is named in the URL."""
        return []

    def apply_snapshot(self, book: OrderBook, raw: Mapping[str, object]) -> bool:
        """Seed from a depth snapshot, then replay buffered events; False if it is too old."""
        last = raw.get("lastUpdateId")
        if not isinstance(last, int):
            raise VenueError(self.venue, ErrorKind.MALFORMED, "snapshot: no lastUpdateId")
        if self._buffer and last + 1 < self._buffer[0][0]:
            # Older than the first buffered event: the driver fetches another.
            return False
        self.book.clear()
        self.book.update(
            level_updates(raw.get("bids"), self.venue, "bids"),
            level_updates(raw.get("asks"), self.venue, "asks"),
        )
        self.book.ts = book.ts
        self._last = last
        self.synced = True
        first = True
        pending, self._buffer = self._buffer, []
        for first_id, final_id, bids, asks, ts in pending:
            if final_id <= last:
                continue
            self._apply(first_id, final_id, bids, asks, ts, first=first)
            first = False
        return True

    def apply_message(self, text: str | bytes, received: float) -> bool:
        """Buffer (before the snapshot) or apply one ``depthUpdate``; a gap raises."""
        payload = decode_json(self.venue, text)
        if isinstance(payload, dict) and "stream" in payload and "data" in payload:
            payload = payload["data"]  # combined-stream wrapper
        if not isinstance(payload, dict):
            raise VenueError(self.venue, ErrorKind.MALFORMED, "stream: expected a JSON object")
        if "code" in payload and "msg" in payload:
            raise venue_error(self.venue, payload)
        if payload.get("e") != "depthUpdate":
            return False  # subscription acks, other streams
        symbol = payload.get("s")
        if isinstance(symbol, str) and symbol.upper() != self.symbol:
            return False
        first_id, final_id = payload.get("U"), payload.get("u")
        if not isinstance(first_id, int) or not isinstance(final_id, int) or first_id > final_id:
            raise VenueError(self.venue, ErrorKind.MALFORMED, "depthUpdate: bad U/u")
        bids, asks = payload.get("b"), payload.get("a")
        if not isinstance(bids, list) or not isinstance(asks, list):
            raise VenueError(self.venue, ErrorKind.MALFORMED, "depthUpdate: bad b/a")
        event_ms = payload.get("E")
        ts = event_ms / 1000 if isinstance(event_ms, int) else received
        if self._last is None:
            hold(self._buffer, (first_id, final_id, bids, asks, ts), self.venue)
            return False
        if final_id <= self._last:
            return False  # already in the book
        self._apply(first_id, final_id, bids, asks, ts, first=False)
        return True

    def _apply(
        self,
        first_id: int,
        final_id: int,
        bids: list[object],
        asks: list[object],
        ts: float,
        *,
        first: bool,
    ) -> None:
        """Apply one event to the synced book; SEQUENCE_GAP unless it follows on."""
        assert self._last is not None
        expected = self._last + 1
        # The first event after the snapshot must straddle it; later ones must follow on.
        ok = first_id <= expected <= final_id if first else first_id == expected
        if not ok:
            raise VenueError(
                self.venue,
                ErrorKind.SEQUENCE_GAP,
                f"sequence gap: expected update {expected}, got {first_id}..{final_id}",
            )
        self.book.update(
            level_updates(bids, self.venue, "bids"), level_updates(asks, self.venue, "asks")
        )
        self.book.ts = ts
        self._last = final_id
