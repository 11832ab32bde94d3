"""Coinbase through the live driver: REST quotes per currency, socket resync on a sequence gap."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchanges.convert import Pair, resolve
from exchanges.errors import ErrorKind, VenueError
from exchanges.live import LiveMarket
from exchanges.market import Health
from exchanges.venues import DEFAULT_SPECS
from tests.exchanges.servers import Reply, VenueServer, WsScript
from tests.exchanges.test_coinbase import REST_BODY, SNAP, heartbeat, l2, subscriptions
from tests.exchanges.test_live import FAST, one, spec_at, stream_until


@pytest.mark.parametrize(("quote", "symbol"), [("USD", "BTC-USD"), ("USDT", "BTC-USDT"),
                                               ("EUR", "BTC-EUR")])  # fmt: skip
async def test_each_quote_currency_reads_its_product_book(
    srv: VenueServer, quote: str, symbol: str
) -> None:
    srv.rest(f"/products/{symbol}/book", Reply(REST_BODY))
    market = LiveMarket({"coinbase": spec_at("coinbase", srv)}, quote, settings=FAST)
    book = await one(market, "coinbase")
    assert not isinstance(book, VenueError)
    assert book.quote == quote and book.best_ask == Decimal("77588.85")
    _path, query, headers = srv.requests[0]
    assert query == {"level": "2"} and headers["User-Agent"].startswith("btc-dca/")


def test_a_usdc_plan_uses_a_pegged_book_and_eur_is_listed() -> None:
    pair = resolve(DEFAULT_SPECS["coinbase"], "USDC")
    assert isinstance(pair, Pair) and pair.converted and pair.symbol == "BTC-USD"


async def test_an_unknown_product_is_left_out_with_the_reason(srv: VenueServer) -> None:
    # No route for the product: the server answers 404 {"message":"NotFound"} like Coinbase.
    market = LiveMarket({"coinbase": spec_at("coinbase", srv)}, "USD", settings=FAST)
    result = await one(market, "coinbase")
    assert isinstance(result, VenueError) and result.kind is ErrorKind.UNSUPPORTED_PAIR
    assert str(result) == "Coinbase lists no BTC-USD product (NotFound)"


async def test_the_stream_resyncs_after_a_sequence_gap(srv: VenueServer) -> None:
    def script(n: int) -> list[str]:
        if n == 0:
            return [subscriptions(0), l2(1, "snapshot", SNAP), heartbeat(2), heartbeat(4)]
        return [subscriptions(0), l2(1, "snapshot", [*SNAP, ("offer", "21921.735", "3")])]

    srv.ws("/", WsScript(script, wait_for=2, interval=0.01, hold=True))
    market = LiveMarket({"coinbase": spec_at("coinbase", srv)}, "USD", settings=FAST)
    status = await stream_until(market, "coinbase", Decimal("21921.735"))
    assert status.health is Health.LIVE
    assert status.note == "resynced after sequence gap"
    assert srv.received[:2] == [
        '{"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "level2"}',
        '{"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "heartbeats"}',
    ]
