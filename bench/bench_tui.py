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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

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


class BigHistory:
    """A HistorySource with one run of ``n`` tranches, built column-wise in Arrow."""

    def __init__(self, n: int) -> None:
        from tui.history_tables import RUNS_SCHEMA, TRANCHES_SCHEMA

        start = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
        venues = pa.array(["binance", "kraken", "okx", "coinbase"] * (n // 4 + 1))[:n]

        def money(base: int, spread: int) -> pa.Array:
            strings = [f"{base + i % spread}.{i % 100:02d}" for i in range(n)]
            return pa.array(strings).cast(pa.decimal128(20, 2))

        self.table = pa.Table.from_arrays(
            [
                pa.array(range(1, n + 1), pa.int32()),
                pa.array([start + 60 * i for i in range(n)], pa.int64()).cast(
                    pa.timestamp("s", tz="UTC")
                ),
                venues,
                pa.array(["0.00100000"] * n).cast(pa.decimal128(20, 8)),
                money(90_000, 500),
                money(0, 1),
                money(90, 5),
                money(0, 3),
                money(90_200, 500),
            ],
            schema=TRANCHES_SCHEMA,
        )
        self.runs_table = pa.Table.from_pylist(
            [
                {
                    "run": "bench",
                    "started": datetime.fromtimestamp(start, UTC),
                    "status": "finished",
                    "amount BTC": 1000,
                    "bought BTC": 1000,
                    "quote": "USD",
                    "total": 90_000_000,
                    "avg price": 90_000,
                    "fees": 90_000,
                    "saved vs worst": 1_000,
                    "tranches": n,
                }
            ],
            schema=RUNS_SCHEMA,
        )

    def runs(self, limit: int | None = None) -> pa.Table:
        """The one run."""
        return self.runs_table

    def tranches(self, run_id: str) -> pa.Table:
        """Its million tranches."""
        return self.table


async def history_first_paint(n: int) -> float:
    """Seconds from opening History to its tranche table painted, for a run of ``n`` tranches."""
    from exchanges.clock import SimClock
    from exchanges.simulated import SimulatedMarket
    from tui.app import build_app
    from tui.screens.history import HistoryScreen

    source = BigHistory(n)
    clock = SimClock()
    app = build_app(SimulatedMarket(clock), clock, history=source)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        # History opens after the start-up preload, as it does when a user asks for it.
        await preloaded(app)
        t0 = time.perf_counter()
        app.action_history()
        while not (isinstance(app.screen, HistoryScreen) and app.screen.query("#tranches-table")):
            await pilot.pause(0.001)
        await pilot.pause()  # one refresh: the table is drawn
        return time.perf_counter() - t0


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
    paint = asyncio.run(history_first_paint(args.tranches))
    print(f"history first paint, {args.tranches:,} tranches: {paint * 1000:.0f} ms (goal < 300 ms)")


if __name__ == "__main__":
    main()
