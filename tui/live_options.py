"""What the dashboard needs to offer real orders (light: loaded at start-up; the orders'
own modules load with the first live run, from ``tui.live_orders``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dca.orders import OrderJournal


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """``[live]``, where a live run's orders are journaled, and the environment keys are
    read from (None: the process's)."""

    max_slippage: Decimal
    max_spend: Decimal | None
    orders: Callable[[], OrderJournal]
    env: Mapping[str, str] | None = None
