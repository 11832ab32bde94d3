"""The order book model refuses what cannot be priced: empty, crossed, float-parsed."""

from decimal import Decimal

import pytest

from exchanges.book import Level, OrderBook, parse_levels, to_decimal, top
from exchanges.errors import ErrorKind, VenueError

D = Decimal


def test_build_sorts_drops_empty_levels_and_reports_spread() -> None:
    b = OrderBook.build(
        "kraken",
        "USD",
        [Level(D("99"), D("1")), Level(D("100"), D("2")), Level(D("98"), D("0"))],
        [Level(D("102"), D("1")), Level(D("101"), D("0.5"))],
        1.0,
    )
    assert [lv.price for lv in b.asks] == [D("101"), D("102")]
    assert [lv.price for lv in b.bids] == [D("100"), D("99")]
    assert (b.best_bid, b.best_ask, b.mid, b.spread) == (D(100), D(101), D("100.5"), D(1))
    assert b.spread_bps == D(1) / D("100.5") * 10000
    assert b.ask_depth() == D("1.5")
    assert top(b.asks, 1) == (Level(D("101"), D("0.5")),)
    eur = b.scaled(D("0.5"), "EUR")
    assert (eur.quote, eur.best_ask, eur.best_bid) == ("EUR", D("50.5"), D("50"))


def test_a_book_without_bids_still_prices_but_has_no_spread() -> None:
    b = OrderBook.build("okx", "USD", [], [Level(D("5"), D("1"))], 0.0)
    assert (b.best_bid, b.spread, b.spread_bps, b.mid) == (None, None, None, D(5))


def test_empty_and_crossed_books_are_venue_errors() -> None:
    with pytest.raises(VenueError) as empty:
        OrderBook.build("okx", "USD", [Level(D(1), D(1))], [], 0.0)
    assert empty.value.kind is ErrorKind.EMPTY_BOOK
    with pytest.raises(VenueError) as crossed:
        OrderBook.build("okx", "USD", [Level(D(101), D(1))], [Level(D(100), D(1))], 0.0)
    assert crossed.value.kind is ErrorKind.CROSSED_BOOK
    assert str(crossed.value) == "crossed book: best bid 101 >= best ask 100"
    assert crossed.value.venue == "okx"


def test_wire_values_parse_from_text_and_never_from_float() -> None:
    assert to_decimal("0.10000000", "k", "qty") == D("0.10000000")
    assert to_decimal(3, "k", "qty") == D(3)
    assert to_decimal(D("1.5"), "k", "qty") == D("1.5")
    for bad in (0.1, True, "abc", "-1", "NaN", "Infinity", None, [1]):
        with pytest.raises(VenueError) as info:
            to_decimal(bad, "kraken", "ask price")
        assert info.value.kind is ErrorKind.MALFORMED
        assert str(info.value).startswith("ask price: ")


def test_parse_levels_reads_wire_lists_and_skips_zero_sizes() -> None:
    levels = parse_levels(
        [["4.00000200", "12.00000000"], ["5", "0"], ["6", "1", 3]], "binance", "asks"
    )
    assert levels == [Level(D("4.000002"), D("12")), Level(D("6"), D("1"))]
    for bad in ("x", [["1"]], [5]):
        with pytest.raises(VenueError) as info:
            parse_levels(bad, "binance", "asks")
        assert info.value.kind is ErrorKind.MALFORMED


def test_venue_errors_compare_by_venue_kind_and_message() -> None:
    a = VenueError("okx", ErrorKind.TIMEOUT, "timed out", status=None, retry_after=2.0)
    assert a == VenueError("okx", ErrorKind.TIMEOUT, "timed out")
    assert a != VenueError("kraken", ErrorKind.TIMEOUT, "timed out")
    assert a != "timed out"
    assert hash(a) == hash(VenueError("okx", ErrorKind.TIMEOUT, "timed out"))
    assert repr(a) == "VenueError('okx', 'timeout', 'timed out')"


def test_a_free_or_negative_price_level_is_a_broken_feed() -> None:
    with pytest.raises(VenueError) as free_ask:
        OrderBook.build("okx", "USD", [], [Level(D(0), D(1)), Level(D(5), D(1))], 0.0)
    assert free_ask.value.kind is ErrorKind.MALFORMED
    with pytest.raises(VenueError) as free_bid:
        OrderBook.build("okx", "USD", [Level(D(0), D(1))], [Level(D(5), D(1))], 0.0)
    assert free_bid.value.kind is ErrorKind.MALFORMED
