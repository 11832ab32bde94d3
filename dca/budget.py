"""How much BTC a sum of money buys: the inverse of ``dca.pricing``'s walk.

A budget tranche has money, not a quantity. The rule (docs/plans.md):

- on one venue, the quantity is the largest multiple of that venue's lot step whose
  walked notional plus taker fee is at most the money (``max_qty``);
- ``single`` takes the venue that buys the most (ties: the usual venue order), which
  is also the cheapest venue for that quantity, so the route's total never exceeds
  the money;
- ``split`` searches, lot step by lot step, the largest quantity whose cheapest split
  (``dca.routing.route``) costs at most the money, starting from the best single venue.

What is left of the money (less than one lot at the price paid) is the tranche's
change; the executor carries it to the next tranche, and the last tranche's change is
what the run leaves unspent.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal

from dca.pricing import ZERO, Cost, cost_to_buy
from dca.routing import Mode, Route, route, venue_order
from exchanges.book import OrderBook
from exchanges.venues import VenueSpec


def _floor(qty: Decimal, lot: Decimal) -> Decimal:
    return (qty / lot).to_integral_value(ROUND_DOWN) * lot


def max_qty(book: OrderBook, money: Decimal, fee_rate: Decimal, lot: Decimal) -> Decimal | None:
    """The most BTC (a multiple of ``lot``) ``money`` buys on ``book``, fee in.

    None when the whole ask side costs less than ``money``: the book is too thin to
    take the money, as a book too thin for an amount of BTC is.
    """
    factor = 1 + fee_rate
    remaining = money
    qty = ZERO
    for price, size in book.asks:
        level = price * size * factor
        if level <= remaining:
            qty += size
            remaining -= level
            continue
        qty = _floor(qty + remaining / (price * factor), lot)
        break
    else:
        return None
    while qty > 0:
        cost = cost_to_buy(book, qty, fee_rate)
        if isinstance(cost, Cost) and cost.total <= money:
            return qty
        qty -= lot  # the division rounded up in its 28th digit: one lot less fits
    return ZERO


def buy_for(
    books: Mapping[str, OrderBook],
    specs: Mapping[str, VenueSpec],
    money: Decimal,
    mode: Mode = Mode.SINGLE,
) -> tuple[Route | None, dict[str, Decimal | None]]:
    """The route that buys the most BTC for ``money`` (None if no venue can), and per venue
    the quantity it alone would buy (None: its book is too thin for the money).

    A venue whose quantity is below its minimum order cannot take part.
    """
    per_venue = {
        v: max_qty(b, money, specs[v].taker_fee, specs[v].lot_btc) for v, b in books.items()
    }
    usable = {
        v: q
        for v, q in per_venue.items()
        if q is not None and q > 0 and q >= specs[v].min_order_btc
    }
    best: Route | None = None
    if usable:
        venue = max(usable, key=lambda v: (usable[v], -venue_order(v)[0]))
        qty = usable[venue]
        best = _route_fitting(books, specs, qty, mode)
    if mode is Mode.SPLIT:
        split = _best_split(books, specs, money, best.qty if best else ZERO)
        if split is not None and (best is None or split.qty > best.qty):
            best = split
    return best, per_venue


def _route_fitting(
    books: Mapping[str, OrderBook], specs: Mapping[str, VenueSpec], qty: Decimal, mode: Mode
) -> Route | None:
    """``route`` for ``qty``, every leg an order its venue takes (minimum, lot step).

    A split's legs always are; a single venue is chosen among those that take ``qty``.
    """
    r = route(books, specs, qty, mode)
    if r is not None and all(takes(specs[leg.venue], leg.qty) for leg in r.legs):
        return r
    fits = {v: b for v, b in books.items() if takes(specs[v], qty)}
    return route(fits, specs, qty, Mode.SINGLE) if fits else None


def takes(spec: VenueSpec, qty: Decimal) -> bool:
    """Whether a venue can take an order of ``qty`` BTC: its minimum, on its lot step."""
    return qty >= spec.min_order_btc and qty % spec.lot_btc == 0


def _best_split(
    books: Mapping[str, OrderBook],
    specs: Mapping[str, VenueSpec],
    money: Decimal,
    floor: Decimal,
) -> Route | None:
    """The largest quantity above ``floor`` whose cheapest split costs at most ``money``."""
    if not books:
        return None
    step = max(specs[v].lot_btc for v in books)
    fine = min(specs[v].lot_btc for v in books)
    # Upper bound: every venue's asks merged by fee-inclusive price, bought continuously.
    merged = sorted(
        (price * (1 + specs[v].taker_fee), size) for v, b in books.items() for price, size in b.asks
    )
    remaining = money
    top = ZERO
    for unit, size in merged:
        if unit * size <= remaining:
            top += size
            remaining -= unit * size
            continue
        top += remaining / unit
        break

    def ok(qty: Decimal) -> Route | None:
        if qty <= 0:
            return None
        r = _route_fitting(books, specs, qty, Mode.SPLIT)
        return r if r is not None and r.total <= money else None

    found: Route | None = None
    for unit in dict.fromkeys((step, fine)):
        lo = _floor(max(floor, found.qty if found else ZERO), unit)
        hi = _floor(top, unit)
        if found is not None:
            hi = min(hi, found.qty + step)
        # Invariant: lo is feasible or the floor; hi + unit is not.
        while lo < hi:
            mid = _floor((lo + hi + unit) / 2, unit)
            got = ok(mid)
            if got is not None:
                lo = mid
                found = got if found is None or got.qty > found.qty else found
            else:
                hi = mid - unit
    return found
