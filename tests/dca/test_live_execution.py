"""Real orders through the execution seam, against the Binance stand-in: sized, capped,
journaled before they are sent, and never sent twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from dca.events import SkipReason
from dca.execution import Executed, NotExecuted
from dca.live_execution import LiveExecution, LiveSettings, size_leg
from dca.orders import MemoryOrderJournal, OrderIntent, OrderRecord, OrderState, client_order_id
from dca.pricing import Cost, cost_to_buy
from dca.routing import Mode, Route
from exchanges.errors import ErrorKind
from exchanges.private.binance import BinanceAccount
from exchanges.private.keys import ApiKeys
from exchanges.private.types import MarketRules
from tests.dca.helpers import book
from tests.standins.binance import BinanceStandIn
from tests.standins.serve import serving

D = Decimal
KEYS = ApiKeys("binance", "standin-key", "standin-secret")
RUN = "20260101-000000-abc123"


def route_for(standin: BinanceStandIn, qty: str) -> Route:
    """The paper decision on the stand-in's own book (what the executor would route)."""
    asks = [(f"{p:f}", f"{s:f}") for p, s in standin.asks if s > 0]
    cost = cost_to_buy(book("binance", asks), D(qty), D("0.001"))
    assert isinstance(cost, Cost)
    return Route(D(qty), Mode.SINGLE, (cost,), {"binance": cost.total})


class Harness:
    def __init__(self, standin: BinanceStandIn, url: str) -> None:
        self.standin = standin
        self.url = url
        self.journal = MemoryOrderJournal()
        self.alerts: list[tuple[str, str]] = []
        self.accounts: list[BinanceAccount] = []

    def execution(
        self, *, keys: ApiKeys = KEYS, timeout_s: float = 5.0, **settings: object
    ) -> LiveExecution:
        account = BinanceAccount("binance", keys, self.url, timeout_s=timeout_s)
        self.accounts.append(account)

        async def no_wait(s: float) -> None:
            return None

        return LiveExecution(
            {"binance": account},
            {"binance": "BTCUSDT"},
            self.journal,
            LiveSettings("USDT", **settings),  # type: ignore[arg-type]
            alert=lambda title, body: self.alerts.append((title, body)),
            sleep=no_wait,
        )

    async def close(self) -> None:
        for account in self.accounts:
            await account.close()


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    standin = BinanceStandIn()
    async with serving(standin.app()) as url:
        harness = Harness(standin, url)
        try:
            yield harness
        finally:
            await harness.close()


def test_client_order_ids_are_short_alphanumeric_and_unique_per_attempt() -> None:
    ids = {client_order_id(RUN, i, leg, a) for i in range(3) for leg in range(2) for a in (1, 2)}
    assert len(ids) == 12
    assert all(cid.isalnum() and 1 <= len(cid) <= 32 for cid in ids)
    assert client_order_id(RUN, 12, 0, 1) == "20260101000000abc123t12l0a1"
    # A run id of any length still gives a 1-32 character id.
    assert len(client_order_id("x" * 80, 99999, 9, 99)) <= 32


def test_a_leg_is_capped_at_the_walks_highest_level_plus_slippage_and_sized_for_the_fee() -> None:
    cost = cost_to_buy(book("binance", [("60000", "0.5"), ("60010", "1")]), D("0.6"), D("0.001"))
    assert isinstance(cost, Cost)
    rules = MarketRules("BTCUSDT", D("0.00001"), D("0.00001"), D("0.01"), D(5), "BTC")
    order = size_leg(cost, rules, "USDT", D("0.002"))
    assert order.limit == D("60130.02")  # 60010 x 1.002, down to the tick
    assert order.qty == D("0.60061")  # 0.6 / (1 - 0.001), up to the lot: 0.6 BTC received
    assert order.worst_case == D("0.60061") * D("60130.02")


async def test_a_tranche_buys_the_btc_it_asked_for_and_records_what_binance_charged(
    h: Harness,
) -> None:
    seen_at_intent: list[int] = []
    journal = h.journal
    intend = journal.intend

    async def watching(intent: OrderIntent) -> None:
        seen_at_intent.append(len(h.standin.orders))
        await intend(intent)

    journal.intend = watching  # type: ignore[method-assign]
    done = await h.execution().execute(RUN, 0, route_for(h.standin, "0.6"))

    assert isinstance(done, Executed)
    assert seen_at_intent == [0]  # journaled before the venue had anything
    (order,) = done.orders
    assert (
        order.state is OrderState.FILLED
        and order.client_order_id == f"{RUN.replace('-', '')}t0l0a1"
    )
    assert order.venue_order_id == str(h.standin.orders[0]["orderId"])
    assert [(f.price, f.qty, f.fee, f.fee_currency) for f in order.fills] == [
        (D("60000.00"), D("0.5"), D("0.0005"), "BTC"),
        (D("60010.00"), D("0.10061"), D("0.00010061"), "BTC"),
    ]
    assert done.route.qty == order.received_btc >= D("0.6")
    assert done.route.total == D("0.5") * 60000 + D("0.10061") * 60010  # what left USDT
    assert done.decision is not None and done.decision.qty == D("0.6")
    assert journal.settled[order.client_order_id] == order


async def test_a_held_answer_is_resolved_by_asking_the_venue_and_never_resent(h: Harness) -> None:
    h.standin.hold_all = True
    done = await h.execution(timeout_s=0.5).execute(RUN, 0, route_for(h.standin, "0.1"))

    assert isinstance(done, Executed)
    assert len(h.standin.orders) == 1  # exactly one order, though its answer never came
    (order,) = done.orders
    assert order.state is OrderState.FILLED and order.received_btc > 0


