"""Venue failures as data: every way a venue can fail is a ``VenueError`` with a kind."""

from __future__ import annotations

from enum import StrEnum

from exchanges.redact import redact


class ErrorKind(StrEnum):
    """What went wrong, coarse enough to act on (retry, back off, leave out)."""

    TIMEOUT = "timeout"
    DNS = "dns"
    REFUSED = "refused"
    TLS = "tls"
    NETWORK = "network"
    RATE_LIMITED = "rate_limited"
    BANNED = "banned"
    RESTRICTED = "restricted"
    FORBIDDEN = "forbidden"
    HTTP = "http"
    EXCHANGE = "exchange"
    MALFORMED = "malformed"
    EMPTY_BOOK = "empty_book"
    CROSSED_BOOK = "crossed_book"
    SEQUENCE_GAP = "sequence_gap"
    CHECKSUM = "checksum"
    UNSUPPORTED_PAIR = "unsupported_pair"
    NO_RATE = "no_rate"
    STALE = "stale"
    DISABLED = "disabled"
    UNAVAILABLE = "unavailable"
    # Private endpoints (real orders):
    NO_KEYS = "no_keys"  # no API key for the venue (env or keyring)
    BAD_KEY = "bad_key"  # the venue does not know the key, or it lacks the permission
    BAD_SIGNATURE = "bad_signature"  # the venue could not verify the request's signature
    CLOCK_SKEW = "clock_skew"  # the request's timestamp or nonce was outside the venue's window
    FILTER = "filter_failure"  # quantity, price or notional outside the venue's filters
    INSUFFICIENT_BALANCE = "insufficient_balance"
    UNKNOWN_ORDER = "unknown_order"  # the venue has no order with that id
    UNREADABLE = "unreadable"  # an answer that could not be read (the order may exist)
    NOT_OFFERED = "not_offered"  # real orders are not offered on this venue


class VenueError(Exception):
    """A failure of one venue. ``str()`` gives the line shown in its panel and the JSON."""

    def __init__(
        self,
        venue: str,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        # The one place every venue failure's text passes: a URL quoted with its key or
        # password is masked before the panel, the log, the JSON or the history sees it.
        message = redact(message)
        super().__init__(message)
        self.venue = venue
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"VenueError({self.venue!r}, {self.kind.value!r}, {self.message!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VenueError):
            return NotImplemented
        return (self.venue, self.kind, self.message) == (other.venue, other.kind, other.message)

    def __hash__(self) -> int:
        return hash((self.venue, self.kind, self.message))
