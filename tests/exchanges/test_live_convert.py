"""Conversion rates for pegged quote currencies, read live from Kraken and Coinbase formats."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from exchanges.clock import SimClock
from exchanges.convert import (
    FixedRates,
    Rate,
    Ticker,
    VenueRates,
    coinbase_ticker,
    kraken_ticker,
    rate_from,
    resolve,
)
from exchanges.errors import ErrorKind, VenueError
from exchanges.http import new_session
from exchanges.levels import PricedBook
from exchanges.venues import DEFAULT_SPECS, VenueSpec
from tests.exchanges.servers import Reply, VenueServer

KRAKEN = json.dumps(
    {
        "error": [],
        "result": {"USDTZUSD": {"a": ["1.00030", "5", "5.0"], "b": ["1.00010", "1", "1.0"]}},
    }
)


def test_pairs_per_quote_currency() -> None:
    assert resolve(DEFAULT_SPECS["binance"], "USD").symbol == "BTCUSDT"  # type: ignore[union-attr]
    assert resolve(DEFAULT_SPECS["binance"], "EUR").symbol == "BTCEUR"  # type: ignore[union-attr]
    coinbase_usdc = resolve(DEFAULT_SPECS["coinbase"], "USDC")
    assert not isinstance(coinbase_usdc, VenueError)
    assert (coinbase_usdc.symbol, coinbase_usdc.listed, coinbase_usdc.converted) == (
        "BTC-USD",
        "USD",
        True,
    )
    okx_eur = resolve(DEFAULT_SPECS["okx"], "EUR")
    assert isinstance(okx_eur, VenueError) and okx_eur.kind is ErrorKind.UNSUPPORTED_PAIR


def test_rate_direction_buys_the_listed_currency_at_the_ask() -> None:
    ticker = Ticker("USDT", "USD", Decimal("1.0001"), Decimal("1.0003"), "kraken USDTZUSD")
    assert rate_from(ticker, "USDT", "USD", 0).value == Decimal("1.0003")
    inverse = rate_from(ticker, "USD", "USDT", 0)
    assert inverse.value == 1 / Decimal("1.0001")
    assert Rate("USDT", "USD", Decimal("1.00030"), "kraken USDTZUSD", 0).note() == (
        "USDT→USD 1.0003 (kraken USDTZUSD)"
    )


async def rates_at(srv: VenueServer, venues: tuple[str, ...]) -> tuple[VenueRates, object]:
    specs: dict[str, VenueSpec] = {
        v: DEFAULT_SPECS[v].with_overrides(rest_url=srv.url) for v in venues
    }
    session = new_session()

    async def get() -> object:
        return session

    return VenueRates(get, specs, SimClock(), timeout_s=1.0, max_age_s=30), session  # type: ignore[arg-type]


async def test_live_rate_from_kraken_is_cached() -> None:
    async with VenueServer() as srv:
        srv.rest("/0/public/Ticker", Reply(KRAKEN))
        rates, session = await rates_at(srv, ("kraken",))
        try:
            first = await rates.rate("USDT", "USD")
            second = await rates.rate("USDT", "USD")
        finally:
            await session.close()  # type: ignore[attr-defined]
    assert isinstance(first, Rate) and first.value == Decimal("1.00030")
    assert second is first
    assert srv.count("/0/public/Ticker") == 1
    assert srv.requests[0][1] == {"pair": "USDTZUSD"}


async def test_coinbase_serves_when_kraken_fails_and_no_source_means_no_rate() -> None:
    async with VenueServer() as srv:
        srv.rest("/0/public/Ticker", Reply('{"error":["EGeneral:Too many requests"]}'))
        srv.rest("/products/USDT-USD/ticker", Reply('{"bid":"0.9999","ask":"1.0002","price":"1"}'))
        rates, session = await rates_at(srv, ("kraken", "coinbase"))
        try:
            rate = await rates.rate("USDT", "USD")
            none = await rates.rate("EUR", "USD")
        finally:
            await session.close()  # type: ignore[attr-defined]
    assert isinstance(rate, Rate) and rate.value == Decimal("1.0002") and "coinbase" in rate.source
    assert isinstance(none, VenueError) and none.kind is ErrorKind.NO_RATE


async def test_every_source_failing_gives_no_rate_with_each_reason() -> None:
    async with VenueServer() as srv:
        srv.rest("/0/public/Ticker", Reply("", status=503))
        srv.rest("/products/USDT-USD/ticker", Reply('{"message":"NotFound"}', status=404))
        rates, session = await rates_at(srv, ("kraken", "coinbase"))
        try:
            result = await rates.rate("USDT", "USD")
        finally:
            await session.close()  # type: ignore[attr-defined]
    assert isinstance(result, VenueError) and result.kind is ErrorKind.NO_RATE
    assert "kraken: HTTP 503" in str(result) and "coinbase: HTTP 404: NotFound" in str(result)


@pytest.mark.parametrize(
    "body",
    [b"[]", b'{"error":[],"result":{}}', b'{"error":[],"result":{"X":{"a":[],"b":[]}}}',
     b'{"error":[],"result":{"X":{"a":["-1"],"b":["1"]}}}', b'{"error":[],"result":{"X":{"a":[true],"b":["1"]}}}'],
)  # fmt: skip
def test_bad_kraken_tickers_are_malformed(body: bytes) -> None:
    with pytest.raises(VenueError) as err:
        kraken_ticker(body, 200, {}, "USDTZUSD")
    assert err.value.kind is ErrorKind.MALFORMED


def test_bad_coinbase_tickers() -> None:
    with pytest.raises(VenueError) as err:
        coinbase_ticker(b'{"price":"1"}', 200, {}, "USDT-USD")
    assert err.value.kind is ErrorKind.MALFORMED
    with pytest.raises(VenueError) as err:
        coinbase_ticker(b'{"bid":"x","ask":"1"}', 200, {}, "USDT-USD")
    assert err.value.kind is ErrorKind.MALFORMED
    with pytest.raises(VenueError) as err:
        coinbase_ticker(b'{"bid":"1","ask":"1"}', 200, {}, "BTC-XYZ")
    assert err.value.kind is ErrorKind.UNSUPPORTED_PAIR


async def test_fixed_rates_invert() -> None:
    rates = FixedRates(SimClock(), {("USDT", "USD"): Decimal("1.25")})
    inverse = await rates.rate("USD", "USDT")
    assert isinstance(inverse, Rate) and inverse.value == Decimal("0.8")


def test_priced_book_truncates_and_keeps_levels_in_order() -> None:
    book = PricedBook("binance", "USDT", depth=2)
    book.apply([("10", "1"), ("9", "1"), ("8", "1")], [("11", "1"), ("12", "1"), ("13", "1")])
    snap = book.snapshot()
    assert [lv.price for lv in snap.bids] == [Decimal(10), Decimal(9)]
    assert [lv.price for lv in snap.asks] == [Decimal(11), Decimal(12)]
    book.set_ask("11", "0")
    book.set_bid("9", "2.5")
    snap = book.snapshot(1)
    assert snap.best_ask == Decimal(12) and len(snap.asks) == 1
    assert book.snapshot().bids[1].size == Decimal("2.5")
    book.clear()
    assert book.top_asks(5) == []
