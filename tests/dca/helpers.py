"""Small builders for order books and specs that read like the stories in the tests."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from exchanges.book import Level, OrderBook
from exchanges.venues import DEFAULT_SPECS, VenueSpec

D = Decimal


def book(
    venue: str, asks: Sequence[tuple[str, str]], bids: Sequence[tuple[str, str]] = ()
) -> OrderBook:
    """A book from (price, size) text pairs; bids default to one level just under the best ask."""
    ask_levels = [Level(D(p), D(s)) for p, s in asks]
    if not bids:
        best = min(lv.price for lv in ask_levels)
        bid_levels = [Level(best - 1, D("1"))]
    else:
        bid_levels = [Level(D(p), D(s)) for p, s in bids]
    return OrderBook.build(venue, "USD", bid_levels, ask_levels, 0.0)


def specs(**fees: str) -> dict[str, VenueSpec]:
    """Default specs with some taker fees replaced: ``specs(kraken="0.001")``."""
    out = dict(DEFAULT_SPECS)
    for venue, fee in fees.items():
        out[venue] = out[venue].with_overrides(taker_fee=D(fee))
    return out


def limits(venue: str, min_order: str, lot: str, base: dict[str, VenueSpec]) -> None:
    """Set a venue's minimum order and lot step in ``base``."""
    base[venue] = base[venue].with_overrides(min_order_btc=D(min_order), lot_btc=D(lot))
