"""The Binance account (ccxt underneath) against the Binance stand-in: signed, typed, exact."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from exchanges.errors import ErrorKind, VenueError
from exchanges.private.binance import BinanceAccount
from exchanges.private.keys import ApiKeys
from exchanges.private.types import MarketRules
from tests.standins.binance import BinanceStandIn, sign
from tests.standins.serve import serving

D = Decimal
KEY = ApiKeys("binance", "standin-key", "standin-secret")


def test_the_stand_in_signs_like_binances_documented_example() -> None:
    # Binance's API docs: this secret and payload give this signature.
    secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    payload = (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
        "&recvWindow=5000&timestamp=1499827319559"
    )
    assert sign(secret, payload) == (
        "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    )


@pytest.fixture
async def venue() -> AsyncIterator[tuple[BinanceStandIn, str]]:
    standin = BinanceStandIn()
    async with serving(standin.app()) as url:
        yield standin, url


async def _account(url: str, keys: ApiKeys = KEY) -> BinanceAccount:
    async def no_sleep(s: float) -> None:
        return None

    return BinanceAccount("binance", keys, url, sleep=no_sleep)


async def test_rules_balances_and_an_ioc_buy_read_exactly(
    venue: tuple[BinanceStandIn, str],
) -> None:
    _, url = venue
    account = await _account(url)
    try:
        rules = await account.rules("USDT", "BTCUSDT")
        assert rules == MarketRules("BTCUSDT", D("0.00001"), D("0.00001"), D("0.01"), D(5), "BTC")
        free = await account.free()
        assert free["USDT"] == D("100000")
        answer = await account.buy_ioc(rules, D("0.6"), D("60010.00"), "run1t0l0a1")
        assert answer.status == "filled" and answer.filled_qty == D("0.6")
        assert [(t.price, t.qty, t.fee, t.fee_currency) for t in answer.trades] == [
            (D("60000.00"), D("0.5"), D("0.0005"), "BTC"),
            (D("60010.00"), D("0.1"), D("0.0001"), "BTC"),
        ]
        again = await account.order(rules, "run1t0l0a1")
        assert again is not None and again.trades == answer.trades
        assert await account.order(rules, "nosuchorder") is None
    finally:
        await account.close()


@pytest.mark.parametrize(
    ("trouble", "kind", "words"),
    [
        ("key", ErrorKind.BAD_KEY, "Binance: the API key is not valid"),
        ("secret", ErrorKind.BAD_SIGNATURE, "Binance: the request's signature is not valid"),
        ("skew", ErrorKind.CLOCK_SKEW, "clock skew"),
        ("funds", ErrorKind.INSUFFICIENT_BALANCE, "insufficient balance"),
        ("lot", ErrorKind.FILTER, "Filter failure: LOT_SIZE"),
        ("ban", ErrorKind.BANNED, "banned"),
    ],
)
async def test_every_refusal_is_typed_and_named(
    venue: tuple[BinanceStandIn, str], trouble: str, kind: ErrorKind, words: str
) -> None:
    standin, url = venue
    keys = KEY
    qty = D("0.1")
    if trouble == "key":
        keys = ApiKeys("binance", "wrong-key", "standin-secret")
    elif trouble == "secret":
        keys = ApiKeys("binance", "standin-key", "wrong-secret")
    elif trouble == "skew":
        standin.skew_ms = 20_000
    elif trouble == "funds":
        standin.balances["USDT"] = D("10")
    elif trouble == "lot":
        qty = D("0.100001")
    elif trouble == "ban":
        standin.ban = True
    account = await _account(url, keys)
    rules = MarketRules("BTCUSDT", D("0.00001"), D("0.00001"), D("0.01"), D(5), "BTC")
    if trouble == "skew":
        account.resync = lambda: _false()  # type: ignore[method-assign]
    try:
        with pytest.raises(VenueError) as caught:
            await account.buy_ioc(rules, qty, D("60010.00"), "c1")
    finally:
        await account.close()
    assert caught.value.kind is kind and caught.value.venue == "binance"
    assert words in str(caught.value)
    assert standin.orders == []


async def _false() -> bool:
    return False


async def test_a_skewed_clock_is_resynced_and_a_429_waited_out(
    venue: tuple[BinanceStandIn, str],
) -> None:
    standin, url = venue
    standin.skew_ms = 20_000
    standin.rate_limit = 1
    standin.retry_after = 3
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)

    account = BinanceAccount("binance", KEY, url, sleep=sleep)
    rules = MarketRules("BTCUSDT", D("0.00001"), D("0.00001"), D("0.01"), D(5), "BTC")
    try:
        answer = await account.buy_ioc(rules, D("0.1"), D("60010.00"), "c2")
    finally:
        await account.close()
    assert answer.status == "filled"
    assert waits == [3.0]
    assert len(standin.orders) == 1
