"""The execution seam: how a routed tranche becomes what was bought.

The executor decides (books, prices, route); an ``Execution`` carries the decision
out. ``PaperExecution`` takes the decision itself as the fill: the cost on the live
books at that moment, nothing sent anywhere (the default, and every backtest). The
live side sends real orders and returns what the venues charged, beside the decision.
Every test of the run lifecycle can run against both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dca.events import SkipReason
from dca.orders import OrderRecord
from dca.routing import Route


@dataclass(frozen=True, slots=True)
class Executed:
    """The tranche bought ``route`` (paper: the decision; live: what the venues charged).

    ``decision`` is the paper decision when it differs from what was bought (live), and
    ``orders`` the real orders sent for it.
    """

    route: Route
    orders: tuple[OrderRecord, ...] = ()
    decision: Route | None = None


@dataclass(frozen=True, slots=True)
class NotExecuted:
    """Nothing was bought for the tranche: why, and any orders tried."""

    reason: SkipReason
    detail: str
    orders: tuple[OrderRecord, ...] = ()


ExecutionResult = Executed | NotExecuted


class Execution(Protocol):
    """Carries out a tranche's routing decision."""

    @property
    def live(self) -> bool:
        """True when orders reach a venue."""
        ...

    async def execute(self, run_id: str, index: int, route: Route) -> ExecutionResult:
        """Buy tranche ``index`` of ``run_id`` along ``route``; never raises for a venue's no."""
        ...


class PaperExecution:
    """Paper fills: the decision is the fill. Nothing is sent."""

    live = False

    async def execute(self, run_id: str, index: int, route: Route) -> ExecutionResult:
        """The route as decided."""
        return Executed(route)
