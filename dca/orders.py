"""Real orders as records: what was asked of a venue and what it charged.

Plain data shared by the events (a tranche's record keeps its orders beside the paper
decision) and the live side of the execution seam. Money is Decimal from the venue's text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from dca.pricing import ZERO


class OrderState(StrEnum):
    """Where one order stands, as far as the venue has told us."""

    FILLED = "filled"  # bought everything asked
    PARTIAL = "partial"  # bought part, the rest cancelled (immediate-or-cancel)
    UNFILLED = "unfilled"  # nothing bought: no ask at or under the limit
    REFUSED = "refused"  # the venue said no (funds, filters, key): nothing bought
    NOT_SENT = "not_sent"  # journaled, then held back before sending (its balance check)
    UNKNOWN = "unknown"  # sent, and the venue could not be asked what became of it


@dataclass(frozen=True, slots=True)
class Fill:
    """One trade of an order: ``qty`` BTC at ``price``, ``fee`` charged in ``fee_currency``."""

    price: Decimal
    qty: Decimal
    fee: Decimal
    fee_currency: str


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """One order of a tranche's leg and its outcome.

    ``qty`` is what was ordered (gross BTC, sized up when the fee is taken in BTC);
    ``limit_price`` the cap it was sent with; ``fills`` what the venue charged.
    """

    venue: str
    client_order_id: str
    venue_order_id: str | None
    state: OrderState
    qty: Decimal
    limit_price: Decimal
    fills: tuple[Fill, ...] = ()
    error: str | None = None

    @property
    def gross_btc(self) -> Decimal:
        """BTC the fills bought, before any fee taken in BTC."""
        return sum((f.qty for f in self.fills), ZERO)

    @property
    def fee_btc(self) -> Decimal:
        """Fees taken in BTC."""
        return sum((f.fee for f in self.fills if f.fee_currency == "BTC"), ZERO)

    @property
    def received_btc(self) -> Decimal:
        """BTC received: bought less fees taken in BTC."""
        return self.gross_btc - self.fee_btc

    @property
    def notional(self) -> Decimal:
        """Σ price × qty over the fills, in the quote currency."""
        return sum((f.price * f.qty for f in self.fills), ZERO)

    def fee_value(self, quote: str) -> Decimal:
        """Every fee in the quote currency: BTC fees at their fill's price."""
        total = ZERO
        for f in self.fills:
            if f.fee_currency == "BTC":
                total += f.fee * f.price
            elif f.fee_currency == quote:
                total += f.fee
        return total

    def spent(self, quote: str) -> Decimal:
        """What left the quote balance: the notional plus fees charged in the quote currency."""
        return self.notional + sum((f.fee for f in self.fills if f.fee_currency == quote), ZERO)


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """An order as journaled before it is sent: who, where, how much, at most what price."""

    run_id: str
    index: int
    leg: int
    attempt: int
    venue: str
    client_order_id: str
    symbol: str
    qty: Decimal
    limit_price: Decimal


_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


def client_order_id(run_id: str, index: int, leg: int, attempt: int) -> str:
    """The client order id of (run, tranche, leg, attempt): 1-32 letters and digits.

    The run id's letters and digits (a hash of it when longer than 20) then
    ``t<tranche>l<leg>a<attempt>``: readable in a venue's order list, never reused.
    """
    tag = _NOT_ALNUM.sub("", run_id)
    if not tag or len(tag) > 20:
        tag = hashlib.sha256(run_id.encode()).hexdigest()[:20]
    out = f"{tag}t{index}l{leg}a{attempt}"
    if len(out) > 32:
        raise ValueError(f"client order id {out!r} is longer than 32 characters")
    return out


class OrderJournal(Protocol):
    """Where real orders are journaled: the intent before it is sent, then the outcome."""

    async def intend(self, intent: OrderIntent) -> None:
        """Store ``intent``; when it returns it survives a crash (then the order may be sent)."""
        ...

    async def settle(self, intent: OrderIntent, record: OrderRecord) -> None:
        """Store what became of ``intent``."""
        ...

    async def orders(self, run_id: str) -> list[tuple[OrderIntent, OrderRecord | None]]:
        """Every order of ``run_id`` journaled so far, with its outcome (None: not known)."""
        ...


class MemoryOrderJournal:
    """Orders in memory: for tests and for runs that keep no history."""

    def __init__(self) -> None:
        self.intents: list[OrderIntent] = []
        self.settled: dict[str, OrderRecord] = {}

    async def intend(self, intent: OrderIntent) -> None:
        """Keep ``intent``."""
        self.intents.append(intent)

    async def settle(self, intent: OrderIntent, record: OrderRecord) -> None:
        """Keep ``record`` for ``intent``."""
        self.settled[intent.client_order_id] = record

    async def orders(self, run_id: str) -> list[tuple[OrderIntent, OrderRecord | None]]:
        """The run's intents with their outcomes."""
        return [
            (i, self.settled.get(i.client_order_id)) for i in self.intents if i.run_id == run_id
        ]
