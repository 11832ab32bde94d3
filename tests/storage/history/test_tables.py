"""The three tables hold exactly what the engine decided: Decimal totals read back equal."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl

from dca.events import TrancheFilled, TrancheSkipped
from exchanges.errors import ErrorKind
from exchanges.market import Health
from exchanges.simulated import Fault
from storage.history.dataset import scan
from storage.history.queries import History
from storage.history.resume import plan_from_row
from storage.history.schema import MONEY, SCHEMA_VERSION, SCHEMAS, money, plain
from tests.storage.helpers import plan, run

START = 1_767_225_600.0


async def test_a_run_reads_back_exactly(tmp_path: Path) -> None:
    p = plan(mode="split")
    summary, memory, run_id = await run(tmp_path, p)
    h = History(tmp_path)

    tranches = h.run_tranches(run_id)
    assert tranches["index"].to_list() == list(range(p.tranches))
    assert sum(tranches["qty_btc"].to_list()) == p.amount
    assert sum(tranches["total"].to_list()) == summary.total
    assert sum(tranches["fee"].to_list()) == summary.fee
    assert sum(tranches["notional"].to_list()) == summary.notional
    filled = [e for e in memory.events if isinstance(e, TrancheFilled)]
    for row, event in zip(tranches.iter_rows(named=True), filled, strict=True):
        assert row["total"] == event.route.total
        assert row["venue"] == event.route.venue
        assert [leg["qty_btc"] for leg in row["legs"]] == [leg.qty for leg in event.route.legs]
        assert {a["venue"]: a["total"] for a in row["alternatives"]} == event.route.alternatives
        assert row["schema_version"] == SCHEMA_VERSION

    stored = h.run(run_id)
    assert stored is not None
    assert stored["status"] == "finished"
    assert stored["total"] == summary.total
    assert stored["qty_btc"] == p.amount
    assert stored["saved_vs_worst"] == summary.saved_vs_worst
    assert plan_from_row(stored) == p

    summaries = h.run_summaries()
    assert summaries.height == 1
    assert summaries["total"][0] == summary.total


async def test_quotes_keep_every_venue_outcome_including_errors(tmp_path: Path) -> None:
    # Kraken is down for the whole run: its quotes say so; the others carry costs.
    down = Fault("kraken", START - 1, START + 86400, Health.DOWN, ErrorKind.TIMEOUT, "timed out")
    p = plan(tranches=3)
    _, memory, run_id = await run(tmp_path, p, faults=[down])
    quotes = scan(tmp_path, "quotes").collect().sort("index", "venue")
    assert quotes.height == 3 * len(p.venues)
    kraken = quotes.filter(pl.col("venue") == "kraken")
    assert set(kraken["status"]) == {"error"}
    assert set(kraken["error_kind"]) == {"timeout"}
    ok = quotes.filter(pl.col("status") == "ok")
    assert ok.height == 3 * (len(p.venues) - 1)
    assert ok.filter(pl.col("chosen")).height == 3
    first = next(e for e in memory.events if isinstance(e, TrancheFilled))
    coinbase = ok.filter((pl.col("index") == 0) & (pl.col("venue") == "coinbase")).row(
        0, named=True
    )
    seen = next(q for q in first.quotes if q.venue == "coinbase")
    assert coinbase["best_ask"] == seen.best_ask
    assert coinbase["total"] == seen.outcome.total  # type: ignore[union-attr]
    assert run_id in set(quotes["run_id"])


async def test_skipped_tranches_are_rows_with_their_reason(tmp_path: Path) -> None:
    p = plan(tranches=4, max_price="1")
    summary, memory, run_id = await run(tmp_path, p)
    skipped = [e for e in memory.events if isinstance(e, TrancheSkipped)]
    assert len(skipped) == 4
    tranches = History(tmp_path).run_tranches(run_id)
    assert set(tranches["status"]) == {"skipped"}
    assert set(tranches["reason"]) == {"above_max_price"}
    assert sum(tranches["qty_btc"].to_list()) == 0
    assert tranches["requested_btc"][-1] == p.amount
    assert summary.skipped == 4


def test_money_columns_are_exact_to_24_places() -> None:
    # price × qty × fee rate from the wire: 8 + 8 + 4 decimals, stored without rounding.
    fee = Decimal("97000.12345678") * Decimal("0.12345678") * Decimal("0.0010")
    s = pl.Series("x", [money(fee)], dtype=MONEY)
    assert s[0] == fee
    assert str(plain(s[0])) == "11.9753229015765279684"
    assert set(SCHEMAS) == {"runs", "tranches", "quotes", "market", "orders"}
    assert all("schema_version" in schema for schema in SCHEMAS.values())
    assert money(None) is None
    assert money(Decimal(1) / 3) == Decimal("0.333333333333333333333333")
