"""A partial fill's remainder, against two Binance stand-ins (Binance and Binance.US):
it goes to the next best venue within the tranche (its books walked again, a new client
order id, journaled before it is sent), or is carried with the reason when none can
take it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from dca.events import SkipReason
from dca.execution import Executed, NotExecuted
from dca.live_execution import LiveExecution, LiveSettings
from dca.orders import MemoryOrderJournal, OrderIntent, OrderState, client_order_id
from dca.pricing import Cost, cost_to_buy
from dca.routing import Mode, Route
from exchanges.live import LiveMarket
from exchanges.private.binance import BinanceAccount, BinanceUsAccount
from exchanges.private.keys import ApiKeys
from exchanges.venues import DEFAULT_SPECS
from tests.dca.helpers import book
from tests.standins.binance import BinanceStandIn
from tests.standins.serve import serving

D = Decimal
RUN = "20260101-000000-abc123"


def _route(standin: BinanceStandIn, venue: str, qty: str) -> Route:
    asks = [(f"{p:f}", f"{s:f}") for p, s in standin.asks if s > 0]
    cost = cost_to_buy(book(venue, asks), D(qty), D("0.001"))
    assert isinstance(cost, Cost)
    return Route(D(qty), Mode.SINGLE, (cost,), {venue: cost.total})


class Two:
    """Binance (cheaper: the decision's venue) and Binance.US (dearer), both stand-ins."""

    def __init__(self, binance: BinanceStandIn, us: BinanceStandIn, urls: dict[str, str]):
        self.binance, self.us, self.urls = binance, us, urls
        self.journal = MemoryOrderJournal()
        self.intended_at: list[tuple[str, int]] = []
        self.alerts: list[tuple[str, str]] = []
        specs = {
            v: dataclasses.replace(DEFAULT_SPECS[v], rest_url=urls[v], ws_url="ws://127.0.0.1:9")
            for v in urls
        }
        self.market = LiveMarket(specs, "USDT", venues=list(specs))
        self.accounts = {
            "binance": BinanceAccount("binance", ApiKeys("binance", "k", "s"), urls["binance"]),
            "binanceus": BinanceUsAccount(
                "binanceus", ApiKeys("binanceus", "k", "s"), urls["binanceus"]
            ),
        }
        intend = self.journal.intend

        async def watching(intent: OrderIntent) -> None:
            # What each stand-in had when the intent was journaled: nothing sent before it.
            stand = self.binance if intent.venue == "binance" else self.us
            self.intended_at.append((intent.client_order_id, len(stand.orders)))
            await intend(intent)

        self.journal.intend = watching  # type: ignore[method-assign]

    def execution(self, *, books: bool = True, **settings: object) -> LiveExecution:
        async def no_wait(s: float) -> None:
            return None

        return LiveExecution(
            self.accounts,
            {"binance": "BTCUSDT", "binanceus": "BTCUSDT"},
            self.journal,
            LiveSettings("USDT", **settings),  # type: ignore[arg-type]
            alert=lambda title, body: self.alerts.append((title, body)),
            sleep=no_wait,
            books=self.market if books else None,
        )

    async def close(self) -> None:
        for account in self.accounts.values():
            await account.close()
        await self.market.close()


@pytest.fixture
async def two() -> AsyncIterator[Two]:
    binance = BinanceStandIn(key="k", secret="s")
    us = BinanceStandIn(key="k", secret="s")
    us.asks = [(D("60300.00"), D("2")), (D("60400.00"), D("5"))]
    async with serving(binance.app()) as a, serving(us.app()) as b:
        harness = Two(binance, us, {"binance": a, "binanceus": b})
        try:
            yield harness
        finally:
            await harness.close()


async def test_a_partial_fills_remainder_goes_to_the_next_best_venue_in_the_same_tranche(
    two: Two,
) -> None:
    two.binance.fill_at_most = D("0.04")  # someone took the rest of its ask first
    done = await two.execution().execute(RUN, 3, _route(two.binance, "binance", "0.1"))

    assert isinstance(done, Executed)
    first, rest = done.orders
    assert first.venue == "binance" and first.state is OrderState.PARTIAL
    assert first.client_order_id == client_order_id(RUN, 3, 0, 1)
    assert rest.venue == "binanceus" and rest.state is OrderState.FILLED
    assert rest.client_order_id == client_order_id(RUN, 3, 0, 2)  # the next attempt's id
    # The remainder: what the first order did not deliver (BTC received, the fee sized in).
    assert first.received_btc + rest.received_btc >= D("0.1")
    assert rest.qty < D("0.07")
    assert rest.limit_price == D("60300.00") * D("1.002")  # walked on Binance.US's own book
    assert done.route.qty == first.received_btc + rest.received_btc
    assert {leg.venue for leg in done.route.legs} == {"binance", "binanceus"}
    assert done.carried_why == ""
    # Each order journaled before its venue had it.
    assert two.intended_at == [(first.client_order_id, 0), (rest.client_order_id, 0)]
    assert len(two.binance.orders) == 1 and len(two.us.orders) == 1


async def test_a_remainder_no_venue_can_take_is_carried_with_the_reason(two: Two) -> None:
    two.binance.fill_at_most = D("0.04")
    two.us.fill_at_most = D("0.01")  # the next venue fills in part too: nothing left
    done = await two.execution().execute(RUN, 0, _route(two.binance, "binance", "0.1"))

    assert isinstance(done, Executed)
    assert [o.venue for o in done.orders] == ["binance", "binanceus"]
    assert all(o.state is OrderState.PARTIAL for o in done.orders)
    assert done.route.qty < D("0.1")
    assert "BTC not filled at the limit; no other venue to take it" in done.carried_why


async def test_a_remainder_above_the_maximum_price_is_carried_not_bought(two: Two) -> None:
    two.binance.fill_at_most = D("0.04")
    done = await two.execution(max_price=D("60100")).execute(
        RUN, 0, _route(two.binance, "binance", "0.1")
    )

    assert isinstance(done, Executed) and len(done.orders) == 1
    assert "above the maximum price 60,100.00" in done.carried_why
    assert two.us.orders == []


async def test_a_remainder_under_the_next_venues_minimum_is_carried_with_it(two: Two) -> None:
    two.binance.fill_at_most = D("0.10005")  # 0.00005 BTC left: under 5 USDT notional
    done = await two.execution().execute(RUN, 0, _route(two.binance, "binance", "0.1"))

    assert isinstance(done, Executed)
    assert "under its minimum" in done.carried_why and two.us.orders == []


async def test_without_books_the_remainder_is_carried_into_the_next_tranche(two: Two) -> None:
    two.binance.fill_at_most = D("0.04")
    done = await two.execution(books=False).execute(RUN, 0, _route(two.binance, "binance", "0.1"))

    assert isinstance(done, Executed) and two.us.orders == []
    assert done.carried_why.endswith("no other venue to take it")


async def test_nothing_filled_anywhere_is_not_filled_with_every_venue_tried(two: Two) -> None:
    two.binance.fill_at_most = D("0")
    two.us.fill_at_most = D("0")
    done = await two.execution().execute(RUN, 0, _route(two.binance, "binance", "0.1"))

    assert isinstance(done, NotExecuted) and done.reason is SkipReason.NOT_FILLED
    assert [o.venue for o in done.orders] == ["binance", "binanceus"]
    assert "no other venue to take it" in done.detail
