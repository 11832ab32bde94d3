"""A user's session of commands, for the tests that look at everything it wrote."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from storage.runs.control import runs_in_progress
from tests.tui.cli.helpers import run
from tui.cli import detach

# A tranche every 2 s: long enough for a pause to reach the detached run before it ends.
DETACHED = ("--demo", "--amount", "0.3", "--duration", "3h", "--tranches", "3", "--speed", "1800")


@dataclass
class Session:
    """Where the commands wrote, and what they printed (stdout and stderr, in order)."""

    data_dir: Path
    config: Path
    log_dir: Path
    printed: list[str] = field(default_factory=list)

    def files(self) -> Iterator[Path]:
        """Every folder and file under the data, config and log folders (the folders too)."""
        for root in dict.fromkeys((self.data_dir, self.config.parent, self.log_dir)):
            yield root
            yield from root.rglob("*")


def _wait(check: object, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def use_the_app(session: Session, capsys: pytest.CaptureFixture[str]) -> None:
    """Run, detach and steer, record, backtest, export and read history, as a user would."""

    def cmd(*argv: str, ok: tuple[int, ...] = (0,)) -> str:
        code, out = run(*argv)
        captured = capsys.readouterr()
        session.printed += [out, captured.out, captured.err]
        assert code in ok, f"{argv}: exit {code}\n{captured.err}"
        return out

    cmd("quote", "--demo", "--amount", "1", "--json")
    cmd(
        *("run", "--headless", "--demo", "--amount", "0.2", "--duration", "4m"),
        *("--tranches", "4", "--speed", "10000", "--json"),
    )
    event = json.loads(cmd("run", "--detach", "--json", *DETACHED))
    run_id = event["run_id"]
    try:
        cmd("status", "--json")
        cmd("pause", run_id)
        cmd("cancel", run_id)
        _wait(lambda: not runs_in_progress(session.data_dir))
    finally:
        for state in runs_in_progress(session.data_dir):
            os.kill(state.pid, signal.SIGTERM)
        detach.reap()
    cmd(
        *("record", "--demo", "--speed", "600", "--venues", "kraken,okx"),
        *("--interval", "10s", "--duration", "2m"),
    )
    cmd(
        *("backtest", "--demo", "--from", "2026-11-30T00:00:00Z", "--to", "2026-11-30T02:00:00Z"),
        *("--amount", "0.2", "--tranches", "2", "--json"),
    )
    cmd("history", "--json")
    cmd("history", "--run", run_id, "--json")
    cmd("history", "--compact")
    cmd("notify", "--test", ok=(0, 1, 2))
