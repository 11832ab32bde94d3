"""Coinbase's wire format: Exchange REST ``/products/{id}/book`` and the Advanced Trade socket.

The REST level-2 book is the whole aggregated book (tens of thousands of levels)
with a third element per level, an integer order count; only the best
``max_depth`` levels per side are parsed. Coinbase refuses requests without a
User-Agent (400 ``{"message":"User-Agent header is required."}``) and answers an
unknown product with 404 ``{"message":"NotFound"}``.

The Advanced Trade socket needs no key for ``level2``. Each subscription is its
own message (``level2`` for the book, ``heartbeats`` so the idle connection is
not closed). Book messages come on channel ``l2_data`` with ``side`` ``bid`` or
``offer`` and absolute ``new_quantity``. There is no checksum: ``sequence_num``
rises by exactly one per message on the connection, across all channels, and a
jump means a lost message.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from operator import itemgetter

from exchanges.adapter import BookSync, RestRequest, VenueAdapter
from exchanges.book import OrderBook, parse_levels
from exchanges.errors import ErrorKind, VenueError
from exchanges.levels import PricedBook, amount
from exchanges.localbook import Update
from exchanges.venues import VenueSpec
from exchanges.wire import decode_answer, decode_json, json_message, refusal, status_error

VENUE = "coinbase"
# Levels parsed per side from the full level-2 book (the endpoint has no depth parameter).
REST_MAX_DEPTH = 1000
# Public REST limit: 10 requests/s per IP (bursts of 15).
REST_RATE_PER_S = 10.0
# Levels per side kept from a socket snapshot. Coinbase sends the whole book (tens
# of thousands of levels, seconds of work on the event loop to index); the best
# 2,000 keep the top levels we price on exact unless the market runs through
# about 1,800 levels before the next resync. Deeper levels appear once updated.
SNAPSHOT_LEVELS = 2000
# HTTP statuses whose body says why Coinbase refused the request.
REFUSALS = (400, 401, 409, 422)


class CoinbaseAdapter(VenueAdapter):
    """Coinbase Exchange REST book and Advanced Trade ``level2`` socket."""

    venue = VENUE
    max_depth = REST_MAX_DEPTH
    rest_rate_per_s = REST_RATE_PER_S

    def __init__(self, levels: int | None = 200) -> None:
        # Levels per side in each book the socket sync hands out (it keeps them all).
        self.levels = levels

    def rest_request(self, spec: VenueSpec, symbol: str, depth: int) -> RestRequest:
        """``GET /products/BTC-USD/book?level=2`` (the full book; ``depth`` is cut when parsing)."""
        return RestRequest.at(spec.rest_url, f"/products/{symbol}/book", level="2")

    def parse_rest(
        self, status: int, headers: Mapping[str, str], body: bytes, quote: str, received: float
    ) -> tuple[OrderBook, Mapping[str, object]]:
        """The best ``REST_MAX_DEPTH`` levels per side of a level-2 answer; errors typed."""
        payload = decode_answer(VENUE, status, headers, body)
        message = error_text(payload)
        if status == 404 or (status in REFUSALS and message):
            raise venue_error(message, quote, status)
        if status != 200:
            raise status_error(VENUE, status, headers, message)
        if not isinstance(payload, dict):
            raise VenueError(VENUE, ErrorKind.MALFORMED, "book: expected a JSON object")
        if message and "asks" not in payload:
            raise venue_error(message, quote, status)
        bids, asks = payload.get("bids"), payload.get("asks")
        if not isinstance(bids, list) or not isinstance(asks, list):
            raise VenueError(VENUE, ErrorKind.MALFORMED, "book: bids and asks must be lists")
        book = OrderBook.build(
            VENUE,
            quote,
            parse_levels(bids[:REST_MAX_DEPTH], VENUE, "bids"),
            parse_levels(asks[:REST_MAX_DEPTH], VENUE, "asks"),
            received,
        )
        return book, payload

    def new_sync(self, symbol: str, quote: str) -> CoinbaseSync:
        """A fresh ``level2`` state for ``symbol`` (a product id like BTC-USD)."""
        return CoinbaseSync(symbol, quote, self.levels)


def error_text(payload: object) -> str:
    """Coinbase's own words in an error answer (its ``message``); "" when it has none."""
    return json_message(payload, "message")


def venue_error(message: str, quote: str, status: int) -> VenueError:
    """The typed error for an answer carrying Coinbase's ``message``: an unknown product
    (404), a refused request (e.g. 400 "User-Agent header is required."), or a message
    instead of a book (HTTP 200)."""
    if status == 404:
        return VenueError(
            VENUE,
            ErrorKind.UNSUPPORTED_PAIR,
            f"Coinbase lists no BTC-{quote} product ({message or 'HTTP 404'})",
            status=status,
        )
    if status != 200:
        return VenueError(
            VENUE, ErrorKind.EXCHANGE, f"HTTP {status}: {message:.160}", status=status
        )
    return VenueError(VENUE, ErrorKind.EXCHANGE, f"Coinbase: {message:.160}")


def socket_error(msg: Mapping[str, object]) -> VenueError:
    """The typed error for an ``"type": "error"`` message on the socket."""
    text = json_message(msg, "message", "reason") or "error"
    low = text.lower()
    unknown = "product" in low and ("not" in low or "invalid" in low)
    return refusal(VENUE, "Coinbase socket", text, unknown_pair=unknown)


