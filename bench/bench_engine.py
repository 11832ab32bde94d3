"""Engine benchmarks: pricing + routing of one tranche, and a 10,000-tranche plan.

Run: .venv/bin/python bench/bench_engine.py
Goals (2-core machine): single < 200 µs, split < 1 ms per tranche over 6 venues × 100
levels; a 10,000-tranche plan under the simulated clock < 5 s.
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import time
from decimal import Decimal

from dca.executor import Executor
from dca.journal import MemoryJournal
from dca.plan import build_plan
from dca.routing import Mode, route
from exchanges.clock import SimClock
from exchanges.simulated import SimulatedMarket
from exchanges.venues import DEFAULT_SPECS, VENUE_IDS


def median_us(fn, runs: int = 2000) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        t = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t)
    return statistics.median(samples) / 1000


def main() -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at start"
    )
    market = SimulatedMarket(SimClock(), depth=100)
    books = {v: market.book_at(v, 1_767_225_600.0 + 77) for v in VENUE_IDS}
    for qty in ("0.05", "0.5", "2"):
        q = Decimal(qty)
        single = median_us(lambda q=q: route(books, DEFAULT_SPECS, q, Mode.SINGLE))
        split = median_us(lambda q=q: route(books, DEFAULT_SPECS, q, Mode.SPLIT))
        print(
            f"route {qty:>4} BTC over 6 venues x 100 levels: single {single:7.1f} µs, split {split:7.1f} µs (median)"
        )

    for mode in ("single", "split"):
        clock = SimClock()
        plan = build_plan(
            amount="10", duration="70d", tranches=10_000, mode=mode, specs=DEFAULT_SPECS
        )
        executor = Executor(plan, SimulatedMarket(clock), MemoryJournal(), clock)
        t, cpu = time.perf_counter(), time.process_time()
        summary = asyncio.run(executor.run())
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        assert summary.qty == Decimal(10)
        print(
            f"10,000-tranche plan (70 days, simulated clock, {mode}): {wall:.2f} s wall, {cpu:.2f} s CPU"
        )


if __name__ == "__main__":
    main()
