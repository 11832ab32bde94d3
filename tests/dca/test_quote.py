"""One quote for every place that asks: the quote command, the form's estimate, the panels."""

from dca.quote import quote
from dca.routing import Mode
from exchanges.errors import ErrorKind, VenueError
from tests.dca.helpers import D, book, specs

# Binance shows the lowest ask (90,000) but only 0.05 BTC there; the rest is at 90,400.
# Kraken's best ask is 90,100 with 3 BTC behind it. Same 0.1% fee on both.
BOOKS = {
    "binance": book("binance", [("90000", "0.05"), ("90400", "5")]),
    "kraken": book("kraken", [("90100", "3")]),
}
FEES = specs(binance="0.001", kraken="0.001")


def test_a_2_btc_quote_picks_kraken_because_binances_cheap_top_is_thin() -> None:
    q = quote(BOOKS, FEES, D("2"))
    assert q.best is not None and q.best.venue == "kraken"
    assert q.best.total == D("180380.200")
    assert [c.venue for c in q.ranked] == ["kraken", "binance"]
    assert q.cheapest is not None and q.cheapest.venue == "kraken"
    assert q.filled and q.reached and q.split is None
    assert q.depth == D("4")  # 2 BTC priced on each venue alone


def test_in_split_mode_the_best_route_takes_binances_top_and_the_rest_on_kraken() -> None:
    q = quote(BOOKS, FEES, D("2"), Mode.SPLIT)
    assert q.best is not None and q.best.venue == "binance+kraken"
    # The cheapest single venue is still Kraken: the panels mark it, the split beats it.
    assert q.cheapest is not None and q.cheapest.venue == "kraken"
    assert q.best.total < q.cheapest.total


def test_only_the_venues_the_buyer_uses_rank_and_route_but_every_book_is_priced() -> None:
    q = quote(BOOKS, FEES, D("2"), among=("binance",))
    assert q.best is not None and q.best.venue == "binance"
    assert set(q.costs) == {"binance", "kraken"}
    assert [c.venue for c in q.ranked] == ["binance"]
    assert set(q.best.alternatives) == {"binance"}


def test_a_venue_that_failed_is_an_alternative_without_a_total() -> None:
    down = VenueError("okx", ErrorKind.TIMEOUT, "timed out after 5.0s")
    q = quote({**BOOKS, "okx": down}, FEES, D("2"))
    assert q.best is not None and q.best.alternatives["okx"] is None
    assert "okx" not in q.costs


def test_when_no_single_venue_can_fill_it_the_split_that_can_is_offered() -> None:
    q = quote(BOOKS, FEES, D("7"), split_if_unfilled=True)
    assert q.best is None and not q.filled
    assert q.split is not None and q.split.venue == "binance+kraken"
    assert q.depth == D("8.05")  # what the books hold together
    assert quote(BOOKS, FEES, D("7")).split is None  # only when asked


def test_nothing_reached_is_said_apart_from_nothing_filled() -> None:
    down = VenueError("kraken", ErrorKind.TIMEOUT, "timed out after 5.0s")
    q = quote({"kraken": down}, FEES, D("1"), split_if_unfilled=True)
    assert not q.reached and q.best is None and q.split is None and q.cheapest is None
