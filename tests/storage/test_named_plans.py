"""``[plans.NAME]`` in the config: read strictly, written back keeping the user's comments."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from storage.config import ConfigError, NamedPlan, default_text, load_config, save_plan


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_default_config_shows_one_example_plan_that_reads_once_uncommented(
    tmp_path: Path,
) -> None:
    text = default_text()
    assert "# [plans.weekly]" in text
    assert load_config(write(tmp_path, text), {}).plans == {}
    lines = text.splitlines()
    start = lines.index("# [plans.weekly]")
    example = [line.removeprefix("# ") for line in lines[start : start + 5]]
    plans = load_config(write(tmp_path, "\n".join(example) + "\n"), {}).plans
    assert plans == {
        "weekly": NamedPlan(
            "weekly", spend="100", duration="7d", tranches=7, venues=("kraken", "coinbase")
        )
    }


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[plans.weekly]\namout = "1"', "plans.weekly.amout: unknown key"),
        (
            '[plans.weekly]\namount = "1"\nspend = "100"',
            "plans.weekly.amount, plans.weekly.spend: give one of them, not both",
        ),
        ('[plans.weekly]\nduration = "1 week"', "plans.weekly.duration: '1 week' is not a dur"),
        ('[plans.weekly]\nvenues = ["mtgox"]', "plans.weekly.venues: unknown venue mtgox"),
        ("[plans.weekly]\ntranches = 0", "plans.weekly.tranches: 0 is not a whole number"),
        ("[plans.weekly]\nspend = 100", "plans.weekly.spend: 100 must be a decimal string like"),
        ('[plans.weekly]\nmode = "twap"', "plans.weekly.mode: 'twap' is not single or split"),
        ('[plans.weekly]\nquote = "GBP"', "plans.weekly.quote: 'GBP' is not one of"),
        ('[plans."my plan"]\nspend = "1"', "plans.my plan: a plan name is 1-40 letters"),
        ('plans = "weekly"', "plans: must be a table"),
    ],
)
def test_a_broken_plan_is_refused_naming_its_key(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, table + "\n"), {})
    assert message in str(info.value)


def test_saving_a_plan_keeps_the_comments_and_replaces_one_of_the_same_name(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, default_text())
    save_plan(path, NamedPlan("weekly", spend="100", duration="7d", venues=("kraken",)))
    save_plan(path, NamedPlan("big", amount="0.5", duration="2d", mode="split", jitter=True))
    save_plan(path, NamedPlan("weekly", spend="250", duration="7d", tranches=7))
    text = path.read_text(encoding="utf-8")
    assert "# btc-dca configuration." in text and "# [plans.weekly]" in text
    plans = load_config(path, {}).plans
    assert plans["weekly"] == NamedPlan("weekly", spend="250", duration="7d", tranches=7)
    assert plans["big"] == NamedPlan("big", amount="0.5", duration="2d", mode="split", jitter=True)


def test_a_plan_that_would_not_read_back_is_not_written(tmp_path: Path) -> None:
    path = write(tmp_path, default_text())
    with pytest.raises(ConfigError, match="not both"):
        save_plan(path, NamedPlan("x", amount="1", spend="100"))
    with pytest.raises(ConfigError, match="a plan name is"):
        save_plan(path, NamedPlan("no spaces", spend="100"))
    assert path.read_text(encoding="utf-8") == default_text()


def test_a_saved_plan_is_private_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "config.toml"  # neither folder nor file yet
    old = os.umask(0o022)
    try:
        save_plan(path, NamedPlan("weekly", spend="100", duration="7d"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_config(path, {}).plans["weekly"].spend == "100"
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]  # no temp file left


def test_a_file_that_would_not_read_back_whole_is_left_as_it_was(tmp_path: Path) -> None:
    bad = default_text().replace("# peg_parity = false", 'peg_parity = "maybe"')
    path = write(tmp_path, bad)
    with pytest.raises(ConfigError, match="peg_parity"):
        save_plan(path, NamedPlan("weekly", spend="100", duration="7d"))
    assert path.read_text(encoding="utf-8") == bad
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]
