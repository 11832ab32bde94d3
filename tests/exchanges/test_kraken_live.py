"""Kraken through the live driver: REST quotes, symbols per currency, socket resync on checksum."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchanges.convert import Pair, resolve
from exchanges.errors import ErrorKind, VenueError
from exchanges.kraken import KrakenAdapter
from exchanges.live import LiveMarket
from exchanges.market import Health
from tests.exchanges.servers import Reply, VenueServer, WsScript
from tests.exchanges.test_checksums import KRAKEN_ASKS, KRAKEN_BIDS
from tests.exchanges.test_kraken import ACK, HEARTBEAT, REST_BODY, SNAPSHOT, STATUS, book_msg
from tests.exchanges.test_live import FAST, one, spec_at, wait_for

DEPTH = "/0/public/Depth"


@pytest.mark.parametrize(("quote", "symbol"), [("USD", "XBTUSD"), ("USDT", "XBTUSDT"),
                                               ("USDC", "XBTUSDC"), ("EUR", "XBTEUR")])  # fmt: skip
async def test_each_quote_currency_asks_for_krakens_own_pair_name(
    srv: VenueServer, quote: str, symbol: str
) -> None:
    spec = spec_at("kraken", srv)
    pair = resolve(spec, quote)
    assert isinstance(pair, Pair) and pair.symbol == symbol and not pair.converted
    key = {"XBTUSD": "XXBTZUSD", "XBTEUR": "XXBTZEUR"}.get(symbol, symbol)
    srv.rest(DEPTH, Reply(REST_BODY.replace("XXBTZUSD", key)))
    market = LiveMarket({"kraken": spec}, quote, settings=FAST)
    book = await one(market, "kraken")
    assert not isinstance(book, VenueError)
    assert book.quote == quote and book.asks[0].price == Decimal("30384.10000")
    _path, query, _headers = srv.requests[0]
    assert query == {"pair": symbol, "count": "500"}


@pytest.mark.parametrize(
    ("reply", "kind", "words"),
    [
        (Reply('{"error":["EQuery:Unknown asset pair"]}'), ErrorKind.UNSUPPORTED_PAIR,
         "Kraken lists no BTC/USD pair"),
        (Reply('{"error":["EGeneral:Too many requests"]}'), ErrorKind.RATE_LIMITED,
         "Too many requests"),
        (Reply(REST_BODY, cut_after=30), ErrorKind.MALFORMED, "truncated"),
        (Reply("<html>Cloudflare</html>", status=520), ErrorKind.HTTP, "HTTP 520"),
    ],
)  # fmt: skip
async def test_krakens_http_200_errors_reach_the_caller_typed(
    srv: VenueServer, reply: Reply, kind: ErrorKind, words: str
) -> None:
    srv.rest(DEPTH, reply)
    market = LiveMarket({"kraken": spec_at("kraken", srv)}, "USD", settings=FAST)
    result = await one(market, "kraken")
    assert isinstance(result, VenueError) and result.kind is kind
    assert words in str(result) and result.venue == "kraken"
    assert market.status("kraken").health is Health.DOWN


async def test_the_stream_resyncs_after_a_checksum_mismatch(srv: VenueServer) -> None:
    better = [("45285.0", "0.50000000"), *KRAKEN_ASKS[:9]]

    def script(n: int) -> list[str]:
        if n == 0:
            wrong = book_msg("update", [], [("45285.2", "0.00200000")],
                             book=(KRAKEN_BIDS, KRAKEN_ASKS))  # fmt: skip
            return [STATUS, ACK, SNAPSHOT, HEARTBEAT, wrong]
        return [STATUS, ACK, book_msg("snapshot", KRAKEN_BIDS, better)]

    srv.ws("/", WsScript(script, wait_for=1, interval=0.01, hold=True))
    spec = spec_at("kraken", srv)
    adapters = {"kraken": KrakenAdapter(ws_depth=10)}
    market = LiveMarket({"kraken": spec}, "USD", adapters=adapters, settings=FAST)
    await market.start()
    try:
        await wait_for(lambda: srv.connections.get("/", 0) >= 2)
        await wait_for(
            lambda: (
                market.status("kraken").book is not None
                and market.status("kraken").book.best_ask == Decimal("45285.0")  # type: ignore[union-attr]
            )
        )
        status = market.status("kraken")
    finally:
        await market.close()
    assert status.health is Health.LIVE
    assert status.note == "resynced after checksum mismatch"
    assert '"symbol": ["BTC/USD"], "depth": 10' in srv.received[0]
