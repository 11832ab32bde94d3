"""A standing plan from the command line: started in the background, seen in ``status`` and
``history``, killed, and brought back by the command the boot service runs, buying no slot
twice; the service's unit written without a secret; bad input refused before anything."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest

from storage.history.queries import History
from storage.runs.control import RunState, in_progress, runs_in_progress
from tests.tui.cli.helpers import run
from tui.cli import detach, service

# A buy every 2 s of the demo clock at its real speed, in Paris time.
PLAN = (
    "--demo",
    "--speed",
    "1",
    "--every",
    "2s",
    "--tz",
    "Europe/Paris",
    "--spend",
    "50",
    "--venues",
    "kraken,okx",
)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "data"
    yield data
    for state in runs_in_progress(data):
        os.kill(state.pid, signal.SIGTERM)
    detach.reap()


def _wait(check: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _state(data: Path, run_id: str) -> RunState | None:
    return next((s for s in runs_in_progress(data) if s.run_id == run_id), None)


def _done(data: Path, run_id: str) -> int:
    s = _state(data, run_id)
    return -1 if s is None else s.done


def test_a_killed_standing_plan_is_resumed_by_the_service_command_without_a_second_buy(
    data_dir: Path, tmp_path: Path
) -> None:
    code, out = run("run", "--detach", "--json", *PLAN)
    assert code == 0, out
    event = json.loads(out)
    run_id, pid = event["run_id"], event["pid"]
    _wait(lambda: _done(data_dir, run_id) >= 2)

    # status: the next buy in the plan's own zone, and no count to reach.
    code, out = run("status", "--json")
    obj = json.loads(out)
    assert obj["of"] == 0 and obj["standing"] == "every 2s" and obj["tz"] == "Europe/Paris"
    assert obj["next_local"].split()[-1] in {"CET", "CEST"}
    code, out = run("status")
    assert "every 2s" in out and ("CET" in out or "CEST" in out)

    # The machine goes down hard: the process is killed mid-plan.
    os.kill(pid, signal.SIGKILL)
    _wait(lambda: in_progress(data_dir, run_id) is None)
    before = History(data_dir).run_tranches(run_id)
    assert before.height >= 2
    code, out = run("history")
    assert f"{run_id}  every 2s (Europe/Paris): " in out
    assert "interrupted: resume it (btc-dca resume --standing)" in out

    # The boot service's unit runs `resume --standing`: run its very command line.
    unit = tmp_path / "systemd" / "btc-dca.service"
    assert run("service", "install", "--unit", str(unit))[0] == 0
    exec_start = next(
        line for line in unit.read_text().splitlines() if line.startswith("ExecStart=")
    )
    argv = shlex.split(exec_start.removeprefix("ExecStart="))
    assert argv[1:5] == ["-m", "tui.cli", "resume", "--standing"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert f"Resumed run {run_id} in the background" in done.stdout
    # Nothing else was stopped: a second look finds the plan running and resumes nothing.
    again = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert again.stdout == "no stopped standing plan to resume (1 standing plan running)\n"
    _wait(lambda: _done(data_dir, run_id) >= before.height + 2)
    state = _state(data_dir, run_id)
    assert state is not None and state.pid not in (pid, os.getpid())
    code, out = run("history")
    # "4 bought, next Sun 09:14 CET" (", 1 skipped" between when the restart took longer
    # than a slot's grace).
    line = next(x for x in out.splitlines() if x.startswith(f"  {run_id}  every 2s"))
    assert re.search(r": \d+ bought(, \d+ skipped)?, next \w{3} \d\d:\d\d CES?T$", line), line

    assert run("cancel", run_id)[0] == 0
    tranches = History(data_dir).run_tranches(run_id)
    # Every slot at most once: no index twice, no two buys for one scheduled time.
    assert tranches["index"].n_unique() == tranches.height
    filled = tranches.filter(pl.col("status") == "filled")
    assert filled["scheduled_at"].n_unique() == filled.height
    # What was recorded before the kill is still there, unchanged.
    assert before["index"].to_list() == tranches["index"].to_list()[: before.height]
    skipped = tranches.filter(pl.col("status") != "filled")
    assert set(skipped["reason"].to_list()) <= {"missed_while_stopped"}
    row = History(data_dir).run(run_id)
    assert row is not None and row["status"] == "cancelled"


def test_resume_standing_with_nothing_stopped_says_so(data_dir: Path) -> None:
    assert run("resume", "--standing") == (0, "no stopped standing plan to resume\n")
    code, _ = run("resume", "some-run", "--standing")
    assert code == 2


def test_the_unit_is_private_runs_resume_standing_and_holds_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BTC_DCA_KRAKEN_API_KEY", "k-very-secret-key")
    monkeypatch.setenv("BTC_DCA_KRAKEN_API_SECRET", "s-very-secret")
    unit = tmp_path / "home" / ".config" / "systemd" / "user" / "btc-dca.service"
    code, out = run("service", "install", "--unit", str(unit))
    assert code == 0
    text = unit.read_text(encoding="utf-8")
    assert stat.S_IMODE(unit.stat().st_mode) == 0o600
    assert stat.S_IMODE(unit.parent.stat().st_mode) == 0o700
    assert "[Service]\nType=oneshot\nRemainAfterExit=yes\n" in text
    assert "WantedBy=default.target" in text
    exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert " -m tui.cli resume --standing --data-dir " in exec_start
    assert str((tmp_path / "data").resolve()) in exec_start
    assert "very-secret" not in text and "API" not in text and "Environment" not in text
    # It says how to enable it, and runs no systemctl itself.
    assert "systemctl --user enable --now btc-dca.service" in out
    assert "systemctl --user daemon-reload" in out

    wants = unit.parent / "default.target.wants"
    wants.mkdir()
    (wants / "btc-dca.service").symlink_to(unit)
    code, out = run("service", "remove", "--unit", str(unit))
    assert code == 0 and not unit.exists() and not (wants / "btc-dca.service").is_symlink()
    assert "systemctl --user stop btc-dca.service" in out
    assert run("service", "remove", "--unit", str(unit)) == (
        0,
        f"No service installed at {unit}.\n",
    )


def test_on_macos_install_prints_a_launchd_agent_instead(tmp_path: Path) -> None:
    import argparse
    import io

    from tui.wiring import Options

    out = io.StringIO()
    ns = argparse.Namespace(service_command="install", unit=None, yes=False)
    options = Options(data_dir=tmp_path / "data", config=tmp_path / "config.toml")
    assert service.command(ns, options, out, platform="darwin") == 0
    text = out.getvalue()
    assert text.startswith("# Save this as ~/Library/LaunchAgents/")
    assert "<key>RunAtLoad</key><true/>" in text
    assert "<string>resume</string>\n    <string>--standing</string>" in text
    assert not (tmp_path / "home").exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--every", "0.5s"), "--every: '0.5s' is shorter than a second"),
        (("--every", "sometimes"), "--every: 'sometimes' is not a period"),
        (("--every", "1w", "--tz", "Mars/Olympus"), "--tz: 'Mars/Olympus' is not a known"),
        (("--every", "1w", "--until", "2001-01-01"), "--until: 2001-01-01 is in the past"),
        (("--every", "1w", "--at", "teatime"), "--at: 'teatime' is not a time"),
        (
            ("--every", "1w", "--until", "2099-01-01", "--budget", "500"),
            "--until: give --until or --budget, not both",
        ),
        (("--every", "1w", "--duration", "7d"), "--duration: not with --every"),
        (("--every", "1w", "--tranches", "4"), "--tranches: not with --every"),
        (("--duration", "1d", "--at", "09:00"), "--at: only with --every"),
    ],
)
def test_bad_standing_input_exits_2_naming_the_field_and_writes_nothing(
    data_dir: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], says: str
) -> None:
    code, out = run("run", "--detach", "--demo", "--spend", "100", *args)
    assert code == 2 and out == ""
    assert says in capsys.readouterr().err
    assert not (data_dir / "runs").exists() and not (data_dir / "live").exists()


def test_real_orders_on_a_standing_plan_are_refused_before_anything(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("run", "--live", "--yes", "--headless", "--every", "1w", "--spend", "100")
    assert code == 2
    assert "--every: a standing plan runs on paper only for now" in capsys.readouterr().err
    assert not (data_dir / "runs").exists()
