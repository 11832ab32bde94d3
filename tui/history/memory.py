"""The runs of this session, kept from the executor's events, as a ``HistorySource``.

Arrow (``tables``) is imported only when a table is asked for, so the dashboard
starts without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

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
from dca.status import RunStatus
from dca.tca import best_mid
from tui.fmt import skip_words
from tui.history.source import CENT

if TYPE_CHECKING:  # Arrow loads with the history screen, not with the dashboard
    import pyarrow as pa


def _ts(epoch: float) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC)


@dataclass
class _Run:
    started: RunStarted
    status: RunStatus = RunStatus.RUNNING
    summary: Summary | None = None
    rows: list[tuple[object, ...]] = field(default_factory=list)


def _cent(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(CENT)


def quality_of(summary: Summary | None) -> dict[str, float | None]:
    """A finished run's execution quality as the runs table's columns (none while running)."""
    if summary is None:
        return {}
    q = summary.quality

    def f(value: Decimal | None) -> float | None:
        return None if value is None else float(value)

    return {
        "vs arrival bps": f(q.shortfall_bps),
        "vs TWAP bps": f(q.vs_twap_bps),
        "vs all at once bps": f(q.vs_lump_bps),
        "fee share": f(q.fee_share),
    }


def _decided(event: TrancheFilled) -> tuple[Decimal | None, Decimal | None, float | None]:
    """A live tranche's decided price and cost per BTC and its fill above it (bps)."""
    fill = event.fill_tca
    d = event.decision
    if fill is None or d is None:
        return None, None, None
    vs = fill.vs_decision_bps
    return _cent(d.avg_price), _cent(d.effective_price), float(vs) if vs is not None else None


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
            self._runs.setdefault(event.run_id, _Run(event)).status = RunStatus.RUNNING
            return
        run = self._runs.get(event.run_id)
        if run is None:
            return
        if isinstance(event, TrancheFilled):
            r = event.route
            worst = r.worst_total / r.qty
            tca = event.tca
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
                    "filled",
                    _cent(tca.mid_best),
                    float(tca.slippage_fee_bps) if tca.slippage_fee_bps is not None else None,
                    *_decided(event),
                )
            )
        elif isinstance(event, TrancheSkipped):
            why = f"skipped: {skip_words(event.reason.value, short=True)}"
            run.rows.append(
                (
                    event.index + 1,
                    _ts(event.at),
                    why,
                    ZERO,
                    None,
                    None,
                    None,
                    None,
                    None,
                    "skipped",
                    _cent(best_mid(event.quotes)),
                    None,
                    None,
                    None,
                    None,
                )
            )
        elif isinstance(event, RunPaused | RunResumed):
            run.status = RunStatus.PAUSED if isinstance(event, RunPaused) else RunStatus.RUNNING
        elif isinstance(event, RunFinished | RunCancelled):
            run.status = event.status
            run.summary = event.summary

    def runs(self, limit: int | None = None) -> pa.Table:
        """This session's newest ``limit`` runs, newest first."""
        from tui.history.tables import run_detail, runs_table

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
                    avg_cost=sm.effective_price,
                )
            rows.append(
                {
                    "run": run_id,
                    "started": _ts(run.started.at),
                    "status": run.status.value
                    + (" LIVE" if run.started.execution == "live" else ""),
                    "amount BTC": plan.amount,
                    "bought BTC": d.qty,
                    "quote": plan.quote,
                    "total": d.total.quantize(CENT),
                    "avg price": d.avg_price.quantize(CENT) if d.avg_price else None,
                    "avg cost": d.avg_cost.quantize(CENT) if d.avg_cost else None,
                    "fees": d.fees.quantize(CENT),
                    "saved vs worst": d.saved.quantize(CENT),
                    "tranches": plan.tranches,
                    "kind": "run",
                    "budget": plan.spend,
                    "every": plan.standing.every.text if plan.standing else None,
                    **quality_of(run.summary),
                }
            )
        return runs_table(rows)

    def tranches(self, run_id: str) -> pa.Table:
        """The tranches of ``run_id`` (skipped ones say why where the venue would be)."""
        from tui.history.tables import tranches_table

        run = self._runs.get(run_id)
        return tranches_table(list(run.rows) if run else [])
