"""Backtest benchmark: the month, the quarter and the year, each in a process of its own.

Run (one command each; ``--mode both`` runs single then split, ``single`` or ``split`` one):

    .venv/bin/python bench/bench_backtest.py --days 30 --mode both             # the month
    .venv/bin/python bench/bench_backtest.py --days 30 --long 90 --mode both   # + the quarter
    .venv/bin/python bench/bench_backtest.py --year 365 --mode both            # the year, daily
    .venv/bin/python bench/bench_backtest.py                                   # all three

Each backtest runs in a process of its own (so each peak RSS is its own) over one lake:
the simulated market's books, one snapshot per venue per minute with 50 levels a side
(written as ``btc-dca record`` writes them), for the longest window plus two days before
and two after that no replay may read. Generating ~3 million distinct snapshots would take
an hour, so one simulated day is generated and its rows repeat, shifted, over every day
(the replay's work does not depend on the prices). The lake goes in a temporary folder
deleted at the end (set BENCH_LAKE=dir to keep it between runs: ~1.2 MB a venue-day; a
longer run extends it).

Measured, each through the whole backtest — reading the books a day at a time, replaying
every tranche through the live executor and router, printing its line (to a sink that
counts lines), staging and saving its rows:

- ``--days`` (30) of one-minute tranches (43,200), single and split: goal under 10 s;
- ``--long`` (90) days of one-minute tranches: time within 3.2x the month's (linear),
  peak RSS within 10 % of the month's and under 400 MB;
- ``--year`` (365) days of daily tranches (a daily plan) over the same lake: under 60 s.

The figures are wall time and CPU time (user + system, every thread of the process). The
machine's load average is printed before and after each backtest: on a shared machine the
wall times are only as good as the load was low, and CPU time is the figure to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from dca.journal import FanOut
from dca.plan import MAX_TRANCHES, build_plan
from exchanges.clock import SimClock
from exchanges.simulated import SimulatedMarket
from exchanges.venues import DEFAULT_SPECS, VENUE_IDS
from storage.backtest import replay as bt
from storage.history.dataset import new_part_name
from storage.market.lake import frame, partition_dir, snapshot_row
from tui.cli.printers import Printer

DAY = 86400.0
START = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
DEPTH = 50


def build_lake(root: Path, days: int) -> int:
    """Write the lake for ``days`` (or extend a shorter one kept in ``root``); returns how
    many files it holds."""
    held = max((int(m.name[6:]) for m in root.glob(".lake-*")), default=None)
    if held is None or held < days:
        t = time.perf_counter()
        market = SimulatedMarket(SimClock(START), depth=DEPTH)
        rows = [
            snapshot_row(market.book_at(v, START + m * 60.0), START + m * 60.0, DEPTH, "demo")
            for m in range(1440)
            for v in VENUE_IDS
        ]
        day0 = frame(rows)
        by_venue = {v: day0.filter(pl.col("venue") == v) for v in VENUE_IDS}
        print(f"generated one day: {len(rows):,} snapshots in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        first = -2 if held is None else held + 2  # a kept lake has its days up to held + 2
        for d in range(first, days + 2):
            shift = timedelta(days=d)
            day = datetime.fromtimestamp(START + d * DAY, UTC).date()
            for venue, part in by_venue.items():
                folder = partition_dir(root, day, venue)
                folder.mkdir(parents=True, exist_ok=True)
                part.with_columns(
                    ts=pl.col("ts") + shift, book_ts=pl.col("book_ts") + shift
                ).write_parquet(folder / new_part_name(), compression="zstd", statistics=True)
        (root / f".lake-{days}").touch()
        print(
            f"wrote {days + 2 - first} days x {len(VENUE_IDS)} venues in {time.perf_counter() - t:.0f} s"
        )
    return sum(1 for _ in (root / "market").rglob("*.parquet"))


def maxrss_mb() -> float:
    """Peak resident memory of this process so far, MB."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


class Lines:
    """A stdout that counts the lines printed to it and keeps none."""

    def __init__(self) -> None:
        self.lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)

    def flush(self) -> None:
        """Nothing kept, nothing to flush."""


async def backtest(lake: Path, saved: Path, days: int, tranches: int, mode: str) -> dict[str, Any]:
    """Prepare, replay and save one backtest; its figures.

    A plan of more than ``MAX_TRANCHES`` (90 days of one-minute tranches) is built at the
    cap and then given its tranches: the command line refuses it (a 90-day backtest there
    has tranches 78 s apart at least), but only the same density as the month's shows
    whether the time is linear in the window. Each tranche buys ~0.00023 BTC (10 BTC over
    the month), or 1 BTC over the year's daily tranches.
    """
    amount = Decimal(10) * tranches / 43200 if tranches > days else Decimal(1)
    plan = build_plan(
        amount=str(amount.quantize(Decimal("0.00000001"))),
        duration=days * DAY,
        tranches=min(tranches, MAX_TRANCHES),
        mode=mode,
        specs=DEFAULT_SPECS,
    )
    if tranches > MAX_TRANCHES:
        plan = replace(plan, tranches=tranches)
    wall, cpu = time.perf_counter(), time.process_time()
    prepared = bt.prepare(lake, plan, START, max_age_s=90.0)
    prepare_s = time.perf_counter() - wall
    out = Lines()
    journal = bt.BatchJournal(saved)
    printer = Printer(out, False, "USD")  # type: ignore[arg-type]
    outcome = await bt.replay(prepared, DEFAULT_SPECS, FanOut(journal, printer))
    s = outcome.summary
    assert s.filled == tranches and s.qty == plan.amount, (s.filled, s.qty)
    return {
        "mode": mode,
        "days": days,
        "tranches": tranches,
        "wall_s": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu,
        "prepare_s": prepare_s,
        "days_read": outcome.days_read,
        "snapshots": outcome.snapshots,
        "on_demand": outcome.on_demand,
        "lines": out.lines,
        "files_saved": len(journal.written),
        "peak_rss_mb": maxrss_mb(),
    }


