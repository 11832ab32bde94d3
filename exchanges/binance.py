"""Binance and Binance.US: REST depth snapshots and the diff-depth stream's U/u sync.

Both venues speak the same format; only the base URLs (from the spec) and the
listed pairs differ, so one adapter class serves ``binance`` and ``binanceus``.
The diff stream has no snapshot: the sync buffers events, seeds the book from a
REST snapshot, drops events it already contains (``u <= lastUpdateId``) and then
requires every event's ``U`` to follow the previous ``u``; anything else is a gap.
"""

from __future__ import annotations

from collections.abc import Mapping

from exchanges.adapter import RestRequest, clamp
from exchanges.book import OrderBook, parse_levels
from exchanges.errors import ErrorKind, VenueError
from exchanges.levels import STREAM_LEVELS, PricedBook, hold, level_updates
from exchanges.venues import VenueSpec
from exchanges.wire import decode_json, json_message, status_error, try_json


class BinanceAdapter:
    """The wire format of Binance (``binance``) and Binance.US (``binanceus``)."""

    max_depth = 5000
    # Depth weight 5 (<=100 levels) to 25 (<=500) of 6000/min per IP: 2/s leaves headroom.
    rest_rate_per_s = 2.0

    def __init__(self, venue: str = "binance") -> None:
        self.venue = venue

    def rest_request(self, spec: VenueSpec, symbol: str, depth: int) -> RestRequest:
        """``/api/v3/depth`` with a limit covering ``depth`` (100 at least, 5000 at most)."""
        limit = clamp(depth, 100, self.max_depth)
        return RestRequest.at(spec.rest_url, "/api/v3/depth", symbol=symbol, limit=str(limit))

    def parse_rest(
        self, status: int, headers: Mapping[str, str], body: bytes, quote: str, received: float
    ) -> tuple[OrderBook, Mapping[str, object]]:
        """The book in a depth answer; Binance's ``{code, msg}`` errors become typed errors."""
        if status != 200:
            detail = _error_detail(body)
            raise status_error(self.venue, status, headers, detail)
        payload = decode_json(self.venue, body)
        if not isinstance(payload, dict):
            raise VenueError(self.venue, ErrorKind.MALFORMED, "depth: expected a JSON object")
        if "code" in payload and "bids" not in payload:
            raise VenueError(self.venue, ErrorKind.EXCHANGE, _code_msg(payload))
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
        return BinanceSync(self.venue, symbol, quote)


def _code_msg(payload: Mapping[str, object]) -> str:
    code = payload.get("code")
    msg = json_message(payload, "msg", "message")
    return f"Binance error {code}: {msg}" if msg else f"Binance error {code}"


def _error_detail(body: bytes) -> str:
    """Binance's own words for an HTTP error, if the body is a ``{code, msg}`` object."""
    payload = try_json(body)
    if isinstance(payload, dict) and ("msg" in payload or "code" in payload):
        return _code_msg(payload)
    return ""


class BinanceSync:
    """One connection's local book, kept by Binance's documented snapshot + U/u procedure."""

    # The WebSocket protocol's own pings keep the socket open.
    keepalive: tuple[float, str] | None = None
    # The U/u update ids show every lost diff: no periodic resync.
    resync_every: float | None = None

    def __init__(self, venue: str, symbol: str, quote: str, levels: int = STREAM_LEVELS) -> None:
        self.venue = venue
        self.symbol = symbol.upper()
        self.quote = quote
        self.levels = levels
        self.book = PricedBook(venue, quote)
        self._buffer: list[tuple[int, int, list[object], list[object], float]] = []
        self._last: int | None = None

    def subscribe_messages(self) -> list[str]:
        """Nothing to send: the stream is named in the URL."""
        return []

    @property
    def needs_snapshot(self) -> bool:
        """True until a REST snapshot has seeded the book."""
        return self._last is None

    def on_snapshot(self, book: OrderBook, raw: Mapping[str, object]) -> OrderBook | None:
        """Seed from a depth snapshot, then replay buffered events; None if it is too old."""
        last = raw.get("lastUpdateId")
        if not isinstance(last, int):
            raise VenueError(self.venue, ErrorKind.MALFORMED, "snapshot: no lastUpdateId")
        if self._buffer and last + 1 < self._buffer[0][0]:
            # Older than the first buffered event: the driver fetches another.
            return None
        self.book.clear()
        self.book.update(
            level_updates(raw.get("bids"), self.venue, "bids"),
            level_updates(raw.get("asks"), self.venue, "asks"),
        )
        self.book.ts = book.ts
        self._last = last
        first = True
        pending, self._buffer = self._buffer, []
        for first_id, final_id, bids, asks, ts in pending:
            if final_id <= last:
                continue
            self._step(first_id, final_id, bids, asks, ts, first=first)
            first = False
        return self._current()

    def on_message(self, text: str, received: float) -> OrderBook | None:
        """Buffer (before the snapshot) or apply one ``depthUpdate``; a gap raises."""
        payload = decode_json(self.venue, text)
        if isinstance(payload, dict) and "stream" in payload and "data" in payload:
            payload = payload["data"]  # combined-stream wrapper
        if not isinstance(payload, dict):
            raise VenueError(self.venue, ErrorKind.MALFORMED, "stream: expected a JSON object")
        if "code" in payload and "msg" in payload:
            raise VenueError(self.venue, ErrorKind.EXCHANGE, _code_msg(payload))
        if payload.get("e") != "depthUpdate":
            return None  # subscription acks, other streams
        symbol = payload.get("s")
        if isinstance(symbol, str) and symbol.upper() != self.symbol:
            return None
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
            return None
        if final_id <= self._last:
            return None  # already in the book
        self._step(first_id, final_id, bids, asks, ts, first=False)
        return self._current()

    def _step(
        self,
        first_id: int,
        final_id: int,
        bids: list[object],
        asks: list[object],
        ts: float,
        *,
        first: bool,
    ) -> None:
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

    def _current(self) -> OrderBook:
        return self.book.snapshot(self.levels)
