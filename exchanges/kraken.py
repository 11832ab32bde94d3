"""Kraken's wire format: REST ``/0/public/Depth`` and the WebSocket v2 ``book`` channel.

Two Kraken habits shape this module. Errors arrive with HTTP 200 in an ``error``
array, and the result key is not the requested pair (``XBTUSD`` answers as
``XXBTZUSD``), so the single key of ``result`` is taken. On the socket, prices
and quantities are JSON numbers whose trailing zeros matter for the CRC32
checksum sent with every message; they are decoded as ``Decimal`` (which keeps
the exponent) and turned back into the exact text. The checksum is Kraken's only
gap detector: a mismatch raises CHECKSUM and the driver resubscribes.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from decimal import Decimal
from itertools import islice

from sortedcontainers import SortedDict

from exchanges.adapter import BookSync, RestRequest, VenueAdapter, clamp
from exchanges.book import OrderBook, in_range, parse_levels, to_decimal
from exchanges.checksums import KRAKEN_LEVELS, kraken_fragment
from exchanges.errors import ErrorKind, VenueError
from exchanges.levels import PricedBook
from exchanges.localbook import Entry, Update
from exchanges.venues import VenueSpec
from exchanges.wire import (
    checksum_mismatch,
    decode_json,
    json_message,
    refusal,
    retry_after,
    status_error,
    try_json,
)

VENUE = "kraken"
# ``/0/public/Depth`` serves at most 500 levels (its ``count``).
REST_MAX_DEPTH = 500
# Kraken's public REST budget is about one call per second per IP.
REST_RATE_PER_S = 1.0
# Depth values the v2 book channel accepts.
WS_DEPTHS = (10, 25, 100, 500, 1000)

_RATE_ERRORS = ("EGeneral:Too many requests", "EAPI:Rate limit exceeded")


class KrakenAdapter(VenueAdapter):
    """Kraken's REST book and v2 socket; ``ws_depth`` is the subscribed (and kept) depth."""

    venue = VENUE
    max_depth = REST_MAX_DEPTH
    rest_rate_per_s = REST_RATE_PER_S

    def __init__(self, ws_depth: int = 100) -> None:
        if ws_depth not in WS_DEPTHS:
            raise ValueError(f"Kraken book depth must be one of {WS_DEPTHS}")
        self.ws_depth = ws_depth

    def rest_request(self, spec: VenueSpec, symbol: str, depth: int) -> RestRequest:
        """``GET /0/public/Depth?pair=XBTUSD&count=N`` (N clamped to 1..500)."""
        count = clamp(depth, 1, REST_MAX_DEPTH)
        return RestRequest.at(spec.rest_url, "/0/public/Depth", pair=symbol, count=str(count))

    def parse_rest(
        self, status: int, headers: Mapping[str, str], body: bytes, quote: str, received: float
    ) -> tuple[OrderBook, Mapping[str, object]]:
        """The book in a Depth answer; the HTTP-200 ``error`` array becomes a typed error."""
        if status != 200:
            raise status_error(VENUE, status, headers, error_text(try_json(body)))
        payload = decode_json(VENUE, body)
        if not isinstance(payload, dict):
            raise VenueError(VENUE, ErrorKind.MALFORMED, "Depth: expected a JSON object")
        errors = payload.get("error")
        if isinstance(errors, list) and errors:
            raise venue_error(payload, quote, status, headers)
        result = payload.get("result")
        if not isinstance(result, dict) or len(result) != 1:
            raise VenueError(VENUE, ErrorKind.MALFORMED, "Depth: expected one pair in result")
        (entry,) = result.values()
        if not isinstance(entry, dict):
            raise VenueError(VENUE, ErrorKind.MALFORMED, "Depth: the pair's book is not an object")
        bids = parse_levels(entry.get("bids"), VENUE, "bids")
        asks = parse_levels(entry.get("asks"), VENUE, "asks")
        return OrderBook.build(VENUE, quote, bids, asks, received), payload

    def new_sync(self, symbol: str, quote: str) -> KrakenSync:
        """A fresh book for ``symbol`` (REST or socket name)."""
        return KrakenSync(ws_symbol(symbol), quote, self.ws_depth)


