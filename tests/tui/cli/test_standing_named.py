"""A standing plan as a named plan: ``[plans.monday]`` with ``every``, ``at``, ``tz``,
``budget``..., run by name, its fields overridden by flags, and read strictly."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from dca.plan import Plan
from dca.slots import Missed
from storage.config import ConfigError, load_config
from tui.cli.options import named, plan_from_args
from tui.cli.parser import build_parser
from tui.wiring import Options

MONDAY = """
[plans.monday]
spend = "100"
every = "1w"
at = "mon 09:00"
tz = "Europe/Paris"
budget = "500"
missed = "once"
venues = ["kraken", "okx"]
"""


def plan_of(text: str, *argv: str) -> Plan:
    path = Path(os.environ["BTC_DCA_CONFIG"])
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    ns = build_parser().parse_args(["run", *argv])
    return plan_from_args(
        ns, Options(), config.specs, duration=ns.duration, preset=named(ns, config)
    )


def test_a_named_standing_plan_builds_its_calendar() -> None:
    p = plan_of(MONDAY, "--plan", "monday")
    st = p.standing
    assert st is not None and p.spend == Decimal(100) and p.venues == ("kraken", "okx")
    assert (st.every.text, st.at.text if st.at else None, st.tz) == (
        "1w",
        "mon 09:00",
        "Europe/Paris",
    )
    assert st.budget == Decimal(500) and st.missed is Missed.ONCE


def test_flags_override_the_calendar_and_a_window_replaces_it() -> None:
    p = plan_of(MONDAY, "--plan", "monday", "--at", "fri 18:00", "--missed", "skip")
    assert p.standing is not None and p.standing.at is not None
    assert (p.standing.at.text, p.standing.missed) == ("fri 18:00", Missed.SKIP)
    window = plan_of(MONDAY, "--plan", "monday", "--duration", "1h", "--tranches", "2")
    assert window.standing is None and window.tranches == 2 and window.spend == Decimal(100)


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ('every = "1w"\nduration = "7d"', "plans.x.duration: not with every"),
        ('at = "09:00"', "plans.x.at: only with every"),
        ('every = "1w"\ntz = "Mars/Olympus"', "plans.x.tz: 'Mars/Olympus' is not a known"),
        ('every = "0.5s"', "plans.x.every: '0.5s' is shorter than a second"),
        ('every = "1d"\nat = "mon 09:00"', "plans.x.at: a weekday (mon) needs --every in weeks"),
        ('every = "1w"\nuntil = "2027-01-01"\nbudget = "5"', "give one of them, not both"),
        ('every = "1w"\nmissed = "twice"', "plans.x.missed: 'twice' is not one of skip, once"),
        ('every = "1w"\nuntil = "soon"', "plans.x.until: 'soon' is not a date"),
    ],
)
def test_a_bad_standing_field_in_a_named_plan_is_named(table: str, words: str) -> None:
    path = Path(os.environ["BTC_DCA_CONFIG"])
    path.write_text(f'[plans.x]\nspend = "100"\n{table}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert words in str(info.value)


def test_the_forms_plan_selector_lists_only_plans_over_a_window() -> None:
    from tui.launch import unlisted_plans, window_plans

    path = Path(os.environ["BTC_DCA_CONFIG"])
    path.write_text(MONDAY + '[plans.week]\nspend = "700"\nduration = "7d"\n', encoding="utf-8")
    config = load_config(path)
    assert sorted(config.plans) == ["monday", "week"]
    assert list(window_plans(config)) == ["week"]
    assert unlisted_plans(config) == ("monday",)  # the save dialog still knows its name
