"""Runs on the simulated market and clock, journaled to Parquet in a tmp dir."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dca.events import Event, Summary, TrancheFilled
from dca.executor import Executor, ResumeState
from dca.journal import FanOut, Journal, MemoryJournal
from dca.plan import Plan, build_plan
from exchanges.clock import SimClock
from exchanges.simulated import Fault, SimulatedMarket
from exchanges.venues import DEFAULT_SPECS
from storage.history.journal import ParquetJournal


def plan(
    amount: str = "1.23456789",
    tranches: int = 12,
    duration: str = "6h",
    venues: Sequence[str] = ("kraken", "coinbase", "bitstamp", "binanceus"),
    **kw: object,
) -> Plan:
    """A valid plan over US venues."""
    return build_plan(
        amount=amount,
        duration=duration,
        tranches=tranches,
        venues=venues,
        specs=DEFAULT_SPECS,
        **kw,  # type: ignore[arg-type]
    )


class Crash(Exception):
    """Stands for the process dying right after a tranche became durable."""


class CrashAfter:
    """A journal that dies after ``n`` tranches were recorded by the journal before it."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.seen = 0

    async def record(self, event: Event) -> None:
        """Raise once the n-th tranche is recorded."""
        if isinstance(event, TrancheFilled):
            self.seen += 1
            if self.seen == self.n:
                raise Crash


async def run(
    data_dir: Path,
    p: Plan,
    *,
    clock: SimClock | None = None,
    faults: Sequence[Fault] = (),
    extra: Journal | None = None,
    resume: ResumeState | None = None,
    catch_up: bool = True,
) -> tuple[Summary, MemoryJournal, str]:
    """Execute ``p`` with the Parquet journal (plus ``extra``); the summary, events and run id."""
    clock = clock or SimClock()
    market = SimulatedMarket(clock, venues=p.venues, faults=faults)
    memory = MemoryJournal()
    parquet = ParquetJournal(data_dir, source="demo")
    journals: list[Journal] = [parquet, memory]
    if extra is not None:
        journals.append(extra)
    executor = Executor(p, market, FanOut(*journals), clock, resume=resume, catch_up=catch_up)
    try:
        summary = await executor.run()
    finally:
        parquet.close()  # a crash here stands for the process dying: its run lock goes with it
    return summary, memory, executor.run_id
