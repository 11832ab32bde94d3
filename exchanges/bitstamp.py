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

from exchanges.adapter import BookSync, RestRequest, VenueAdapter
from exchanges.book import OrderBook, parse_levels
from exchanges.errors import ErrorKind, VenueError
from exchanges.levels import STREAM_LEVELS, PricedBook, hold, level_updates
from exchanges.localbook import Update
from exchanges.venues import VenueSpec
from exchanges.wire import decode_json, json_message, status_error, try_json

VENUE = "bitstamp"
# The REST book is the full aggregated book: no depth parameter, no cap.
REST_MAX_DEPTH = 100_000
# Documented: 400 requests/s and 10,000 per 10 minutes; 5/s stays far inside both.
REST_RATE_PER_S = 5.0
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


class BitstampAdapter(VenueAdapter):
    """Bitstamp's REST order book and ``diff_order_book`` socket channel."""

    venue = VENUE
    max_depth = REST_MAX_DEPTH
    rest_rate_per_s = REST_RATE_PER_S

    def rest_request(self, spec: VenueSpec, symbol: str, depth: int) -> RestRequest:
        """``/api/v2/order_book/{pair}/`` (always the whole book, whatever ``depth``)."""
        return RestRequest.at(spec.rest_url, f"/api/v2/order_book/{symbol}/")

    def parse_rest(
        self, status: int, headers: Mapping[str, str], body: bytes, quote: str, received: float
    ) -> tuple[OrderBook, Mapping[str, object]]:
        """The book in an order-book answer; ``{"status": "error", "reason": ...}`` is typed."""
        if status != 200:
            raise status_error(VENUE, status, headers, error_text(try_json(body)))
        payload = decode_json(VENUE, body)
        if not isinstance(payload, dict):
            raise VenueError(VENUE, ErrorKind.MALFORMED, "order book: expected an object")
        if payload.get("status") == "error" or ("bids" not in payload and "code" in payload):
            raise venue_error(payload)
        micro = _micro(payload.get("microtimestamp"))
        bids = parse_levels(payload.get("bids"), VENUE, "bids")
        asks = parse_levels(payload.get("asks"), VENUE, "asks")
        ts = micro / 1_000_000 if micro else received
        return OrderBook.build(VENUE, quote, bids, asks, ts), payload

    def new_sync(self, symbol: str, quote: str) -> BitstampSync:
        """A fresh microtimestamp sync for one connection."""
        return BitstampSync(symbol, quote)


def error_text(payload: object) -> str:
    """Bitstamp's own words in an error answer (its ``reason``); "" when it is not an object."""
    if not isinstance(payload, dict):
        return ""
    reason = payload.get("reason")
    if isinstance(reason, dict):
        reason = "; ".join(f"{k}: {v}" for k, v in reason.items())
    text = reason if isinstance(reason, str) else json_message(payload, "message", "code")
    return str(text)[:200] or "unknown error"


def venue_error(payload: Mapping[str, object]) -> VenueError:
    """The typed error for a REST answer marked ``"status": "error"`` (HTTP 200)."""
    return VenueError(VENUE, ErrorKind.EXCHANGE, f"Bitstamp error: {error_text(payload)}")


def socket_error(payload: Mapping[str, object]) -> VenueError:
    """The typed error for a ``bts:error`` event on the socket."""
    data = payload.get("data")
    reason = json_message(data, "message") if isinstance(data, dict) else ""
    return VenueError(VENUE, ErrorKind.EXCHANGE, f"Bitstamp error: {reason or 'unknown'}")


def _micro(value: object) -> int:
    """A microtimestamp (string of digits) as an int; 0 when absent."""
    if value is None:
        return 0
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise VenueError(VENUE, ErrorKind.MALFORMED, f"bad microtimestamp {value!r:.30}")