def child(args: argparse.Namespace) -> None:
    """One backtest in this process: its figures as one JSON line."""
    with tempfile.TemporaryDirectory() as saved:
        figures = asyncio.run(
            backtest(Path(args.lake), Path(saved), args.child_days, args.tranches, args.mode)
        )
    print(json.dumps(figures))


def run_one(lake: Path, days: int, tranches: int, mode: str) -> dict[str, Any]:
    """Run one backtest in a fresh process, with the load average around it."""
    load = os.getloadavg()[0]
    argv = [sys.executable, __file__, "--lake", str(lake), "--child-days", str(days)]
    argv += ["--tranches", str(tranches), "--mode", mode]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"backtest {days} days {mode} failed:\n{done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    figures["load"] = (load, os.getloadavg()[0])
    return figures


def show(f: dict[str, Any]) -> None:
    print(
        f"{f['days']:>4} days {f['mode']:>6}: {f['tranches']:>7,} tranches in "
        f"{f['cpu_s']:6.2f} s CPU, {f['wall_s']:6.2f} s wall (checking the lake {f['prepare_s']:.2f} s); "
        f"{f['days_read']} days read, {f['snapshots']:,} snapshots "
        f"({f['on_demand']} off the schedule); {f['lines']:,} lines printed, "
        f"{f['files_saved']} files saved; peak RSS {f['peak_rss_mb']:.0f} MB "
        f"[load {f['load'][0]:.1f} -> {f['load'][1]:.1f}]",
        flush=True,
    )


def main() -> None:
    """Print every figure, then the ratios and goals they are about."""
    parser = argparse.ArgumentParser(
        description="Backtest benchmark; with none of --days/--long/--year, all three."
    )
    parser.add_argument("--days", type=int, help="days of one-minute tranches (the month: 30)")
    parser.add_argument("--long", type=int, help="a longer window of them, against --days (90)")
    parser.add_argument("--year", type=int, help="days of daily tranches (the year: 365)")
    parser.add_argument("--mode", choices=("single", "split", "both"), default="both")
    # One backtest in a child process (what the parent runs).
    parser.add_argument("--lake", help=argparse.SUPPRESS)
    parser.add_argument("--child-days", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tranches", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_days:
        child(args)
        return
    if args.days is None and args.long is None and args.year is None:
        args.days, args.long, args.year = 30, 90, 365
    if args.long is not None and args.days is None:
        args.days = 30  # the quarter is measured against the month
    runs = [
        (d, per_day) for d, per_day in ((args.days, 1440), (args.long, 1440), (args.year, 1)) if d
    ]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, polars {pl.__version__}; load average "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
        + " at start"
    )
    modes = ["single", "split"] if args.mode == "both" else [args.mode]
    keep = os.environ.get("BENCH_LAKE")
    results: dict[tuple[int, str], dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        lake = Path(keep) if keep else Path(tmp)
        longest = max(d for d, _ in runs)
        files = build_lake(lake, longest)
        size = sum(p.stat().st_size for p in (lake / "market").rglob("*.parquet"))
        held = max(int(m.name[6:]) for m in lake.glob(".lake-*"))
        print(f"lake: {files:,} files, {size / 1e6:,.0f} MB ({held} days + 4 outside)")
        for days, per_day in runs:
            for mode in modes:
                results[days, mode] = f = run_one(lake, days, days * per_day, mode)
                show(f)
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("\nagainst the goals (CPU time first: the machine may be shared):")
    for mode in modes:
        parts: list[str] = []
        if args.days:
            month = results[args.days, mode]
            parts.append(
                f"{args.days} days {month['cpu_s']:.2f} s CPU, {month['wall_s']:.2f} s wall "
                f"(< 10 s, load {month['load'][0]:.1f})"
            )
        if args.long:
            month, quarter = results[args.days, mode], results[args.long, mode]
            goal = 3.2 / 3 * args.long / args.days
            parts.append(
                f"{args.long}/{args.days} days CPU {quarter['cpu_s'] / month['cpu_s']:.2f}x, "
                f"wall {quarter['wall_s'] / month['wall_s']:.2f}x (<= {goal:.1f}x); "
                f"peak RSS {quarter['peak_rss_mb'] / month['peak_rss_mb']:.2f}x (<= 1.10x), "
                f"{month['peak_rss_mb']:.0f} / {quarter['peak_rss_mb']:.0f} MB (< 400 MB)"
            )
        if args.year:
            year = results[args.year, mode]
            parts.append(
                f"{args.year} daily tranches {year['cpu_s']:.2f} s CPU, "
                f"{year['wall_s']:.2f} s wall (< 60 s)"
            )
        print(f"  {mode:>6}: " + "; ".join(parts))


if __name__ == "__main__":
    main()
