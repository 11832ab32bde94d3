"""A quote: what an amount of BTC costs on each venue right now, and where it would go.

One function, :func:`quote`, answers for every place that asks: ``btc-dca quote``, the
plan form's estimate and the venue panels' best-venue marker. Each venue's cost is its
book walked for the whole amount plus its taker fee (``dca/pricing.py``); the route is
the router's (``dca/routing.py``), so what is shown is what a tranche would do.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from dca.pricing import Cost, InsufficientDepth
from dca.routing import Mode, Route, price_all, rank_costs, route
from exchanges.book import OrderBook
from exchanges.errors import VenueError
from exchanges.venues import VenueSpec


@dataclass(frozen=True, slots=True)
class Quote:
    """One pricing of ``amount`` BTC: what each venue answered, its cost, and the best route."""

    amount: Decimal
    mode: Mode
    # What each venue answered: its book, or why it has none.
    results: Mapping[str, OrderBook | VenueError]
    # The fees it was priced with.
    specs: Mapping[str, VenueSpec]
    # The whole amount on each venue with a book, alone.
    costs: Mapping[str, Cost | InsufficientDepth]
    # The route in ``mode`` over the venues the buyer uses (None: they cannot fill it).
    best: Route | None
    # The venues the buyer uses (None: every venue); only they rank and route.
    among: frozenset[str] | None = None
    # Asked for when no single venue can fill the amount: the split route, if the venues
    # together can.
    split: Route | None = None

    @property
    def ranked(self) -> Sequence[Cost]:
        """The venues the buyer uses that can fill the amount alone, cheapest first."""
        return rank_costs(self._used(self.costs))

    @property
    def cheapest(self) -> Cost | None:
        """The cheapest single venue the buyer uses (ties: ``routing.venue_order``), if any."""
        ranked = self.ranked
        return ranked[0] if ranked else None

    @property
    def filled(self) -> bool:
        """Whether the whole amount can be bought in this mode."""
        return self.best is not None

    @property
    def depth(self) -> Decimal:
        """BTC the venues' books hold together (what a split could buy at most)."""
        return sum(
            (
                c.available if isinstance(c, InsufficientDepth) else c.qty
                for c in self.costs.values()
            ),
            Decimal(0),
        )

    @property
    def reached(self) -> bool:
        """Whether any venue answered with a book."""
        return any(isinstance(r, OrderBook) for r in self.results.values())

    def _used(
        self, costs: Mapping[str, Cost | InsufficientDepth]
    ) -> dict[str, Cost | InsufficientDepth]:
        return {v: c for v, c in costs.items() if self.among is None or v in self.among}


def quote(
    results: Mapping[str, OrderBook | VenueError],
    specs: Mapping[str, VenueSpec],
    amount: Decimal,
    mode: Mode = Mode.SINGLE,
    *,
    among: Collection[str] | None = None,
    split_if_unfilled: bool = False,
) -> Quote:
    """Price ``amount`` BTC (> 0) on every book among ``results`` and route it in ``mode``.

    Every book is priced; only the venues in ``among`` (None: all) rank and route, since a
    tranche can only go there. A venue that answered with an error is in the route's
    alternatives with no total. ``split_if_unfilled`` also routes a split when ``mode`` is
    single and no single venue can fill the amount (what ``--mode split`` would do).
    """
    books = {v: r for v, r in results.items() if isinstance(r, OrderBook)}
    costs = price_all(books, specs, amount)
    used = None if among is None else frozenset(among)
    if used is not None:
        books = {v: b for v, b in books.items() if v in used}
    down = [v for v, r in results.items() if isinstance(r, VenueError)]
    if used is not None:
        down = [v for v in down if v in used]
    routed = {v: costs[v] for v in books}
    best = route(books, specs, amount, mode, costs=routed, unavailable=down)
    split = None
    if split_if_unfilled and best is None and mode is Mode.SINGLE:
        split = route(books, specs, amount, Mode.SPLIT, costs=routed, unavailable=down)
    return Quote(amount, mode, results, specs, costs, best, used, split)