async def test_a_resumed_run_asks_about_the_order_a_crash_left_open_and_sends_nothing(
    h: Harness,
) -> None:
    # The first process journaled the intent, the venue filled it, and the process died.
    h.standin.hold_all = True
    first = h.execution(timeout_s=0.3)
    first.ask_tries = 0  # it died before it could ask
    lost = await first.execute(RUN, 3, route_for(h.standin, "0.1"))
    assert isinstance(lost, NotExecuted) and lost.reason is SkipReason.UNCONFIRMED
    assert not lost.carry
    h.standin.hold_all = False
    assert len(h.standin.orders) == 1

    # The restarted run, on the same journal, settles tranche 3 from the venue.
    done = await h.execution().execute(RUN, 3, route_for(h.standin, "0.1"))
    assert isinstance(done, Executed)
    assert len(h.standin.orders) == 1
    assert done.orders[0].client_order_id == lost.orders[0].client_order_id


async def test_binance_takes_a_closed_orders_id_again_which_is_why_we_ask_first(
    h: Harness,
) -> None:
    account = BinanceAccount("binance", KEYS, h.url)
    h.accounts.append(account)
    rules = await account.rules("USDT", "BTCUSDT")
    await account.buy_ioc(rules, D("0.01"), D("61000"), "sameid")
    await account.buy_ioc(rules, D("0.01"), D("61000"), "sameid")
    assert len(h.standin.orders_with("sameid")) == 2  # a blind resend buys twice


async def test_an_order_the_venue_never_got_is_sent_again_under_the_next_attempt(
    h: Harness,
) -> None:
    cid = client_order_id(RUN, 5, 0, 1)
    await h.journal.intend(
        OrderIntent(RUN, 5, 0, 1, "binance", cid, "BTCUSDT", D("0.1001"), D("60120"))
    )
    done = await h.execution().execute(RUN, 5, route_for(h.standin, "0.1"))
    assert isinstance(done, Executed)
    assert [o["clientOrderId"] for o in h.standin.orders] == [client_order_id(RUN, 5, 0, 2)]
    assert h.journal.settled[cid].state is OrderState.UNFILLED


async def test_a_balance_short_of_the_worst_case_skips_with_an_alert_and_sends_nothing(
    h: Harness,
) -> None:
    h.standin.balances["USDT"] = D("1000")
    done = await h.execution().execute(RUN, 0, route_for(h.standin, "0.1"))
    assert isinstance(done, NotExecuted) and done.reason is SkipReason.BALANCE
    assert "free 1,000.00 USDT does not cover the worst case" in done.detail
    assert h.standin.orders == []
    # Its intent was journaled while the balance was asked, then settled as never sent.
    [intent] = h.journal.intents
    held = h.journal.settled[intent.client_order_id]
    assert held.state is OrderState.NOT_SENT and held.fills == ()
    assert held.error is not None and held.error.startswith("not sent: ")
    assert h.alerts and "balance" in h.alerts[0][0]


async def test_a_resumed_tranche_held_back_for_balance_is_sent_under_the_next_attempt(
    h: Harness,
) -> None:
    """An order journaled but never sent (its balance fell short) is not asked about after
    a restart; the tranche goes out afresh under a new client order id."""
    h.standin.balances["USDT"] = D("1000")
    await h.execution().execute(RUN, 0, route_for(h.standin, "0.1"))
    h.standin.balances["USDT"] = D("100000")
    done = await h.execution().execute(RUN, 0, route_for(h.standin, "0.1"))
    assert isinstance(done, Executed)
    assert [o["clientOrderId"] for o in h.standin.orders] == [client_order_id(RUN, 0, 0, 2)]
    assert ("GET", "/api/v3/order") not in [(m, p) for m, p, _ in h.standin.arrivals]


async def test_max_spend_caps_the_run(h: Harness) -> None:
    execution = h.execution(max_spend=D("7000"))
    first = await execution.execute(RUN, 0, route_for(h.standin, "0.1"))
    second = await execution.execute(RUN, 1, route_for(h.standin, "0.1"))
    assert isinstance(first, Executed)
    assert isinstance(second, NotExecuted) and second.reason is SkipReason.MAX_SPEND
    assert len(h.standin.orders) == 1


async def test_an_order_under_the_minimum_notional_is_carried_with_the_reason(h: Harness) -> None:
    done = await h.execution().execute(RUN, 0, route_for(h.standin, "0.00005"))
    assert isinstance(done, NotExecuted) and done.reason is SkipReason.BELOW_MINIMUM
    assert done.carry and "under its minimum" in done.detail
    assert h.standin.orders == []


async def test_a_refused_key_leaves_the_venue_out_with_an_alert(h: Harness) -> None:
    execution = h.execution(keys=ApiKeys("binance", "revoked", "standin-secret"))
    done = await execution.execute(RUN, 0, route_for(h.standin, "0.1"))
    assert isinstance(done, NotExecuted)
    assert execution.left_out["binance"].kind is ErrorKind.BAD_KEY
    assert h.alerts and h.alerts[0][0] == "Binance left out of the live run"


async def test_nothing_at_or_under_the_limit_is_not_filled_and_carried(h: Harness) -> None:
    route = route_for(h.standin, "0.1")
    h.standin.asks[0] = (D("70000"), D("5"))  # the book moved up past the cap
    h.standin.asks[1:] = []
    done = await h.execution().execute(RUN, 0, route)
    assert isinstance(done, NotExecuted) and done.reason is SkipReason.NOT_FILLED and done.carry
    (order,) = done.orders
    assert order.state is OrderState.UNFILLED
    assert isinstance(h.journal.settled[order.client_order_id], OrderRecord)
