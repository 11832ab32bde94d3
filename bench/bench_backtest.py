"""Backtest benchmark: 30 days of one-minute tranches (43,200) over 6 recorded venues × 50 levels.

Run: .venv/bin/python bench/bench_backtest.py [--days 30] [--mode single|split]
Goal (2-core machine): the whole backtest — reading the books, replaying every tranche
through the live executor and router, saving the backtest — under 10 s.

The lake: the simulated market's books, one snapshot per venue per minute with 50 levels
a side (written as ``btc-dca record`` writes them), for the window plus two days before
and two after that the replay must not read. Generating 259,200 distinct snapshots takes
minutes, so one simulated day is generated and its files repeat, shifted, over every day
(the replay's work does not depend on the prices). Set BENCH_LAKE=dir to keep the lake
between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from dca.journal import FanOut
from dca.plan import build_plan
from exchanges.clock import SimClock
from exchanges.simulated import SimulatedMarket
from exchanges.venues import DEFAULT_SPECS, VENUE_IDS
from storage.backtest import replay as bt
from storage.history.dataset import write_atomic
from storage.market.lake import frame, partition_dir, snapshot_row
from tui.cli.printers import Printer

DAY = 86400.0
START = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
DEPTH = 50


def build_lake(root: Path, days: int) -> int:
    """Write the lake (unless there); returns how many files it holds."""
    marker = root / f".lake-{days}"
    if not marker.exists():
        t = time.perf_counter()
        market = SimulatedMarket(SimClock(START), depth=DEPTH)
        rows = [
            snapshot_row(market.book_at(v, START + m * 60.0), START + m * 60.0, DEPTH, "demo")
            for m in range(1440)
            for v in VENUE_IDS
        ]
        day0 = frame(rows)
        print(f"generated one day: {len(rows):,} snapshots in {time.perf_counter() - t:.1f} s")
        for d in range(-2, days + 2):
            shifted = day0.with_columns(
                ts=pl.col("ts") + timedelta(days=d), book_ts=pl.col("book_ts") + timedelta(days=d)
            )
            day = datetime.fromtimestamp(START + d * DAY, UTC).date()
            for venue in VENUE_IDS:
                part = shifted.filter(pl.col("venue") == venue)
                write_atomic(part, partition_dir(root, day, venue))
        marker.touch()
    return sum(1 for _ in (root / "market").rglob("*.parquet"))


def maxrss_mb() -> float:
    """Peak resident memory of this process so far, MB."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


async def backtest(root: Path, days: int, mode: str) -> None:
    """Prepare, replay and save one backtest, printing where the time goes."""
    tranches = days * 1440
    plan = build_plan(
        amount="10",
        duration=days * DAY,
        tranches=tranches,
        mode=mode,
        specs=DEFAULT_SPECS,
    )
    wall, cpu = time.perf_counter(), time.process_time()
    prepared = bt.prepare(root, plan, START, max_age_s=90.0)
    read_s = time.perf_counter() - wall
    out = io.StringIO()
    journal = bt.BatchJournal(root)
    t = time.perf_counter()
    outcome = await bt.replay(prepared, DEFAULT_SPECS, FanOut(journal, Printer(out, False, "USD")))
    total = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    s = outcome.summary
    assert s.filled == tranches and s.qty == plan.amount, (s.filled, s.qty)
    on_demand = outcome.on_demand
    print(
        f"{mode:>6}: {tranches:,} tranches over {len(prepared.lake.venues)} venues x {DEPTH} levels "
        f"in {total:.2f} s ({cpu:.2f} s CPU): read {read_s:.2f} s "
        f"({prepared.lake.snapshots:,} snapshots from {prepared.lake.files_read} files), "
        f"replay + print + save {time.perf_counter() - t:.2f} s; "
        f"{on_demand} books read off-schedule; peak RSS {maxrss_mb():.0f} MB"
    )
    print(f"        {len(out.getvalue().splitlines()):,} lines printed; saved {journal.written}")


def main() -> None:
    """Print every figure."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--mode", choices=["single", "split", "both"], default="both")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at start"
    )
    keep = os.environ.get("BENCH_LAKE")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(keep) if keep else Path(tmp)
        files = build_lake(root, args.days)
        print(f"lake: {files} files ({args.days} days + 4 outside the window) x 6 venues")
        for mode in ("single", "split") if args.mode == "both" else (args.mode,):
            asyncio.run(backtest(root, args.days, mode))


if __name__ == "__main__":
    main()
