"""The Kraken account (ccxt underneath) against the Kraken stand-in: signed, typed, exact."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from exchanges.errors import ErrorKind, VenueError
from exchanges.private.keys import ApiKeys
from exchanges.private.kraken import KrakenAccount, wire_id
from exchanges.private.types import MarketRules
from tests.standins.kraken import DOCS_SECRET, KrakenStandIn, sign
from tests.standins.serve import serving

D = Decimal
KEYS = ApiKeys("kraken", "standin-kraken-key", DOCS_SECRET)
RULES = MarketRules("XBTUSD", D("0.00000001"), D("0.0001"), D("0.1"), D("0.5"), "USD")


def test_the_stand_in_signs_like_krakens_documented_example() -> None:
    # docs.kraken.com, Spot REST Authentication: this key, nonce and payload give this.
    payload = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
    assert sign(DOCS_SECRET, "/0/private/AddOrder", "1616492376594", payload) == (
        "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
    )


def test_a_long_client_id_goes_to_kraken_as_a_stable_short_uuid() -> None:
    assert wire_id("short1") == "short1"
    long = "20261206045904be3687t12l0a1"
    assert wire_id(long) == wire_id(long) and len(wire_id(long)) == 32
    assert all(c in "0123456789abcdef" for c in wire_id(long))


@pytest.fixture
async def venue() -> AsyncIterator[tuple[KrakenStandIn, str]]:
    standin = KrakenStandIn()
    async with serving(standin.app()) as url:
        yield standin, url


async def _no_sleep(s: float) -> None:
    return None


async def test_rules_balances_check_and_an_ioc_buy_read_exactly(
    venue: tuple[KrakenStandIn, str],
) -> None:
    standin, url = venue
    account = KrakenAccount("kraken", KEYS, url, sleep=_no_sleep)
    try:
        assert await account.rules("USD", "XBTUSD") == RULES
        assert (await account.free())["USD"] == D("100000")
        found = await account.check("USD", RULES, D("60000.0"))
        assert found.taker_fee == D("0.004") and found.validated
        assert standin.orders == {} and len(standin.validated) == 1
        cid = "20261206045904be3687t0l0a1"
        answer = await account.buy_ioc(RULES, D("0.6"), D("60010.0"), cid)
        assert answer.status == "filled" and answer.filled_qty == D("0.6")
        (trade,) = answer.trades
        assert trade.qty == D("0.6") and trade.fee_currency == "USD"
        assert trade.price * trade.qty == D("0.5") * 60000 + D("0.1") * D("60010.0")
        assert trade.fee == (trade.price * trade.qty * D("0.004")).quantize(D("0.00001"))
        again = await account.order(RULES, cid)
        assert again is not None and again.venue_order_id == answer.venue_order_id
        assert await account.order(RULES, "nosuchorder") is None
        assert len(standin.orders_with(wire_id(cid))) == 1
    finally:
        await account.close()


@pytest.mark.parametrize(
    ("trouble", "kind", "words"),
    [
        ("key", ErrorKind.BAD_KEY, "Kraken: the API key is not valid (EAPI:Invalid key)"),
        ("secret", ErrorKind.BAD_SIGNATURE, "Kraken: the request's signature is not valid"),
        ("funds", ErrorKind.INSUFFICIENT_BALANCE, "insufficient funds"),
        ("min", ErrorKind.FILTER, "EOrder:Order minimum not met"),
    ],
)
async def test_every_refusal_is_typed_and_named(
    venue: tuple[KrakenStandIn, str], trouble: str, kind: ErrorKind, words: str
) -> None:
    standin, url = venue
    keys = KEYS
    qty = D("0.1")
    if trouble == "key":
        keys = ApiKeys("kraken", "wrong", DOCS_SECRET)
    elif trouble == "secret":
        keys = ApiKeys("kraken", KEYS.key, "c2VjcmV0IHRoYXQgaXMgbm90IHRoZSBvbmU=")
    elif trouble == "funds":
        standin.balances["ZUSD"] = D("10")
    elif trouble == "min":
        qty = D("0.00005")
    account = KrakenAccount("kraken", keys, url, sleep=_no_sleep)
    try:
        with pytest.raises(VenueError) as caught:
            await account.buy_ioc(RULES, qty, D("60010.0"), "c1")
    finally:
        await account.close()
    assert caught.value.kind is kind and caught.value.venue == "kraken"
    assert words in str(caught.value)
    assert standin.orders == {}


async def test_a_refused_nonce_is_sent_once_more_with_the_next(
    venue: tuple[KrakenStandIn, str],
) -> None:
    standin, url = venue
    standin.last_nonce = 2**62  # as if another client had used a far higher nonce
    account = KrakenAccount("kraken", KEYS, url, sleep=_no_sleep)
    try:
        with pytest.raises(VenueError) as caught:
            await account.free()
    finally:
        await account.close()
    assert caught.value.kind is ErrorKind.CLOCK_SKEW
    assert standin.requests == ["/0/private/Balance", "/0/private/Balance"]
