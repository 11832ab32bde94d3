"""A standing plan's calendar: when each of its buys (slots) falls, in a time zone.

``run --every 1w --at "mon 09:00" --tz Europe/Paris`` buys at 09:00 Paris time every
Monday, before and after the change to or from summer time: days, weeks and months
step on the local calendar and are turned into instants through ``zoneinfo``. Seconds,
minutes and hours step in elapsed time (``--every 6h`` is six hours apart across a
change of clock, as a timer would be).

Slot ``k`` of a plan started at ``origin`` is ``Standing.slot(origin, k)``: a pure
function of the two, so a resumed plan finds the same slots again from its stored
origin. The first slot is the first time matching ``--at`` at or after the start, or
the start itself when there is no ``--at``.

Local times the clock skips (02:30 on the night it springs forward) fall at the
same distance after the change (03:30); local times that happen twice (the night it
falls back) are taken the first time.
"""

from __future__ import annotations

import calendar
import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The shortest period a standing plan may have, seconds.
MIN_EVERY_S = 1.0
# A month's length where one number is needed (the grace for a late slot, displays).
MONTH_S = 30.436875 * 86400
# A slot the run reaches later than this share of the period is missed (the machine
# slept, or the run was stopped or paused past it): ``Missed`` says what then happens.
GRACE_SHARE = 0.1


class Unit(StrEnum):
    """What ``--every`` counts in."""

    SECONDS = "s"
    MINUTES = "m"
    HOURS = "h"
    DAYS = "d"
    WEEKS = "w"
    MONTHS = "mo"


_UNIT_WORDS = {
    "s": Unit.SECONDS,
    "sec": Unit.SECONDS,
    "second": Unit.SECONDS,
    "m": Unit.MINUTES,
    "min": Unit.MINUTES,
    "minute": Unit.MINUTES,
    "h": Unit.HOURS,
    "hour": Unit.HOURS,
    "d": Unit.DAYS,
    "day": Unit.DAYS,
    "w": Unit.WEEKS,
    "week": Unit.WEEKS,
    "mo": Unit.MONTHS,
    "month": Unit.MONTHS,
}
_FIXED_S = {Unit.SECONDS: 1, Unit.MINUTES: 60, Unit.HOURS: 3600}
_EVERY = re.compile(r"^\s*(\d+(?:\.\d+)?)?\s*([a-z]+?)s?\s*$", re.IGNORECASE)
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_AT = re.compile(r"^\s*(?:([a-z]+|\d{1,2})\s+)?(\d{1,2}):(\d{2})\s*$", re.IGNORECASE)


class Missed(StrEnum):
    """What a standing plan does with slots it reached too late (``--missed``).

    ``skip`` (the default): they are recorded as skipped (reason ``missed``), and the
    plan buys again at its next slot. ``once``: the latest of them is bought now, one
    catch-up buy of one slot's size, and the earlier ones are skipped.
    """

    SKIP = "skip"
    ONCE = "once"


