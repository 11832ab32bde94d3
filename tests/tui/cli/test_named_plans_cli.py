"""``run --plan NAME``: a plan from the config, flags overriding its fields."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from storage.history.queries import History
from tests.tui.cli.helpers import run

D = Decimal
RUN = ["run", "--demo", "--speed", "10000", "--headless", "--json"]
WEEKLY = """
[plans.weekly]
spend = "700"
duration = "7d"
tranches = 7
venues = ["kraken", "bitstamp"]
mode = "split"
"""


@pytest.fixture
def config() -> Path:
    path = Path(os.environ["BTC_DCA_CONFIG"])
    path.write_text(WEEKLY, encoding="utf-8")
    return path


def events(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def test_a_named_plan_runs_with_its_own_fields(config: Path) -> None:
    code, out = run(*RUN, "--plan", "weekly")
    assert code == 0, out
    got = events(out)
    tranches = [e for e in got if e["event"] == "tranche"]
    assert len(tranches) == 7 and all(t["spend"] for t in tranches)
    assert {str(t["venue"]) for t in tranches} <= {"kraken", "bitstamp", "kraken+bitstamp"}
    assert got[-1]["budget"] == "700"
    row = json.loads(run("history", "--json")[1].splitlines()[0])
    assert (row["mode"], row["venues"], row["duration_s"]) == ("split", "kraken,bitstamp", 604800)


def test_flags_override_the_plans_fields(config: Path) -> None:
    code, out = run(*RUN, "--plan", "weekly", "--amount", "0.01", "--tranches", "2",
                    "--venues", "okx", "--mode", "single")  # fmt: skip
    assert code == 0, out
    got = events(out)
    tranches = [e for e in got if e["event"] == "tranche"]
    assert [t["venue"] for t in tranches] == ["okx", "okx"]
    assert got[-1]["target"] == "0.01" and "budget" not in got[-1]
    row = json.loads(run("history", "--json")[1].splitlines()[0])
    assert row["duration_s"] == 604800  # the plan's window: no --duration given


def test_an_unknown_plan_exits_2_naming_it_and_writes_nothing(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(*RUN, "--plan", "monthly")[0] == 2
    err = capsys.readouterr().err
    assert "--plan: no plan 'monthly' in " in err and "(known: weekly)" in err
    assert History(Path(os.environ["BTC_DCA_DATA_DIR"])).run_count() == 0


def test_a_broken_plan_table_exits_2_naming_its_key(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config.write_text(WEEKLY + 'amount = "1"\n', encoding="utf-8")
    assert run(*RUN, "--plan", "weekly")[0] == 2
    assert "plans.weekly.amount, plans.weekly.spend: give one of them" in capsys.readouterr().err


def test_without_a_plan_or_duration_the_run_says_what_is_missing(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(*RUN, "--amount", "0.1")[0] == 2
    assert "--duration: required" in capsys.readouterr().err
