"""Dashboard benchmarks: start to first frame, CPU with 6 live sim venues, history of 1M tranches.

Run: ``python bench/bench_tui.py [--seconds 60] [--starts 5]``; each line prints one figure.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Footer text that is there once the footer's keys are drawn (Textual adds them one refresh
# after the first frame).
FOOTER_KEYS = b"palette"
ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def first_frame(rows: int = 40, cols: int = 120) -> tuple[float, float]:
    """Seconds from exec of ``btc-dca --demo`` in a pseudo-terminal to (the first full frame,
    the footer's keys on screen): the real start-up path, with config, storage and imports.

    The first full frame is the first write that reaches the bottom row.
    """
    exe = Path(sys.executable).with_name("btc-dca")
    with tempfile.TemporaryDirectory() as data:
        t0 = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child: the app, in a terminal of rows x cols
            os.execv(exe, [str(exe), "--demo", "--data-dir", data])
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        frame = keys = None
        try:
            while keys is None and time.perf_counter() - t0 < 30:
                ready, _, _ = select.select([fd], [], [], 0.01)
                if not ready:
                    continue
                chunk, now = os.read(fd, 1 << 16), time.perf_counter() - t0
                if frame is None and f"\x1b[{rows};1H".encode() in chunk:
                    frame = now
                if FOOTER_KEYS in ESCAPES.sub(b"", chunk):
                    keys = now
        finally:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
            os.close(fd)
    if frame is None or keys is None:
        raise RuntimeError("the dashboard drew no full frame within 30 s")
    return frame, keys


async def preloaded(app: Any) -> None:
    """Wait until the app's background preload (after the first frame) has finished."""
    while not app.background_started or any(  # noqa: ASYNC110 - polling the app measured
        w.group == "preload" and not w.is_finished for w in app.workers
    ):
        await asyncio.sleep(0.02)


async def cpu_share(seconds: float) -> tuple[float, int]:
    """Process CPU time / wall time with 6 simulated venues ticking at their real rates."""
    from exchanges.clock import RealClock
    from exchanges.simulated import SimulatedMarket
    from tui.app import build_app
    from tui.widgets.plan_form import FormDefaults

    clock = RealClock()
    market = SimulatedMarket(clock)
    ticks = 0

    def count(_: object) -> None:
        nonlocal ticks
        ticks += 1

    market.add_listener(count)
    app = build_app(market, clock, defaults=FormDefaults(amount="0.5", duration="6h"))
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause(1.0)
        await preloaded(app)
        ticks = 0
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return cpu / wall, ticks


def history_first_paint(tranches: int, rows: int = 40, cols: int = 120) -> tuple[float, float]:
    """Seconds from pressing ``h`` in ``btc-dca --demo`` (in a pty) to History's tables on the
    terminal, over a Parquet data dir holding one run of ``tranches`` tranches; and how long
    the app took to read that history ahead, in the background after its first frame.
    """
    from bench_storage import sample_run, seed_history

    exe = Path(sys.executable).with_name("btc-dca")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        seed_history(data, asyncio.run(sample_run()), tranches, per_run=tranches)
        log_file = data / "logs" / "btc-dca.log"
        pid, fd = pty.fork()
        if pid == 0:  # the child: the app, in a terminal of rows x cols
            os.execv(exe, [str(exe), "--demo", "--data-dir", str(data)])
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        try:
            # Wait (draining the terminal) until the app says it has read the history ahead.
            deadline = time.perf_counter() + 120
            read_ahead = None
            while read_ahead is None:
                if time.perf_counter() > deadline:
                    raise RuntimeError("the app did not read its history within 120 s")
                if select.select([fd], [], [], 0.05)[0]:
                    os.read(fd, 1 << 16)
                text = log_file.read_text() if log_file.exists() else ""
                found = re.search(r"history read: .* in (\d+) ms", text)
                read_ahead = float(found.group(1)) / 1000 if found else None
            settle = time.perf_counter() + 1.0  # drain what was drawn before the key
            while time.perf_counter() < settle:
                if select.select([fd], [], [], 0.01)[0]:
                    os.read(fd, 1 << 16)
            t0 = time.perf_counter()
            os.write(fd, b"h")
            shown = b""
            while b"time (UTC)" not in shown or b"started (UTC)" not in shown:
                if time.perf_counter() - t0 > 30:
                    raise RuntimeError("History did not show its tables within 30 s")
                if select.select([fd], [], [], 0.005)[0]:
                    shown = ESCAPES.sub(b"", shown + os.read(fd, 1 << 16))
            return time.perf_counter() - t0, read_ahead
        finally:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
            os.close(fd)


def main() -> None:
    """Print each figure."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--tranches", type=int, default=1_000_000)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    starts = sorted(first_frame() for _ in range(args.starts))
    frame, keys = starts[len(starts) // 2]
    print(
        f"start to first full frame (btc-dca --demo in a 120x40 pty, median of {args.starts}): "
        f"{frame * 1000:.0f} ms, footer keys at {keys * 1000:.0f} ms (goal < 1000 ms)"
    )
    share, ticks = asyncio.run(cpu_share(args.seconds))
    print(
        f"dashboard CPU, 6 sim venues, {args.seconds:.0f} s headless: {share * 100:.1f}% of one core "
        f"({ticks / args.seconds:.0f} venue updates/s; goal < 10%)"
    )
    paints = sorted(history_first_paint(args.tranches) for _ in range(args.starts))
    paint, read_ahead = paints[len(paints) // 2]
    print(
        f"history first paint (h pressed to its tables on the pty, one run of "
        f"{args.tranches:,} tranches in Parquet, median of {args.starts}): {paint * 1000:.0f} ms "
        f"(goal < 300 ms); read ahead in the background in {read_ahead * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
