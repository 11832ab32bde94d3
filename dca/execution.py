"""The execution seam: how a routed tranche becomes what was bought.

The executor decides (books, prices, route); an ``Execution`` carries the decision
out. ``PaperExecution`` takes the decision itself as the fill: the cost on the live
books at that moment, nothing sent anywhere (the default, and every backtest). The
live side sends real orders and returns what the venues charged, beside the decision.
Every test of the run lifecycle can run against both sides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from dca.events import SkipReason
from dca.orders import OrderRecord
from dca.routing import Route
from exchanges.errors import VenueError
from exchanges.frozen import fast_init


@fast_init
@dataclass(frozen=True, slots=True)
class Executed:
    """The tranche bought ``route`` (paper: the decision; live: what the venues charged).

    ``decision`` is the paper decision when it differs from what was bought (live), and
    ``orders`` the real orders sent for it.
    """

    route: Route
    orders: tuple[OrderRecord, ...] = ()
    decision: Route | None = None
    # Live: why the BTC the orders did not buy is carried into the next tranche ("" when
    # everything was bought, or the remainder went to another venue and was bought).
    carried_why: str = ""


@dataclass(frozen=True, slots=True)
class NotExecuted:
    """Nothing was bought for the tranche: why, and any orders tried."""

    reason: SkipReason
    detail: str
    orders: tuple[OrderRecord, ...] = ()
    # False when an order's outcome is unknown: its BTC may have been bought, so the
    # tranche is not carried into the next (never risk buying it twice).
    carry: bool = True


ExecutionResult = Executed | NotExecuted


class Execution(Protocol):
    """Carries out a tranche's routing decision."""

    @property
    def live(self) -> bool:
        """True when orders reach a venue."""
        ...

    @property
    def left_out(self) -> Mapping[str, VenueError]:
        """Venues that cannot take orders any more this run (a refused key), with why."""
        ...

    async def execute(self, run_id: str, index: int, route: Route) -> ExecutionResult:
        """Buy tranche ``index`` of ``run_id`` along ``route``; never raises for a venue's no."""
        ...


class PaperExecution:
    """Paper fills: the decision is the fill. Nothing is sent."""

    live = False
    left_out: Mapping[str, VenueError] = MappingProxyType({})

    async def execute(self, run_id: str, index: int, route: Route) -> ExecutionResult:
        """The route as decided."""
        return Executed(route)
