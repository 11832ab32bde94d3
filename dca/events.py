"""What the executor tells the world: one small frozen dataclass per thing that happened.

The journal stores them, the dashboard draws them, the headless run prints them.
Times are epoch seconds of the executor's clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from dca.orders import OrderRecord
from dca.plan import Plan
from dca.pricing import ZERO, Cost, InsufficientDepth
from dca.routing import Route
from dca.status import RunStatus, end_status, stop_status
from dca.tca import (
    FillTca,
    RunReport,
    RunTca,
    TrancheTca,
    best_mid,
    fill_tca,
    tranche_tca,
)
from exchanges.errors import VenueError
from exchanges.frozen import fast_init

# Per venue, what the engine saw when it decided: a cost, a book too thin, or an error.
QuoteOutcome = Cost | InsufficientDepth | VenueError


class SkipReason(StrEnum):
    """Why a tranche bought nothing."""

    ABOVE_MAX_PRICE = "above_max_price"
    NO_VENUE = "no_venue_available"
    INSUFFICIENT_DEPTH = "insufficient_depth_everywhere"
    MISSED = "missed_while_stopped"
    # Real orders only:
    BALANCE = "balance"  # the free balance could not cover the tranche's worst case
    BELOW_MINIMUM = "below_minimum"  # under every venue's minimum order or notional
    MAX_SPEND = "max_spend"  # the run's [live] max_spend would be passed
    NOT_FILLED = "not_filled"  # the orders went out and bought nothing
    ORDER_REFUSED = "order_refused"  # the venue refused the order
    UNCONFIRMED = "order_unconfirmed"  # the venue could not be asked what an order did


@fast_init
@dataclass(frozen=True, slots=True)
class QuoteSeen:
    """One venue's quote that a tranche decision was made on (the raw archive).

    ``source`` is where the book came from ("stream" or "rest"; None without a book
    or from a market that does not say); ``book_age_s`` how long since the venue last
    vouched for it (a frame on its synced socket, or the REST answer);
    ``book_changed_s`` how long since it last changed.
    """

    venue: str
    outcome: QuoteOutcome
    best_bid: Decimal | None
    best_ask: Decimal | None
    book_age_s: float | None
    latency_ms: float | None
    health: str
    source: str | None = None
    book_changed_s: float | None = None

    @property
    def total(self) -> Decimal | None:
        """The venue's total for the tranche; None when it could not price it."""
        return self.outcome.total if isinstance(self.outcome, Cost) else None

    @property
    def reason(self) -> str | None:
        """Why the venue has no total (its error, or a book too thin); None when it has one."""
        if isinstance(self.outcome, Cost):
            return None
        return str(self.outcome)


@dataclass(frozen=True, slots=True)
class RunStarted:
    """A run began, or resumed (then ``done`` counts the tranches already recorded)."""

    run_id: str
    plan: Plan
    at: float
    schedule: tuple[float, ...]
    sizes: tuple[Decimal, ...]
    resumed: bool = False
    done: int = 0
    # "paper" (the decision is the fill) or "live" (real orders).
    execution: str = "paper"


@fast_init
@dataclass(frozen=True, slots=True)
class TrancheFilled:
    """Tranche ``index`` (0-based) of ``of`` was bought (on paper) along ``route``."""

    run_id: str
    index: int
    of: int
    scheduled: float
    at: float
    route: Route
    quotes: tuple[QuoteSeen, ...]
    # The cost of the whole plan bought at once on this decision's books: set on the
    # run's first decision only (the lump sum of the execution-quality figures).
    lump_total: Decimal | None = None
    lump_amount: Decimal | None = None
    # Real orders: what was sent and charged (``route`` is then what the venues charged,
    # ``decision`` the paper decision it came from, ``carried`` the BTC a partial fill
    # left to the next tranche). Empty on paper.
    orders: tuple[OrderRecord, ...] = ()
    decision: Route | None = None
    carried: Decimal = ZERO
    # Why ``carried`` could not be bought in this tranche (no other venue could take it).
    carried_why: str = ""
    # A budget run's tranche: the money it had (its share plus what earlier tranches
    # carried); what the route did not spend of it goes on to the next tranche.
    spend: Decimal | None = None

    @property
    def live(self) -> bool:
        """True when real orders bought this tranche."""
        return bool(self.orders)

    @property
    def change(self) -> Decimal:
        """A budget tranche's money left unspent (less than one lot); 0 for an amount run."""
        return ZERO if self.spend is None else self.spend - self.route.total

    @property
    def qty(self) -> Decimal:
        """BTC bought."""
        return self.route.qty

    @property
    def tca(self) -> TrancheTca:
        """This tranche's execution quality (``dca.tca``)."""
        return tranche_tca(self.route, self.quotes)

    @property
    def fill_tca(self) -> FillTca | None:
        """Real orders: the fill against its paper decision and the mid (None on paper)."""
        if not self.orders or self.decision is None:
            return None
        return fill_tca(self.route, self.decision, best_mid(self.quotes))


