"""Storage benchmarks: append cost vs history size, run summaries over 1M tranches, compaction.

Run: ``python bench/bench_storage.py`` (a few minutes at most; uses a tmp dir).
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from dca.events import TrancheFilled
from dca.executor import Executor
from dca.journal import MemoryJournal
from dca.plan import build_plan
from exchanges.clock import SimClock
from exchanges.simulated import SimulatedMarket
from exchanges.venues import DEFAULT_SPECS
from storage.history.compaction import compact
from storage.history.dataset import write_atomic
from storage.history.journal import ParquetJournal
from storage.history.queries import History
from storage.history.rows import run_row, tranche_row
from storage.history.schema import frame

APPENDS = 30
PER_RUN = 1000


async def sample_run() -> MemoryJournal:
    """The events of one short run on the simulated market (rows to copy from)."""
    clock = SimClock()
    plan = build_plan(
        amount="1", duration="1h", tranches=APPENDS, specs=DEFAULT_SPECS, venues=["kraken"]
    )
    memory = MemoryJournal()
    await Executor(plan, SimulatedMarket(clock, venues=plan.venues), memory, clock).run()
    return memory


def seed_history(
    data_dir: Path, memory: MemoryJournal, tranches: int, per_run: int = PER_RUN
) -> None:
    """``tranches`` rows in ``tranches / per_run`` finished runs, a few big files per table."""
    now = datetime.now(UTC)
    filled = next(e for e in memory.events if isinstance(e, TrancheFilled))
    template = frame("tranches", [tranche_row(filled, now)])
    runs_n = max(1, tranches // per_run)
    per_file = 250_000
    for start in range(0, tranches, per_file):
        n = min(per_file, tranches - start)
        ids = pl.int_range(start, start + n, eager=True)
        df = template.select(pl.all().gather([0] * n)).with_columns(
            run_id=pl.format("bench-{}", (ids // per_run).cast(pl.Utf8).str.zfill(7)),
            index=(ids % per_run).cast(pl.Int32),
        )
        write_atomic(df, data_dir / "tranches" / "date=2026-01-01")
    started = next(e for e in memory.events if type(e).__name__ == "RunStarted")
    finished = memory.events[-1]
    base = run_row(started, {}, 0, now)  # type: ignore[arg-type]
    last = run_row(finished, {}, 1, now)  # type: ignore[arg-type]
    rows = []
    for r in range(runs_n):
        rid = f"bench-{r:07d}"
        at = now - timedelta(minutes=runs_n - r)
        rows.append({**base, "run_id": rid, "created_at": at})
        rows.append({**base, **last, "run_id": rid, "created_at": at, "rev": 1})
    write_atomic(frame("runs", rows), data_dir / "runs" / "date=2026-01-01")


async def time_appends(data_dir: Path, memory: MemoryJournal) -> float:
    """Median seconds per durable tranche append (tranche + its quotes, fsynced)."""
    journal = ParquetJournal(data_dir)
    filled = [e for e in memory.events if isinstance(e, TrancheFilled)]
    started = next(e for e in memory.events if type(e).__name__ == "RunStarted")
    await journal.record(started)
    times = []
    for event in filled:
        t = time.perf_counter()
        await journal.record(replace(event, run_id=started.run_id))
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def maxrss_mb() -> float:
    """Peak resident memory of this process so far, MB."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def main() -> None:
    """Print every figure."""
    memory = asyncio.run(sample_run())
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1_000, 1_000_000):
            d = Path(tmp) / f"h{n}"
            seed_history(d, memory, n)
            per = asyncio.run(time_appends(d, memory))
            print(f"append one tranche with {n:>9,} stored: {per * 1000:.2f} ms (median)")

        d = Path(tmp) / "h1000000"
        before = maxrss_mb()
        times = []
        for _ in range(5):
            t = time.perf_counter()
            df = History(d).run_summaries(0, 50)
            times.append(time.perf_counter() - t)
        print(
            f"run summaries (newest 50 of {1_000_000 // PER_RUN:,} runs, 1,000,000 tranches): "
            f"{statistics.median(times) * 1000:.0f} ms median, first {times[0] * 1000:.0f} ms; "
            f"peak RSS {maxrss_mb():.0f} MB (before {before:.0f} MB), {df.height} rows"
        )
        t = time.perf_counter()
        share = History(d).venue_share()
        print(
            f"per-venue share over 1,000,000 tranches: {(time.perf_counter() - t) * 1000:.0f} ms "
            f"({share.height} venue rows)"
        )

        c = Path(tmp) / "compact"
        filled = next(e for e in memory.events if isinstance(e, TrancheFilled))
        now = datetime.now(UTC)
        folder = c / "tranches" / "date=2026-01-01"
        t = time.perf_counter()
        for i in range(10_000):
            write_atomic(frame("tranches", [{**tranche_row(filled, now), "index": i}]), folder)
        print(f"write 10,000 small files: {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        report = compact(c)
        print(f"compaction of 10,000 small files: {time.perf_counter() - t:.2f} s ({report})")


if __name__ == "__main__":
    main()
