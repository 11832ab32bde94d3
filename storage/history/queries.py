"""Read-side queries for the history screen and the CLI: lazy scans, small results.

A run's current state is its runs row with the highest ``rev``. Finished runs
carry their totals in that row; for runs still going (or stopped) the totals are
summed from their tranches, so a summary of a million tranches reads only the
runs table plus the few unfinished runs' tranches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from dca.events import Summary
from dca.status import ENDED, RESUMABLE, RunStatus, current_status
from storage.history.dataset import BadFile, scan
from storage.history.schema import MONEY, STANDING_RUNS, money
from storage.runs.locks import is_held, run_lock

# A run's execution quality (dca/tca.py), in its runs row once it has ended.
QUALITY_COLUMNS = (
    "tca_arrival_mid",
    "tca_twap_mid",
    "tca_lump_total",
    "tca_shortfall",
    "tca_shortfall_bps",
    "tca_vs_twap",
    "tca_vs_twap_bps",
    "tca_vs_lump",
    "tca_vs_lump_bps",
    "tca_vs_worst_bps",
    "tca_vs_median_bps",
    "tca_fee_share",
)


def _over(price: pl.Expr, base: pl.Expr) -> pl.Expr:
    """``price`` above ``base`` in bps, as a float for display (null where either is)."""
    return (price.cast(pl.Float64) / base.cast(pl.Float64) - 1.0) * 10_000.0


# Real orders (dca/tca.py ``fill_tca``): each live tranche's fill against the paper decision
# it came from, fees out and in, and the decision's and the fill's slippage against the
# best mid; null for paper tranches (no decision stored beside them).
FILL_QUALITY = (
    _over(pl.col("avg_price"), pl.col("decision_avg_price")).alias("fill_vs_decision_bps"),
    _over(
        pl.col("total").cast(pl.Float64) / pl.col("qty_btc").cast(pl.Float64),
        pl.col("decision_total").cast(pl.Float64) / pl.col("decision_qty_btc").cast(pl.Float64),
    ).alias("fill_vs_decision_fee_bps"),
    _over(pl.col("decision_avg_price"), pl.col("tca_mid_best")).alias("decision_vs_mid_bps"),
    pl.when(pl.col("decision_avg_price").is_not_null())
    .then(_over(pl.col("avg_price"), pl.col("tca_mid_best")))
    .alias("fill_vs_mid_bps"),
)
# Statuses whose runs row carries the run's totals; the others' are summed from tranches
# (a failed run's row has none: it may be resumed).
FINAL = tuple(s.value for s in ENDED)
SUMMARY_COLUMNS = (
    "run_id",
    "created_at",
    "finished_at",
    "status",
    "source",
    "execution",
    "quote",
    "venues",
    "mode",
    "amount_btc",
    "spend",
    "tranches",
    "duration_s",
    "qty_btc",
    "notional",
    "fee",
    "total",
    "avg_price",
    "saved_vs_worst",
    "saved_vs_median",
    "filled",
    "skipped",
    *QUALITY_COLUMNS,
    "resumable",
    # A standing plan (``run --every``; null for a plan over a window), from its origin.
    "origin",
    *STANDING_RUNS,
)
# Stored statuses of runs that may be continued once no process holds them.
_STORED_RESUMABLE = (*tuple(s.value for s in RESUMABLE), RunStatus.CANCELLED.value)
TOTALS = ("qty_btc", "notional", "fee", "total", "saved_vs_worst", "saved_vs_median")


@dataclass
class History:
    """The tables of one data dir, scanned once; ``bad`` lists every file skipped."""

    data_dir: Path
    bad: list[BadFile] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.runs = scan(self.data_dir, "runs")
        self.tranches = scan(self.data_dir, "tranches")
        self.bad.extend(self.runs.bad + self.tranches.bad)

    def run_summaries(self, offset: int = 0, limit: int | None = 50) -> pl.DataFrame:
        """Runs newest first with their totals, ``limit`` rows from ``offset``."""
        latest = self.runs.collect(
            lambda runs: (
                latest_runs(runs).sort("created_at", "run_id", descending=True).slice(offset, limit)
            )
        )
        open_ids = latest.filter(~pl.col("status").is_in(FINAL))["run_id"].to_list()
        if open_ids:
            live = self.tranches.collect(
                lambda tranches: tranches.group_by("run_id").agg(
                    *(pl.col(c).sum() for c in TOTALS),
                    (pl.col("status") == "filled").sum().cast(pl.Int32).alias("filled"),
                    (pl.col("status") == "skipped").sum().cast(pl.Int32).alias("skipped"),
                ),
                where=pl.col("run_id").is_in(open_ids),
            )
            latest = latest.update(live.with_columns(avg_price=pl.lit(None, MONEY)), on="run_id")
            latest = latest.with_columns(
                avg_price=pl.when(pl.col("status").is_in(FINAL))
                .then(pl.col("avg_price"))
                .otherwise(_avg_price(latest))
            )
        return self._with_current_status(latest).select(SUMMARY_COLUMNS)

    def _with_current_status(self, latest: pl.DataFrame) -> pl.DataFrame:
        """``status`` as ``dca.status`` shows it (a dead process's run is ``interrupted``),
        and ``resumable`` by its one rule: a run a live process still holds (a paused run
        in a dashboard or a background process) is steered there, not resumed."""
        statuses: list[RunStatus] = []
        resumable: list[bool] = []
        for run_id, status, detail in zip(
            latest["run_id"].to_list(),
            latest["status"].to_list(),
            latest["detail"].to_list(),
            strict=True,
        ):
            # Only a run that may be continued needs its lock looked at.
            held = status not in _STORED_RESUMABLE or is_held(run_lock(self.data_dir, run_id))
            now = current_status(str(status), detail, held=held)
            statuses.append(now)
            resumable.append(now in RESUMABLE and not held)
        return latest.with_columns(
            status=pl.Series("status", [s.value for s in statuses], dtype=pl.Utf8),
            resumable=pl.Series("resumable", resumable, dtype=pl.Boolean),
        )

    def run_status(self, row: dict[str, object]) -> RunStatus:
        """The current status of a run's row from ``run`` (the same rule as the summaries)."""
        run_id, status, detail = str(row["run_id"]), str(row["status"]), row["detail"]
        held = status != RunStatus.RUNNING or is_held(run_lock(self.data_dir, run_id))
        return current_status(status, detail if isinstance(detail, str) else None, held)

    def run_count(self) -> int:
        """How many runs there are."""
        return int(self.runs.collect(lambda runs: runs.select(pl.col("run_id").n_unique())).item())

    def run(self, run_id: str) -> dict[str, object] | None:
        """The current row of one run, or None."""
        rows = self.runs.collect(latest_runs, where=pl.col("run_id") == run_id).to_dicts()
        return rows[0] if rows else None

    def run_tranches(self, run_id: str) -> pl.DataFrame:
        """The tranches of ``run_id`` in schedule order; a live tranche's execution quality
        against its decision (``FILL_QUALITY``) beside the stored columns."""
        return self.tranches.collect(
            lambda tranches: tranches.sort("index"), where=pl.col("run_id") == run_id
        ).with_columns(*FILL_QUALITY)

    def venue_share(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> pl.DataFrame:
        """Per route venue (``kraken``, or ``kraken+okx`` for a split) over a period of
        execution times: tranches, BTC, spent, savings and share of the BTC (a float, for display).
        """

        def per_venue(tranches: pl.LazyFrame) -> pl.LazyFrame:
            lf = tranches.filter(pl.col("status") == "filled")
            if since is not None:
                lf = lf.filter(pl.col("executed_at") >= since)
            if until is not None:
                lf = lf.filter(pl.col("executed_at") < until)
            return lf.group_by("venue").agg(
                pl.len().alias("tranches"),
                *(
                    pl.col(c).sum()
                    for c in ("qty_btc", "total", "saved_vs_worst", "saved_vs_median")
                ),
            )

        out = self.tranches.collect(per_venue).sort("qty_btc", descending=True)
        qty = out["qty_btc"].cast(pl.Float64)
        denominator = qty.sum() or 1.0
        return out.with_columns(share=qty / denominator)


def latest_runs(runs: pl.LazyFrame) -> pl.LazyFrame:
    """Each run's current row (highest rev) among ``runs`` rows."""
    return runs.sort("rev").group_by("run_id").last()


def _avg_price(df: pl.DataFrame) -> pl.Series:
    """notional / qty in exact Decimal (polars would widen the scale past 38 digits)."""
    values = [
        (n / q if n is not None and q else None)
        for n, q in zip(df["notional"].to_list(), df["qty_btc"].to_list(), strict=True)
    ]
    return pl.Series("avg_price", [money(v) for v in values], dtype=MONEY)


def summary_of(tranches: pl.DataFrame, target: Decimal, budget: Decimal | None = None) -> Summary:
    """A ``Summary`` rebuilt from a run's tranche rows (for a resumed run's full totals).

    ``budget``: a budget run's money (its last tranche bought means it is spent)."""
    s = Summary(target=target, budget=budget)
    for row in tranches.iter_rows(named=True):
        if budget is not None and row["status"] == "filled" and row["index"] == row["of"] - 1:
            s.spent_out = True
        s.tca.see(row.get("tca_mid_best"))
        if row.get("tca_lump_amount") is not None:
            s.tca.set_lump(row.get("tca_lump_total"), row["tca_lump_amount"])
        if row["status"] != "filled":
            s.skipped += 1
            continue
        s.filled += 1
        s.qty += row["qty_btc"]
        s.notional += row["notional"]
        s.fee += row["fee"]
        s.total += row["total"]
        s.saved_vs_worst += row["saved_vs_worst"] or 0
        s.saved_vs_median += row["saved_vs_median"] or 0
        for leg in row["legs"] or []:
            s.venue_qty[leg["venue"]] = s.venue_qty.get(leg["venue"], Decimal(0)) + leg["qty_btc"]
    return s
