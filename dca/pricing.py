"""What it costs to buy a quantity of BTC on one venue: walk the asks, add the taker fee.

``notional`` = Σ price × size over the ask levels walked (the last one partly);
``fee`` = notional × taker fee; ``total`` = notional + fee; ``avg_price`` =
notional / qty. All exact Decimal arithmetic; nothing is rounded here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from exchanges.book import OrderBook
from exchanges.frozen import fast_init

ZERO = Decimal(0)


@fast_init
@dataclass(frozen=True, slots=True)
class Cost:
    """The cost of buying ``qty`` BTC on ``venue`` at the book's current asks."""

    venue: str
    qty: Decimal
    notional: Decimal
    fee: Decimal
    total: Decimal
    avg_price: Decimal
    levels_used: int
    worst_price: Decimal
    fee_rate: Decimal

    @property
    def effective_price(self) -> Decimal:
        """Total per BTC, fee included."""
        return self.total / self.qty


@dataclass(frozen=True, slots=True)
class InsufficientDepth:
    """The book cannot fill ``qty``: it held only ``available`` BTC on the ask side."""

    venue: str
    qty: Decimal
    available: Decimal

    def __str__(self) -> str:
        return f"insufficient depth: book holds {self.available} BTC of {self.qty}"


def cost_to_buy(book: OrderBook, qty: Decimal, fee_rate: Decimal) -> Cost | InsufficientDepth:
    """Walk ``book``'s asks from the best for ``qty`` BTC (> 0) and add the taker fee."""
    if qty <= 0:
        raise ValueError("qty must be > 0")
    asks = book.asks
    if asks:
        # Most tranches fill within the best level: priced without a walk, by the very
        # operations the walk below does for one level (so every digit is the same).
        price, size = asks[0]
        if size >= qty:
            notional = ZERO + price * qty
            fee = notional * fee_rate
            return Cost(
                book.venue, qty, notional, fee, notional + fee, notional / qty, 1, price, fee_rate
            )
    remaining = qty
    notional = ZERO
    used = 0
    price = ZERO
    for price, size in asks:
        used += 1
        if size >= remaining:
            notional += price * remaining
            remaining = ZERO
            break
        notional += price * size
        remaining -= size
    if remaining > 0:
        return InsufficientDepth(book.venue, qty, qty - remaining)
    fee = notional * fee_rate
    return Cost(
        venue=book.venue,
        qty=qty,
        notional=notional,
        fee=fee,
        total=notional + fee,
        avg_price=notional / qty,
        levels_used=used,
        worst_price=price,
        fee_rate=fee_rate,
    )
