"""A standing plan's calendar: every slot falls on its local weekday and time, in order,
whatever the zone, the start and the clock changes in between."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dca.slots import (
    At,
    Every,
    Missed,
    SlotError,
    Standing,
    Unit,
    local_zone_name,
    parse_at,
    parse_every,
    parse_until,
    zone,
)

ZONES = ["Europe/Paris", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]
# 2025-01-01 .. 2030-01-01: several clock changes in every zone that has them.
STARTS = st.floats(min_value=1_735_689_600, max_value=1_893_456_000, allow_nan=False)


def weekly(tz: str, weekday: int, hour: int, minute: int) -> Standing:
    return Standing(Every(Decimal(1), Unit.WEEKS), tz, At(hour, minute, weekday=weekday))


@settings(max_examples=150, deadline=None)
@given(
    tz=st.sampled_from(ZONES),
    weekday=st.integers(0, 6),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45]),
    origin=STARTS,
    k=st.integers(0, 120),
)
def test_weekly_slots_keep_their_local_weekday_and_time(
    tz: str, weekday: int, hour: int, minute: int, origin: float, k: int
) -> None:
    plan = weekly(tz, weekday, hour, minute)
    zi = ZoneInfo(tz)
    first, t, nxt = plan.slot(origin, 0), plan.slot(origin, k), plan.slot(origin, k + 1)
    assert origin <= first < origin + 7 * 86400 + 3600
    assert t < nxt and abs((nxt - t) - 7 * 86400) <= 3600  # a week, give or take a clock change
    local = datetime.fromtimestamp(t, zi)
    assert local.weekday() == weekday
    # The wall time is the one asked for, unless the clock skipped it that night.
    if (local.hour, local.minute) != (hour, minute):
        skipped = datetime(local.year, local.month, local.day, hour, minute, tzinfo=zi)
        assert skipped.astimezone(UTC).astimezone(zi).replace(tzinfo=None) != skipped.replace(
            tzinfo=None
        )


@settings(max_examples=150, deadline=None)
@given(
    every=st.sampled_from(["2s", "90s", "6h", "1d", "3d", "1w", "2w", "1mo", "3mo"]),
    tz=st.sampled_from(ZONES),
    origin=STARTS,
    ahead=st.floats(min_value=0, max_value=3 * 365 * 86400),
)
def test_due_finds_the_last_slot_at_or_before_now(
    every: str, tz: str, origin: float, ahead: float
) -> None:
    plan = Standing(parse_every(every), tz)
    now = origin + ahead
    k = plan.due(origin, 0, now)
    assert plan.slot(origin, k) <= now < plan.slot(origin, k + 1)


def test_months_keep_their_day_or_the_last_day_of_a_shorter_month() -> None:
    plan = Standing(parse_every("1mo"), "Europe/Paris", parse_at("31 09:00", parse_every("1mo")))
    origin = datetime(2026, 1, 10, tzinfo=UTC).timestamp()
    days = [
        datetime.fromtimestamp(plan.slot(origin, k), ZoneInfo("Europe/Paris")) for k in range(4)
    ]
    assert [(d.month, d.day, d.hour) for d in days] == [
        (1, 31, 9),
        (2, 28, 9),
        (3, 31, 9),
        (4, 30, 9),
    ]


def test_the_local_zone_comes_from_tz_then_the_system_then_utc() -> None:
    assert local_zone_name({"TZ": "Asia/Tokyo"}) == "Asia/Tokyo"
    assert local_zone_name({"TZ": ":Europe/Paris"}) == "Europe/Paris"
    assert local_zone_name({"TZ": "Nowhere/Nothing"}) in {"UTC"} | set(ZONES) | {
        local_zone_name({})
    }


@pytest.mark.parametrize(
    ("text", "every"),
    [("2s", "2s"), ("90 sec", "90s"), ("2 weeks", "2w"), ("month", "1mo"), ("6H", "6h")],
)
def test_periods_read_as_typed_and_print_back(text: str, every: str) -> None:
    assert parse_every(text).text == every
    assert parse_every(every) == parse_every(text)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1.5d", "counted whole"),
        ("400d", "longer than a year"),
        ("0s", "shorter than a second"),
        ("3 fortnights", "not a period"),
    ],
)
def test_a_bad_period_says_why(text: str, words: str) -> None:
    with pytest.raises(SlotError) as info:
        parse_every(text)
    assert info.value.field == "every" and words in str(info.value)


@pytest.mark.parametrize(
    ("every", "at", "parsed", "words"),
    [
        ("1w", "Monday 09:00", "mon 09:00", None),
        ("1mo", "31 18:30", "31 18:30", None),
        ("1d", "07:05", "07:05", None),
        ("1mo", "32 09:00", None, "not a day of the month"),
        ("1w", "15 09:00", None, "needs --every in months"),
        ("1w", "someday 09:00", None, "not a weekday"),
        ("1mo", "09:60", None, "no such time"),
    ],
)
def test_at_fits_the_period(every: str, at: str, parsed: str | None, words: str | None) -> None:
    if parsed is not None:
        assert parse_at(at, parse_every(every)).text == parsed
        return
    with pytest.raises(SlotError) as info:
        parse_at(at, parse_every(every))
    assert info.value.field == "at" and words is not None and words in str(info.value)


def test_until_reads_a_day_in_the_zone_or_an_instant() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    end = parse_until("2026-06-30", "Europe/Paris", now)
    assert datetime.fromtimestamp(end, ZoneInfo("Europe/Paris")).strftime("%m-%d %H:%M:%S") == (
        "06-30 23:59:59"
    )
    assert (
        parse_until("2026-06-30 12:00+00:00", "Asia/Tokyo", now)
        == datetime(2026, 6, 30, 12, tzinfo=UTC).timestamp()
    )
    for bad in ("", "../etc/passwd", " UTC"):
        with pytest.raises(SlotError):
            zone(bad)


def test_a_plan_describes_itself_and_its_grace() -> None:
    every = parse_every("1w")
    plan = Standing(
        every, "Europe/Paris", parse_at("mon 09:00", every), budget=Decimal(500), missed=Missed.ONCE
    )
    assert plan.describe("EUR") == (
        "every week at mon 09:00 (Europe/Paris), until 500.00 EUR is spent, missed slots: once"
    )
    assert plan.grace_s() == pytest.approx(7 * 86400 / 10)
    assert Standing(parse_every("2s"), "UTC").grace_s(speed=60) == 30
    assert Standing(parse_every("3d"), "UTC").every.words() == "every 3 days"
