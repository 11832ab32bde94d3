"""What each venue panel shows, computed from the market's statuses in plain Python.

The cost of the *next tranche* is the engine's quote (``dca/quote.py``) on the usable
books, the same pricing the executor uses (walk the asks, add the taker fee), so the
panel marked best is the venue the tranche would go to if it ran now.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal

from dca.pricing import Cost, InsufficientDepth
from dca.quote import quote
from exchanges.book import OrderBook
from exchanges.market import VenueStatus
from exchanges.venues import VenueSpec


@dataclass(frozen=True, slots=True)
class VenueView:
    """One panel's content: the status plus the next tranche's cost there and how it ranks."""

    status: VenueStatus
    fee_rate: Decimal
    qty: Decimal | None
    cost: Cost | InsufficientDepth | None
    best: bool
    distance_bps: Decimal | None
    age_s: float | None


def venue_views(
    statuses: Mapping[str, VenueStatus],
    specs: Mapping[str, VenueSpec],
    qty: Decimal | None,
    now: float,
    speed: float = 1.0,
    among: Collection[str] | None = None,
) -> dict[str, VenueView]:
    """A view per venue in ``statuses``; ``qty`` None prices nothing (the plan is not valid).

    ``among`` are the venues the plan uses (the ticked ones): only they can be ``best``
    and the distances are to the best of them, since the tranche can only go there.
    None means every venue. Book ages are shown in real seconds: a demo clock running
    ``speed`` times faster would otherwise make every book look old.
    """
    q = None
    if qty is not None and qty > 0:
        q = quote(usable_books(statuses), specs, qty, among=among)
    best = q.cheapest if q is not None else None
    views: dict[str, VenueView] = {}
    for venue, status in statuses.items():
        cost = q.costs.get(venue) if q is not None else None
        distance = None
        if best is not None and isinstance(cost, Cost):
            distance = (cost.total - best.total) / best.total * 10_000
        views[venue] = VenueView(
            status=status,
            fee_rate=specs[venue].taker_fee,
            qty=qty,
            cost=cost,
            best=best is not None and best.venue == venue,
            distance_bps=distance,
            age_s=_real_age(status.age(now), speed),
        )
    return views


def usable_books(
    statuses: Mapping[str, VenueStatus], among: Collection[str] | None = None
) -> dict[str, OrderBook]:
    """The book of each venue (in ``among``; None: all) that has one and no error."""
    return {
        v: s.book
        for v, s in statuses.items()
        if s.book is not None and s.error is None and (among is None or v in among)
    }


def _real_age(age: float | None, speed: float) -> float | None:
    if age is None or not 0 < speed < float("inf"):
        return age if speed == 1.0 or age is None else 0.0
    return age / speed
