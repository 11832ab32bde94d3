"""Recorder benchmarks: CPU at 6 venues x 1 s, and bytes per venue per day.

Run: .venv/bin/python bench/bench_recorder.py [--seconds 60]
Goal (2-core machine): recording 6 venues every second uses under 3% of one core.

CPU: the recorder runs for ``--seconds`` of real time on the simulated market (whose
books change several times a second, so every look writes a snapshot) and the
process's CPU time is divided by the wall time. It includes building the simulated
books, which a live recording does not pay (its feeds keep the books; bench_feeds_cpu
measures them).

Bytes: one simulated hour at one snapshot per venue per second, 50 levels a side,
written as the recorder writes it (a file a minute per venue) and as a compaction leaves
it (a file per day and venue), times 24.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
from pathlib import Path

from exchanges.clock import RealClock, SimClock
from exchanges.simulated import SimulatedMarket
from exchanges.venues import VENUE_IDS
from storage.history.compaction import compact
from storage.market.lake import bytes_of
from storage.market.recorder import Recorder, record_simulated

HOUR = 3600.0
START = 1_767_225_600.0  # 2026-01-01T00:00Z


async def cpu_share(data_dir: Path, seconds: float) -> None:
    """Record 6 simulated venues every second for ``seconds``; print CPU % and output."""
    clock = RealClock()
    market = SimulatedMarket(clock, depth=50)
    recorder = Recorder(market, VENUE_IDS, data_dir, clock, flush_s=60.0)
    wall, cpu = time.perf_counter(), time.process_time()
    stats = await recorder.run(seconds)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"recorder, 6 venues x 1 s for {wall:.0f} s: {cpu / wall * 100:.2f}% of one core "
        f"({cpu:.2f} s CPU); {stats.snapshots:,} snapshots, {stats.bytes:,} bytes in "
        f"{stats.files} files"
    )


def bytes_per_day(data_dir: Path) -> None:
    """One simulated hour at 1 s, as recorded (a file a minute) and compacted."""
    market = SimulatedMarket(SimClock(START), depth=50)
    t = time.perf_counter()
    for minute in range(60):
        record_simulated(
            market,
            VENUE_IDS,
            data_dir,
            START + minute * 60.0,
            START + minute * 60.0 + 59.0,
            interval_s=1.0,
        )
    took = time.perf_counter() - t
    files = list((data_dir / "market").rglob("*.parquet"))
    raw = bytes_of(files) / len(VENUE_IDS) * 24
    compact(data_dir, today=None)  # the day is closed: merged into one file per venue
    merged = bytes_of((data_dir / "market").rglob("*.parquet")) / len(VENUE_IDS) * 24
    print(
        f"bytes per venue per day at 1 s x 50 levels (86,400 snapshots): "
        f"{raw / 1e6:.1f} MB as recorded (a file a minute), {merged / 1e6:.1f} MB compacted "
        f"(from one hour x 24; generated in {took:.0f} s)"
    )


def main() -> None:
    """Print every figure."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at start"
    )
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(cpu_share(Path(tmp) / "cpu", args.seconds))
        bytes_per_day(Path(tmp) / "bytes")


if __name__ == "__main__":
    main()
