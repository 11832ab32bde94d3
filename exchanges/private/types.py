"""What a venue's private endpoints answer, as plain data (Decimal from the wire's text)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class MarketRules:
    """A venue's filters for BTC in one quote currency: lot step, minimums, price tick."""

    symbol: str
    lot_step: Decimal
    min_qty: Decimal
    tick: Decimal
    min_notional: Decimal
    # Where a buy's fee is charged: "BTC" (taken from what is received) or the quote currency.
    fee_currency: str


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill of an order: ``qty`` BTC at ``price``; ``fee`` charged in ``fee_currency``."""

    price: Decimal
    qty: Decimal
    fee: Decimal
    fee_currency: str


@dataclass(frozen=True, slots=True)
class OrderAnswer:
    """What the venue says about one order.

    ``status``: ``filled``, ``partial`` (some bought, the rest cancelled), ``unfilled``
    (nothing bought, cancelled) or ``open`` (still working: never expected of an IOC).
    """

    client_order_id: str
    venue_order_id: str
    status: str
    qty: Decimal
    filled_qty: Decimal
    trades: tuple[Trade, ...] = ()


@dataclass(frozen=True, slots=True)
class AccountCheck:
    """``live check``'s findings for one venue (None where the venue does not say)."""

    venue: str
    free: dict[str, Decimal] = field(default_factory=dict)
    taker_fee: Decimal | None = None
    can_withdraw: bool | None = None
    validated: bool = False
    notes: tuple[str, ...] = ()
