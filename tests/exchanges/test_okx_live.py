"""OKX through the live driver: REST quotes, USD priced on USDT, socket resync on a seqId gap."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from exchanges.clock import RealClock
from exchanges.convert import FixedRates, Pair, resolve
from exchanges.errors import ErrorKind, VenueError
from exchanges.live import LiveMarket
from exchanges.market import Health
from exchanges.venues import DEFAULT_SPECS
from tests.exchanges.servers import Reply, VenueServer, WsScript
from tests.exchanges.test_live import FAST, spec_at, wait_for
from tests.exchanges.test_okx import ACK, ASKS0, BIDS0, REST_BODY, books

BOOKS = "/api/v5/market/books"


@pytest.fixture
async def srv() -> AsyncIterator[VenueServer]:
    async with VenueServer() as server:
        yield server


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
    try:
        book = (await market.fresh_books(["okx"]))["okx"]
    finally:
        await market.close()
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
    try:
        result = (await market.fresh_books(["okx"]))["okx"]
    finally:
        await market.close()
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
    await market.start()
    try:
        await wait_for(
            lambda: (
                market.status("okx").book is not None
                and market.status("okx").book.best_ask == Decimal("30000.3")  # type: ignore[union-attr]
            )
        )
        status = market.status("okx")
    finally:
        await market.close()
    assert status.health is Health.LIVE
    assert status.note == "resynced after sequence gap"
    assert srv.connections["/"] >= 2
