"""Where the history screen gets its data: two Arrow tables, whoever stores them.

``HistorySource`` is the seam: ``MemoryHistory`` (runs of this session, kept from
the executor's events) and ``ParquetHistory`` (storage's queries) implement it.
Tables are Arrow so a million tranches open without a row-by-row insert, and every
money column is an exact ``decimal128``; their schemas live in ``history_tables``,
which this module imports only when a table is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from dca.events import (
    Event,
    RunCancelled,
    RunFinished,
    RunPaused,
    RunResumed,
    RunStarted,
    Summary,
    TrancheFilled,
    TrancheSkipped,
)

if TYPE_CHECKING:  # Arrow loads with the history screen, not with the dashboard
    import pyarrow as pa

CENT = Decimal("0.01")


class HistorySource(Protocol):
    """Past runs and their tranches, as Arrow tables (schemas in ``history_tables``)."""

    def runs(self, limit: int | None = None) -> pa.Table:
        """The newest ``limit`` runs (all when None), newest first (``RUNS_SCHEMA``)."""
        ...

    def tranches(self, run_id: str) -> pa.Table:
        """The filled tranches of one run in order (``TRANCHES_SCHEMA``)."""
        ...

    def version(self) -> object:
        """A cheap value that changes whenever ``runs`` or ``tranches`` would answer
        differently (the history screen re-reads only then)."""
        ...


@dataclass(frozen=True, slots=True)
class RunDetail:
    """A run's totals computed from its tranches; prices per BTC for the chart."""

    qty: Decimal
    total: Decimal
    fees: Decimal
    saved: Decimal
    avg_price: Decimal | None
    venue_share: dict[str, Decimal]
    prices: Sequence[float] = field(default_factory=list)
    worst: Sequence[float] = field(default_factory=list)


def _ts(epoch: float) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC)


@dataclass
class _Run:
    started: RunStarted
    status: str = "running"
    summary: Summary | None = None
    rows: list[tuple[object, ...]] = field(default_factory=list)


class MemoryHistory:
    """A journal that remembers this session's runs and serves them as a ``HistorySource``."""

    def __init__(self) -> None:
        self._runs: dict[str, _Run] = {}
        self._events = 0

    def version(self) -> int:
        """How many events have been recorded."""
        return self._events

    async def record(self, event: Event) -> None:
        """Keep what the history screen shows of ``event``."""
        self._events += 1
        if isinstance(event, RunStarted):
            self._runs.setdefault(event.run_id, _Run(event)).status = "running"
            return
        run = self._runs.get(event.run_id)
        if run is None:
            return
        if isinstance(event, TrancheFilled):
            r = event.route
            worst = r.worst_total / r.qty
            run.rows.append(
                (
                    event.index + 1,
                    _ts(event.at),
                    r.venue,
                    r.qty,
                    r.avg_price.quantize(CENT),
                    r.fee.quantize(CENT),
                    r.total.quantize(CENT),
                    r.saved_vs_worst.quantize(CENT),
                    worst.quantize(CENT),
                )
            )
        elif isinstance(event, TrancheSkipped):
            return
        elif isinstance(event, RunPaused | RunResumed):
            run.status = "paused" if isinstance(event, RunPaused) else "running"
        elif isinstance(event, RunFinished | RunCancelled):
            run.status = "finished" if isinstance(event, RunFinished) else "cancelled"
            run.summary = event.summary

    def runs(self, limit: int | None = None) -> pa.Table:
        """This session's newest ``limit`` runs, newest first."""
        from tui.history_tables import run_detail, runs_table

        rows: list[dict[str, object]] = []
        # Read from worker threads while the loop records: copy first (one C-level step).
        runs = list(self._runs.items())
        newest = sorted(runs, key=lambda kv: (kv[1].started.at, kv[0]), reverse=True)
        for run_id, run in newest[:limit]:
            plan = run.started.plan
            d = run_detail(self.tranches(run_id))
            if run.summary is not None:
                # Exact totals, rounded once (the rows are each rounded to the cent).
                sm = run.summary
                d = replace(
                    d,
                    qty=sm.qty,
                    total=sm.total,
                    fees=sm.fee,
                    saved=sm.saved_vs_worst,
                    avg_price=sm.avg_price,
                )
            rows.append(
                {
                    "run": run_id,
                    "started": _ts(run.started.at),
                    "status": run.status,
                    "amount BTC": plan.amount,
                    "bought BTC": d.qty,
                    "quote": plan.quote,
                    "total": d.total.quantize(CENT),
                    "avg price": d.avg_price.quantize(CENT) if d.avg_price else None,
                    "fees": d.fees.quantize(CENT),
                    "saved vs worst": d.saved.quantize(CENT),
                    "tranches": plan.tranches,
                }
            )
        return runs_table(rows)

    def tranches(self, run_id: str) -> pa.Table:
        """The filled tranches of ``run_id``."""
        from tui.history_tables import tranches_table

        run = self._runs.get(run_id)
        return tranches_table(list(run.rows) if run else [])
