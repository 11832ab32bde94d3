"""Choosing where to buy a tranche: the cheapest single venue, or the cheapest split.

``single`` prices the whole tranche on every venue and takes the lowest total.
``split`` merges every venue's asks by fee-inclusive price and takes the cheapest
BTC first, which is optimal because each venue's cost grows convexly with the
quantity bought there. Each leg then honours the venue's minimum order and lot
step, and a split that would not beat the best single venue is not used.

Ties go to the venue listed first in ``VENUE_IDS`` (then by id), so the same
books always give the same answer.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from dca.pricing import ZERO, Cost, InsufficientDepth, cost_to_buy
from exchanges.book import OrderBook
from exchanges.frozen import fast_init
from exchanges.venues import VENUE_IDS, VenueSpec


class Mode(StrEnum):
    """How a tranche may be routed."""

    SINGLE = "single"
    SPLIT = "split"


_RANK = {v: i for i, v in enumerate(VENUE_IDS)}
# The keys of the known venues, made once: a split asks for them a dozen times a tranche.
_ORDER = {v: (i, v) for v, i in _RANK.items()}


def venue_order(venue: str) -> tuple[int, str]:
    """The deterministic tie-break key for a venue."""
    return _ORDER.get(venue) or (len(VENUE_IDS), venue)


@fast_init
@dataclass(frozen=True, slots=True)
class Route:
    """How one tranche is bought: one leg (single) or several (split), with the comparison."""

    qty: Decimal
    mode: Mode
    legs: tuple[Cost, ...]
    # Each venue's total for the whole tranche on its own (None: could not fill it).
    alternatives: dict[str, Decimal | None]

    # A single leg's sum is ``ZERO + leg.x``, as ``sum(..., ZERO)`` makes it (the same
    # digits), without the generator: these are read a dozen times per tranche.

    @property
    def notional(self) -> Decimal:
        """Σ notional over the legs."""
        legs = self.legs
        if len(legs) == 1:
            return ZERO + legs[0].notional
        return sum((leg.notional for leg in legs), ZERO)

    @property
    def fee(self) -> Decimal:
        """Σ fee over the legs."""
        legs = self.legs
        if len(legs) == 1:
            return ZERO + legs[0].fee
        return sum((leg.fee for leg in legs), ZERO)

    @property
    def total(self) -> Decimal:
        """Notional plus fees."""
        legs = self.legs
        if len(legs) == 1:
            return ZERO + legs[0].total
        return sum((leg.total for leg in legs), ZERO)

    @property
    def avg_price(self) -> Decimal:
        """Notional per BTC, before fees."""
        return self.notional / self.qty

    @property
    def effective_price(self) -> Decimal:
        """Total per BTC, fees included."""
        return self.total / self.qty

    @property
    def venue(self) -> str:
        """The venue of a single route; for a split, the legs joined by '+'."""
        return "+".join(leg.venue for leg in self.legs)

    def _ok_totals(self) -> list[Decimal]:
        # A split can fill what no single venue can: then it is its own only comparison.
        return [t for t in self.alternatives.values() if t is not None] or [self.total]

    @property
    def worst_total(self) -> Decimal:
        """The dearest single venue that could fill the tranche (this route if none could)."""
        return max(self._ok_totals())

    @property
    def median_total(self) -> Decimal:
        """The median single-venue total, lower middle for an even count (this route if none)."""
        # ``statistics.median_low``, without importing it (and fractions) at start-up.
        totals = sorted(self._ok_totals())
        return totals[(len(totals) - 1) // 2]

    @property
    def saved_vs_worst(self) -> Decimal:
        """How much cheaper than the dearest venue."""
        return self.worst_total - self.total

    @property
    def saved_vs_median(self) -> Decimal:
        """How much cheaper than the median venue."""
        return self.median_total - self.total

    @property
    def runner_up(self) -> tuple[str, Decimal] | None:
        """The next-best single venue that is not a leg of this route, with its total."""
        legs = {leg.venue for leg in self.legs}
        best: tuple[Decimal, tuple[int, str], str] | None = None
        for v, t in self.alternatives.items():
            if t is None or v in legs:
                continue
            item = (t, venue_order(v), v)
            if best is None or item < best:  # the first of equals, as min() keeps
                best = item
        return None if best is None else (best[2], best[0])


def price_all(
    books: Mapping[str, OrderBook], specs: Mapping[str, VenueSpec], qty: Decimal
) -> dict[str, Cost | InsufficientDepth]:
    """The cost of the whole ``qty`` on each venue alone."""
    return {v: cost_to_buy(book, qty, specs[v].taker_fee) for v, book in books.items()}


def best_single(costs: Mapping[str, Cost | InsufficientDepth]) -> Cost | None:
    """The venue with the lowest total (deterministic on ties), or None if none can fill."""
    ranked = rank_costs(costs)
    return ranked[0] if ranked else None


def route(
    books: Mapping[str, OrderBook],
    specs: Mapping[str, VenueSpec],
    qty: Decimal,
    mode: Mode = Mode.SINGLE,
    costs: Mapping[str, Cost | InsufficientDepth] | None = None,
    unavailable: Iterable[str] = (),
) -> Route | None:
    """Route ``qty`` BTC over ``books``; None when no venue (nor any split) can fill it.

    ``unavailable`` venues (no book) appear in the alternatives with no total.
    """
    if costs is None:
        costs = price_all(books, specs, qty)
    names = sorted({*costs, *unavailable}, key=venue_order)
    alternatives = {v: (c.total if isinstance(c := costs.get(v), Cost) else None) for v in names}
    single = best_single(costs)
    if mode is Mode.SPLIT:
        legs = _split(books, specs, qty)
        if legs is not None and (
            single is None or sum((leg.total for leg in legs), ZERO) < single.total
        ):
            return Route(qty, mode, legs, alternatives)
    if single is None:
        return None
    return Route(qty, mode, (single,), alternatives)


def _effective_asks(
    book: OrderBook, fee_rate: Decimal
) -> Iterator[tuple[Decimal, int, str, Decimal]]:
    factor = 1 + fee_rate
    rank = venue_order(book.venue)[0]
    for price, size in book.asks:
        yield price * factor, rank, book.venue, size


def _greedy(
    books: Mapping[str, OrderBook], specs: Mapping[str, VenueSpec], qty: Decimal
) -> dict[str, Decimal] | None:
    """The continuous optimum: cheapest fee-inclusive BTC first, across all books."""
    merged = heapq.merge(*(_effective_asks(b, specs[v].taker_fee) for v, b in books.items()))
    alloc: dict[str, Decimal] = {}
    remaining = qty
    for _, _, venue, size in merged:
        take = size if size < remaining else remaining
        alloc[venue] = alloc.get(venue, ZERO) + take
        remaining -= take
        if remaining == 0:
            return alloc
    return None


def _cheapest_level(
    books: Mapping[str, OrderBook], specs: Mapping[str, VenueSpec]
) -> tuple[str, Decimal] | None:
    """The venue and size of the first level ``_greedy`` takes: the lowest fee-inclusive
    best ask, ties to the venue ranked first (its merge's first item)."""
    best: tuple[Decimal, int, str, Decimal] | None = None
    for v, book in books.items():
        asks = book.asks
        if not asks:
            continue
        price, size = asks[0]
        item = (price * (1 + specs[v].taker_fee), venue_order(book.venue)[0], book.venue, size)
        if best is None or item < best:
            best = item
    return None if best is None else (best[2], best[3])


def _split(
    books: Mapping[str, OrderBook], specs: Mapping[str, VenueSpec], qty: Decimal
) -> tuple[Cost, ...] | None:
    """Cheapest allocation of ``qty`` honouring each venue's minimum order and lot step."""
    cheapest = _cheapest_level(books, specs)
    if cheapest is not None:
        venue, size = cheapest
        if size >= qty and qty >= specs[venue].min_order_btc:
            # The merge's first step takes all of ``qty`` there, nothing is left too small:
            # the allocation ``_split_merged`` comes to, settled without merging the books.
            return _settle_lots(books, specs, qty, {venue: ZERO + qty})
    return _split_merged(books, specs, qty)


def _split_merged(
    books: Mapping[str, OrderBook], specs: Mapping[str, VenueSpec], qty: Decimal
) -> tuple[Cost, ...] | None:
    """``_split`` the long way: merge the books, drop the venues left too small, settle."""
    candidates = dict(books)
    while candidates:
        alloc = _greedy(candidates, specs, qty)
        if alloc is None:
            return None
        too_small = [v for v, q in alloc.items() if q < specs[v].min_order_btc]
        if not too_small:
            return _settle_lots(candidates, specs, qty, alloc)
        # Drop the venue with the least to do and re-solve without it.
        drop = min(too_small, key=lambda v: (alloc[v], venue_order(v)))
        del candidates[drop]
    return None


def _settle_lots(
    books: Mapping[str, OrderBook],
    specs: Mapping[str, VenueSpec],
    qty: Decimal,
    alloc: dict[str, Decimal],
) -> tuple[Cost, ...] | None:
    """Round each leg down to its lot; give the remainder to the cheapest leg that can take it."""
    rounded = {
        v: (q / specs[v].lot_btc).to_integral_value(ROUND_DOWN) * specs[v].lot_btc
        for v, q in alloc.items()
    }
    remainder = qty - sum(rounded.values(), ZERO)
    if remainder:
        takers = sorted(
            (v for v in rounded if (remainder % specs[v].lot_btc) == 0),
            key=lambda v: (
                _marginal_price(books[v], rounded[v], specs[v].taker_fee),
                venue_order(v),
            ),
        )
        if not takers:
            return None
        rounded[takers[0]] += remainder
    legs: list[Cost] = []
    for v in sorted(rounded, key=venue_order):
        q = rounded[v]
        if q <= 0:
            continue
        if q < specs[v].min_order_btc:
            return None
        cost = cost_to_buy(books[v], q, specs[v].taker_fee)
        if isinstance(cost, InsufficientDepth):
            return None
        legs.append(cost)
    return tuple(legs)


def _marginal_price(book: OrderBook, bought: Decimal, fee_rate: Decimal) -> Decimal:
    """Fee-inclusive price of the next BTC after ``bought`` on this book (inf if exhausted)."""
    for price, size in book.asks:
        if bought < size:
            return price * (1 + fee_rate)
        bought -= size
    return Decimal("Infinity")


def rank_costs(costs: Mapping[str, Cost | InsufficientDepth]) -> Sequence[Cost]:
    """The venues that can fill, cheapest first."""
    ok = [c for c in costs.values() if isinstance(c, Cost)]
    return sorted(ok, key=lambda c: (c.total, venue_order(c.venue)))