class SlotError(ValueError):
    """A calendar field that does not parse; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Every:
    """A period: ``count`` of ``unit`` (whole for days, weeks and months)."""

    count: Decimal
    unit: Unit

    @property
    def text(self) -> str:
        """As typed back: ``1w``, ``2s``, ``3mo``."""
        return f"{self.count.normalize():f}{self.unit.value}"

    @property
    def nominal_s(self) -> float:
        """Its length in seconds (a month counts 30.44 days, a day 24 h)."""
        n = float(self.count)
        if self.unit in _FIXED_S:
            return n * _FIXED_S[self.unit]
        if self.unit is Unit.MONTHS:
            return n * MONTH_S
        return n * 86400 * (7 if self.unit is Unit.WEEKS else 1)

    @property
    def on_calendar(self) -> bool:
        """Whether it steps on the local calendar (days, weeks, months)."""
        return self.unit not in _FIXED_S

    def words(self) -> str:
        """``every week``, ``every 2 days``, ``every 2s``."""
        names = {Unit.DAYS: "day", Unit.WEEKS: "week", Unit.MONTHS: "month"}
        if self.unit not in names:
            return f"every {self.text}"
        n = int(self.count)
        return f"every {names[self.unit]}" if n == 1 else f"every {n} {names[self.unit]}s"


@dataclass(frozen=True, slots=True)
class At:
    """A local time of day, on a weekday (weeks) or a day of the month (months) if given."""

    hour: int
    minute: int
    weekday: int | None = None  # 0 = Monday
    monthday: int | None = None  # 1..31 (the last day of a shorter month)

    @property
    def text(self) -> str:
        """As typed back: ``mon 09:00``, ``15 09:00``, ``09:00``."""
        hm = f"{self.hour:02d}:{self.minute:02d}"
        if self.weekday is not None:
            return f"{_WEEKDAYS[self.weekday]} {hm}"
        if self.monthday is not None:
            return f"{self.monthday} {hm}"
        return hm


def parse_every(text: str) -> Every:
    """``2s``, ``30m``, ``6h``, ``1d``, ``1w``, ``1mo`` (also ``2 weeks``, ``month``).

    SlotError naming ``every`` when it does not parse, is shorter than a second, or
    counts days, weeks or months in fractions.
    """
    match = _EVERY.match(text or "")
    unit = _UNIT_WORDS.get(match.group(2).lower()) if match else None
    if match is None or unit is None:
        raise SlotError(
            "every", f"{text!r} is not a period like 2s, 30m, 6h, 1d, 1w or 1mo (months)"
        )
    try:
        count = Decimal(match.group(1) or "1")
    except InvalidOperation:  # pragma: no cover - the pattern admits digits only
        raise SlotError("every", f"{text!r} is not a period") from None
    every = Every(count, unit)
    if every.nominal_s < MIN_EVERY_S:
        raise SlotError("every", f"{text!r} is shorter than a second; at least 1s")
    if every.on_calendar and count != count.to_integral_value():
        raise SlotError("every", f"{text!r}: days, weeks and months are counted whole")
    if every.nominal_s > 366 * 86400:
        raise SlotError("every", f"{text!r} is longer than a year")
    return every


def parse_at(text: str, every: Every) -> At:
    """``09:00``, ``mon 09:00`` (weeks), ``15 09:00`` (months); SlotError naming ``at``."""
    match = _AT.match(text or "")
    if match is None:
        raise SlotError("at", f"{text!r} is not a time like 09:00, mon 09:00 or 15 09:00")
    day, hour, minute = match.group(1), int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise SlotError("at", f"{text!r}: no such time of day")
    if not every.on_calendar:
        raise SlotError("at", "only with --every in days, weeks or months (e.g. --every 1d)")
    if day is None:
        return At(hour, minute)
    if day.isdigit():
        if every.unit is not Unit.MONTHS:
            raise SlotError("at", f"a day of the month ({day}) needs --every in months")
        if not 1 <= int(day) <= 31:
            raise SlotError("at", f"{day} is not a day of the month (1 to 31)")
        return At(hour, minute, monthday=int(day))
    key = day.lower()
    names = [i for i in range(7) if key in (_WEEKDAYS[i], _DAY_NAMES[i])]
    if not names:
        raise SlotError("at", f"{day!r} is not a weekday (mon, tue, wed, thu, fri, sat, sun)")
    if every.unit is not Unit.WEEKS:
        raise SlotError("at", f"a weekday ({day}) needs --every in weeks")
    return At(hour, minute, weekday=names[0])


def zone(name: str) -> ZoneInfo:
    """The time zone ``name`` (``Europe/Paris``, ``UTC``); SlotError naming ``tz`` if unknown."""
    try:
        if not name or name != name.strip() or name.startswith(("/", ".")):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise SlotError(
            "tz", f"{name!r} is not a known time zone (like Europe/Paris, America/New_York, UTC)"
        ) from None


def local_zone_name(env: dict[str, str] | None = None) -> str:
    """This machine's time zone by name: ``TZ``, else /etc/localtime's link, else UTC."""
    environ = os.environ if env is None else env
    tz = environ.get("TZ", "").lstrip(":")
    candidates = [tz] if tz else []
    try:
        link = Path("/etc/localtime").resolve()
        if "zoneinfo" in link.parts:
            candidates.append("/".join(link.parts[link.parts.index("zoneinfo") + 1 :]))
    except OSError:  # pragma: no cover - no /etc/localtime
        pass
    for name in candidates:
        try:
            zone(name)
        except SlotError:
            continue
        return name
    return "UTC"


def parse_until(text: str, tz: str, now: float) -> float:
    """``2027-06-30`` (through the end of that day in ``tz``) or ``2027-06-30 12:00`` (local
    unless it gives an offset) as epoch seconds, inclusive; SlotError naming ``until`` when it
    does not parse or is not after ``now``."""
    raw = (text or "").strip()
    zi = zone(tz)
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            end = datetime.combine(day, datetime.max.time().replace(microsecond=0), zi)
        else:
            end = datetime.fromisoformat(raw.replace(" ", "T", 1))
            end = end if end.tzinfo is not None else end.replace(tzinfo=zi)
    except ValueError:
        raise SlotError(
            "until", f"{text!r} is not a date like 2027-06-30 or 2027-06-30 12:00"
        ) from None
    at = end.timestamp()
    if at <= now:
        raise SlotError("until", f"{raw} is in the past")
    return at


def _add_months(d: date, months: int, day: int) -> date:
    """The date ``months`` after ``d``'s month, on ``day`` (the month's last if shorter)."""
    total = d.year * 12 + d.month - 1 + months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day, last))


def _instant(d: date, hour: int, minute: int, second: int, micro: int, zi: ZoneInfo) -> float:
    """Epoch seconds of a local wall time (skipped times move on; repeated ones: the first)."""
    return datetime(d.year, d.month, d.day, hour, minute, second, micro, tzinfo=zi).timestamp()


@dataclass(frozen=True, slots=True)
class Standing:
    """A plan with no fixed end: a buy every ``every`` (at ``at`` in ``tz``) until ``until``
    (epoch seconds, inclusive), until ``budget`` (quote currency, fees in) is spent, or until
    it is cancelled; slots reached too late follow ``missed``."""

    every: Every
    tz: str
    at: At | None = None
    until: float | None = None
    budget: Decimal | None = None
    missed: Missed = Missed.SKIP

    @property
    def period_s(self) -> float:
        """The period in seconds (nominal for months)."""
        return self.every.nominal_s

    def grace_s(self, speed: float = float("inf")) -> float:
        """How late a slot may be bought and still count as on time, clock seconds: a tenth of
        the period, and at least half a real second at the clock's ``speed``."""
        real = 0.5 * speed if speed != float("inf") else 0.0
        return max(self.period_s * GRACE_SHARE, real)

    def _anchor(self, origin: float) -> datetime:
        """The first slot as a local time: the first ``at`` at or after ``origin``, or it."""
        zi = zone(self.tz)
        start = datetime.fromtimestamp(origin, zi)
        at = self.at
        if at is None:
            return start
        day = start.date()
        if at.weekday is not None:
            day += timedelta(days=(at.weekday - day.weekday()) % 7)
        elif at.monthday is not None:
            day = _add_months(day, 0, at.monthday)
            if day < start.date():
                day = _add_months(day, 1, at.monthday)
        step = 7 if at.weekday is not None else 1
        while True:
            if at.monthday is not None:
                candidate = _instant(day, at.hour, at.minute, 0, 0, zi)
                if candidate >= origin:
                    return datetime.fromtimestamp(candidate, zi)
                day = _add_months(day, 1, at.monthday)
                continue
            candidate = _instant(day, at.hour, at.minute, 0, 0, zi)
            if candidate >= origin:
                return datetime.fromtimestamp(candidate, zi)
            day += timedelta(days=step)

    def slot(self, origin: float, k: int) -> float:
        """Epoch seconds of slot ``k`` (from 0) of a plan started at ``origin``."""
        every = self.every
        if not every.on_calendar:
            return origin + k * every.nominal_s
        zi = zone(self.tz)
        first = self._anchor(origin)
        n = int(every.count) * k
        if every.unit is Unit.MONTHS:
            day = self.at.monthday if self.at and self.at.monthday else first.day
            d = _add_months(first.date(), n, day)
        else:
            d = first.date() + timedelta(days=n * (7 if every.unit is Unit.WEEKS else 1))
        return _instant(d, first.hour, first.minute, first.second, first.microsecond, zi)

    def due(self, origin: float, k: int, now: float) -> int:
        """The last slot at or before ``now``, from ``k`` on (``k - 1`` if ``k`` is still ahead)."""
        if self.slot(origin, k) > now:
            return k - 1
        if not self.every.on_calendar:
            # Fixed steps: straight to it, however long the jump.
            return max(k, int((now - origin) // self.every.nominal_s))
        # Calendar steps: jump by the nominal period, then walk the last few.
        guess = max(k, int((now - origin) // self.every.nominal_s) - 2)
        while guess > k and self.slot(origin, guess) > now:
            guess -= 1
        while self.slot(origin, guess + 1) <= now:
            guess += 1
        return guess

    def ended(self, t: float) -> bool:
        """Whether a slot at ``t`` falls after ``until``."""
        return self.until is not None and t > self.until

    def local(self, t: float) -> datetime:
        """``t`` as a local time in the plan's zone."""
        return datetime.fromtimestamp(t, zone(self.tz))

    def when(self, t: float) -> str:
        """A slot for people: ``Mon 2026-03-30 09:00 CEST``."""
        return self.local(t).strftime("%a %Y-%m-%d %H:%M %Z")

    def describe(self, quote: str = "") -> str:
        """``every week at mon 09:00 (Europe/Paris), until 2027-06-30 23:59 CEST, missed
        slots: skip`` (a budget in ``quote``)."""
        parts = [self.every.words()]
        if self.at is not None:
            parts.append(f"at {self.at.text}")
        parts.append(f"({self.tz})")
        text = " ".join(parts)
        if self.until is not None:
            text += f", until {self.local(self.until).strftime('%Y-%m-%d %H:%M %Z')}"
        if self.budget is not None:
            text += f", until {self.budget:,.2f}{f' {quote}' if quote else ''} is spent"
        return f"{text}, missed slots: {self.missed.value}"
