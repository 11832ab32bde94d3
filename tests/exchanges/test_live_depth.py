"""A thin book is not "insufficient depth" until the venue's deepest book says so.

A 2 BTC quote on a venue whose usual answer (the depth we ask for) holds 1 BTC
must ask again at the venue's maximum depth before pricing; only a book that is
still thin at that depth reports insufficient depth, with the BTC it held.
"""

from __future__ import annotations

import asyncio
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp import web

from dca.pricing import Cost, InsufficientDepth, cost_to_buy
from exchanges.book import OrderBook
from exchanges.errors import VenueError
from exchanges.live import LiveMarket, LiveSettings
from tests.exchanges.servers import Reply, VenueServer, WsScript, threaded_server
from tests.exchanges.test_live import DEPTH, WS_PATH, bitstamp_book, depth_event, spec_at, wait_for
from tui.cli.main import main

FEE = Decimal("0.001")


def binance_levels(levels: int, size: str) -> Reply:
    """A Binance venue whose book is ``levels`` asks of ``size`` BTC, 1 USDT apart.

    It answers ``limit=N`` with the best N levels, as the real depth endpoint does.
    """

    def body(request: web.Request) -> str:
        limit = int(request.query["limit"])
        asks = [[f"{91000 + i}.00", size] for i in range(min(limit, levels))]
        return json.dumps({"lastUpdateId": 100, "bids": [["90999.00", "1.0"]], "asks": asks})

    return Reply(body)


def settings(depth: int) -> LiveSettings:
    return LiveSettings(timeout_s=2.0, depth=depth, backoff_base_s=0.05, backoff_max_s=0.2)


async def quote(
    srv: VenueServer, venue: str, min_btc: Decimal | None, depth: int = 100
) -> OrderBook | VenueError:
    market = LiveMarket({venue: spec_at(venue, srv)}, "USDT", settings=settings(depth))
    try:
        return (await market.fresh_books([venue], min_btc=min_btc))[venue]
    finally:
        await market.close()


def limits(srv: VenueServer) -> list[str]:
    return [query["limit"] for path, query, _ in srv.requests if path == DEPTH]


async def test_a_2_btc_quote_prices_from_the_deeper_book(srv: VenueServer) -> None:
    srv.rest(DEPTH, binance_levels(300, "0.01"))  # 1 BTC in the first 100 levels, 3 in all
    book = await quote(srv, "binance", Decimal(2))
    assert isinstance(book, OrderBook)
    assert limits(srv) == ["100", "5000"]
    assert book.ask_depth() == Decimal(3)
    cost = cost_to_buy(book, Decimal(2), FEE)
    assert isinstance(cost, Cost)
    assert cost.levels_used == 200
    # 200 levels of 0.01 BTC at 91000, 91001, ..., 91199.
    assert cost.notional == sum(Decimal(91000 + i) * Decimal("0.01") for i in range(200))
    assert cost.worst_price == Decimal("91199.00")


async def test_a_book_still_thin_at_the_deepest_reports_the_btc_it_held(srv: VenueServer) -> None:
    srv.rest(DEPTH, binance_levels(150, "0.01"))  # 1 BTC at limit 100, 1.5 BTC in all
    book = await quote(srv, "binance", Decimal(2))
    assert isinstance(book, OrderBook)
    assert limits(srv) == ["100", "5000"]
    result = cost_to_buy(book, Decimal(2), FEE)
    assert isinstance(result, InsufficientDepth)
    assert result.available == Decimal("1.50")


async def test_a_deep_enough_first_answer_is_not_fetched_again(srv: VenueServer) -> None:
    srv.rest(DEPTH, binance_levels(300, "0.01"))
    book = await quote(srv, "binance", Decimal("0.5"))
    assert isinstance(book, OrderBook) and book.ask_depth() == Decimal(1)
    assert limits(srv) == ["100"]
    await quote(srv, "binance", None)
    assert limits(srv) == ["100", "100"]


async def test_a_book_shorter_than_asked_is_the_whole_book(srv: VenueServer) -> None:
    srv.rest(DEPTH, binance_levels(60, "0.01"))  # the venue served less than the 100 asked
    book = await quote(srv, "binance", Decimal(2))
    assert isinstance(book, OrderBook) and len(book.asks) == 60
    assert limits(srv) == ["100"]


async def test_at_the_venues_maximum_there_is_nothing_deeper_to_ask(srv: VenueServer) -> None:
    srv.rest(DEPTH, binance_levels(6000, "0.0001"))
    book = await quote(srv, "binance", Decimal(2), depth=5000)
    assert isinstance(book, OrderBook) and book.ask_depth() == Decimal("0.5")
    assert limits(srv) == ["5000"]


