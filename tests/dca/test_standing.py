"""A standing plan: 100 USD every Monday at 09:00 Paris time, across the spring clock change
and a laptop asleep for a week, until a date or a budget."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from dca.events import Event, RunFinished, SkipReason, TrancheFilled, TrancheSkipped
from dca.executor import ResumeState
from dca.journal import MemoryJournal
from dca.plan import Plan, PlanInvalid, StandingInput, build_plan
from dca.session import RunSession
from dca.status import RunStatus
from exchanges.clock import SimClock
from exchanges.simulated import SimulatedMarket
from exchanges.venues import DEFAULT_SPECS

D = Decimal
PARIS = ZoneInfo("Europe/Paris")
# Friday 2026-03-20 12:00 UTC; Paris moves to summer time on Sunday 29 March.
FRIDAY = datetime(2026, 3, 20, 12, 0, tzinfo=UTC).timestamp()


def weekly(**kw: str) -> StandingInput:
    fields = {"every": "1w", "at": "mon 09:00", "tz": "Europe/Paris"} | kw
    return StandingInput(now=FRIDAY, **fields)


def plan(spend: str = "100", **kw: str) -> Plan:
    return build_plan(spend=spend, venues=["kraken"], specs=DEFAULT_SPECS, schedule=weekly(**kw))


class SleepingClock(SimClock):
    """Virtual time in which the machine goes to sleep once: the first sleep that reaches
    ``at`` wakes up ``for_s`` seconds later (as a laptop's clock jumps when its lid opens)."""

    def __init__(self, start: float, at: float, for_s: float) -> None:
        super().__init__(start)
        self.at, self.for_s, self.slept = at, for_s, False

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        if not self.slept and self.now() >= self.at:
            self.slept = True
            self.advance(self.for_s)


def local(t: float) -> str:
    return datetime.fromtimestamp(t, PARIS).strftime("%a %m-%d %H:%M %Z")


async def execute(
    p: Plan, clock: SimClock, resume: ResumeState | None = None
) -> tuple[RunSession, list[Event]]:
    journal = MemoryJournal()
    session = RunSession(
        p, SimulatedMarket(clock), clock, history=journal, run_id="s1", resume=resume
    )
    await session.run()
    return session, journal.events


async def test_a_weekly_buy_stays_at_nine_paris_time_across_the_clock_change() -> None:
    session, events = await execute(plan(until="2026-04-13"), SimClock(FRIDAY))
    fills = [e for e in events if isinstance(e, TrancheFilled)]
    # Four Mondays up to the 13th (inclusive), each at 09:00 local: 08:00 UTC in winter
    # time, 07:00 UTC once Paris is on summer time.
    assert [local(f.scheduled) for f in fills] == [
        "Mon 03-23 09:00 CET",
        "Mon 03-30 09:00 CEST",
        "Mon 04-06 09:00 CEST",
        "Mon 04-13 09:00 CEST",
    ]
    assert [datetime.fromtimestamp(f.at, UTC).hour for f in fills] == [8, 7, 7, 7]
    assert [f.index for f in fills] == [0, 1, 2, 3] and {f.of for f in fills} == {0}
    # Each buy spent its 100 USD (plus the change before it) and the run ended on its date.
    assert all(D("99.99") < f.route.total <= f.spend for f in fills if f.spend)
    assert session.state is RunStatus.FINISHED
    assert isinstance(events[-1], RunFinished) and events[-1].summary.filled == 4


@pytest.mark.parametrize(
    ("missed", "skipped_index", "bought"),
    [
        # Asleep from Monday 30 March 09:00 to Tuesday 7 April 11:00: two Mondays missed.
        ("skip", 2, ["Mon 03-23 09:00 CET", "Mon 04-13 09:00 CEST"]),
        ("once", 1, ["Mon 03-23 09:00 CET", "Tue 04-07 11:00 CEST", "Mon 04-13 09:00 CEST"]),
    ],
)
async def test_a_machine_asleep_past_two_buys_follows_the_missed_policy(
    missed: str, skipped_index: int, bought: list[str]
) -> None:
    monday = datetime(2026, 3, 30, 9, 0, tzinfo=PARIS).timestamp()
    clock = SleepingClock(FRIDAY, at=monday, for_s=8 * 86400 + 2 * 3600)
    session, events = await execute(plan(until="2026-04-19", missed=missed), clock)
    fills = [e for e in events if isinstance(e, TrancheFilled)]
    skips = [e for e in events if isinstance(e, TrancheSkipped)]
    assert [local(f.at) for f in fills] == bought
    # The missed Mondays are one skipped tranche that names them; no slot is recorded twice.
    assert [(s.index, s.reason) for s in skips] == [(skipped_index, SkipReason.MISSED)]
    if missed == "skip":
        assert "2 slots from Mon 2026-03-30 09:00 CEST to Mon 2026-04-06 09:00" in skips[0].detail
        assert "next buy Mon 2026-04-13 09:00 CEST" in skips[0].detail
        assert skips[0].spend == D("200") and skips[0].spend_carried == 0
    else:
        assert "buying the latest now (--missed once)" in skips[0].detail
        assert fills[1].index == 2 and local(fills[1].scheduled) == "Mon 04-06 09:00 CEST"
    indexes = [e.index for e in fills + skips]
    assert len(indexes) == len(set(indexes))
    assert session.state is RunStatus.FINISHED


async def test_a_budget_ends_the_plan_when_spent_to_the_cent() -> None:
    session, events = await execute(plan(spend="100", budget="250"), SimClock(FRIDAY))
    fills = [e for e in events if isinstance(e, TrancheFilled)]
    # 100, 100 (with the change of the first), then only what is left: about 50.
    assert len(fills) == 3 and fills[2].spend is not None and fills[2].spend < D("50.01")
    s = session.summary
    assert s.total <= D("250") and s.total.quantize(D("0.01")) == D("250.00")
    assert s.left is not None and 0 <= s.left < D("0.01")
    assert session.state is RunStatus.FINISHED and s.budget == D("250") and s.target == 0


async def test_a_resumed_plan_goes_on_from_its_next_slot_and_skips_the_ones_it_missed() -> None:
    p = plan(until="2026-04-30")
    # Stopped after the first Monday; started again on Wednesday 8 April at noon.
    wednesday = datetime(2026, 4, 8, 12, 0, tzinfo=PARIS).timestamp()
    state = ResumeState("s1", FRIDAY, {0: D("0.001")})
    _, events = await execute(p, SimClock(wednesday), state)
    skips = [e for e in events if isinstance(e, TrancheSkipped)]
    fills = [e for e in events if isinstance(e, TrancheFilled)]
    assert [(s.index, s.reason) for s in skips] == [(2, SkipReason.MISSED)]
    assert [(f.index, local(f.at)) for f in fills] == [
        (3, "Mon 04-13 09:00 CEST"),
        (4, "Mon 04-20 09:00 CEST"),
        (5, "Mon 04-27 09:00 CEST"),
    ]


async def test_an_hourly_plan_steps_in_elapsed_time_and_a_cancel_ends_it() -> None:
    p = build_plan(
        amount="0.001",
        venues=["kraken"],
        specs=DEFAULT_SPECS,
        schedule=StandingInput(every="6h", tz="Europe/Paris", now=FRIDAY),
    )
    clock = SimClock(FRIDAY)
    journal = MemoryJournal()

    async def cancel_after_three(event: object) -> None:
        if isinstance(event, TrancheFilled) and event.index == 2:
            session.cancel()

    class Watch:
        record = staticmethod(cancel_after_three)

    session = RunSession(
        p, SimulatedMarket(clock), clock, history=journal, views=[Watch()], run_id="h"
    )
    await session.run()
    fills = [e for e in journal.events if isinstance(e, TrancheFilled)]
    assert [f.scheduled - FRIDAY for f in fills] == [0, 6 * 3600, 12 * 3600]
    assert all(f.qty == D("0.001") for f in fills)
    assert session.state is RunStatus.CANCELLED and session.summary.target == 0


@pytest.mark.parametrize(
    ("kw", "field", "words"),
    [
        ({"every": "0.5s"}, "every", "shorter than a second"),
        ({"every": "fortnightly"}, "every", "not a period"),
        ({"tz": "Mars/Olympus"}, "tz", "not a known time zone"),
        ({"until": "2026-03-01"}, "until", "in the past"),
        ({"until": "next year"}, "until", "not a date"),
        ({"at": "noonish"}, "at", "not a time"),
        ({"at": "mon 25:00"}, "at", "no such time"),
        ({"every": "1d", "at": "mon 09:00"}, "at", "needs --every in weeks"),
        ({"every": "1h", "at": "09:00"}, "at", "only with --every in days"),
        ({"until": "2026-12-31", "budget": "500"}, "until", "not both"),
        ({"until": "2026-12-31", "budget": "500"}, "budget", "not both"),
        ({"missed": "always"}, "missed", "not one of skip, once"),
        ({"budget": "-5"}, "budget", "more than 0"),
    ],
)
def test_bad_standing_input_names_its_field(kw: dict[str, str], field: str, words: str) -> None:
    with pytest.raises(PlanInvalid) as info:
        plan(**kw)
    assert words in info.value.by_field()[field]


@pytest.mark.parametrize(
    ("kw", "field"), [({"duration": "7d"}, "duration"), ({"tranches": "4"}, "tranches")]
)
def test_every_with_a_window_is_refused(kw: dict[str, str], field: str) -> None:
    with pytest.raises(PlanInvalid) as info:
        build_plan(spend="100", specs=DEFAULT_SPECS, schedule=weekly(), **kw)  # type: ignore[arg-type]
    assert "a standing plan runs until" in info.value.by_field()[field]


def test_a_budget_needs_money_per_buy_and_calendar_fields_need_every() -> None:
    with pytest.raises(PlanInvalid) as info:
        build_plan(amount="0.001", specs=DEFAULT_SPECS, schedule=weekly(budget="500"))
    assert "needs --spend" in info.value.by_field()["budget"]
    with pytest.raises(PlanInvalid) as info:
        build_plan(
            amount="0.001",
            duration="1d",
            specs=DEFAULT_SPECS,
            schedule=StandingInput(at="09:00", tz="UTC"),
        )
    assert info.value.by_field() == {
        "at": "only with --every (a standing plan)",
        "tz": "only with --every (a standing plan)",
    }
