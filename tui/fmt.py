"""Display formatting: the one place where money is rounded, and only for showing it."""

from __future__ import annotations

import time
from decimal import ROUND_HALF_EVEN, Decimal

_CENT = Decimal("0.01")
_SAT = Decimal("0.00000001")


def money(value: Decimal | None, places: int = 2) -> str:
    """``91234.5678`` → ``91,234.57`` (banker's rounding); ``-`` for None."""
    if value is None:
        return "-"
    q = Decimal(1).scaleb(-places)
    return f"{value.quantize(q, rounding=ROUND_HALF_EVEN):,}"


def btc(value: Decimal | None) -> str:
    """A BTC amount to the satoshi, trailing zeros trimmed but at least 2 decimals."""
    if value is None:
        return "-"
    text = f"{value.quantize(_SAT, rounding=ROUND_HALF_EVEN):f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def exact(value: Decimal | None) -> str | None:
    """Money for JSON: the exact decimal string, no exponent; None stays None."""
    if value is None:
        return None
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def bps(value: Decimal | None) -> str:
    """Basis points with one decimal."""
    return "-" if value is None else f"{value.quantize(Decimal('0.1'))} bps"


def pct(rate: Decimal) -> str:
    """A fee rate as a percentage: ``0.0040`` → ``0.40%``."""
    return f"{(rate * 100).quantize(_CENT)}%"


def clock_time(epoch: float, with_date: bool = False) -> str:
    """UTC time of day (with the date when asked)."""
    fmt = "%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S"
    return time.strftime(fmt, time.gmtime(epoch))


def iso(epoch: float) -> str:
    """ISO 8601 UTC with milliseconds, for JSON."""
    ms = round((epoch - int(epoch)) * 1000)
    if ms == 1000:
        epoch, ms = int(epoch) + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(epoch))) + f".{ms:03d}Z"
