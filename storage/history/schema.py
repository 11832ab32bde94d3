"""The Parquet tables' explicit schemas, and how money and times are stored.

Money and BTC quantities are ``Decimal(38, 24)`` columns: 14 integer digits and
24 decimal places. Every value that comes from the wire or from exact arithmetic
on it (price × qty × fee rate: at most 8 + 8 + 4 decimals) is stored exactly.
Ratios that cannot be exact (``avg_price`` = notional / qty) are rounded half-even
to 24 places here, before polars sees them — polars itself would round silently.
Times are ``Datetime("us", "UTC")``. Every row carries ``schema_version``.

Columns added after a table's first version are nullable and listed in ``ADDED``:
files written before them lack them and read as null there (never as bad files).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any

import polars as pl

SCHEMA_VERSION = 1
MONEY_SCALE = 24
MONEY = pl.Decimal(38, MONEY_SCALE)
TIME = pl.Datetime("us", "UTC")
_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)
# Integer digits a money column holds (38 - 24).
_WHOLE_DIGITS = 38 - MONEY_SCALE
# 38 significant digits: the column's precision (the default context holds only 28).
_CONTEXT = Context(prec=38, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation])

TABLES = ("runs", "tranches", "quotes", "orders")


def _schema(columns: dict[str, Any]) -> pl.Schema:
    return pl.Schema(columns)


LEG = pl.Struct(
    {
        "venue": pl.Utf8,
        "qty_btc": MONEY,
        "avg_price": MONEY,
        "notional": MONEY,
        "fee": MONEY,
        "total": MONEY,
        "fee_rate": MONEY,
        "levels_used": pl.Int32,
    }
)
ALTERNATIVE = pl.Struct({"venue": pl.Utf8, "total": MONEY})

# -- Book freshness (added columns) ----------------------------------------------------------
# Per venue of a tranche decision: where its book came from ("stream" or "rest"), how old
# it was (seconds since the venue last vouched for it; since it last changed), or, for a
# venue left out or too thin, why (its error). Venues in the plan's order.
BOOK = pl.Struct(
    {
        "venue": pl.Utf8,
        "source": pl.Utf8,
        "age_s": pl.Float64,
        "changed_s": pl.Float64,
        "reason": pl.Utf8,
    }
)
FRESHNESS_TRANCHES: dict[str, Any] = {"books": pl.List(BOOK)}
FRESHNESS_QUOTES: dict[str, Any] = {"book_source": pl.Utf8, "book_changed_s": pl.Float64}

# -- Budget runs (added columns) -------------------------------------------------------------
# A run with a budget in money (``run --spend``): the budget, in the quote currency, fees in
# (null for a run of an amount of BTC). Per tranche: the money it had, and what a skipped
# one carried to the next (its BTC columns are then 0).
BUDGET_RUNS: dict[str, Any] = {"spend": MONEY}
BUDGET_TRANCHES: dict[str, Any] = {"spend": MONEY, "spend_carried": MONEY}

# -- Standing plans (added columns) ----------------------------------------------------------
# A plan with no fixed end (``run --every``): its period (``1w``), local time (``mon 09:00``),
# time zone, end date or total budget (money, fees in), and what it does with slots it
# reached too late. Null for a run over a window (then ``spend`` is its whole budget; for a
# standing plan ``spend`` is the money of each buy, and ``tranches`` and ``duration_s`` 0).
STANDING_RUNS: dict[str, Any] = {
    "every": pl.Utf8,
    "at": pl.Utf8,
    "tz": pl.Utf8,
    "until": TIME,
    "budget": MONEY,
    "missed": pl.Utf8,
}

# -- Real orders (added columns) -------------------------------------------------------------
# A real order's fills as the venue charged them, and each order of a tranche.
FILL = pl.Struct({"price": MONEY, "qty_btc": MONEY, "fee": MONEY, "fee_currency": pl.Utf8})
ORDER = pl.Struct(
    {
        "venue": pl.Utf8,
        "client_order_id": pl.Utf8,
        "venue_order_id": pl.Utf8,
        "state": pl.Utf8,
        "qty_btc": MONEY,
        "limit_price": MONEY,
        "fills": pl.List(FILL),
        "error": pl.Utf8,
    }
)
# Runs: "paper" or "live" (real orders); null in older files (paper).
LIVE_RUNS: dict[str, Any] = {"execution": pl.Utf8}
# Tranches: real orders beside the paper decision they came from.
LIVE_TRANCHES: dict[str, Any] = {
    "live": pl.Boolean,
    "orders": pl.List(ORDER),
    "decision_qty_btc": MONEY,
    "decision_total": MONEY,
    "decision_avg_price": MONEY,
}

# One row per event in a run's life (started, paused, resumed, finished...): runs are
# append-only, and the row with the highest ``rev`` is the run's current state.
RUNS = _schema(
    {
        "schema_version": pl.Int16,
        "run_id": pl.Utf8,
        "rev": pl.Int64,
        "event": pl.Utf8,
        "status": pl.Utf8,
        "recorded_at": TIME,
        "created_at": TIME,
        "started_at": TIME,
        "finished_at": TIME,
        "origin": TIME,
        "amount_btc": MONEY,
        "duration_s": pl.Float64,
        "tranches": pl.Int32,
        "quote": pl.Utf8,
        "venues": pl.Utf8,
        "mode": pl.Utf8,
        "max_price": MONEY,
        "jitter": pl.Boolean,
        "seed": pl.Int64,
        "tranches_defaulted": pl.Boolean,
        "default_reason": pl.Utf8,
        "lot_btc": MONEY,
        "min_order_btc": MONEY,
        "plan_extra": pl.Utf8,
        "source": pl.Utf8,
        "speed": pl.Float64,
        "qty_btc": MONEY,
        "notional": MONEY,
        "fee": MONEY,
        "total": MONEY,
        "avg_price": MONEY,
        "filled": pl.Int32,
        "skipped": pl.Int32,
        "saved_vs_worst": MONEY,
        "saved_vs_median": MONEY,
        "detail": pl.Utf8,
        "app_version": pl.Utf8,
        # Execution quality (dca/tca.py), set with the totals; null in older files.
        "tca_arrival_mid": MONEY,
        "tca_twap_mid": MONEY,
        "tca_lump_total": MONEY,
        "tca_shortfall": MONEY,
        "tca_shortfall_bps": pl.Float64,
        "tca_vs_twap": MONEY,
        "tca_vs_twap_bps": pl.Float64,
        "tca_vs_lump": MONEY,
        "tca_vs_lump_bps": pl.Float64,
        "tca_vs_worst_bps": pl.Float64,
        "tca_vs_median_bps": pl.Float64,
        "tca_fee_share": pl.Float64,
        **BUDGET_RUNS,
        **LIVE_RUNS,
        **STANDING_RUNS,
    }
)

# One row per tranche; (run_id, index) is the key.
TRANCHES = _schema(
    {
        "schema_version": pl.Int16,
        "run_id": pl.Utf8,
        "index": pl.Int32,
        "of": pl.Int32,
        "recorded_at": TIME,
        "scheduled_at": TIME,
        "executed_at": TIME,
        "status": pl.Utf8,
        "reason": pl.Utf8,
        "detail": pl.Utf8,
        "mode": pl.Utf8,
        "venue": pl.Utf8,
        "legs": pl.List(LEG),
        "requested_btc": MONEY,
        "qty_btc": MONEY,
        "carried_btc": MONEY,
        "avg_price": MONEY,
        "notional": MONEY,
        "fee": MONEY,
        "total": MONEY,
        "saved_vs_worst": MONEY,
        "saved_vs_median": MONEY,
        "alternatives": pl.List(ALTERNATIVE),
        "book_age_s": pl.Float64,
        **FRESHNESS_TRANCHES,
        # Execution quality (dca/tca.py); null in older files. The lump sum is set on a
        # run's first decision only, so a resumed run's figures can be rebuilt.
        "tca_mid_chosen": MONEY,
        "tca_mid_best": MONEY,
        "tca_slippage_bps": pl.Float64,
        "tca_slippage_fee_bps": pl.Float64,
        "tca_improvement": MONEY,
        "tca_improvement_bps": pl.Float64,
        "tca_lump_total": MONEY,
        "tca_lump_amount": MONEY,
        **BUDGET_TRANCHES,
        **LIVE_TRANCHES,
    }
)

# One row per venue quote a tranche decision looked at; (run_id, index, venue) is the key.
QUOTES = _schema(
    {
        "schema_version": pl.Int16,
        "run_id": pl.Utf8,
        "index": pl.Int32,
        "venue": pl.Utf8,
        "recorded_at": TIME,
        "at": TIME,
        "status": pl.Utf8,
        "chosen": pl.Boolean,
        "best_bid": MONEY,
        "best_ask": MONEY,
        "qty_btc": MONEY,
        "available_btc": MONEY,
        "notional": MONEY,
        "fee": MONEY,
        "total": MONEY,
        "avg_price": MONEY,
        "levels_used": pl.Int32,
        "fee_rate": MONEY,
        "error_kind": pl.Utf8,
        "error": pl.Utf8,
        "health": pl.Utf8,
        "latency_ms": pl.Float64,
        "book_age_s": pl.Float64,
        **FRESHNESS_QUOTES,
    }
)

# One row per recorded book snapshot (btc-dca record); see storage/market/lake.py for the
# integer-and-exponent encoding of prices and sizes. (venue, ts) is the key.
MARKET = _schema(
    {
        "schema_version": pl.Int16,
        "ts": TIME,
        "venue": pl.Utf8,
        "quote": pl.Utf8,
        "book_ts": TIME,
        "source": pl.Utf8,
        "price_exp": pl.Int8,
        "size_exp": pl.Int8,
        "bid_price": pl.List(pl.Int64),
        "bid_size": pl.List(pl.Int64),
        "ask_price": pl.List(pl.Int64),
        "ask_size": pl.List(pl.Int64),
    }
)

# Real orders: a row when an order's intent is journaled (before it is sent), another
# when its outcome is known. (client_order_id, event) is the key.
ORDERS = _schema(
    {
        "schema_version": pl.Int16,
        "run_id": pl.Utf8,
        "index": pl.Int32,
        "leg": pl.Int16,
        "attempt": pl.Int16,
        "venue": pl.Utf8,
        "client_order_id": pl.Utf8,
        "event": pl.Utf8,
        "recorded_at": TIME,
        "symbol": pl.Utf8,
        "qty_btc": MONEY,
        "limit_price": MONEY,
        "state": pl.Utf8,
        "venue_order_id": pl.Utf8,
        "fills": pl.List(FILL),
        "error": pl.Utf8,
    }
)

SCHEMAS: dict[str, pl.Schema] = {
    "runs": RUNS,
    "tranches": TRANCHES,
    "quotes": QUOTES,
    "market": MARKET,
    "orders": ORDERS,
}

# Columns added after each table's first version: older files may lack them (read as null).
# Execution quality (tca_*, dca/tca.py) is its own block beside the freshness columns.
ADDED: dict[str, frozenset[str]] = {
    "runs": frozenset(n for n in RUNS.names() if n.startswith("tca_"))
    | frozenset(BUDGET_RUNS)
    | frozenset(LIVE_RUNS)
    | frozenset(STANDING_RUNS),
    "tranches": frozenset(FRESHNESS_TRANCHES)
    | frozenset(n for n in TRANCHES.names() if n.startswith("tca_"))
    | frozenset(BUDGET_TRANCHES)
    | frozenset(LIVE_TRANCHES),
    "quotes": frozenset(FRESHNESS_QUOTES),
    "market": frozenset(),
    "orders": frozenset(),
}

# The columns that identify a row: duplicates (a crash mid-compaction) collapse on read.
KEYS: dict[str, tuple[str, ...]] = {
    "runs": ("run_id", "rev"),
    "tranches": ("run_id", "index"),
    "quotes": ("run_id", "index", "venue"),
    "market": ("venue", "ts"),
    "orders": ("client_order_id", "event"),
}


def money(value: Decimal | None) -> Decimal | None:
    """``value`` at the stored scale (rounded half-even beyond 24 places); None stays None."""
    if value is None:
        return None
    return value.quantize(_QUANTUM, context=_CONTEXT)


def money_text(value: Decimal | None) -> str | None:
    """``money(value)`` as text that Polars parses into the column exactly; None stays None.

    A value of at most 24 places and 14 integer digits (a price, a size, their products)
    is its own text: Polars reads ``0.00023148`` as it reads ``0.000231480…0``. Any
    other (a ratio's long tail, an exponent) is rounded by ``money`` first.
    """
    if value is None:
        return None
    text = str(value)
    if "E" not in text:
        dot = text.find(".")
        whole = (len(text) if dot < 0 else dot) - (text[0] == "-")
        if whole <= _WHOLE_DIGITS and (dot < 0 or len(text) - dot - 1 <= MONEY_SCALE):
            return text
    return str(value.quantize(_QUANTUM, None, _CONTEXT))


def utc(epoch_s: float | None) -> datetime | None:
    """Epoch seconds as an aware UTC datetime (microseconds); None stays None."""
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, tz=UTC)


def frame(table: str, rows: list[dict[str, object]]) -> pl.DataFrame:
    """Rows as a DataFrame with exactly ``table``'s schema (missing keys become null)."""
    schema = SCHEMAS[table]
    columns = {name: [row.get(name) for row in rows] for name in schema.names()}
    return pl.DataFrame(columns, schema=schema)


def plain(value: Decimal) -> Decimal:
    """A stored value without the column's trailing zeros (``1.5``, ``100``; never ``1E+2``)."""
    out = value.normalize(_CONTEXT)
    return out.quantize(Decimal(1)) if out.as_tuple().exponent > 0 else out  # type: ignore[operator]
