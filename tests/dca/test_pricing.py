"""Pricing a purchase by walking the asks and adding the taker fee."""

from decimal import Decimal

import pytest

from dca.pricing import Cost, InsufficientDepth, cost_to_buy
from tests.dca.helpers import D, book


def test_walks_levels_and_takes_part_of_the_last() -> None:
    # 1.5 BTC: all of 0.5 @ 100, all of 0.7 @ 101, then 0.3 of the 2 @ 103.
    b = book("kraken", [("100", "0.5"), ("101", "0.7"), ("103", "2")])
    cost = cost_to_buy(b, D("1.5"), D("0.0040"))
    assert isinstance(cost, Cost)
    assert cost.notional == D("50") + D("70.7") + D("30.9")  # 151.6
    assert cost.fee == D("0.60640")
    assert cost.total == D("152.20640")
    assert cost.avg_price == D("151.6") / D("1.5")
    assert cost.levels_used == 3
    assert cost.worst_price == D("103")
    assert cost.effective_price == cost.total / D("1.5")


def test_exact_fill_of_the_top_level_uses_one_level() -> None:
    cost = cost_to_buy(book("okx", [("100", "1"), ("200", "1")]), D("1"), D("0"))
    assert isinstance(cost, Cost)
    assert (cost.notional, cost.levels_used, cost.worst_price) == (D(100), 1, D(100))


def test_a_book_too_thin_says_how_much_it_held() -> None:
    result = cost_to_buy(book("bitstamp", [("100", "0.2"), ("101", "0.3")]), D("2"), D("0.004"))
    assert result == InsufficientDepth("bitstamp", D("2"), D("0.5"))
    assert "0.5 BTC of 2" in str(result)


def test_money_stays_exact_with_satoshi_sizes() -> None:
    # A float would turn 0.1 + 0.2 into 0.30000000000000004; Decimal keeps every digit.
    b = book("coinbase", [("77588.85", "0.04411574"), ("77588.86", "0.1")])
    cost = cost_to_buy(b, D("0.1"), D("0.006"))
    assert isinstance(cost, Cost)
    expected = D("77588.85") * D("0.04411574") + D("77588.86") * (D("0.1") - D("0.04411574"))
    assert cost.notional == expected
    assert cost.total == expected * D("1.006")


def test_zero_quantity_is_refused() -> None:
    with pytest.raises(ValueError, match="qty"):
        cost_to_buy(book("okx", [("100", "1")]), Decimal(0), Decimal(0))