def ws_symbol(symbol: str) -> str:
    """The socket's name for a REST pair: ``XBTUSD`` → ``BTC/USD`` (names with ``/`` pass)."""
    if "/" in symbol:
        return symbol
    return "BTC/" + (symbol[3:] if symbol.startswith(("XBT", "BTC")) else symbol)


def error_text(payload: object) -> str:
    """Kraken's own words in an answer: its ``error`` array joined; "" when it has none."""
    if not isinstance(payload, dict) or not isinstance(payload.get("error"), list):
        return ""
    return "; ".join(str(e) for e in payload["error"])[:200]


def venue_error(
    payload: Mapping[str, object],
    quote: str,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> VenueError:
    """The typed error for an answer with a non-empty ``error`` array (sent with HTTP 200)."""
    errors = payload.get("error")
    errors = errors if isinstance(errors, list) else []
    text = error_text(payload)
    if any(str(e).startswith("EQuery:Unknown asset pair") for e in errors):
        return VenueError(
            VENUE, ErrorKind.UNSUPPORTED_PAIR, f"Kraken lists no BTC/{quote} pair ({text})"
        )
    if any(str(e).startswith(_RATE_ERRORS) for e in errors):
        wait = retry_after(headers or {})
        return VenueError(
            VENUE,
            ErrorKind.RATE_LIMITED,
            f"rate limited ({text})",
            status=status,
            retry_after=wait or 1.0,
        )
    if any(str(e).startswith("EService:") for e in errors):
        return VenueError(VENUE, ErrorKind.UNAVAILABLE, f"Kraken unavailable ({text})")
    return VenueError(VENUE, ErrorKind.EXCHANGE, f"Kraken error: {text}", status=status)


def socket_error(msg: Mapping[str, object]) -> VenueError:
    """The typed error for a refused socket request (``"success": false``)."""
    text = json_message(msg, "error") or "request failed"
    low = text.lower()
    unknown = "pair" in low or "symbol" in low or "not supported" in low
    return refusal(VENUE, f"Kraken {msg.get('method', 'socket')!s:.20}", text, unknown_pair=unknown)


def _number(value: object, side: str, what: str) -> tuple[Decimal, str]:
    """A JSON number as Decimal plus its exact text (Decimal keeps the trailing zeros)."""
    # Decimal straight from the JSON decoder is the fast path: finite by construction.
    parsed = value if type(value) is Decimal else to_decimal(value, VENUE, f"{side} {what}")
    # Exponent forms like 1e-999999 would expand into megabytes of text: bound the
    # magnitude first; the digit count only needs checking for long texts.
    if parsed < 0 or not -30 <= parsed.adjusted() <= 30:
        raise _out_of_range(value, side, what)
    text = format(parsed, "f")
    if len(text) > 28 and not in_range(parsed):
        raise _out_of_range(value, side, what)
    return parsed, text


def _out_of_range(value: object, side: str, what: str) -> VenueError:
    return VenueError(VENUE, ErrorKind.MALFORMED, f"{side} {what}: {value!r:.40} is out of range")


def _levels(raw: object, side: str) -> list[Update]:
    if not isinstance(raw, list):
        raise VenueError(VENUE, ErrorKind.MALFORMED, f"book {side}: expected a list")
    out: list[Update] = []
    for entry in raw:
        if type(entry) is not dict:
            raise VenueError(VENUE, ErrorKind.MALFORMED, f"book {side}: bad level {entry!r:.60}")
        price, price_text = _number(entry.get("price"), side, "price")
        qty, qty_text = _number(entry.get("qty"), side, "qty")
        if not price:
            raise VenueError(VENUE, ErrorKind.MALFORMED, f"{side} price: zero")
        out.append((price, qty, price_text, qty_text))
    return out


class KrakenSync(BookSync):
    """One v2 ``book`` subscription: snapshot, updates, checksum on every message."""

    def __init__(self, symbol: str, quote: str, depth: int = 100, levels: int | None = None):
        # Each level's entry carries its checksum fragment, encoded once when it changes.
        super().__init__(VENUE, symbol, quote, PricedBook(VENUE, quote, depth), levels)
        self.depth = depth
        # Each side's top-ten checksum text, rebuilt only when a diff reaches it.
        self._ask_top = self._bid_top = b""

    def subscribe_messages(self) -> list[str]:
        """Subscribe to the book channel with a snapshot at the chosen depth."""
        params = {"channel": "book", "symbol": [self.symbol], "depth": self.depth, "snapshot": True}
        return [json.dumps({"method": "subscribe", "params": params})]

    def apply_message(self, text: str | bytes, received: float) -> bool:
        """Apply one message and verify its checksum; True when the book changed."""
        msg = decode_json(VENUE, text)
        if not isinstance(msg, dict):
            raise VenueError(VENUE, ErrorKind.MALFORMED, "expected a JSON object")
        if msg.get("success") is False or ("error" in msg and "channel" not in msg):
            raise socket_error(msg)
        if msg.get("channel") != "book":
            return False  # heartbeat, status, subscribe/pong acks
        kind = msg.get("type")
        data = msg.get("data")
        if kind not in ("snapshot", "update") or not isinstance(data, list):
            raise VenueError(VENUE, ErrorKind.MALFORMED, "book: bad type or data")
        changed = False
        for entry in data:
            if not isinstance(entry, dict):
                raise VenueError(VENUE, ErrorKind.MALFORMED, "book: bad data entry")
            if entry.get("symbol") != self.symbol:
                continue
            self._apply(entry, kind == "snapshot")
            changed = True
        if changed:
            self.book.ts = received
        return changed

    def _apply(self, entry: dict[str, object], snapshot: bool) -> None:
        """Apply one data entry (a snapshot or an update) and verify its checksum."""
        bids = _levels(entry.get("bids", []), "bids")
        asks = _levels(entry.get("asks", []), "asks")
        expected = entry.get("checksum")
        if type(expected) is not int:
            raise VenueError(VENUE, ErrorKind.MALFORMED, "book: missing checksum")
        book = self.book
        if snapshot:
            book.clear()
            self.synced = True
        elif not self.synced:
            raise VenueError(VENUE, ErrorKind.SEQUENCE_GAP, "book update before the snapshot")
        # Each level's entry carries its checksum fragment, encoded once per change.
        book.touched_bid = book.touched_ask = KRAKEN_LEVELS
        for price, qty, price_text, qty_text in bids:
            frag = kraken_fragment(price_text, qty_text) if qty else ""
            book.put_bid(price, qty, price_text, qty_text, frag)
        for price, qty, price_text, qty_text in asks:
            frag = kraken_fragment(price_text, qty_text) if qty else ""
            book.put_ask(price, qty, price_text, qty_text, frag)
        book.truncate()
        # Most diffs land below the ten checksummed levels: that side's text still holds.
        if snapshot or book.touched_ask < KRAKEN_LEVELS:
            self._ask_top = _top_text(book.asks)
        if snapshot or book.touched_bid < KRAKEN_LEVELS:
            self._bid_top = _top_text(book.bids)
        local = zlib.crc32(self._bid_top, zlib.crc32(self._ask_top))
        if local != expected:
            self.synced = False
            raise checksum_mismatch(VENUE, self.symbol, local, "Kraken", expected)


def _top_text(side: SortedDict[Decimal, Entry]) -> bytes:
    """The checksum text of one side's best ten levels, from their cached fragments."""
    return "".join([side[key][3] for key in islice(side, KRAKEN_LEVELS)]).encode("ascii", "replace")
