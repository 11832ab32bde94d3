"""Bitstamp: the REST order book and the ``diff_order_book`` channel synced by microtimestamp.

The diff channel sends no snapshot and no sequence numbers. The sync buffers diffs,
seeds the book from the REST order book, drops diffs whose ``microtimestamp`` is
not after the snapshot's, and applies the rest in order; a diff that goes back in
time, or a book that comes out crossed, means the local book cannot be trusted.
A diff lost on the way shows nothing at all, so the driver re-seeds the book from
a fresh REST order book every ``RESYNC_S`` seconds, by the same rule.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping

from exchanges.adapter import RestRequest
from exchanges.book import OrderBook, parse_levels
from exchanges.errors import ErrorKind, VenueError
from exchanges.levels import STREAM_LEVELS, PricedBook, hold, level_updates
from exchanges.localbook import Update
from exchanges.venues import VenueSpec
from exchanges.wire import decode_json, json_message, status_error, try_json

# Idle seconds before asking Bitstamp for a heartbeat (the driver may ask sooner).
KEEPALIVE_S = 20.0
HEARTBEAT = '{"event":"bts:heartbeat"}'
# Seconds between REST re-seeds of a streamed book. Nothing on the diff channel can
# show a lost diff, so without them a wrong level could stay in the book for as long
# as the socket lives (days). Every 5 minutes bounds that at the cost of one REST
# request (the whole book) per 5 minutes, far inside the 10,000 per 10 minutes allowed.
RESYNC_S = 300.0
# The newest diffs applied, kept to catch up a re-seed from a REST book that is older
# than the stream.
RECENT_DIFFS = 500

# A diff: its microtimestamp and its bid and ask levels.
Diff = tuple[int, list[Update], list[Update]]


class BitstampAdapter:
    """Bitstamp's wire format."""

    # The REST book is the full aggregated book: no depth parameter, no cap.
    max_depth = 100_000
    # Documented: 400 requests/s and 10,000 per 10 minutes; 5/s stays far inside both.
    rest_rate_per_s = 5.0

    def __init__(self, venue: str = "bitstamp") -> None:
        self.venue = venue

    def rest_request(self, spec: VenueSpec, symbol: str, depth: int) -> RestRequest:
        """``/api/v2/order_book/{pair}/`` (always the whole book, whatever ``depth``)."""
        return RestRequest.at(spec.rest_url, f"/api/v2/order_book/{symbol}/")

    def parse_rest(
        self, status: int, headers: Mapping[str, str], body: bytes, quote: str, received: float
    ) -> tuple[OrderBook, Mapping[str, object]]:
        """The book in an order-book answer; ``{"status": "error", "reason": ...}`` is typed."""
        if status != 200:
            raise status_error(self.venue, status, headers, _error_detail(body))
        payload = decode_json(self.venue, body)
        if not isinstance(payload, dict):
            raise VenueError(self.venue, ErrorKind.MALFORMED, "order book: expected an object")
        if payload.get("status") == "error" or ("bids" not in payload and "code" in payload):
            raise VenueError(self.venue, ErrorKind.EXCHANGE, f"Bitstamp error: {_reason(payload)}")
        micro = _micro(payload.get("microtimestamp"), self.venue)
        bids = parse_levels(payload.get("bids"), self.venue, "bids")
        asks = parse_levels(payload.get("asks"), self.venue, "asks")
        ts = micro / 1_000_000 if micro else received
        return OrderBook.build(self.venue, quote, bids, asks, ts), payload

    def ws_url(self, spec: VenueSpec, symbol: str) -> str:
        """One socket serves every channel; the subscription names the pair."""
        return spec.ws_url

    def new_sync(self, symbol: str, quote: str) -> BitstampSync:
        """A fresh microtimestamp sync for one connection."""
        return BitstampSync(self.venue, symbol, quote)


def _reason(payload: Mapping[str, object]) -> str:
    reason = payload.get("reason")
    if isinstance(reason, dict):
        reason = "; ".join(f"{k}: {v}" for k, v in reason.items())
    text = reason if isinstance(reason, str) else json_message(payload, "message", "code")
    return str(text)[:200] or "unknown error"


def _error_detail(body: bytes) -> str:
    payload = try_json(body)
    return _reason(payload) if isinstance(payload, dict) else ""


def _micro(value: object, venue: str) -> int:
    """A microtimestamp (string of digits) as an int; 0 when absent."""
    if value is None:
        return 0
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise VenueError(venue, ErrorKind.MALFORMED, f"bad microtimestamp {value!r:.30}")


