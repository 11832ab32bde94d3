"""OKX through the live driver: REST quotes, USD priced on USDT, socket resync on a seqId gap."""

from __future__ import annotations

import time
from decimal import Decimal
from itertools import pairwise

import pytest
from aiohttp import WSMsgType, web

from exchanges.clock import RealClock
from exchanges.convert import FixedRates, Pair, resolve
from exchanges.errors import ErrorKind, VenueError
from exchanges.live import LiveMarket
from exchanges.market import Health
from exchanges.okx import OkxAdapter
from exchanges.venues import DEFAULT_SPECS
from tests.exchanges.servers import Reply, VenueServer, WsScript
from tests.exchanges.test_live import FAST, one, spec_at, stream_until, wait_for
from tests.exchanges.test_okx import ACK, ASKS0, BIDS0, REST_BODY, books

BOOKS = "/api/v5/market/books"


def test_symbols_per_quote_currency_and_the_pairs_okx_lacks() -> None:
    spec = DEFAULT_SPECS["okx"]
    for quote, symbol in (("USDT", "BTC-USDT"), ("USDC", "BTC-USDC")):
        pair = resolve(spec, quote)
        assert isinstance(pair, Pair) and pair.symbol == symbol and not pair.converted
    usd = resolve(spec, "USD")
    assert isinstance(usd, Pair) and usd.symbol == "BTC-USDT" and usd.converted
    eur = resolve(spec, "EUR")
    assert isinstance(eur, VenueError) and eur.kind is ErrorKind.UNSUPPORTED_PAIR
    assert str(eur) == "OKX does not list BTC/EUR (it lists BTC/USDT, BTC/USDC)"


async def test_a_usd_plan_is_priced_on_the_usdt_book_at_the_live_rate(srv: VenueServer) -> None:
    srv.rest(BOOKS, Reply(REST_BODY))
    rates = FixedRates(RealClock(), {("USDT", "USD"): Decimal("1.0005")})
    market = LiveMarket({"okx": spec_at("okx", srv)}, "USD", settings=FAST, rates=rates)
    book = await one(market, "okx")
    assert not isinstance(book, VenueError)
    assert book.quote == "USD" and book.best_ask == Decimal("41006.8") * Decimal("1.0005")
    _path, query, _headers = srv.requests[0]
    assert query == {"instId": "BTC-USDT", "sz": "400"}


@pytest.mark.parametrize(
    ("reply", "kind", "words"),
    [
        (Reply('{"code":"51001","msg":"Instrument ID does not exist","data":[]}'),
         ErrorKind.UNSUPPORTED_PAIR, "OKX lists no BTC-USDT instrument"),
        (Reply('{"msg":"Too Many Requests","code":"50011"}', status=429),
         ErrorKind.RATE_LIMITED, "Too Many Requests"),
        (Reply(REST_BODY, cut_after=50), ErrorKind.MALFORMED, "truncated"),
    ],
)  # fmt: skip
async def test_okx_error_codes_reach_the_caller_typed(
    srv: VenueServer, reply: Reply, kind: ErrorKind, words: str
) -> None:
    srv.rest(BOOKS, reply)
    market = LiveMarket({"okx": spec_at("okx", srv)}, "USDT", settings=FAST)
    result = await one(market, "okx")
    assert isinstance(result, VenueError) and result.kind is kind
    assert words in str(result) and result.venue == "okx"


async def test_the_stream_resyncs_after_a_sequence_gap(srv: VenueServer) -> None:
    better = [("30000.3", "0.7"), *ASKS0]

    def script(n: int) -> list[str]:
        if n == 0:
            return [
                ACK,
                books("snapshot", BIDS0, ASKS0, seq=10),
                books("update", [], [], book=(BIDS0, ASKS0), seq=12, prev=11),  # 11 was lost
            ]
        return [ACK, books("snapshot", BIDS0, better, seq=50)]

    srv.ws("/", WsScript(script, wait_for=1, interval=0.01, hold=True))
    market = LiveMarket({"okx": spec_at("okx", srv)}, "USDT", settings=FAST)
    status = await stream_until(market, "okx", Decimal("30000.3"))
    assert status.health is Health.LIVE
    assert status.note == "resynced after sequence gap"
    assert srv.connections["/"] >= 2


async def test_a_quiet_okx_socket_is_kept_open_with_text_pings(srv: VenueServer) -> None:
    pings: list[float] = []

    async def okx(ws: web.WebSocketResponse, request: web.Request) -> None:
        """Like OKX: the snapshot, then silence; "ping" is answered "pong", anything else not."""
        await ws.receive()  # the subscription
        await ws.send_str(ACK)
        await ws.send_str(books("snapshot", BIDS0, ASKS0, seq=10))
        async for msg in ws:
            if msg.type is WSMsgType.TEXT and msg.data == "ping":
                pings.append(time.monotonic())
                await ws.send_str("pong")

    srv.ws("/", okx)
    adapters = {"okx": OkxAdapter(keepalive_s=0.15)}
    market = LiveMarket({"okx": spec_at("okx", srv)}, "USDT", adapters=adapters, settings=FAST)
    await market.start()
    try:
        await wait_for(lambda: len(pings) >= 3)
        status = market.status("okx")
    finally:
        await market.close()
    # One ping per quiet interval (a "pong" counts as hearing from OKX), one connection.
    gaps = [b - a for a, b in pairwise(pings)]
    assert all(0.1 < gap < 0.5 for gap in gaps), gaps
    assert srv.connections["/"] == 1
    assert status.health is Health.LIVE and status.note == ""


async def test_only_okx_and_bitstamp_have_a_keepalive_text() -> None:
    from exchanges.registry import adapters_for

    for venue, adapter in adapters_for(["binance", "kraken", "coinbase"]).items():
        assert adapter.new_sync("BTCUSD", "USD").keepalive is None, venue
    bitstamp = adapters_for(["bitstamp"])["bitstamp"].new_sync("btcusd", "USD")
    assert bitstamp.keepalive == (20.0, '{"event":"bts:heartbeat"}')
    okx = OkxAdapter().new_sync("BTC-USDT", "USDT")
    assert okx.keepalive == (25.0, "ping")
    assert okx.apply_message("pong", 0.0) is False  # OKX's answer changes nothing
