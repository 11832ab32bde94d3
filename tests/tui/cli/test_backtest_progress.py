"""A long backtest as a person runs it: a progress line on a terminal, nothing in a pipe or
in --json, and Ctrl-C stopping it with exit 130 and nothing saved.

The backtests run as real processes: on a pseudo-terminal (what a person's terminal is)
or with their output piped. Two weeks of one-minute tranches over the demo lake take
several seconds, so the progress line (drawn after a second) has time to show.
"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from dca.events import RunStarted, TrancheFilled
from dca.plan import build_plan
from exchanges.venues import DEFAULT_SPECS
from tui.cli.progress import Narrated, Progress

START = 1_767_225_600.0  # 2026-01-01T00:00Z
ARGS = ["backtest", "--demo", "--from", "2026-01-01T00:00Z", "--to", "2026-01-15T00:00Z"]
ARGS += ["--amount", "10", "--tranches", "20160", "--venues", "kraken,okx,bitstamp"]
ARGS += ["--max-age", "2h"]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A data dir with the demo lake of the window written (by a first, quick backtest)."""
    root = tmp_path_factory.mktemp("progress")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env |= {"BTC_DCA_DATA_DIR": str(root / "data"), "BTC_DCA_CONFIG": str(root / "c.toml")}
    quick = [*ARGS[:-6], "--tranches", "2", "--venues", "kraken,okx,bitstamp", "--max-age", "2h"]
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli", *quick], env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    for table in ("runs", "tranches"):  # that one was saved; the tests below look for none
        for path in (root / "data" / table).rglob("*.parquet"):
            path.unlink()
    return env


def saved(env: dict[str, str]) -> list[Path]:
    data = Path(env["BTC_DCA_DATA_DIR"])
    return [p for t in ("runs", "tranches") for p in (data / t).rglob("*") if p.is_file()]


def on_a_terminal(
    env: dict[str, str], extra: list[str], *, until: bytes, then_wait: float = 0.0
) -> tuple[int, bytes]:
    """Run ``backtest`` on a 100-column pseudo-terminal; Ctrl-C once ``until`` was shown
    (and ``then_wait`` s more); returns the exit code and everything the terminal got."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", *ARGS, *extra],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 120
    signalled_at: float | None = None
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            if signalled_at is None and until in seen:
                signalled_at = time.monotonic() + then_wait
            if signalled_at is not None and time.monotonic() >= signalled_at:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
                signalled_at = float("inf")
            if proc.poll() is not None and not ready:
                break
        return proc.wait(timeout=60), seen
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


def test_on_a_terminal_a_progress_line_shows_and_ctrl_c_saves_nothing(env: dict[str, str]) -> None:
    code, seen = on_a_terminal(env, [], until=b"Replaying ")
    text = seen.decode(errors="replace")
    assert code == 130, text[-2000:]
    bar = text[text.index("Replaying ") :].split("\r")[0]
    assert "/14.0 days" in bar and "/20,160 tranches" in bar and "/s  ETA " in bar
    assert "█" in bar or "░" in bar
    assert "\x1b[K" in text  # drawn in place
    assert "Interrupted: bought" in text
    assert "Nothing saved: a backtest is saved only once it has run to its end." in text
    assert saved(env) == []


def test_json_on_a_terminal_gets_no_progress_line(env: dict[str, str]) -> None:
    code, seen = on_a_terminal(env, ["--json"], until=b'"event": "tranche"', then_wait=1.5)
    assert code == 130
    assert b"Replaying" not in seen and b"\x1b[K" not in seen
    assert b"Nothing saved" not in seen  # nothing but JSON lines
    assert saved(env) == []


def test_piped_output_gets_no_progress_line(env: dict[str, str]) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "tui.cli", *ARGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as proc:
        assert proc.stdout is not None
        first = b""
        while not first.startswith(b"[1/20160]"):
            first = proc.stdout.readline()
            assert first, proc.stderr.read() if proc.stderr else b""
        time.sleep(1.5)  # past the second after which a terminal would show the line
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err == b"" and b"Replaying" not in out and b"\r" not in out
    assert (
        out.splitlines()[-1]
        == b"Nothing saved: a backtest is saved only once it has run to its end."
    )
    assert saved(env) == []


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def tranche(index: int, of: int, at: float) -> TrancheFilled:
    return TrancheFilled("r", index, of, at, at, None, ())  # type: ignore[arg-type]


async def test_the_line_waits_a_second_then_redraws_ten_times_a_second_at_most() -> None:
    clock, err = Clock(), io.StringIO()
    progress = Progress(err, START, START + 30 * 86400, clock=clock, columns=lambda: 100)
    printed = io.StringIO()

    class Lines:
        async def record(self, event: object) -> None:
            printed.write("line\n")
            err.write("<line>")

    journal = Narrated(Lines(), progress)
    plan = build_plan(amount="10", duration=30 * 86400, tranches=43200, specs=DEFAULT_SPECS)
    await journal.record(RunStarted("r", plan, START, (), ()))
    clock.t += 0.5
    await journal.record(tranche(0, 43200, START))
    assert err.getvalue() == "<line><line>"  # not yet a second
    clock.t += 1.0
    await journal.record(tranche(21599, 43200, START + 15 * 86400))
    drawn = err.getvalue().removeprefix("<line><line><line>")
    assert drawn.startswith("\rReplaying ") and drawn.endswith("\x1b[K")
    assert drawn.endswith("  50%  15.0/30.0 days  21,600/43,200 tranches  14,400/s  ETA 0:02\x1b[K")
    assert len(drawn) - len("\r\x1b[K") <= 99
    # The next line erases it, prints, and draws the same line again (no new figures yet).
    err.truncate(0), err.seek(0)
    clock.t += 0.01
    await journal.record(tranche(21600, 43200, START + 15 * 86400 + 60))
    assert err.getvalue() == f"\r\x1b[K<line>{drawn}"
    progress.clear()
    assert err.getvalue().endswith("\r\x1b[K") and not progress.shown
    # On a narrow terminal the bar goes first; the figures stay.
    assert progress.line(60).startswith("Replaying 50%  15.0/30.0 days")
    assert len(progress.line(60)) <= 60