class BitstampSync:
    """One connection's local book for one pair, kept from ``diff_order_book_{pair}``."""

    # Bitstamp's own proof of life: ``{"event":"bts:heartbeat"}`` is answered with
    # ``{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}``. The driver
    # sends it on a quiet socket (a quiet diff channel says nothing for a while).
    keepalive: tuple[float, str] | None = (KEEPALIVE_S, HEARTBEAT)
    # No sequence number to find a lost diff by: the driver re-seeds from REST this often.
    resync_every: float | None = RESYNC_S

    def __init__(self, venue: str, symbol: str, quote: str, levels: int = STREAM_LEVELS) -> None:
        self.venue = venue
        self.symbol = symbol
        self.channel = f"diff_order_book_{symbol}"
        self.quote = quote
        self.levels = levels
        self.book = PricedBook(venue, quote)
        self._buffer: list[Diff] = []
        # The latest diffs applied since the last seed: a re-seed replays the newer ones.
        self._recent: deque[Diff] = deque(maxlen=RECENT_DIFFS)
        self._last: int | None = None
        self._snapshot_micro = 0

    def subscribe_messages(self) -> list[str]:
        """Subscribe to the pair's diff channel."""
        return [json.dumps({"event": "bts:subscribe", "data": {"channel": self.channel}})]

    @property
    def needs_snapshot(self) -> bool:
        """True until a REST order book has seeded the local book."""
        return self._last is None

    def on_snapshot(self, book: OrderBook, raw: Mapping[str, object]) -> OrderBook | None:
        """Seed from the REST book and replay the diffs that are newer than it.

        On the first sync: the diffs buffered before it. On a periodic re-seed of a
        synced book: the diffs already applied (the REST book may be older than the
        stream); the ones not yet read wait on the socket, and ``on_message`` drops
        those the snapshot holds. A snapshot older than the diffs remembered is
        refused (None) and the book left as it was.
        """
        micro = _micro(raw.get("microtimestamp"), self.venue)
        if self._last is None:
            pending = self._buffer
        elif self._remembers_after(micro):
            pending = list(self._recent)
        else:
            return None
        self._buffer = []
        self._recent.clear()
        self.book.clear()
        self.book.update(
            level_updates(raw.get("bids"), self.venue, "bids"),
            level_updates(raw.get("asks"), self.venue, "asks"),
        )
        self.book.ts = book.ts
        self._last = self._snapshot_micro = micro
        for diff_micro, bids, asks in pending:
            if diff_micro > micro:
                self._step(diff_micro, bids, asks)
        return self.book.snapshot(self.levels)

    def _remembers_after(self, micro: int) -> bool:
        """Whether every diff applied after ``micro`` is still in ``_recent``."""
        if micro < self._snapshot_micro:
            return False  # older than the book's own seed
        full = len(self._recent) == self._recent.maxlen
        return not full or micro >= self._recent[0][0]

    def on_message(self, text: str, received: float) -> OrderBook | None:
        """Buffer or apply one diff; acks and other channels change nothing."""
        payload = decode_json(self.venue, text)
        if not isinstance(payload, dict):
            raise VenueError(self.venue, ErrorKind.MALFORMED, "stream: expected a JSON object")
        event = payload.get("event")
        if event == "bts:request_reconnect":
            raise VenueError(self.venue, ErrorKind.NETWORK, "Bitstamp asked us to reconnect")
        if event == "bts:error":
            data = payload.get("data")
            reason = json_message(data, "message") if isinstance(data, dict) else ""
            raise VenueError(
                self.venue, ErrorKind.EXCHANGE, f"Bitstamp error: {reason or 'unknown'}"
            )
        if event != "data" or payload.get("channel") != self.channel:
            return None
        data = payload.get("data")
        if not isinstance(data, dict):
            raise VenueError(self.venue, ErrorKind.MALFORMED, "diff: expected a data object")
        micro = _micro(data.get("microtimestamp"), self.venue)
        # Parsed now so a bad diff fails where it arrived, buffered or not.
        bids = level_updates(data.get("bids", []), self.venue, "bids")
        asks = level_updates(data.get("asks", []), self.venue, "asks")
        if self._last is None:
            hold(self._buffer, (micro, bids, asks), self.venue)
            return None
        if micro <= self._snapshot_micro:
            return None  # already contained in the snapshot
        if micro <= self._last:
            raise VenueError(
                self.venue,
                ErrorKind.SEQUENCE_GAP,
                f"diff out of order: {micro} after {self._last}",
            )
        self._step(micro, bids, asks)
        return self.book.snapshot(self.levels)

    def _step(self, micro: int, bids: list[Update], asks: list[Update]) -> None:
        self.book.update(bids, asks)
        self.book.ts = micro / 1_000_000
        self._last = micro
        self._recent.append((micro, bids, asks))
