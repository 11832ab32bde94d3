"""Reading venue answers: JSON decoding and HTTP statuses as typed errors.

Shared by every venue module so that a 451 or a truncated body reads the same
whichever venue sent it; what only one venue says (Binance's "try binanceus") is in
that venue's module.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import msgspec

from exchanges.errors import ErrorKind, VenueError

# msgspec hands every JSON number with a fraction or exponent to Decimal as its exact
# text (trailing zeros kept, as Kraken's checksum needs) and decodes about four times
# faster than ``json.loads(parse_float=Decimal)``: decoding is most of a diff's cost.
_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def decode_json(venue: str, body: bytes | str) -> object:
    """Parse JSON with every number kept exact (floats as Decimal); MALFORMED on bad input."""
    try:
        return _DECODER.decode(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        snippet = body[:60] if isinstance(body, str) else body[:60].decode("utf-8", "replace")
        raise VenueError(
            venue, ErrorKind.MALFORMED, f"malformed JSON ({exc.__class__.__name__}): {snippet!r}"
        ) from None


def try_json(body: bytes) -> object | None:
    """The decoded body, or None when it is not JSON (a proxy's error page, a cut answer)."""
    try:
        payload: object = _DECODER.decode(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return payload


def decode_answer(venue: str, status: int, headers: Mapping[str, str], body: bytes) -> object:
    """An HTTP answer's JSON; a body that is not JSON under an error status is that status's error.

    For venues whose error payloads say more than the status (OKX, Coinbase).
    """
    payload = try_json(body)
    if payload is None:
        if status != 200:
            raise status_error(venue, status, headers)
        decode_json(venue, body)  # raises MALFORMED, saying why
    return payload


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds form), if present and sane."""
    value = headers.get("Retry-After") or headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def status_error(
    venue: str, status: int, headers: Mapping[str, str], detail: str = ""
) -> VenueError:
    """The typed error for a non-2xx HTTP status; ``detail`` is the venue's own message."""
    suffix = f": {detail}" if detail else ""
    if status == 429:
        wait = retry_after(headers)
        when = f", retry after {wait:g}s" if wait is not None else ""
        return VenueError(
            venue,
            ErrorKind.RATE_LIMITED,
            f"HTTP 429: rate limited{when}{suffix}",
            status=status,
            retry_after=wait,
        )
    if status == 418:
        wait = retry_after(headers)
        return VenueError(
            venue,
            ErrorKind.BANNED,
            f"HTTP 418: IP banned for rate-limit abuse{suffix}",
            status=status,
            retry_after=wait,
        )
    if status == 451:
        return VenueError(
            venue, ErrorKind.RESTRICTED, f"HTTP 451: restricted location{suffix}", status=status
        )
    if status == 403:
        return VenueError(
            venue,
            ErrorKind.FORBIDDEN,
            f"HTTP 403: forbidden by the venue's firewall{suffix}",
            status=status,
        )
    kind = ErrorKind.HTTP
    return VenueError(venue, kind, f"HTTP {status}{suffix}", status=status)


def json_message(payload: object, *keys: str) -> str:
    """The first string value among ``keys`` of a JSON object (a venue's error message)."""
    if isinstance(payload, dict):
        for key in keys:
            value = payload.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                return str(value)
    return ""


def refusal(venue: str, label: str, text: str, *, unknown_pair: bool) -> VenueError:
    """A venue refusing a socket request: the pair is not listed, or the venue's own error."""
    kind = ErrorKind.UNSUPPORTED_PAIR if unknown_pair else ErrorKind.EXCHANGE
    return VenueError(venue, kind, f"{label}: {text:.160}")


def checksum_mismatch(venue: str, symbol: str, local: int, label: str, sent: int) -> VenueError:
    """The local book disagrees with the checksum the venue sent: resubscribe."""
    return VenueError(
        venue,
        ErrorKind.CHECKSUM,
        f"{symbol} book checksum mismatch (local {local}, {label} {sent})",
    )
