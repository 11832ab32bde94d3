"""Dashboard-only display helpers that ``tui.fmt`` does not cover: ages, countdowns, signed bps."""

from __future__ import annotations

from decimal import Decimal

DASH = "—"


def bps_short(value: Decimal | None) -> str:
    """Basis points, compact for narrow panels: ``0.4bp``."""
    return DASH if value is None else f"{value:.1f}bp"


def signed_bps_short(value: Decimal | None) -> str:
    """A signed gap in basis points, compact: ``+8.0bp``."""
    return DASH if value is None else f"{value:+.1f}bp"


def age(seconds: float | None) -> str:
    """How old a book is, coarse on purpose so it does not redraw every tick: ``<1s``, ``12s``."""
    if seconds is None:
        return DASH
    if seconds < 1:
        return "<1s"
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}m"


def countdown(seconds: float) -> str:
    """A countdown: ``0:42``, ``12:05``, ``3:04:10``."""
    s = max(0, round(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
