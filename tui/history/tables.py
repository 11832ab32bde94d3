"""The history screen's Arrow tables: their schemas, a run's totals and its price series.

Kept apart from ``source`` so the dashboard starts without loading Arrow: this
module loads when History opens (or in the background after the first frame).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from dca.pricing import ZERO
from tui.history.source import RunDetail

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
        # The total per BTC bought, fees in: exact total / exact BTC, rounded once.
        ("avg cost", MONEY),
        ("fees", MONEY),
        ("saved vs worst", MONEY),
        ("tranches", pa.int32()),
        # "run", or "backtest" (replayed over recorded books): listed apart.
        ("kind", pa.string()),
        # Execution quality (dca/tca.py): cost above each benchmark, in bps; fees / total.
        ("vs arrival bps", pa.float64()),
        ("vs TWAP bps", pa.float64()),
        ("vs all at once bps", pa.float64()),
        ("fee share", pa.float64()),
        # A budget run's money to spend, fees in (then "amount BTC" is 0); null otherwise.
        ("budget", MONEY),
        # A standing plan's period ("1w"; then "budget" is each buy's money); null otherwise.
        ("every", pa.string()),
    ]
)
# The runs table's execution-quality columns, as the History summary names them.
QUALITY = ("vs arrival bps", "vs TWAP bps", "vs all at once bps", "fee share")

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
        # "filled", or "skipped" (then ``venue`` says why in words and nothing was bought).
        ("status", pa.string()),
        # The lowest mid across venues at the decision, and what the tranche paid above it
        # (fees in), in bps: the tranche's slippage.
        ("best mid", MONEY),
        ("slip bps", pa.float64()),
        # Real orders: the paper decision's price per BTC, fees out and in, and the fill's
        # price above it in bps (dca/tca.py ``fill_tca``); null on paper.
        ("decided price", MONEY),
        ("decided cost", MONEY),
        ("vs decision bps", pa.float64()),
    ]
)
FILLED = "filled"


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
    """Totals, per-venue share of BTC and the (sampled) price series of a run's filled
    tranches (skipped ones bought nothing and have no price)."""
    tranches = tranches.filter(pc.equal(tranches["status"], FILLED))
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
    vs_decision, vs_decision_fee = _vs_decisions(tranches)
    return RunDetail(
        qty=qty,
        total=total,
        fees=fees,
        saved=saved,
        avg_price=notional / qty if qty else None,
        avg_cost=total / qty if qty else None,
        venue_share=dict(sorted(share.items(), key=lambda kv: -kv[1])),
        prices=_series(tranches["avg price"], points),
        worst=_series(tranches["worst price"], points),
        mids=_series(tranches["best mid"], points),
        slippage_bps=_median(tranches["slip bps"]),
        vs_decision_bps=vs_decision,
        vs_decision_fee_bps=vs_decision_fee,
    )


def _vs_decisions(tranches: pa.Table) -> tuple[float | None, float | None]:
    """The live tranches' fills above their decisions, weighted by the BTC filled (fees
    out, then in); None on paper."""
    live = tranches.filter(pc.is_valid(tranches["decided price"]))
    if not live.num_rows:
        return None, None
    paid = decided = total = decided_fee = ZERO
    for qty, price, cost, price_d, cost_d in zip(
        live["qty BTC"].to_pylist(),
        live["avg price"].to_pylist(),
        live["total"].to_pylist(),
        live["decided price"].to_pylist(),
        live["decided cost"].to_pylist(),
        strict=True,
    ):
        paid += price * qty
        total += cost
        decided += price_d * qty
        decided_fee += cost_d * qty
    return (
        float((paid / decided - 1) * 10_000) if decided else None,
        float((total / decided_fee - 1) * 10_000) if decided_fee else None,
    )


def _median(column: pa.ChunkedArray) -> float | None:
    values = sorted(v for v in column.to_pylist() if v is not None)
    return values[len(values) // 2] if values else None


def runs_table(rows: Sequence[dict[str, object]]) -> pa.Table:
    """Runs rows (dicts keyed by column name) as a ``RUNS_SCHEMA`` table."""
    return pa.Table.from_pylist(list(rows), schema=RUNS_SCHEMA)


def tranches_table(rows: Sequence[tuple[object, ...]]) -> pa.Table:
    """Tranche rows (tuples in ``TRANCHES_SCHEMA`` order) as a table, column by column."""
    columns: list[Sequence[object]] = (
        list(zip(*rows, strict=True)) if rows else [[] for _ in TRANCHES_SCHEMA]
    )
    return pa.Table.from_arrays(
        [pa.array(list(c), type=f.type) for c, f in zip(columns, TRANCHES_SCHEMA, strict=True)],
        schema=TRANCHES_SCHEMA,
    )
