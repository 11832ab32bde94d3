"""Runs that outlive their terminal: detach, status, pause/unpause/cancel from another process."""

from __future__ import annotations

import json
import os
import pty
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from storage.history.queries import History
from storage.paths import resolve_paths
from storage.runs.control import RunState, runs_in_progress
from tests.tui.cli.helpers import run
from tui.cli import detach

# A tranche every 2 s: 6 tranches over 6 demo hours at 1800x (12 s in all).
PLAN = ("--demo", "--amount", "0.6", "--duration", "6h", "--tranches", "6", "--speed", "1800")


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """The test's data dir (conftest.py points the commands at it); any run still in
    progress at the end is stopped."""
    data = tmp_path / "data"
    yield data
    for state in runs_in_progress(data):
        os.kill(state.pid, signal.SIGTERM)
    detach.reap()


def _wait(check: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _state(data: Path, run_id: str) -> RunState | None:
    return next((s for s in runs_in_progress(data) if s.run_id == run_id), None)


def _status(data: Path, run_id: str) -> str | None:
    row = History(data).run(run_id)
    return None if row is None else str(row["status"])


def test_a_detached_run_is_seen_paused_unpaused_and_cancelled_from_here(data_dir: Path) -> None:
    began = time.monotonic()
    code, out = run("run", "--detach", "--json", *PLAN)
    assert code == 0
    assert time.monotonic() - began < 10
    event = json.loads(out)
    assert event["event"] == "detached"
    run_id, pid = event["run_id"], event["pid"]
    assert pid != os.getpid()
    state = _state(data_dir, run_id)
    assert state is not None and state.pid == pid and state.where == "detached"
    # A process of its own, in a session of its own: no terminal's hang-up reaches it.
    assert os.getsid(pid) == pid

    code, out = run("status")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["run", "pid", "where", "state", "done"]
    assert lines[2].split()[:4] == [run_id, str(pid), "detached", "running"]
    _wait(lambda: (s := _state(data_dir, run_id)) is not None and s.done >= 1)

    code, out = run("pause", run_id)
    assert code == 0
    assert out.startswith(f"Run {run_id} paused: ")
    # A tranche already being priced when the pause came still lands; the run records
    # its pause in its history once it holds, after that tranche.
    _wait(lambda: _status(data_dir, run_id) == "paused")
    paused = _state(data_dir, run_id)
    assert paused is not None and paused.state == "paused"
    time.sleep(2.5)  # more than a tranche
    still = _state(data_dir, run_id)
    assert still is not None and still.done == paused.done
    code, out = run("pause", run_id)
    assert (code, out) == (0, f"Run {run_id} is already paused.\n")
    code, out = run("status", "--json")
    obj = json.loads(out)
    assert (obj["state"], obj["next_at"], obj["pid"]) == ("paused", None, pid)

    assert run("unpause", run_id)[0] == 0
    _wait(lambda: (s := _state(data_dir, run_id)) is not None and s.done > paused.done)

    code, out = run("cancel", run_id)
    assert code == 0
    # It says what the run keeps.
    row = History(data_dir).run(run_id)
    assert row is not None
    bought = row["qty_btc"]
    assert isinstance(bought, Decimal) and bought > 0
    assert out.startswith(f"Run {run_id} cancelled: bought {bought:.2f} of 0.60 BTC in ")
    assert out.endswith(" USD.\n")
    assert run("status") == (0, "no run in progress\n")
    code, _ = run("history", "--run", run_id, "--json")
    assert code == 0
    # Its output went to its own log, with its summary.
    log = (data_dir / "logs" / f"run-{run_id}.log").read_text(encoding="utf-8")
    assert "Cancelled: bought" in log


def test_without_a_run_id_the_one_run_in_progress_that_it_can_change_is_steered(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("pause")[0] == 2
    assert capsys.readouterr().err == "btc-dca: pause: no run is in progress\n"
    first = json.loads(run("run", "--detach", "--json", *PLAN)[1])["run_id"]
    code, out = run("pause")
    assert (code, out.split(":")[0]) == (0, f"Run {first} paused")
    _wait(lambda: (s := _state(data_dir, first)) is not None and s.state == "paused")
    assert run("pause") == (0, f"Run {first} is already paused.\n")  # the only one there is
    second = json.loads(run("run", "--detach", "--json", *PLAN)[1])["run_id"]
    capsys.readouterr()
    # Two in progress: unpause means the paused one, pause the running one.
    code, out = run("unpause")
    assert (code, out.split(":")[0]) == (0, f"Run {first} running again")
    _wait(lambda: (s := _state(data_dir, first)) is not None and s.state == "running")
    # Both running: which one to pause or cancel is the user's to say.
    for verb in ("pause", "cancel"):
        assert run(verb) == (2, "")
        err = capsys.readouterr().err.splitlines()
        assert err[0] == f"btc-dca: {verb}: 2 runs are in progress; name one:"
        # Each line a command to type as it is (with the data dir and config in use).
        cli = resolve_paths().cli
        assert cli.startswith("btc-dca --data-dir ")
        assert sorted(err[1:]) == sorted(
            f"  {cli} {verb} {run_id}  (running)" for run_id in (first, second)
        )
    assert all(s.state == "running" for s in runs_in_progress(data_dir))
    assert run("cancel", second)[0] == 0
    code, out = run("cancel")
    assert (code, out.split(":")[0]) == (0, f"Run {first} cancelled")
    assert run("status") == (0, "no run in progress\n")


def test_steering_a_run_that_is_not_in_progress_exits_2_and_changes_nothing(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("cancel", "20260101-000000-abcdef")[0] == 2
    assert "no run 20260101-000000-abcdef in" in capsys.readouterr().err
    plan = ("--demo", "--amount", "0.6", "--duration", "6m", "--tranches", "6")
    code, out = run("run", "--headless", "--json", *plan, "--speed", "10000")
    assert code == 0
    finished = json.loads(out.splitlines()[-1])["run_id"]
    for verb in ("pause", "unpause", "cancel"):
        assert run(verb, finished)[0] == 2
        assert f"run {finished} is finished; it is not in progress" in capsys.readouterr().err
    assert not (data_dir / "live" / f"{finished}.control.json").exists()
    assert run("status") == (0, "no run in progress\n")
    assert run("status", "--json") == (0, "")


def test_an_invalid_plan_with_detach_exits_2_and_starts_nothing(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("run", "--detach", "--demo", "--amount", "0.00001", "--duration", "1h")
    assert code == 2
    assert "--amount" in capsys.readouterr().err
    assert not (data_dir / "live").exists()
    assert run("resume", "--detach")[0] == 2
    assert "no unfinished run to resume" in capsys.readouterr().err


def test_a_detached_run_survives_its_terminal_closing(data_dir: Path, tmp_path: Path) -> None:
    """Started from a shell on a terminal (a pty), then the terminal goes away."""
    exe = str(Path(sys.executable).with_name("btc-dca"))
    pid, fd = pty.fork()
    if pid == 0:  # the shell on the terminal: start the run, then wait to be hung up on
        # A shell on a terminal dies of its hang-up; this process may have been started
        # ignoring SIGHUP (nohup, some CI runners), which the shell would inherit and then
        # outlive the terminal, leaving waitpid below to wait for its `sleep 60`.
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        os.execv(
            "/bin/sh",
            ["sh", "-c", f"{exe} run --detach --json {' '.join(PLAN)} > {tmp_path}/out; sleep 60"],
        )
    try:
        _wait(lambda: (tmp_path / "out").exists() and (tmp_path / "out").stat().st_size > 0)
        run_id = json.loads((tmp_path / "out").read_text(encoding="utf-8"))["run_id"]
    finally:
        os.close(fd)  # the terminal closes: its session gets SIGHUP
        os.kill(pid, signal.SIGHUP)
        os.waitpid(pid, 0)
    before = _state(data_dir, run_id)
    assert before is not None
    _wait(lambda: (s := _state(data_dir, run_id)) is not None and s.done > before.done)
    assert run("cancel", run_id)[0] == 0


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_a_detached_run_survives_its_tmux_session_being_killed(
    data_dir: Path, tmp_path: Path
) -> None:
    exe = str(Path(sys.executable).with_name("btc-dca"))
    session = f"btc-dca-test-{os.getpid()}"
    out = tmp_path / "out"
    line = f"{exe} run --detach --json {' '.join(PLAN)} > {out}; sleep 60"
    env = {**os.environ, "TMUX": ""}
    subprocess.run(
        ["tmux", "-L", session, "new-session", "-d", "-s", session, line], check=True, env=env
    )
    try:
        _wait(lambda: out.exists() and out.stat().st_size > 0)
        run_id = json.loads(out.read_text(encoding="utf-8"))["run_id"]
    finally:
        subprocess.run(["tmux", "-L", session, "kill-server"], check=False, env=env)
    before = _state(data_dir, run_id)
    assert before is not None
    _wait(lambda: (s := _state(data_dir, run_id)) is not None and s.done > before.done)
    assert run("cancel", run_id)[0] == 0


def test_resume_detach_continues_an_interrupted_run_in_the_background(data_dir: Path) -> None:
    exe = str(Path(sys.executable).with_name("btc-dca"))
    # A headless run stopped by Ctrl-C stays resumable.
    proc = subprocess.Popen(
        [exe, "run", "--headless", "--json", *PLAN],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = json.loads(proc.stdout.readline())
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=20)
    run_id = first["run_id"]
    assert proc.returncode == 130
    code, out = run("resume", run_id, "--detach")
    assert code == 0
    assert out.startswith(f"Resumed run {run_id} in the background (pid ")
    state = _state(data_dir, run_id)
    assert state is not None and state.done >= 1
    assert state.where == "detached" and state.pid != os.getpid()
    # It goes on buying in its own process, not just announced as resumed.
    _wait(lambda: (s := _state(data_dir, run_id)) is not None and s.done > state.done)
    assert run("cancel", run_id)[0] == 0


def test_a_detached_run_that_ends_before_it_is_seen_running_reports_its_outcome(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A one-tranche plan can start and end between two looks at its state file: the
    parent says it finished (and what it bought) and exits 0, so a script does not retry
    and buy again."""
    monkeypatch.setattr(detach, "in_progress", lambda _data, _run_id: None)
    one = ("--demo", "--amount", "0.01", "--duration", "1h", "--tranches", "1")
    code, out = run("run", "--detach", "--json", *one)
    assert code == 0, capsys.readouterr().err
    event = json.loads(out)
    assert (event["event"], event["status"], event["exit"]) == ("detached", "finished", 0)
    assert (event["qty"], event["target"], event["quote"]) == ("0.01", "0.01", "USD")
    assert _status(data_dir, event["run_id"]) == "finished"
    code, out = run("run", "--detach", *one, "--max-price", "1000")
    assert code == 4
    assert "it has already ended, incomplete: bought nothing of 0.01 BTC" in out
    assert f"history --run {out.split()[2]}" in out


def test_a_paused_run_its_process_still_holds_is_not_resumable_in_history(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = json.loads(run("run", "--detach", "--json", *PLAN)[1])["run_id"]
    assert run("pause", run_id)[0] == 0
    _wait(lambda: _status(data_dir, run_id) == "paused")
    row = json.loads(run("history", "--json")[1].splitlines()[0])
    # resume would refuse it (its process holds it): history says what resume does.
    assert (row["run_id"], row["status"], row["resumable"]) == (run_id, "paused", False)
    assert run("resume", run_id, "--headless")[0] == 2
    assert "is being executed by another process" in capsys.readouterr().err
    assert run("cancel", run_id)[0] == 0


def test_unpause_with_runs_in_progress_and_none_paused_says_none_is_paused(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = json.loads(run("run", "--detach", "--json", *PLAN)[1])["run_id"]
    second = json.loads(run("run", "--detach", "--json", *PLAN)[1])["run_id"]
    capsys.readouterr()
    assert run("unpause") == (2, "")
    err = capsys.readouterr().err
    assert err.startswith("btc-dca: unpause: no run is paused; 2 runs are in progress, none")
    assert f"{first}  (running)" in err and f"{second}  (running)" in err
    assert "btc-dca unpause " not in err  # not offered as runs to unpause
    for run_id in (first, second):
        assert run("cancel", run_id)[0] == 0