class BitstampSync(BookSync):
    """One connection's local book for one pair, kept from ``diff_order_book_{pair}``."""

    rest_seeded = True
    # Bitstamp's own proof of life: ``{"event":"bts:heartbeat"}`` is answered with
    # ``{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}``. The driver
    # sends it on a quiet socket (a quiet diff channel says nothing for a while).
    keepalive: tuple[float, str] | None = (KEEPALIVE_S, HEARTBEAT)
    # No sequence number to find a lost diff by: the driver re-seeds from REST this often.
    resync_every: float | None = RESYNC_S

    def __init__(self, symbol: str, quote: str, levels: int | None = STREAM_LEVELS) -> None:
        super().__init__(VENUE, symbol, quote, PricedBook(VENUE, quote), levels)
        self.channel = f"diff_order_book_{symbol}"
        self._buffer: list[Diff] = []
        # The latest diffs applied since the last seed: a re-seed replays the newer ones.
        self._recent: deque[Diff] = deque(maxlen=RECENT_DIFFS)
        # The microtimestamp of the newest diff in the book, and of the snapshot it grew from.
        self._last = self._snapshot_micro = 0

    def subscribe_messages(self) -> list[str]:
        """Subscribe to the pair's diff channel."""
        return [json.dumps({"event": "bts:subscribe", "data": {"channel": self.channel}})]

    def apply_snapshot(self, book: OrderBook, raw: Mapping[str, object]) -> bool:
        """Seed from the REST book and replay the diffs that are newer than it.

        On the first sync: the diffs buffered before it. On a periodic re-seed of a
        synced book: the diffs already applied (the REST book may be older than the
        stream); the ones not yet read wait on the socket, and ``apply_message`` drops
        those the snapshot holds. A snapshot older than the diffs remembered is
        refused (False) and the book left as it was.
        """
        micro = _micro(raw.get("microtimestamp"))
        if not self.synced:
            pending = self._buffer
        elif self._remembers_after(micro):
            pending = list(self._recent)
        else:
            return False
        self._buffer = []
        self._recent.clear()
        self.book.clear()
        self.book.update(
            level_updates(raw.get("bids"), VENUE, "bids"),
            level_updates(raw.get("asks"), VENUE, "asks"),
        )
        self.book.ts = book.ts
        self._last = self._snapshot_micro = micro
        self.synced = True
        for diff_micro, bids, asks in pending:
            if diff_micro > micro:
                self._apply(diff_micro, bids, asks)
        return True

    def _remembers_after(self, micro: int) -> bool:
        """Whether every diff applied after ``micro`` is still in ``_recent``."""
        if micro < self._snapshot_micro:
            return False  # older than the book's own seed
        full = len(self._recent) == self._recent.maxlen
        return not full or micro >= self._recent[0][0]

    def apply_message(self, text: str | bytes, received: float) -> bool:
        """Buffer or apply one diff; acks and other channels change nothing."""
        payload = decode_json(VENUE, text)
        if not isinstance(payload, dict):
            raise VenueError(VENUE, ErrorKind.MALFORMED, "stream: expected a JSON object")
        event = payload.get("event")
        if event == "bts:request_reconnect":
            raise VenueError(VENUE, ErrorKind.NETWORK, "Bitstamp asked us to reconnect")
        if event == "bts:error":
            raise socket_error(payload)
        if event != "data" or payload.get("channel") != self.channel:
            return False
        data = payload.get("data")
        if not isinstance(data, dict):
            raise VenueError(VENUE, ErrorKind.MALFORMED, "diff: expected a data object")
        micro = _micro(data.get("microtimestamp"))
        # Parsed now so a bad diff fails where it arrived, buffered or not.
        bids = level_updates(data.get("bids", []), VENUE, "bids")
        asks = level_updates(data.get("asks", []), VENUE, "asks")
        if not self.synced:
            hold(self._buffer, (micro, bids, asks), VENUE)
            return False
        if micro <= self._snapshot_micro:
            return False  # already contained in the snapshot
        if micro <= self._last:
            raise VenueError(
                VENUE,
                ErrorKind.SEQUENCE_GAP,
                f"diff out of order: {micro} after {self._last}",
            )
        self._apply(micro, bids, asks)
        return True

    def _apply(self, micro: int, bids: list[Update], asks: list[Update]) -> None:
        """Apply one diff to the synced book and remember it for a re-seed."""
        self.book.update(bids, asks)
        self.book.ts = micro / 1_000_000
        self._last = micro
        self._recent.append((micro, bids, asks))