async def test_a_whole_book_venue_is_not_asked_twice(srv: VenueServer) -> None:
    srv.rest("/api/v2/order_book/btcusdt/", Reply(bitstamp_book()))
    book = await quote(srv, "bitstamp", Decimal(100), depth=1)
    assert isinstance(book, OrderBook)
    assert book.ask_depth() == Decimal("3.8")
    assert srv.count("/api/v2/order_book/btcusdt/") == 1


async def test_a_failed_deeper_fetch_prices_the_thin_book(srv: VenueServer) -> None:
    srv.rest(DEPTH, [binance_levels(300, "0.01"), Reply("upstream down", status=503)])
    book = await quote(srv, "binance", Decimal(2))
    assert isinstance(book, OrderBook) and book.ask_depth() == Decimal(1)
    assert limits(srv) == ["100", "5000"]
    result = cost_to_buy(book, Decimal(2), FEE)
    assert isinstance(result, InsufficientDepth) and result.available == Decimal(1)


async def test_a_thin_streamed_book_asks_rest_for_the_deepest(srv: VenueServer) -> None:
    # The stream's snapshot is the usual 100 levels; a 2 BTC quote needs more.
    srv.rest(DEPTH, binance_levels(300, "0.01"))
    srv.ws(WS_PATH, WsScript([depth_event(101, 101, [["91000.00", "0.02"]])], hold=True))
    market = LiveMarket({"binance": spec_at("binance", srv)}, "USDT", settings=settings(100))
    await market.start()
    try:
        await wait_for(
            lambda: (
                market.status("binance").book is not None
                and market.status("binance").book.asks[0].size == Decimal("0.02")  # type: ignore[union-attr]
            )
        )
        small = (await market.fresh_books(["binance"], min_btc=Decimal("0.5")))["binance"]
        assert limits(srv) == ["100"]  # the streamed book was enough: no request
        deep = (await market.fresh_books(["binance"], min_btc=Decimal(2)))["binance"]
        streamed = market.status("binance").book
    finally:
        await market.close()
    assert small == streamed
    assert isinstance(small, OrderBook) and small.origin is not None
    assert small.origin.source == "stream"
    assert isinstance(deep, OrderBook) and deep.ask_depth() == Decimal(3)
    assert deep.origin is not None and deep.origin.source == "rest"
    assert limits(srv) == ["100", "5000"]
    assert streamed is not None and streamed.ask_depth() == Decimal("1.01")


async def test_quote_command_asks_deeper_before_saying_insufficient_depth(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with VenueServer() as deep, VenueServer() as thin:
        # The command asks 500 levels: 1 BTC on both; the deepest holds 3 and 1.5 BTC.
        deep.rest(DEPTH, binance_levels(1500, "0.002"))
        thin.rest(DEPTH, binance_levels(750, "0.002"))
        monkeypatch.setenv("BTC_DCA_BINANCE_REST_URL", deep.url)
        monkeypatch.setenv("BTC_DCA_BINANCEUS_REST_URL", thin.url)
        out = io.StringIO()
        args = ["quote", "--amount", "2", "--quote", "USDT", "--venues", "binance,binanceus"]
        code = await asyncio.to_thread(main, [*args, "--json"], out)
    assert code == 0, out.getvalue()
    result = json.loads(out.getvalue())
    venues = {v["venue"]: v for v in result["venues"]}
    assert venues["binance"]["status"] == "ok"
    assert venues["binance"]["levels_used"] == 1000
    assert result["best"]["venue"] == "binance"
    assert venues["binanceus"]["status"] == "insufficient_depth"
    assert Decimal(venues["binanceus"]["available_btc"]) == Decimal("1.5")
    assert limits(deep) == ["500", "5000"] and limits(thin) == ["500", "5000"]


def test_a_headless_tranche_fills_on_the_deeper_book(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with threaded_server() as srv:
        srv.rest(DEPTH, binance_levels(1500, "0.002"))  # 1 BTC in 500 levels, 3 BTC in all
        monkeypatch.setenv("BTC_DCA_BINANCE_REST_URL", srv.url)
        monkeypatch.setenv("BTC_DCA_BINANCE_WS_URL", f"ws://127.0.0.1:{srv.port}/nowhere")
        out = io.StringIO()
        args = ["run", "--headless", "--amount", "2", "--duration", "1s", "--tranches", "1"]
        code = main([*args, "--quote", "USDT", "--venues", "binance", "--json"], out)
    assert code == 0, out.getvalue()
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    (tranche,) = [e for e in events if e["event"] == "tranche"]
    assert tranche["venue"] == "binance" and Decimal(tranche["qty"]) == 2
    assert "5000" in limits(srv)
