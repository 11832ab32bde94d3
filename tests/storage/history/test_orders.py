"""Real orders in Parquet: intents on disk before sending, outcomes beside them, exact."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import polars as pl

from dca.events import TrancheFilled
from dca.orders import Fill, OrderIntent, OrderRecord, OrderState
from dca.pricing import Cost, cost_to_buy
from dca.routing import Mode, Route
from storage.history.dataset import scan
from storage.history.orders import ParquetOrderJournal, read_orders
from storage.history.rows import tranche_row
from storage.history.schema import frame
from tests.dca.helpers import book

D = Decimal
RUN = "20260101-000000-abc123"


def intent(attempt: int = 1) -> OrderIntent:
    return OrderIntent(
        RUN, 2, 0, attempt, "binance", f"x{attempt}", "BTCUSDT", D("0.10011"), D("60130.02")
    )


async def test_an_intent_is_on_disk_when_intend_returns_and_its_outcome_reads_back_exactly(
    tmp_path: Path,
) -> None:
    journal = ParquetOrderJournal(tmp_path)
    await journal.intend(intent(1))
    assert read_orders(tmp_path, RUN) == [(intent(1), None)]

    record = OrderRecord(
        "binance",
        "x1",
        "1001",
        OrderState.FILLED,
        D("0.10011"),
        D("60130.02"),
        (Fill(D("60000.01"), D("0.10011"), D("0.00010011"), "BTC"),),
    )
    await journal.settle(intent(1), record)
    await journal.intend(intent(2))
    assert await journal.orders(RUN) == [(intent(1), record), (intent(2), None)]
    assert await journal.orders("another-run") == []


def test_a_live_tranche_row_keeps_orders_and_the_paper_decision(tmp_path: Path) -> None:
    cost = cost_to_buy(book("binance", [("60000", "1")]), D("0.1"), D("0.001"))
    assert isinstance(cost, Cost)
    decision = Route(D("0.1"), Mode.SINGLE, (cost,), {"binance": cost.total})
    bought = replace(cost, qty=D("0.05"), notional=D("3000"), fee=D("3"), total=D("3003"))
    order = OrderRecord(
        "binance",
        "x1",
        "1001",
        OrderState.PARTIAL,
        D("0.1001"),
        D("60120"),
        (Fill(D("60000"), D("0.05005"), D("0.00005005"), "BTC"),),
    )
    event = TrancheFilled(
        RUN,
        0,
        2,
        0.0,
        1.0,
        replace(decision, qty=D("0.05"), legs=(bought,)),
        (),
        orders=(order,),
        decision=decision,
        carried=D("0.05"),
    )
    from datetime import UTC, datetime

    row = frame("tranches", [tranche_row(event, datetime.now(UTC))]).to_dicts()[0]
    assert row["live"] is True
    assert row["requested_btc"] == D("0.1") and row["carried_btc"] == D("0.05")
    assert row["decision_total"] == cost.total
    (stored,) = row["orders"]
    assert stored["client_order_id"] == "x1" and stored["state"] == "partial"
    assert stored["fills"] == [
        {"price": D(60000), "qty_btc": D("0.05005"), "fee": D("0.00005005"), "fee_currency": "BTC"}
    ]


async def test_orders_files_are_a_dataset_like_the_others(tmp_path: Path) -> None:
    journal = ParquetOrderJournal(tmp_path)
    await journal.intend(intent(1))
    df = scan(tmp_path, "orders").collect(where=pl.col("run_id") == RUN)
    assert df["client_order_id"].to_list() == ["x1"]
    assert df["qty_btc"][0] == D("0.10011")
