"""Where the history screen gets its data: two Arrow tables, whoever stores them.

``HistorySource`` is the seam: ``MemoryHistory`` (``memory``: runs of this session,
kept from the executor's events) and ``ParquetHistory`` (``parquet``: storage's
queries) implement it. Tables are Arrow so a million tranches open without a
row-by-row insert, and every money column is an exact ``decimal128``; their schemas
live in ``tables``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # Arrow loads with the history screen, not with the dashboard
    import pyarrow as pa

CENT = Decimal("0.01")


class HistorySource(Protocol):
    """Past runs and their tranches, as Arrow tables (schemas in ``tables``)."""

    def runs(self, limit: int | None = None) -> pa.Table:
        """The newest ``limit`` runs (all when None), newest first (``RUNS_SCHEMA``)."""
        ...

    def tranches(self, run_id: str) -> pa.Table:
        """The filled tranches of one run in order (``TRANCHES_SCHEMA``)."""
        ...

    def version(self) -> object:
        """A cheap value that changes whenever ``runs`` or ``tranches`` would answer
        differently (the history screen re-reads only then)."""
        ...


@dataclass(frozen=True, slots=True)
class RunDetail:
    """A run's totals computed from its tranches; prices per BTC for the chart."""

    qty: Decimal
    total: Decimal
    fees: Decimal
    saved: Decimal
    avg_price: Decimal | None
    # The total per BTC, fees in (the total rounded once, not a sum of rounded tranches).
    avg_cost: Decimal | None
    venue_share: dict[str, Decimal]
    prices: Sequence[float] = field(default_factory=list)
    worst: Sequence[float] = field(default_factory=list)
    # The best mid at each decision (the chart's benchmark line) and the median slippage.
    mids: Sequence[float] = field(default_factory=list)
    slippage_bps: float | None = None
    # Real orders: the fills above their paper decisions, BTC-weighted, fees out and in, in
    # bps (None: no live tranche).
    vs_decision_bps: float | None = None
    vs_decision_fee_bps: float | None = None
    # The run's execution quality (``tables.QUALITY`` names → value; None: not measured).
    quality: dict[str, float | None] = field(default_factory=dict)
