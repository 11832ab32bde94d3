"""``ParquetOrderJournal``: real orders journaled to the ``orders`` table.

An order's intent is written (temp file, fsync, rename) before it is sent; its outcome
when the venue's answer, or the answer to asking for it, is known. A resumed run reads
them back: an intent without an outcome is an order whose fate the venue must be asked.
Every write is one small file in today's partition; compaction merges them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from dca.orders import Fill, OrderIntent, OrderRecord, OrderState
from storage.history.dataset import partition_of, scan, table_dir, write_atomic
from storage.history.journal import JournalError
from storage.history.rows import Row
from storage.history.schema import SCHEMA_VERSION, frame, money, plain

INTENT = "intent"
OUTCOME = "outcome"


def intent_row(intent: OrderIntent, now: datetime) -> Row:
    """The orders row of an intent (before sending)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": intent.run_id,
        "index": intent.index,
        "leg": intent.leg,
        "attempt": intent.attempt,
        "venue": intent.venue,
        "client_order_id": intent.client_order_id,
        "event": INTENT,
        "recorded_at": now,
        "symbol": intent.symbol,
        "qty_btc": money(intent.qty),
        "limit_price": money(intent.limit_price),
    }


def outcome_row(intent: OrderIntent, record: OrderRecord, now: datetime) -> Row:
    """The orders row of an order's outcome."""
    row = intent_row(intent, now)
    row.update(
        event=OUTCOME,
        state=record.state.value,
        venue_order_id=record.venue_order_id,
        fills=[
            {
                "price": money(f.price),
                "qty_btc": money(f.qty),
                "fee": money(f.fee),
                "fee_currency": f.fee_currency,
            }
            for f in record.fills
        ],
        error=record.error,
    )
    return row


def _intent(row: Row) -> OrderIntent:
    return OrderIntent(
        str(row["run_id"]),
        int(row["index"]),  # type: ignore[call-overload]
        int(row["leg"]),  # type: ignore[call-overload]
        int(row["attempt"]),  # type: ignore[call-overload]
        str(row["venue"]),
        str(row["client_order_id"]),
        str(row["symbol"]),
        plain(row["qty_btc"]),  # type: ignore[arg-type]
        plain(row["limit_price"]),  # type: ignore[arg-type]
    )


def _record(intent: OrderIntent, row: Row) -> OrderRecord:
    fills = row.get("fills") or []
    assert isinstance(fills, list)
    return OrderRecord(
        intent.venue,
        intent.client_order_id,
        row["venue_order_id"] if isinstance(row["venue_order_id"], str) else None,
        OrderState(str(row["state"])),
        intent.qty,
        intent.limit_price,
        tuple(
            Fill(plain(f["price"]), plain(f["qty_btc"]), plain(f["fee"]), str(f["fee_currency"]))
            for f in fills
        ),
        row["error"] if isinstance(row["error"], str) else None,
    )


def read_orders(data_dir: Path, run_id: str) -> list[tuple[OrderIntent, OrderRecord | None]]:
    """Every order of ``run_id`` in the order its intent was written, with its outcome."""
    rows = (
        scan(data_dir, "orders")
        .collect(lambda df: df.sort("recorded_at"), where=pl.col("run_id") == run_id)
        .to_dicts()
    )
    intents: dict[str, OrderIntent] = {}
    outcomes: dict[str, OrderRecord] = {}
    for row in rows:
        cid = str(row["client_order_id"])
        if row["event"] == INTENT:
            intents.setdefault(cid, _intent(row))
        elif row["event"] == OUTCOME:
            outcomes[cid] = _record(_intent(row), row)
    return [(i, outcomes.get(cid)) for cid, i in intents.items()]


def _write_row(row: Row, folder: Path) -> None:
    """One row as one new file (in a thread: the frame is built there too)."""
    write_atomic(frame("orders", [row]), folder)


class ParquetOrderJournal:
    """The orders table of one data dir."""

    def __init__(self, data_dir: Path, *, wall: Callable[[], float] = time.time) -> None:
        self.data_dir = data_dir
        self.wall = wall

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.wall(), tz=UTC)

    async def _write(self, row: Row) -> None:
        folder = table_dir(self.data_dir, "orders") / partition_of(self._now())
        try:
            await asyncio.to_thread(_write_row, row, folder)
        except OSError as exc:
            raise JournalError(f"cannot journal an order in {self.data_dir}: {exc}") from exc

    async def intend(self, intent: OrderIntent) -> None:
        """Write the intent; on return it is on disk (then the order may be sent)."""
        await self._write(intent_row(intent, self._now()))

    async def settle(self, intent: OrderIntent, record: OrderRecord) -> None:
        """Write the order's outcome."""
        await self._write(outcome_row(intent, record, self._now()))

    async def orders(self, run_id: str) -> list[tuple[OrderIntent, OrderRecord | None]]:
        """The run's orders and outcomes, read in a thread."""
        return await asyncio.to_thread(read_orders, self.data_dir, run_id)
