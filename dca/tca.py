"""Execution quality (transaction cost analysis) of tranches and runs, from what the engine saw.

Everything here is computed from the quotes a decision was made on (each venue's best
bid and ask) and the route taken; exact ``Decimal`` arithmetic, nothing rounded. Costs
above a benchmark are positive (a shortfall), as traders read them.

Per tranche:

- ``mid_best``: the lowest mid ((best bid + best ask) / 2) among the venues that had a book.
- ``mid_chosen``: the mid of the venue bought on; for a split, the legs' mids weighted
  by the BTC bought on each.
- ``slippage_bps`` = (avg price − mid_best) / mid_best × 10⁴ (fees out);
  ``slippage_fee_bps`` = (total / qty − mid_best) / mid_best × 10⁴ (fees in).
- ``improvement`` (split mode only) = best single venue's total − this route's total;
  ``improvement_bps`` = improvement / best single total × 10⁴.

Real orders (``fill_tca``), per tranche, the venues' fills against the paper decision
they came from and against the mid:

- ``vs_decision_bps`` = (fill avg price − decided avg price) / decided avg price × 10⁴
  (fees out): what the market moved, or the book held, between the decision and the fill;
  ``vs_decision_fee_bps`` the same with fees in (total / qty on both sides);
- ``decision_vs_mid_bps`` = (decided avg price − mid_best) / mid_best × 10⁴ and
  ``fill_vs_mid_bps`` = (fill avg price − mid_best) / mid_best × 10⁴: the decision's and
  the fill's slippage against the same mid.

Over a run (``fills_vs_decisions``) they are weighted by the BTC bought: Σ fill notional
against Σ decided avg price × BTC filled (and with fees in, totals against decided
effective prices).

Per run (``RunTca.report``):

- ``arrival_mid``: ``mid_best`` at the run's first decision.
- ``shortfall`` = total − qty × arrival_mid (implementation shortfall), and in bps of
  qty × arrival_mid.
- ``twap_mid``: the mean of ``mid_best`` over every tranche decision (filled or skipped);
  slots are equal, so this is the time-weighted average of the best mid over the window.
  ``vs_twap`` = total − qty × twap_mid.
- ``lump_total``: the cost of the whole amount at the first decision's books (same mode);
  ``vs_lump`` = total − qty × lump_total / amount.
- ``vs_worst_bps`` / ``vs_median_bps``: what the run saved against always using the
  dearest / median venue, in bps of that cost.
- ``fee_share`` = fees / total.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Protocol

from dca.pricing import ZERO, Cost, InsufficientDepth
from dca.routing import Mode, Route

BPS = Decimal(10_000)


class QuoteLike(Protocol):
    """What a tranche decision saw of one venue (``dca.events.QuoteSeen`` is one)."""

    @property
    def venue(self) -> str: ...

    @property
    def outcome(self) -> object: ...

    @property
    def best_bid(self) -> Decimal | None: ...

    @property
    def best_ask(self) -> Decimal | None: ...


def mids(quotes: Iterable[QuoteLike]) -> dict[str, Decimal]:
    """Each venue's mid at decision time, for the venues that had a book with both sides."""
    out: dict[str, Decimal] = {}
    for q in quotes:
        if q.best_bid is None or q.best_ask is None:
            continue
        if not isinstance(q.outcome, Cost | InsufficientDepth):
            continue  # an error: the prices are from a book that was not used
        out[q.venue] = (q.best_bid + q.best_ask) / 2
    return out


def best_mid(quotes: Iterable[QuoteLike]) -> Decimal | None:
    """The lowest mid among the venues that had a book (None if none had one)."""
    found = mids(quotes)
    return min(found.values()) if found else None


def bps(amount: Decimal | None, base: Decimal | None) -> Decimal | None:
    """``amount / base`` in basis points; None when either is missing or base is 0."""
    if amount is None or base is None or base == 0:
        return None
    return amount / base * BPS


@dataclass(frozen=True, slots=True)
class TrancheTca:
    """Execution quality of one filled tranche (see the module's formulas)."""

    mid_chosen: Decimal | None
    mid_best: Decimal | None
    slippage_bps: Decimal | None
    slippage_fee_bps: Decimal | None
    improvement: Decimal | None
    improvement_bps: Decimal | None


def tranche_tca(route: Route, quotes: Iterable[QuoteLike]) -> TrancheTca:
    """The execution quality of ``route``, judged against the quotes it was decided on."""
    by_venue = mids(quotes)
    mid_best = min(by_venue.values()) if by_venue else None
    mid_chosen: Decimal | None = None
    if all(leg.venue in by_venue for leg in route.legs):
        weighted = sum((by_venue[leg.venue] * leg.qty for leg in route.legs), ZERO)
        mid_chosen = weighted / route.qty
    slippage = slippage_fee = None
    if mid_best is not None:
        slippage = bps(route.avg_price - mid_best, mid_best)
        slippage_fee = bps(route.effective_price - mid_best, mid_best)
    improvement = improvement_bps = None
    if route.mode is Mode.SPLIT:
        singles = [t for t in route.alternatives.values() if t is not None]
        if singles:
            best_single = min(singles)
            improvement = best_single - route.total
            improvement_bps = bps(improvement, best_single)
    return TrancheTca(mid_chosen, mid_best, slippage, slippage_fee, improvement, improvement_bps)


