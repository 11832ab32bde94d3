"""Real orders as records: what was asked of a venue and what it charged.

Plain data shared by the events (a tranche's record keeps its orders beside the paper
decision) and the live side of the execution seam. Money is Decimal from the venue's text.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from dca.pricing import ZERO


class OrderState(StrEnum):
    """Where one order stands, as far as the venue has told us."""

    FILLED = "filled"  # bought everything asked
    PARTIAL = "partial"  # bought part, the rest cancelled (immediate-or-cancel)
    UNFILLED = "unfilled"  # nothing bought: no ask at or under the limit
    REFUSED = "refused"  # the venue said no (funds, filters, key): nothing bought


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
