"""OKX's wire format: REST ``/api/v5/market/books`` and the v5 ``books`` socket channel.

OKX answers errors with HTTP 200 and a non-"0" ``code`` (``51001`` for an unknown
instrument). The socket's ``books`` channel sends a snapshot then updates; each
carries ``seqId``/``prevSeqId`` (an update whose ``prevSeqId`` is not the last
``seqId`` means one was lost) and a signed CRC32 of the top 25 levels. Recordings
from before OKX added sequence ids (2022) have only the checksum, which then is
the gap detector.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from exchanges.adapter import BookSync, RestRequest, VenueAdapter, clamp
from exchanges.book import OrderBook, parse_levels
from exchanges.checksums import OKX_LEVELS, okx_crc32
from exchanges.errors import ErrorKind, VenueError
from exchanges.levels import PricedBook, level_updates
from exchanges.venues import VenueSpec
from exchanges.wire import (
    checksum_mismatch,
    decode_answer,
    decode_json,
    json_message,
    retry_after,
    status_error,
)

VENUE = "okx"
# ``/api/v5/market/books`` serves at most 400 levels (its ``sz``).
REST_MAX_DEPTH = 400
# Public market data: 40 requests per 2 s per IP for /market/books.
REST_RATE_PER_S = 20.0
# Levels per side the socket's ``books`` channel keeps.
WS_DEPTH = 400
# OKX closes a public socket that has been silent for 30 s unless the client sends a text
# "ping" (answered with "pong"); send one after 25 s without a message.
KEEPALIVE_S = 25.0

UNKNOWN_INSTRUMENT = ("51001", "60018")
RATE_LIMIT_CODES = ("50011", "50061")
BUSY_CODES = ("50001", "50013", "50026")


class OkxAdapter(VenueAdapter):
    """OKX's REST book and v5 ``books`` socket channel."""

    venue = VENUE
    max_depth = REST_MAX_DEPTH
    rest_rate_per_s = REST_RATE_PER_S

    def __init__(self, levels: int | None = 200, keepalive_s: float = KEEPALIVE_S) -> None:
        self.levels = levels
        self.keepalive_s = keepalive_s

    def rest_request(self, spec: VenueSpec, symbol: str, depth: int) -> RestRequest:
        """``GET /api/v5/market/books?instId=BTC-USDT&sz=N`` (N clamped to 1..400)."""
        sz = clamp(depth, 1, REST_MAX_DEPTH)
        return RestRequest.at(spec.rest_url, "/api/v5/market/books", instId=symbol, sz=str(sz))

    def parse_rest(
        self, status: int, headers: Mapping[str, str], body: bytes, quote: str, received: float
    ) -> tuple[OrderBook, Mapping[str, object]]:
        """The book in a books answer; a non-"0" ``code`` (even with HTTP 200) is an error."""
        payload = decode_answer(VENUE, status, headers, body)
        code = _code(payload)
        if code is not None and code != "0":
            if status in (451, 403, 418):
                raise status_error(VENUE, status, headers, error_text(payload))
            assert isinstance(payload, dict)  # it has a code
            raise venue_error(payload, quote, status, headers)
        if status != 200:
            raise status_error(VENUE, status, headers, error_text(payload))
        if not isinstance(payload, dict) or code is None:
            raise VenueError(VENUE, ErrorKind.MALFORMED, "books: expected an object with a code")
        data = payload.get("data")
        if not isinstance(data, list) or not data or not isinstance(data[0], dict):
            raise VenueError(VENUE, ErrorKind.EMPTY_BOOK, "books: no book in data")
        entry = data[0]
        bids = parse_levels(entry.get("bids"), VENUE, "bids")
        asks = parse_levels(entry.get("asks"), VENUE, "asks")
        return OrderBook.build(VENUE, quote, bids, asks, received), payload

    def new_sync(self, symbol: str, quote: str) -> OkxSync:
        """A fresh ``books`` subscription state for ``symbol`` (an instId like BTC-USDT)."""
        return OkxSync(symbol, quote, self.levels, self.keepalive_s)


def error_text(payload: object) -> str:
    """OKX's own words in an error answer (its ``msg``); "" when it has none."""
    return json_message(payload, "msg")