def _updates(raw: object) -> tuple[list[Update], list[Update]]:
    """``updates`` of an ``l2_data`` event as parsed updates per side."""
    if not isinstance(raw, list):
        raise VenueError(VENUE, ErrorKind.MALFORMED, "l2_data: updates must be a list")
    bids: list[Update] = []
    asks: list[Update] = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise VenueError(VENUE, ErrorKind.MALFORMED, f"l2_data: bad update {entry!r:.60}")
        side = entry.get("side")
        price, price_text = amount(entry.get("price_level"), VENUE, "price_level", text_only=True)
        size, size_text = amount(entry.get("new_quantity"), VENUE, "new_quantity", text_only=True)
        if not price:
            raise VenueError(VENUE, ErrorKind.MALFORMED, "l2_data: zero price")
        if side == "bid":
            bids.append((price, size, price_text, size_text))
        elif side == "offer":
            asks.append((price, size, price_text, size_text))
        else:
            raise VenueError(VENUE, ErrorKind.MALFORMED, f"l2_data: unknown side {side!r:.20}")
    return bids, asks


def _best_levels(raw: list[object], n: int) -> list[object]:
    """The best ``n`` bids and offers of a snapshot's updates (any order on the wire)."""
    bids: list[tuple[Decimal, object]] = []
    offers: list[tuple[Decimal, object]] = []
    for entry in raw:
        price = entry.get("price_level") if isinstance(entry, dict) else None
        side = entry.get("side") if isinstance(entry, dict) else None
        try:
            key = Decimal(price) if isinstance(price, str) else Decimal("NaN")
        except InvalidOperation:
            key = Decimal("NaN")
        if not key.is_finite() or side not in ("bid", "offer"):
            raise VenueError(VENUE, ErrorKind.MALFORMED, f"l2_data: bad update {entry!r:.60}")
        (bids if side == "bid" else offers).append((key, entry))
    best = heapq.nlargest(n, bids, key=itemgetter(0)) + heapq.nsmallest(
        n, offers, key=itemgetter(0)
    )
    return [entry for _, entry in best]


class CoinbaseSync(BookSync):
    """One Advanced Trade connection's ``level2`` book, checked by ``sequence_num``."""

    def __init__(self, symbol: str, quote: str, levels: int | None = 200) -> None:
        # The whole book is kept (no fixed depth on this channel: truncating would
        # lose levels that become the top again after the ones above are taken).
        super().__init__(VENUE, symbol, quote, PricedBook(VENUE, quote), levels)
        self.seq: int | None = None

    def subscribe_messages(self) -> list[str]:
        """``level2`` and ``heartbeats``, one channel per message as Coinbase requires."""
        return [
            json.dumps({"type": "subscribe", "product_ids": [self.symbol], "channel": channel})
            for channel in ("level2", "heartbeats")
        ]

    def apply_message(self, text: str | bytes, received: float) -> bool:
        """Apply one message, checking ``sequence_num``; True when the book changed."""
        msg = decode_json(VENUE, text)
        if not isinstance(msg, dict):
            raise VenueError(VENUE, ErrorKind.MALFORMED, "expected a JSON object")
        if msg.get("type") == "error":
            raise socket_error(msg)
        self._check_sequence(msg)
        if msg.get("channel") != "l2_data":
            return False  # heartbeats, subscriptions
        events = msg.get("events")
        if not isinstance(events, list):
            raise VenueError(VENUE, ErrorKind.MALFORMED, "l2_data: events must be a list")
        changed = False
        for event in events:
            if not isinstance(event, dict):
                raise VenueError(VENUE, ErrorKind.MALFORMED, "l2_data: bad event")
            if event.get("product_id") != self.symbol:
                continue
            self._apply(event)
            changed = True
        if changed:
            self.book.ts = received
        return changed

    def _apply(self, event: dict[str, object]) -> None:
        """Apply one ``l2_data`` event (a snapshot or an update)."""
        kind = event.get("type")
        raw = event.get("updates")
        if kind == "snapshot" and isinstance(raw, list) and len(raw) > 2 * SNAPSHOT_LEVELS:
            raw = _best_levels(raw, SNAPSHOT_LEVELS)
        bids, asks = _updates(raw)
        if kind == "snapshot":
            self.book.clear()
            self.synced = True
        elif kind != "update":
            raise VenueError(VENUE, ErrorKind.MALFORMED, f"l2_data: event type {kind!r:.20}")
        elif not self.synced:
            raise VenueError(VENUE, ErrorKind.SEQUENCE_GAP, "level2 update before snapshot")
        self.book.update(bids, asks)

    def _check_sequence(self, msg: dict[str, object]) -> None:
        seq = msg.get("sequence_num")
        if seq is None:
            if msg.get("channel") == "l2_data":
                raise VenueError(VENUE, ErrorKind.MALFORMED, "l2_data without sequence_num")
            return
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise VenueError(VENUE, ErrorKind.MALFORMED, f"bad sequence_num {seq!r:.30}")
        last, self.seq = self.seq, seq
        if last is not None and seq != last + 1:
            self.synced = False
            raise VenueError(
                VENUE,
                ErrorKind.SEQUENCE_GAP,
                f"{self.symbol} sequence gap: message {seq} after {last}",
            )
