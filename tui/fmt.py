"""How numbers and times read, for the command line and the dashboard alike.

The one place where money is rounded, and only for showing it; also the compact
forms the venue panels and status lines use (ages, countdowns, signed bps).
"""

from __future__ import annotations

import contextlib
import time
from decimal import ROUND_HALF_EVEN, Decimal

_CENT = Decimal("0.01")
_SAT = Decimal("0.00000001")
# The quanta ``money`` rounds to, made once (a backtest prints tens of thousands of lines).
_PLACES = {n: Decimal(1).scaleb(-n) for n in range(9)}


def money(value: Decimal | None, places: int = 2) -> str:
    """``91234.5678`` → ``91,234.57`` (banker's rounding); ``-`` for None."""
    if value is None:
        return "-"
    q = _PLACES.get(places) or Decimal(1).scaleb(-places)
    return f"{value.quantize(q, rounding=ROUND_HALF_EVEN):,}"


def signed_money(value: Decimal, places: int = 2) -> str:
    """``money`` with its sign always shown; a figure that rounds to zero is ``+0.00``."""
    text = money(value, places)
    return text if text.startswith("-") and text.strip("-0.,") else "+" + text.lstrip("-")


def btc(value: Decimal | None) -> str:
    """A BTC amount to the satoshi, trailing zeros trimmed but at least 2 decimals."""
    if value is None:
        return "-"
    text = f"{value.quantize(_SAT, rounding=ROUND_HALF_EVEN):f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def btc_col(value: Decimal | None) -> str:
    """A BTC amount in a table column: always 8 decimals, so a column lines up and reads alike."""
    if value is None:
        return "-"
    return f"{value.quantize(_SAT, rounding=ROUND_HALF_EVEN):,f}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 tranche``, ``2 tranches``, ``1,000 tranches``."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


# What the history tables' columns mean (printed under them, and in ``history --help``).
LEGEND = (
    "avg price: the books' price per BTC before fees; avg cost: total per BTC, fees in; "
    "saved vs worst: less than each tranche at the dearest venue would have cost; "
    "vs arrival: cost above the best mid when the run began."
)


# What each skip reason (``dca.events.SkipReason``) means, in words.
SKIP_WORDS = {
    "above_max_price": "above the maximum price",
    "no_venue_available": "no venue reachable",
    "insufficient_depth_everywhere": "no book deep enough",
    "missed_while_stopped": "its slot passed while stopped",
    "below_minimum": "below every venue's minimum order",
}


# The same in a few letters, for a table column.
SKIP_SHORT = {
    "above_max_price": "above max",
    "no_venue_available": "no venue",
    "insufficient_depth_everywhere": "too thin",
    "missed_while_stopped": "missed",
    "below_minimum": "below min",
}


def skip_words(reason: object, short: bool = False) -> str:
    """A skip reason for people: ``above_max_price`` → ``above the maximum price``
    (``above max`` when ``short``)."""
    text = str(reason or "")
    return (SKIP_SHORT if short else SKIP_WORDS).get(text, text.replace("_", " "))


def exact(value: Decimal | None) -> str | None:
    """Money for JSON: the exact decimal string, no exponent; None stays None."""
    if value is None:
        return None
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


# Decimal places of the figures ``--json`` derives by a division (README, "JSON output"):
# prices per BTC (average prices, mids, TWAP), amounts measured against them, fee share.
DERIVED_PLACES = 8
_DERIVED = Decimal(1).scaleb(-DERIVED_PLACES)


def derived(value: Decimal | None) -> str | None:
    """A derived figure for JSON (an average price, a share): rounded half-even to
    ``DERIVED_PLACES`` decimals, then as ``exact``; raw money (sums of the wire's figures)
    goes through ``exact`` alone."""
    if value is None:
        return None
    return exact(value.quantize(_DERIVED, rounding=ROUND_HALF_EVEN))


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


def bought_of(
    qty: Decimal,
    target: Decimal,
    total: Decimal,
    budget: Decimal | None,
    quote: str,
    *,
    spent: bool = False,
    tranches: int | None = None,
) -> str:
    """How far a run got, by what it set out to do: ``bought 0.1 of 0.5 BTC`` (an amount;
    `` in 3 tranches`` with ``tranches``, `` for 9,012.34 USD`` with ``spent``), ``bought
    0.01 BTC for 500.00 of 1,000.00 USD`` (a budget), ``bought 0.01 BTC for 900.00 USD`` (a
    standing plan with no end). Nothing bought: ``bought nothing of 0.5 BTC``, ``of
    1,000.00 USD``, ``bought nothing``."""
    many = f" in {plural(tranches, 'tranche')}" if tranches and qty else ""
    if budget is not None:
        if not qty:
            return f"bought nothing of {money(budget)} {quote}"
        return f"bought {btc(qty)} BTC{many} for {money(total)} of {money(budget)} {quote}"
    if not target:
        return (
            f"bought {btc(qty)} BTC{many} for {money(total)} {quote}" if qty else "bought nothing"
        )
    if not qty and (spent or tranches is not None):
        return f"bought nothing of {btc(target)} BTC"
    return f"bought {btc(qty)} of {btc(target)} BTC{many}" + (
        f" for {money(total)} {quote}" if spent else ""
    )


# -- compact forms: panels and status lines ------------------------------------------------

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


# -- standing plans ------------------------------------------------------------------------


def tranche_no(index: int, of: int) -> str:
    """A tranche's number (``index`` from 0): ``3/10``, or ``#3`` for a standing plan's buy."""
    return f"{index + 1}/{of}" if of else f"#{index + 1}"


def done_of(done: int, of: int) -> str:
    """Tranches done: ``3/10``, or ``3`` for a standing plan (no count to reach)."""
    return f"{done}/{of}" if of else str(done)


def local_time(epoch: float, tz: str, now: float | None = None) -> str:
    """A standing plan's buy in its own zone: ``Mon 09:00 CET``; with the date when it is
    more than six days from ``now`` (``Mon 6 Apr 09:00 CEST``). UTC if ``tz`` is unknown."""
    from datetime import UTC, datetime, tzinfo
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    zone: tzinfo = UTC
    # A zone this machine does not know (a newer tzdata wrote it): shown in UTC, named so.
    with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(tz)
    when = datetime.fromtimestamp(epoch, zone)
    far = now is None or abs(epoch - now) > 6 * 86400
    return when.strftime("%a %-d %b %H:%M %Z" if far else "%a %H:%M %Z")


def soon_local(epoch: float, tz: str, now: float) -> str:
    """A standing plan's next buy as briefly as it reads: ``09:22 CET`` within 20 hours of
    ``now``, else as ``local_time`` says it (``Mon 09:00 CET``)."""
    if 0 <= epoch - now < 20 * 3600:
        return local_time(epoch, tz, now).split(" ", 1)[1]
    return local_time(epoch, tz, now)


def wait_left(seconds: float) -> str:
    """Time to wait: a countdown (``0:42``, ``3:04:10``) within a day, else ``2d 21h``."""
    if seconds < 86400:
        return countdown(seconds)
    s = round(seconds)
    return f"{s // 86400}d {s % 86400 // 3600}h"