@dataclass(frozen=True, slots=True)
class FillTca:
    """Real orders: the fill against its paper decision and against the mid (see above)."""

    vs_decision_bps: Decimal | None
    vs_decision_fee_bps: Decimal | None
    decision_vs_mid_bps: Decimal | None
    fill_vs_mid_bps: Decimal | None


def fill_tca(fill: Route, decision: Route, mid_best: Decimal | None) -> FillTca:
    """How the real ``fill`` compares with the ``decision`` it came from and the mid."""
    decided, decided_fee = decision.avg_price, decision.effective_price
    return FillTca(
        vs_decision_bps=bps(fill.avg_price - decided, decided),
        vs_decision_fee_bps=bps(fill.effective_price - decided_fee, decided_fee),
        decision_vs_mid_bps=(bps(decided - mid_best, mid_best) if mid_best is not None else None),
        fill_vs_mid_bps=bps(fill.avg_price - mid_best, mid_best) if mid_best is not None else None,
    )


def fills_vs_decisions(
    tranches: Iterable[tuple[Route, Route]],
) -> tuple[Decimal | None, Decimal | None]:
    """Over (fill, decision) pairs: the fills' cost above their decisions' prices for the
    BTC filled, in bps, fees out then fees in (None, None when there are none)."""
    notional = decided = total = decided_fee = ZERO
    for fill, decision in tranches:
        notional += fill.notional
        total += fill.total
        decided += decision.avg_price * fill.qty
        decided_fee += decision.effective_price * fill.qty
    return bps(notional - decided, decided or None), bps(total - decided_fee, decided_fee or None)


@dataclass(frozen=True, slots=True)
class RunReport:
    """Execution quality of a run (see the module's formulas); None where not computable."""

    arrival_mid: Decimal | None
    twap_mid: Decimal | None
    lump_total: Decimal | None
    shortfall: Decimal | None
    shortfall_bps: Decimal | None
    vs_twap: Decimal | None
    vs_twap_bps: Decimal | None
    vs_lump: Decimal | None
    vs_lump_bps: Decimal | None
    vs_worst_bps: Decimal | None
    vs_median_bps: Decimal | None
    fee_share: Decimal | None


@dataclass(slots=True)
class RunTca:
    """What a run's execution quality is computed from, gathered decision by decision."""

    arrival_mid: Decimal | None = None
    mid_sum: Decimal = ZERO
    mid_count: int = 0
    lump_total: Decimal | None = None
    lump_amount: Decimal | None = None

    def see(self, mid_best: Decimal | None) -> None:
        """Count one tranche decision's best mid (filled or skipped)."""
        if mid_best is None:
            return
        if self.arrival_mid is None:
            self.arrival_mid = mid_best
        self.mid_sum += mid_best
        self.mid_count += 1

    def set_lump(self, total: Decimal | None, amount: Decimal) -> None:
        """The cost of buying the whole ``amount`` at once, at the run's first decision."""
        if self.lump_amount is None:
            self.lump_total = total
            self.lump_amount = amount

    @property
    def twap_mid(self) -> Decimal | None:
        """The mean best mid over the decisions seen."""
        return self.mid_sum / self.mid_count if self.mid_count else None

    def copy(self) -> RunTca:
        """An independent copy (a resumed run goes on from a run's recorded state)."""
        return replace(self)

    def report(
        self,
        qty: Decimal,
        total: Decimal,
        fee: Decimal,
        saved_vs_worst: Decimal,
        saved_vs_median: Decimal,
    ) -> RunReport:
        """The run's figures for ``qty`` BTC bought for ``total`` (fees ``fee`` included)."""
        twap = self.twap_mid
        arrival = self.arrival_mid
        bought = qty > 0
        shortfall = total - qty * arrival if bought and arrival is not None else None
        vs_twap = total - qty * twap if bought and twap is not None else None
        lump_price = (
            self.lump_total / self.lump_amount
            if self.lump_total is not None and self.lump_amount
            else None
        )
        vs_lump = total - qty * lump_price if bought and lump_price is not None else None
        return RunReport(
            arrival_mid=arrival,
            twap_mid=twap,
            lump_total=self.lump_total,
            shortfall=shortfall,
            shortfall_bps=bps(shortfall, qty * arrival) if arrival is not None else None,
            vs_twap=vs_twap,
            vs_twap_bps=bps(vs_twap, qty * twap) if twap is not None else None,
            vs_lump=vs_lump,
            vs_lump_bps=bps(vs_lump, qty * lump_price) if lump_price is not None else None,
            vs_worst_bps=bps(saved_vs_worst, total + saved_vs_worst) if bought else None,
            vs_median_bps=bps(saved_vs_median, total + saved_vs_median) if bought else None,
            fee_share=fee / total if bought and total else None,
        )
