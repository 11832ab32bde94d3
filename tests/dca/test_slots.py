"""A standing plan's calendar: every slot falls on its local weekday and time, in order,
whatever the zone, the start and the clock changes in between."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from dca.slots import At, Every, Standing, Unit, local_zone_name, parse_at, parse_every

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
