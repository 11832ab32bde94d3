"""Choosing the venue — and the traps a best-ask comparison falls into."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from dca.pricing import Cost
from dca.routing import Mode, best_single, price_all, route, venue_order
from exchanges.book import Level, OrderBook
from exchanges.venues import VenueSpec
from tests.dca.helpers import D, book, limits, specs


def test_thin_cheap_top_level_loses_to_a_deeper_book() -> None:
    # Binance shows the lowest ask (90,000) but only 0.05 BTC there; the rest is at 90,400.
    # Kraken's best ask is 90,100 with 3 BTC behind it. Same 0.1% fee on both.
    books = {
        "binance": book("binance", [("90000", "0.05"), ("90400", "5")]),
        "kraken": book("kraken", [("90100", "3")]),
    }
    fees = specs(binance="0.001", kraken="0.001")
    r = route(books, fees, D("2"))
    assert r is not None
    # Binance: 0.05 × 90,000 + 1.95 × 90,400 = 180,780 → 180,960.78 with fee.
    # Kraken:  2 × 90,100 = 180,200 → 180,380.20 with fee: 580.58 cheaper.
    assert r.venue == "kraken"
    assert r.total == D("180380.200")
    assert r.alternatives == {"binance": D("180960.780"), "kraken": D("180380.200")}
    assert r.saved_vs_worst == D("580.580")
    assert r.runner_up == ("binance", D("180960.780"))


def test_low_price_high_fee_venue_loses_to_a_dearer_low_fee_one() -> None:
    # Coinbase asks 0.3% less, but its 0.60% fee eats that and more against OKX's 0.10%.
    books = {
        "coinbase": book("coinbase", [("89730", "10")]),
        "okx": book("okx", [("90000", "10")]),
    }
    r = route(books, specs(coinbase="0.006", okx="0.001"), D("1"))
    assert r is not None
    # Coinbase: 89,730 × 1.006 = 90,268.38; OKX: 90,000 × 1.001 = 90,090.00.
    assert r.venue == "okx"
    assert r.total == D("90090.000")
    assert r.alternatives["coinbase"] == D("90268.380")


def test_ties_go_to_the_venue_listed_first() -> None:
    books = {v: book(v, [("100", "1")]) for v in ("okx", "kraken", "binance")}
    r = route(books, specs(okx="0.001", kraken="0.001", binance="0.001"), D("1"))
    assert r is not None
    assert r.venue == "binance"
    assert venue_order("binance") < venue_order("kraken") < venue_order("okx")
    assert venue_order("elsewhere") > venue_order("okx")


def test_no_venue_can_fill_gives_no_route() -> None:
    books = {"okx": book("okx", [("100", "0.1")])}
    assert route(books, specs(), D("1")) is None
    assert route(books, specs(), D("1"), Mode.SPLIT) is None
    assert best_single(price_all(books, specs(), D("1"))) is None


def test_split_buys_the_cheap_top_on_one_venue_and_the_rest_on_another() -> None:
    # The thin cheap top of Binance is worth taking — for 0.05 BTC — then Kraken for the rest.
    books = {
        "binance": book("binance", [("90000", "0.05"), ("90400", "5")]),
        "kraken": book("kraken", [("90100", "3")]),
    }
    fees = specs(binance="0.001", kraken="0.001")
    r = route(books, fees, D("2"), Mode.SPLIT)
    assert r is not None
    assert [(leg.venue, leg.qty) for leg in r.legs] == [
        ("binance", D("0.05")),
        ("kraken", D("1.95")),
    ]
    # 0.05 × 90,000 × 1.001 + 1.95 × 90,100 × 1.001 = 4,504.50 + 175,870.695
    assert r.total == D("180375.195")
    assert r.total < D("180380.200")  # the best single venue
    assert r.venue == "binance+kraken"
    assert sum((leg.qty for leg in r.legs), Decimal(0)) == D("2")


def test_split_honours_minimum_order_by_dropping_the_tiny_leg() -> None:
    # Binance's cheap sliver is 0.00005 BTC, below a 0.0001 minimum: the split skips it.
    books = {
        "binance": book("binance", [("90000", "0.00005"), ("95000", "5")]),
        "kraken": book("kraken", [("90100", "3")]),
    }
    fees = specs(binance="0.001", kraken="0.001")
    limits("binance", "0.0001", "0.00001", fees)
    r = route(books, fees, D("1"), Mode.SPLIT)
    assert r is not None
    assert [leg.venue for leg in r.legs] == ["kraken"]
    assert r.mode is Mode.SPLIT


def test_split_rounds_legs_to_the_lot_step_and_keeps_the_sum_exact() -> None:
    # Greedy wants 0.123456789… on binance, whose lot is 0.001: the remainder moves to okx.
    books = {
        "binance": book("binance", [("100", "0.1234567"), ("200", "5")]),
        "okx": book("okx", [("101", "5")]),
    }
    fees = specs(binance="0", okx="0")
    limits("binance", "0.001", "0.001", fees)
    limits("okx", "0.00000001", "0.00000001", fees)
    r = route(books, fees, D("1"), Mode.SPLIT)
    assert r is not None
    qty = {leg.venue: leg.qty for leg in r.legs}
    assert qty == {"binance": D("0.123"), "okx": D("0.877")}
    assert sum(qty.values()) == D("1")


def test_split_not_cheaper_falls_back_to_the_best_single_venue() -> None:
    books = {"okx": book("okx", [("100", "5")]), "kraken": book("kraken", [("101", "5")])}
    r = route(books, specs(okx="0", kraken="0"), D("1"), Mode.SPLIT)
    assert r is not None
    assert [leg.venue for leg in r.legs] == ["okx"]


def test_split_can_fill_what_no_single_venue_can() -> None:
    books = {"okx": book("okx", [("100", "0.6")]), "kraken": book("kraken", [("101", "0.6")])}
    r = route(books, specs(okx="0", kraken="0"), D("1"), Mode.SPLIT)
    assert r is not None
    assert {leg.venue: leg.qty for leg in r.legs} == {"okx": D("0.6"), "kraken": D("0.4")}
    assert r.alternatives == {"kraken": None, "okx": None}
    # Nothing to compare with: the route is its own worst and median, nothing saved.
    assert (r.worst_total, r.median_total) == (r.total, r.total) == (D("100.4"), D("100.4"))
    assert (r.saved_vs_worst, r.saved_vs_median) == (D(0), D(0))
    assert r.runner_up is None


def test_savings_against_worst_and_median() -> None:
    books = {
        "binance": book("binance", [("100", "5")]),
        "kraken": book("kraken", [("103", "5")]),
        "okx": book("okx", [("101", "5")]),
    }
    r = route(books, specs(binance="0", kraken="0", okx="0"), D("1"))
    assert r is not None
    assert (r.worst_total, r.median_total) == (D("103"), D("101"))
    assert (r.saved_vs_worst, r.saved_vs_median) == (D("3"), D("1"))
    assert r.effective_price == D("100")


_price = st.decimals(min_value=D("90000"), max_value=D("91000"), places=2)
_size = st.decimals(min_value=D("0.001"), max_value=D("2"), places=8)
_levels = st.lists(st.tuples(_price, _size), min_size=1, max_size=12, unique_by=lambda t: t[0])
_fee = st.sampled_from(["0", "0.001", "0.004", "0.006"])


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["binance", "kraken", "okx", "bitstamp"]),
        st.tuples(_levels, _fee),
        min_size=1,
    ),
    st.decimals(min_value=D("0.001"), max_value=D("3"), places=5),
)
def test_split_is_never_worse_than_single_and_buys_exactly_the_tranche(
    venues: dict[str, tuple[list[tuple[Decimal, Decimal]], str]], qty: Decimal
) -> None:
    fees = specs(**{v: fee for v, (_, fee) in venues.items()})
    for v in venues:
        limits(v, "0.00001", "0.00001", fees)
    books = {
        v: OrderBook.build(v, "USD", [], [Level(p, s) for p, s in levels], 0.0)
        for v, (levels, _) in venues.items()
    }
    single = route(books, fees, qty, Mode.SINGLE)
    split = route(books, fees, qty, Mode.SPLIT)
    if single is not None:
        assert split is not None
        assert split.total <= single.total
    if split is not None:
        assert sum((leg.qty for leg in split.legs), Decimal(0)) == qty
        assert all(isinstance(leg, Cost) and leg.qty >= D("0.00001") for leg in split.legs)


_VENUES = ("binance", "coinbase", "kraken", "okx")


@st.composite
def _market(draw: st.DrawFn) -> tuple[dict[str, OrderBook], dict[str, VenueSpec], Decimal]:
    """A few books with few prices (ties), fees, minimum orders and lots, and a quantity."""
    venues = draw(st.lists(st.sampled_from(_VENUES), min_size=1, max_size=4, unique=True))
    books: dict[str, OrderBook] = {}
    fees: dict[str, str] = {}
    for v in venues:
        prices = draw(
            st.lists(
                st.sampled_from(["100", "100.5", "101", "102"]), min_size=1, max_size=3, unique=True
            )
        )
        sizes = draw(
            st.lists(
                st.sampled_from(["0.001", "0.05", "0.3", "2"]),
                min_size=len(prices),
                max_size=len(prices),
            )
        )
        books[v] = book(v, list(zip(sorted(prices, key=Decimal), sizes, strict=True)))
        fees[v] = draw(st.sampled_from(["0.001", "0.002", "0.0025"]))
    chosen = specs(**fees)
    for v in venues:
        limits(
            v,
            draw(st.sampled_from(["0.0001", "0.01", "0.1"])),
            draw(st.sampled_from(["0.00000001", "0.001", "0.01"])),
            chosen,
        )
    qty = draw(st.sampled_from(["0.0005", "0.005", "0.02", "0.1234", "0.25", "1", "3.5"]))
    return books, chosen, Decimal(qty)


@given(_market())
@settings(max_examples=400, deadline=None)
def test_a_split_the_best_level_fills_is_the_split_the_merge_finds(
    market: tuple[dict[str, OrderBook], dict[str, VenueSpec], Decimal],
) -> None:
    """Where the cheapest fee-inclusive level fills the tranche, the split is settled without
    merging the books: the legs must be the merge's, digit for digit (``repr`` shows each
    Decimal's exponent)."""
    from dca.routing import _split, _split_merged

    books, chosen, qty = market
    assert repr(_split(books, chosen, qty)) == repr(_split_merged(books, chosen, qty))
