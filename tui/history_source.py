"""Where the history screen gets its data: two Arrow tables, whoever stores them.

``HistorySource`` is the seam: ``MemoryHistory`` (runs of this session, kept from
the executor's events) implements it now; a Parquet-backed source implements it
with storage's queries. Tables are Arrow so a million tranches open without a
row-by-row insert, and every money column is an exact ``decimal128``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

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
from dca.pricing import ZERO

CENT = Decimal("0.01")
SAT = Decimal("0.00000001")
MONEY = pa.decimal128(20, 2)
QTY = pa.decimal128(20, 8)
TIME = pa.timestamp("s", tz="UTC")

RUNS_SCHEMA = pa.schema(
    [
        ("run", pa.string()),
        ("started", TIME),
        ("status", pa.string()),
        ("amount BTC", QTY),
        ("bought BTC", QTY),
        ("quote", pa.string()),
        ("total", MONEY),
        ("avg price", MONEY),
        ("fees", MONEY),
        ("saved vs worst", MONEY),
        ("tranches", pa.int32()),
    ]
)

TRANCHES_SCHEMA = pa.schema(
    [
        ("#", pa.int32()),
        ("time", TIME),
        ("venue", pa.string()),
        ("qty BTC", QTY),
        ("avg price", MONEY),
        ("fee", MONEY),
        ("total", MONEY),
        ("saved vs worst", MONEY),
        ("worst price", MONEY),
    ]
)


class HistorySource(Protocol):
    """Past runs and their tranches, as Arrow tables in the schemas above."""

    def runs(self) -> pa.Table:
        """Every run, newest first (``RUNS_SCHEMA``)."""
        ...

    def tranches(self, run_id: str) -> pa.Table:
        """The filled tranches of one run in order (``TRANCHES_SCHEMA``)."""
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


def _dec(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else ZERO


# Most points of the price series kept for the chart (a million tranches are sampled evenly).
CHART_POINTS = 400


def _series(column: pa.ChunkedArray, points: int) -> list[float]:
    n = len(column)
    if n > points:
        column = column.take(pa.array([i * (n - 1) // (points - 1) for i in range(points)]))
    return [0.0 if x is None else x for x in pc.cast(column, pa.float64()).to_pylist()]


def run_detail(tranches: pa.Table, points: int = CHART_POINTS) -> RunDetail:
    """Totals, per-venue share of BTC and the (sampled) price series of a run's tranches."""
    qty = _dec(pc.sum(tranches["qty BTC"]).as_py())
    total = _dec(pc.sum(tranches["total"]).as_py())
    fees = _dec(pc.sum(tranches["fee"]).as_py())
    saved = _dec(pc.sum(tranches["saved vs worst"]).as_py())
    notional = total - fees
    share: dict[str, Decimal] = {}
    if qty:
        grouped = tranches.group_by("venue").aggregate([("qty BTC", "sum")])
        for venue, venue_qty in zip(
            grouped["venue"].to_pylist(), grouped["qty BTC_sum"].to_pylist(), strict=True
        ):
            share[venue] = _dec(venue_qty) / qty
    return RunDetail(
        qty=qty,
        total=total,
        fees=fees,
        saved=saved,
        avg_price=notional / qty if qty else None,
        venue_share=dict(sorted(share.items(), key=lambda kv: -kv[1])),
        prices=_series(tranches["avg price"], points),
        worst=_series(tranches["worst price"], points),
    )


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

    async def record(self, event: Event) -> None:
        """Keep what the history screen shows of ``event``."""
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

    def runs(self) -> pa.Table:
        """This session's runs, newest first."""
        rows = []
        for run_id, run in sorted(
            self._runs.items(), key=lambda kv: (kv[1].started.at, kv[0]), reverse=True
        ):
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
        return pa.Table.from_pylist(rows, schema=RUNS_SCHEMA)

    def tranches(self, run_id: str) -> pa.Table:
        """The filled tranches of ``run_id``."""
        run = self._runs.get(run_id)
        rows = run.rows if run else []
        columns: list[Sequence[object]] = (
            list(zip(*rows, strict=True)) if rows else [[] for _ in TRANCHES_SCHEMA]
        )
        return pa.Table.from_arrays(
            [pa.array(list(c), type=f.type) for c, f in zip(columns, TRANCHES_SCHEMA, strict=True)],
            schema=TRANCHES_SCHEMA,
        )
