"""Diff levels from the wire as validated (price text, size text) pairs.

A local book keeps the wire text of every level (checksums are computed over it),
so diffs are validated as decimals here but handed on as text.
"""

from __future__ import annotations

from decimal import Decimal

from exchanges.errors import ErrorKind, VenueError


def level_texts(raw: object, venue: str, side: str = "levels") -> list[tuple[str, str]]:
    """``[[price, size, ...], ...]`` as text pairs; MALFORMED for anything not a finite amount."""
    if not isinstance(raw, list):
        raise VenueError(venue, ErrorKind.MALFORMED, f"{side}: expected a list")
    out: list[tuple[str, str]] = []
    for entry in raw:
        if not isinstance(entry, list) or len(entry) < 2:
            raise VenueError(venue, ErrorKind.MALFORMED, f"{side}: bad level {entry!r:.60}")
        out.append((_amount(entry[0], venue, side), _amount(entry[1], venue, side)))
    return out


def _amount(value: object, venue: str, side: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | Decimal | int):
        raise VenueError(venue, ErrorKind.MALFORMED, f"{side}: {value!r:.30} is not a number")
    text = str(value)
    try:
        parsed = Decimal(text)
    except ArithmeticError:
        raise VenueError(
            venue, ErrorKind.MALFORMED, f"{side}: {text[:30]!r} is not a number"
        ) from None
    if not parsed.is_finite() or parsed < 0:
        raise VenueError(venue, ErrorKind.MALFORMED, f"{side}: {text[:30]!r} is not an amount")
    return text
