"""The execution seam: paper takes the decision as the fill; another side can buy less or nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from dca.events import SkipReason, TrancheFilled, TrancheSkipped
from dca.execution import Executed, ExecutionResult, NotExecuted, PaperExecution
from dca.executor import Executor
from dca.journal import MemoryJournal
from dca.orders import Fill, OrderRecord, OrderState
from dca.pricing import Cost, cost_to_buy
from dca.routing import Mode, Route
from exchanges.clock import SimClock
from exchanges.errors import ErrorKind, VenueError
from exchanges.simulated import SimulatedMarket
from tests.dca.helpers import book
from tests.dca.test_executor import START, make, of

D = Decimal


class HalfFills:
    """An execution that buys half of tranche 1, nothing of tranche 2, the rest in full."""

    live = True

    def __init__(self, left_out: Mapping[str, VenueError] | None = None) -> None:
        self.seen: list[tuple[str, int, Decimal]] = []
        self.left_out: Mapping[str, VenueError] = left_out or {}

    async def execute(self, run_id: str, index: int, route: Route) -> ExecutionResult:
        self.seen.append((run_id, index, route.qty))
        leg = route.legs[0]
        order = OrderRecord(
            leg.venue, f"c{index}", f"v{index}", OrderState.FILLED, leg.qty, leg.worst_price
        )
        if index == 1:
            half = replace(leg, qty=leg.qty / 2, notional=leg.notional / 2, total=leg.total / 2)
            return Executed(replace(route, qty=half.qty, legs=(half,)), (order,), decision=route)
        if index == 2:
            refused = replace(order, state=OrderState.REFUSED, error="insufficient balance")
            return NotExecuted(SkipReason.BALANCE, "free USD 10 < 20", (refused,))
        return Executed(route, (order,), decision=route)


async def test_paper_execution_returns_the_decision_itself() -> None:
    cost = cost_to_buy(book("kraken", [("100", "1")]), D("0.5"), D("0.004"))
    assert isinstance(cost, Cost)
    route = Route(D("0.5"), Mode.SINGLE, (cost,), {"kraken": cost.total})
    done = await PaperExecution().execute("r", 0, route)
    assert done == Executed(route)
    assert PaperExecution.live is False


async def test_a_run_without_an_execution_is_paper_and_records_no_orders() -> None:
    clock = SimClock(START)
    journal = MemoryJournal()
    await Executor(make("1", "6h", 6), SimulatedMarket(clock), journal, clock).run()
    fills = of(journal, TrancheFilled)
    assert len(fills) == 6
    assert all(not f.live and f.orders == () and f.decision is None for f in fills)
    assert all(f.carried == 0 for f in fills)


async def test_a_partial_fill_carries_the_rest_and_a_refusal_skips_with_its_reason() -> None:
    clock = SimClock(START)
    journal = MemoryJournal()
    execution = HalfFills()
    plan = make("0.4", "4h", 4)
    summary = await Executor(
        plan, SimulatedMarket(clock), journal, clock, run_id="r9", execution=execution
    ).run()

    assert [(i, q) for _, i, q in execution.seen] == [
        (0, D("0.1")),
        (1, D("0.1")),
        (2, D("0.15")),  # half of tranche 1 carried in
        (3, D("0.25")),  # tranche 2's skip carried in
    ]
    fills = of(journal, TrancheFilled)
    assert [(f.index, f.qty, f.carried, f.live) for f in fills] == [
        (0, D("0.1"), D(0), True),
        (1, D("0.05"), D("0.05"), True),
        (3, D("0.25"), D(0), True),
    ]
    assert fills[1].decision is not None and fills[1].decision.qty == D("0.1")
    (skip,) = of(journal, TrancheSkipped)
    assert (skip.index, skip.reason, skip.carried) == (2, SkipReason.BALANCE, D("0.15"))
    assert skip.orders[0].state is OrderState.REFUSED
    assert summary.qty == D("0.4")


def test_an_order_record_counts_btc_received_and_fees_in_either_currency() -> None:
    order = OrderRecord(
        "binance",
        "cid",
        "1",
        OrderState.FILLED,
        D("0.101"),
        D("101"),
        (
            Fill(D("100"), D("0.06"), D("0.00006"), "BTC"),
            Fill(D("101"), D("0.04"), D("0.404"), "USD"),
        ),
    )
    assert order.gross_btc == D("0.10")
    assert order.fee_btc == D("0.00006")
    assert order.received_btc == D("0.09994")
    assert order.notional == D("10.04")
    assert order.fee_value("USD") == D("0.006") + D("0.404")
    assert order.spent("USD") == D("10.444")


async def test_a_venue_the_execution_left_out_is_priced_but_never_routed_to() -> None:
    clock = SimClock(START)
    journal = MemoryJournal()
    plan = make("0.2", "2h", 2)
    first = MemoryJournal()
    await Executor(plan, SimulatedMarket(clock), first, clock).run()
    favourite = of(first, TrancheFilled)[0].route.venue
    refused = VenueError(favourite, ErrorKind.BAD_KEY, "key refused")
    execution = HalfFills(left_out={favourite: refused})
    clock = SimClock(START)
    await Executor(plan, SimulatedMarket(clock), journal, clock, execution=execution).run()
    fills = of(journal, TrancheFilled)
    assert fills and all(f.route.venue != favourite for f in fills)
    assert all(favourite in {q.venue for q in f.quotes} for f in fills)


async def test_with_every_venue_left_out_the_tranche_says_why() -> None:
    clock = SimClock(START)
    journal = MemoryJournal()
    market = SimulatedMarket(clock)
    plan = make("0.1", "1h", 1, venues=["kraken"])
    execution = HalfFills(left_out={"kraken": VenueError("kraken", ErrorKind.BAD_KEY, "key gone")})
    await Executor(plan, market, journal, clock, execution=execution).run()
    (skip,) = of(journal, TrancheSkipped)
    assert skip.reason is SkipReason.NO_VENUE and skip.detail == "kraken: key gone"