def venue_error(
    payload: Mapping[str, object],
    quote: str,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> VenueError:
    """The typed error for an answer with a non-"0" ``code`` (REST, even with HTTP 200, or
    the socket's ``"event": "error"``)."""
    code = _code(payload) or "?"
    msg = error_text(payload)
    text = f"OKX error {code}: {msg}"[:200] if msg else f"OKX error {code}"
    if code in UNKNOWN_INSTRUMENT:
        return VenueError(
            VENUE, ErrorKind.UNSUPPORTED_PAIR, f"OKX lists no BTC-{quote} instrument ({text})"
        )
    if code in RATE_LIMIT_CODES or status == 429:
        wait = retry_after(headers or {})
        return VenueError(
            VENUE,
            ErrorKind.RATE_LIMITED,
            f"rate limited ({text})",
            status=status,
            retry_after=wait if wait is not None else 1.0,
        )
    if code in BUSY_CODES:
        return VenueError(VENUE, ErrorKind.UNAVAILABLE, text, status=status)
    return VenueError(VENUE, ErrorKind.EXCHANGE, text, status=status)


def _code(payload: object) -> str | None:
    """The ``code`` of an OKX answer as text, None when there is none."""
    if isinstance(payload, dict) and isinstance(payload.get("code"), str | int):
        return str(payload["code"])
    return None


def _int(value: object, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit() and len(value) < 30:
        return int(value)
    raise VenueError(VENUE, ErrorKind.MALFORMED, f"books: bad {what} {value!r:.40}")


class OkxSync(BookSync):
    """One ``books`` subscription: snapshot, seqId chain, checksum on every message."""

    def __init__(
        self,
        symbol: str,
        quote: str,
        levels: int | None = 200,
        keepalive_s: float = KEEPALIVE_S,
    ) -> None:
        super().__init__(VENUE, symbol, quote, PricedBook(VENUE, quote, WS_DEPTH), levels)
        self.keepalive = (keepalive_s, "ping")
        self.seq: int | None = None

    def subscribe_messages(self) -> list[str]:
        """Subscribe to the 400-level ``books`` channel for the instrument."""
        arg = {"channel": "books", "instId": self.symbol}
        return [json.dumps({"op": "subscribe", "args": [arg]})]

    def apply_message(self, text: str | bytes, received: float) -> bool:
        """Apply one message, checking the seqId chain and the checksum; True if it changed."""
        if text in ("pong", b"pong"):
            return False  # the answer to our keep-alive "ping"
        msg = decode_json(VENUE, text)
        if not isinstance(msg, dict):
            raise VenueError(VENUE, ErrorKind.MALFORMED, "expected a JSON object")
        event = msg.get("event")
        if event == "error":
            raise venue_error(msg, self.quote)
        if event is not None:
            return False  # subscribe ack, notice, channel-conn-count
        arg = msg.get("arg")
        if not isinstance(arg, dict) or arg.get("channel") != "books":
            return False
        if arg.get("instId") != self.symbol:
            return False
        action = msg.get("action")
        data = msg.get("data")
        if action not in ("snapshot", "update") or not isinstance(data, list):
            raise VenueError(VENUE, ErrorKind.MALFORMED, "books: bad action or data")
        for entry in data:
            if not isinstance(entry, dict):
                raise VenueError(VENUE, ErrorKind.MALFORMED, "books: bad data entry")
            self._apply(entry, action == "snapshot")
        self.book.ts = received
        return bool(data)

    def _apply(self, entry: dict[str, object], snapshot: bool) -> None:
        """Apply one data entry (a snapshot or an update), checking seqId and checksum."""
        bids = level_updates(entry.get("bids", []), VENUE, "books bids", text_only=True)
        asks = level_updates(entry.get("asks", []), VENUE, "books asks", text_only=True)
        seq = _int(entry.get("seqId"), "seqId")
        prev = _int(entry.get("prevSeqId"), "prevSeqId")
        checksum = _int(entry.get("checksum"), "checksum")
        if snapshot:
            self.book.clear()
            self.synced = True
        elif not self.synced:
            raise VenueError(VENUE, ErrorKind.SEQUENCE_GAP, "books update before the snapshot")
        elif prev is not None and self.seq is not None and prev != self.seq:
            self.synced = False
            raise VenueError(
                VENUE,
                ErrorKind.SEQUENCE_GAP,
                f"{self.symbol} books gap: prevSeqId {prev} after seqId {self.seq}",
            )
        self.seq = seq
        self.book.update(bids, asks)
        if checksum is None:
            return
        local = okx_crc32(self.book.top_bids(OKX_LEVELS), self.book.top_asks(OKX_LEVELS))
        if local != checksum:
            self.synced = False
            raise checksum_mismatch(VENUE, self.symbol, local, "OKX", checksum)
