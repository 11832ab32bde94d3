"""The book-freshness columns: written per tranche and quote, absent (null) in older files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl

from dca.events import QuoteSeen, SkipReason, TrancheSkipped
from dca.pricing import cost_to_buy
from exchanges.errors import ErrorKind, VenueError
from storage.history.compaction import compact
from storage.history.dataset import scan, table_files, write_atomic
from storage.history.rows import quote_rows, tranche_row
from storage.history.schema import ADDED, frame
from tests.dca.helpers import book
from tests.storage.helpers import plan, run

TOMORROW = datetime.now(UTC) + timedelta(days=1)


def skipped_with_sources() -> TrancheSkipped:
    """A tranche above the maximum price: Kraken streamed, Bitstamp from REST, Binance out."""
    kraken = book("kraken", [("91000", "1")])
    bitstamp = book("bitstamp", [("91010", "1")])
    qty = Decimal("0.1")
    quotes = (
        QuoteSeen("kraken", cost_to_buy(kraken, qty, Decimal("0.004")), None,
                  Decimal(91000), 0.8, 12.0, "live", source="stream", book_changed_s=41.5),
        QuoteSeen("bitstamp", cost_to_buy(bitstamp, qty, Decimal("0.004")), None,
                  Decimal(91010), 0.0, 80.0, "stale", source="rest", book_changed_s=0.0),
        QuoteSeen("binance", VenueError("binance", ErrorKind.TIMEOUT,
                  "timeout after 5s (stream: socket silent for 31s)"), None, None, 31.0, None,
                  "stale"),
    )  # fmt: skip
    return TrancheSkipped(
        "r1", 0, 3, 1.7e9, 1.7e9, qty, SkipReason.ABOVE_MAX_PRICE, "above", qty, quotes
    )


def test_each_venue_says_where_its_book_came_from_or_why_it_had_none() -> None:
    event = skipped_with_sources()
    row = tranche_row(event, datetime.now(UTC))
    assert row["books"] == [
        {"venue": "kraken", "source": "stream", "age_s": 0.8, "changed_s": 41.5, "reason": None},
        {"venue": "bitstamp", "source": "rest", "age_s": 0.0, "changed_s": 0.0, "reason": None},
        {"venue": "binance", "source": None, "age_s": None, "changed_s": None,
         "reason": "timeout after 5s (stream: socket silent for 31s)"},
    ]  # fmt: skip
    df = frame("tranches", [row])
    assert df["books"].to_list() == [row["books"]]
    quotes = frame("quotes", quote_rows(event, datetime.now(UTC)))
    assert quotes["book_source"].to_list() == ["stream", "rest", None]
    assert quotes["book_changed_s"].to_list() == [41.5, 0.0, None]


async def test_files_written_before_the_columns_existed_still_read_and_compact(
    tmp_path: Path,
) -> None:
    _, _, run_id = await run(tmp_path, plan(tranches=3))
    for table in ("tranches", "quotes"):
        (path,) = table_files(tmp_path, table)[:1]
        old = pl.read_parquet(path).drop(sorted(ADDED[table]))
        old = old.with_columns(pl.lit("old-run").alias("run_id"))
        write_atomic(old, path.parent)

    tranches = scan(tmp_path, "tranches")
    assert tranches.bad == []
    df = tranches.collect()
    old_rows = df.filter(pl.col("run_id") == "old-run")
    assert old_rows.height == 1 and old_rows["books"].to_list() == [None]
    new_rows = df.filter(pl.col("run_id") == run_id)
    # The simulated market does not say where its books come from: each venue is listed.
    assert all(len(b) == 4 for b in new_rows["books"].to_list())
    quotes = scan(tmp_path, "quotes").collect()
    assert quotes.filter(pl.col("run_id") == "old-run")["book_source"].null_count() > 0

    compact(tmp_path, today=TOMORROW)
    assert len(table_files(tmp_path, "tranches")) == 1
    merged = scan(tmp_path, "tranches").collect()
    assert merged.height == df.height
    assert merged.filter(pl.col("run_id") == "old-run")["books"].to_list() == [None]