@dataclass(frozen=True, slots=True)
class TrancheSkipped:
    """Tranche ``index`` bought nothing; ``carried`` BTC moved on to the next tranche."""

    run_id: str
    index: int
    of: int
    scheduled: float
    at: float
    qty: Decimal
    reason: SkipReason
    detail: str
    carried: Decimal
    quotes: tuple[QuoteSeen, ...] = ()
    lump_total: Decimal | None = None
    lump_amount: Decimal | None = None
    # Real orders tried for it (refused or unfilled); empty on paper.
    orders: tuple[OrderRecord, ...] = ()
    # A budget run's tranche: the money it had, all carried to the next tranche (its
    # ``qty`` and ``carried`` BTC are then 0).
    spend: Decimal | None = None
    spend_carried: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class VenueDegraded:
    """A venue could not be used for a tranche (it is left out until it recovers)."""

    run_id: str
    venue: str
    error: VenueError
    at: float


@dataclass(frozen=True, slots=True)
class VenueRecovered:
    """A venue that had failed gave a usable book again."""

    run_id: str
    venue: str
    at: float


@dataclass(frozen=True, slots=True)
class RunPaused:
    """The user paused the run."""

    run_id: str
    at: float


@dataclass(frozen=True, slots=True)
class RunResumed:
    """The user resumed a paused run."""

    run_id: str
    at: float


@dataclass(slots=True)
class Summary:
    """Running totals of a run; ``avg_price`` is notional per BTC, before fees."""

    target: Decimal
    qty: Decimal = ZERO
    notional: Decimal = ZERO
    fee: Decimal = ZERO
    total: Decimal = ZERO
    filled: int = 0
    skipped: int = 0
    saved_vs_worst: Decimal = ZERO
    saved_vs_median: Decimal = ZERO
    venue_qty: dict[str, Decimal] = field(default_factory=dict)
    tca: RunTca = field(default_factory=RunTca)
    # A budget run: the money to spend (fees in), and whether its last tranche was
    # bought (then everything but that tranche's change, under one lot, is spent).
    budget: Decimal | None = None
    spent_out: bool = False

    @property
    def left(self) -> Decimal | None:
        """A budget run's money not spent yet (None for an amount run)."""
        return None if self.budget is None else self.budget - self.total

    @property
    def complete(self) -> bool:
        """Whether the run got what it set out to: its amount of BTC, or its budget spent."""
        if self.budget is not None:
            return self.spent_out
        return self.qty >= self.target

    @property
    def avg_price(self) -> Decimal | None:
        """Notional per BTC bought so far."""
        return self.notional / self.qty if self.qty else None

    @property
    def effective_price(self) -> Decimal | None:
        """Total (with fees) per BTC bought so far."""
        return self.total / self.qty if self.qty else None

    @property
    def short(self) -> Decimal:
        """BTC still to buy to reach the target (0 once it is reached)."""
        return max(self.target - self.qty, ZERO)

    def add(self, event: TrancheFilled) -> None:
        """Count a filled tranche."""
        r = event.route
        self.see(event)
        self.qty += r.qty
        self.notional += r.notional
        self.fee += r.fee
        total = r.total
        self.total += total
        self.filled += 1
        # ``r.saved_vs_worst`` and ``r.saved_vs_median``, the route's total summed once.
        self.saved_vs_worst += r.worst_total - total
        self.saved_vs_median += r.median_total - total
        for leg in r.legs:
            self.venue_qty[leg.venue] = self.venue_qty.get(leg.venue, ZERO) + leg.qty

    def see(self, event: TrancheFilled | TrancheSkipped) -> None:
        """Count a tranche decision's market (its best mid, the lump sum) for ``tca``."""
        self.tca.see(best_mid(event.quotes))
        if event.lump_amount is not None:
            self.tca.set_lump(event.lump_total, event.lump_amount)

    @property
    def quality(self) -> RunReport:
        """The run's execution quality so far (``dca.tca``)."""
        return self.tca.report(
            self.qty, self.total, self.fee, self.saved_vs_worst, self.saved_vs_median
        )


@dataclass(frozen=True, slots=True)
class RunFinished:
    """Every tranche was handled; ``summary`` holds the totals."""

    run_id: str
    at: float
    summary: Summary

    @property
    def status(self) -> RunStatus:
        """``finished`` when the whole amount was bought (or budget spent), else ``incomplete``."""
        return end_status(self.summary)


@dataclass(frozen=True, slots=True)
class RunCancelled:
    """The run was stopped before its end (by the user or an interrupt)."""

    run_id: str
    at: float
    summary: Summary
    reason: str = "cancelled"

    @property
    def status(self) -> RunStatus:
        """``interrupted`` (resumable) when the reason is ``interrupted``, else ``cancelled``."""
        return stop_status(self.reason)


Event = (
    RunStarted
    | TrancheFilled
    | TrancheSkipped
    | VenueDegraded
    | VenueRecovered
    | RunPaused
    | RunResumed
    | RunFinished
    | RunCancelled
)
