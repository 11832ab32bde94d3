"""What all the runs add up to: BTC held, what it cost, per venue and per month.

Backtests never count; paper and real runs are kept apart (``execution``: "live" for
real orders, "paper" or null for paper). A portfolio is in one quote currency: runs
bought in another are not summed with it (they are counted in ``other_quotes``).
The money is exact: sums of the stored Decimal columns, rounded only for display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

import polars as pl

from storage.history.queries import History, latest_runs

ZERO = Decimal(0)


class Scope(StrEnum):
    """Which runs a portfolio covers."""

    PAPER = "paper"
    LIVE = "live"


@dataclass(frozen=True, slots=True)
class Bucket:
    """Totals of one slice (a venue, a month, or everything): fees are in ``cost``."""

    btc: Decimal = ZERO
    cost: Decimal = ZERO
    fees: Decimal = ZERO
    tranches: int = 0

    @property
    def avg_cost(self) -> Decimal | None:
        """Cost per BTC, fees in (None before anything was bought)."""
        return self.cost / self.btc if self.btc else None


@dataclass(frozen=True, slots=True)
class Point:
    """After one filled tranche: when, BTC held and the cost basis so far."""

    at: datetime
    btc: Decimal
    cost: Decimal


@dataclass(frozen=True, slots=True)
class Portfolio:
    """Every run in ``scope`` bought in ``quote``: totals, per venue, per month, over time."""

    scope: Scope
    quote: str
    runs: int
    total: Bucket
    venues: dict[str, Bucket] = field(default_factory=dict)
    months: dict[str, Bucket] = field(default_factory=dict)
    series: tuple[Point, ...] = ()
    # Runs of the same scope bought in another quote currency: not summed here.
    other_quotes: dict[str, int] = field(default_factory=dict)

    def value(self, bid: Decimal | None) -> Decimal | None:
        """What the BTC held is worth at ``bid`` (the best bid now), before any selling fee."""
        return None if bid is None else self.total.btc * bid

    def pnl(self, bid: Decimal | None) -> Decimal | None:
        """Value at ``bid`` less the cost (fees in)."""
        value = self.value(bid)
        return None if value is None else value - self.total.cost


def _runs(history: History) -> pl.DataFrame:
    """Each run's current row: id, quote, source and whether it placed real orders."""
    df = history.runs.collect(latest_runs)
    live = (
        pl.col("execution").fill_null("paper") == "live"
        if "execution" in df.columns
        else pl.lit(False)
    )
    return df.select("run_id", "quote", "source", live.alias("live"))


def default_scope(data_dir: Path) -> Scope:
    """Real runs if there are any, else paper runs."""
    runs = _runs(History(data_dir))
    real = runs.filter(pl.col("live") & (pl.col("source") != "backtest"))
    return Scope.LIVE if real.height else Scope.PAPER


def portfolio(data_dir: Path, scope: Scope | None = None, quote: str | None = None) -> Portfolio:
    """The portfolio of ``data_dir``'s runs (``scope`` None: real runs if any, else paper;
    ``quote`` None: the currency most of those runs bought in, USD when there are none)."""
    history = History(data_dir)
    runs = _runs(history).filter(pl.col("source") != "backtest")
    if scope is None:
        scope = Scope.LIVE if runs["live"].any() else Scope.PAPER
    runs = runs.filter(pl.col("live") == (scope is Scope.LIVE))
    counts = runs.group_by("quote").len().sort(["len", "quote"], descending=[True, False])
    if quote is None:
        quote = str(counts["quote"][0]) if counts.height else "USD"
    quote = quote.upper()
    other = {str(q): int(n) for q, n in counts.iter_rows() if q != quote}
    ids = runs.filter(pl.col("quote") == quote)["run_id"].to_list()
    filled = history.tranches.collect(
        lambda t: t.filter(pl.col("status") == "filled").sort("executed_at", "run_id", "index"),
        where=pl.col("run_id").is_in(ids),
    )
    return Portfolio(
        scope=scope,
        quote=quote,
        runs=len(ids),
        total=_bucket(filled.select("qty_btc", "total", "fee")),
        venues=_per_venue(filled),
        months=_per_month(filled),
        series=_series(filled),
        other_quotes=other,
    )


def _dec(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else ZERO


def _bucket(rows: pl.DataFrame) -> Bucket:
    btc = cost = fees = ZERO
    for qty, total, fee in rows.select("qty_btc", "total", "fee").iter_rows():
        btc += _dec(qty)
        cost += _dec(total)
        fees += _dec(fee)
    return Bucket(btc, cost, fees, rows.height)


def _per_venue(filled: pl.DataFrame) -> dict[str, Bucket]:
    """Per venue a leg bought on (a split tranche counts on each of its venues)."""
    out: dict[str, Bucket] = {}
    for legs in filled["legs"].to_list() if filled.height else []:
        for leg in legs or []:
            b = out.get(leg["venue"], Bucket())
            out[leg["venue"]] = Bucket(
                b.btc + _dec(leg["qty_btc"]),
                b.cost + _dec(leg["total"]),
                b.fees + _dec(leg["fee"]),
                b.tranches + 1,
            )
    return dict(sorted(out.items(), key=lambda kv: kv[1].btc, reverse=True))


def _per_month(filled: pl.DataFrame) -> dict[str, Bucket]:
    """Per calendar month (UTC) of execution, oldest first."""
    if not filled.height:
        return {}
    months = filled.with_columns(month=pl.col("executed_at").dt.strftime("%Y-%m"))
    return {
        str(month): _bucket(months.filter(pl.col("month") == month))
        for month in sorted(set(months["month"].to_list()))
    }


def _series(filled: pl.DataFrame) -> tuple[Point, ...]:
    """BTC held and cost basis after each filled tranche, in execution order."""
    btc = cost = ZERO
    out: list[Point] = []
    for at, qty, total in filled.select("executed_at", "qty_btc", "total").iter_rows():
        btc += _dec(qty)
        cost += _dec(total)
        out.append(Point(at, btc, cost))
    return tuple(out)
