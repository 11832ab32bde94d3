"""The history screen's data from the Parquet history (storage's queries), as Arrow tables."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from storage.queries import History
from tui.history_source import RUNS_SCHEMA, TRANCHES_SCHEMA


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Cast ``table`` to ``schema``: money rounded half-even to its display scale, times to s."""
    arrays = []
    for f in schema:
        column = table[f.name]
        if pa.types.is_decimal(f.type) and column.type != f.type:
            column = pc.round(column, ndigits=f.type.scale, round_mode="half_to_even")
            column = column.cast(f.type, safe=False)
        elif column.type != f.type:
            column = column.cast(f.type, safe=False)
        arrays.append(column)
    return pa.Table.from_arrays(arrays, schema=schema)


class ParquetHistory:
    """``HistorySource`` over a data dir; every call scans afresh (runs added since show up)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def runs(self) -> pa.Table:
        """Every run, newest first, with its totals."""
        df = History(self.data_dir).run_summaries(limit=None)
        out = df.select(
            pl.col("run_id").alias("run"),
            pl.col("created_at").alias("started"),
            "status",
            pl.col("amount_btc").alias("amount BTC"),
            pl.col("qty_btc").fill_null(0).alias("bought BTC"),
            "quote",
            pl.col("total").fill_null(0),
            pl.col("avg_price").alias("avg price"),
            pl.col("fee").fill_null(0).alias("fees"),
            pl.col("saved_vs_worst").fill_null(0).alias("saved vs worst"),
            "tranches",
        )
        return conform(out.to_arrow(), RUNS_SCHEMA)

    def tranches(self, run_id: str) -> pa.Table:
        """The filled tranches of ``run_id`` in order, with the dearest alternative per BTC."""
        df = History(self.data_dir).run_tranches(run_id).filter(pl.col("status") == "filled")
        worst_total = (
            pl.col("alternatives").list.eval(pl.element().struct.field("total")).list.max()
        )
        out = df.select(
            (pl.col("index") + 1).alias("#"),
            pl.col("executed_at").alias("time"),
            "venue",
            pl.col("qty_btc").alias("qty BTC"),
            pl.col("avg_price").alias("avg price"),
            "fee",
            "total",
            pl.col("saved_vs_worst").alias("saved vs worst"),
            (worst_total / pl.col("qty_btc")).alias("worst price"),
        )
        return conform(out.to_arrow(), TRANCHES_SCHEMA)
