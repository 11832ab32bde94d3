"""The history screen's data from the Parquet history (storage's queries), as Arrow tables.

The dashboard builds a ``ParquetHistory`` at start; Polars and Arrow load on the first
query (in a worker), so they never delay the first frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa


def conform(df: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    """``df`` as an Arrow table of ``schema``: money rounded half-even to its display scale,
    times to seconds.

    The rounding runs in Polars, exact on decimals (40 ms for a million values, where
    Arrow's ``round`` on ``decimal128(38, 24)`` takes 25 times longer).
    """
    import polars as pl
    import pyarrow as pa

    rounded = df.select(
        pl.col(f.name)
        .round(f.type.scale, mode="half_to_even")
        .cast(pl.Decimal(f.type.precision, f.type.scale))
        if pa.types.is_decimal(f.type)
        else pl.col(f.name)
        for f in schema
    ).to_arrow()
    arrays = [
        column if column.type == f.type else column.cast(f.type, safe=False)
        for column, f in zip(rounded.columns, schema, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


class ParquetHistory:
    """``HistorySource`` over a data dir; every call scans afresh (runs added since show up)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def preload(self) -> None:
        """Import Polars and storage's queries now (the app calls this in a thread)."""
        import storage.history.queries  # noqa: F401

    def version(self) -> tuple[tuple[str, int, int], ...]:
        """The runs' and tranches' files, with their sizes and mtimes."""
        from storage.history.dataset import tables_version

        return tables_version(self.data_dir, ("runs", "tranches"))

    def runs(self, limit: int | None = None) -> pa.Table:
        """The newest ``limit`` runs (all when None), newest first, with their totals."""
        import polars as pl

        from storage.history.queries import History
        from tui.history.tables import RUNS_SCHEMA

        df = History(self.data_dir).run_summaries(limit=limit)
        out = df.select(
            pl.col("run_id").alias("run"),
            pl.col("created_at").alias("started"),
            # A live run's rows say so: "finished LIVE", as ``btc-dca history`` does.
            pl.when(pl.col("execution") == "live")
            .then(pl.col("status") + pl.lit(" LIVE"))
            .otherwise(pl.col("status"))
            .alias("status"),
            pl.col("amount_btc").alias("amount BTC"),
            pl.col("qty_btc").fill_null(0).alias("bought BTC"),
            "quote",
            pl.col("total").fill_null(0),
            pl.col("avg_price").alias("avg price"),
            pl.when(pl.col("qty_btc") > 0)
            .then(pl.col("total") / pl.col("qty_btc"))
            .alias("avg cost"),
            pl.col("fee").fill_null(0).alias("fees"),
            pl.col("saved_vs_worst").fill_null(0).alias("saved vs worst"),
            "tranches",
            pl.when(pl.col("source") == "backtest")
            .then(pl.lit("backtest"))
            .otherwise(pl.lit("run"))
            .alias("kind"),
            pl.col("tca_shortfall_bps").alias("vs arrival bps"),
            pl.col("tca_vs_twap_bps").alias("vs TWAP bps"),
            pl.col("tca_vs_lump_bps").alias("vs all at once bps"),
            pl.col("tca_fee_share").alias("fee share"),
            pl.col("spend").alias("budget"),
            "every",
        )
        return conform(out, RUNS_SCHEMA)

    def tranches(self, run_id: str) -> pa.Table:
        """The tranches of ``run_id`` in order, with the dearest alternative per BTC; a
        skipped one says why in words where the venue would be."""
        import polars as pl

        from storage.history.queries import History
        from tui.fmt import SKIP_SHORT
        from tui.history.tables import TRANCHES_SCHEMA

        df = History(self.data_dir).run_tranches(run_id)
        worst_total = (
            pl.col("alternatives").list.eval(pl.element().struct.field("total")).list.max()
        )
        filled = pl.col("status") == "filled"
        why = pl.col("reason").replace_strict(SKIP_SHORT, default=pl.col("reason"))
        out = df.select(
            (pl.col("index") + 1).alias("#"),
            pl.col("executed_at").alias("time"),
            pl.when(filled)
            .then(pl.col("venue"))
            .otherwise(pl.lit("skipped: ") + why)
            .alias("venue"),
            pl.col("qty_btc").alias("qty BTC"),
            pl.col("avg_price").alias("avg price"),
            "fee",
            "total",
            pl.col("saved_vs_worst").alias("saved vs worst"),
            pl.when(filled).then(worst_total / pl.col("qty_btc")).alias("worst price"),
            pl.col("status"),
            pl.col("tca_mid_best").alias("best mid"),
            pl.col("tca_slippage_fee_bps").alias("slip bps"),
            pl.col("decision_avg_price").alias("decided price"),
            (pl.col("decision_total") / pl.col("decision_qty_btc")).alias("decided cost"),
            pl.col("fill_vs_decision_bps").alias("vs decision bps"),
        )
        return conform(out, TRANCHES_SCHEMA)
