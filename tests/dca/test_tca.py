"""Execution quality: hand-computed examples of every formula in dca/tca.py."""

from __future__ import annotations

from decimal import Decimal

from dca.events import QuoteSeen, TrancheFilled, TrancheSkipped
from dca.executor import Executor
from dca.journal import MemoryJournal
from dca.plan import build_plan
from dca.pricing import Cost, InsufficientDepth
from dca.routing import Mode, Route, route
from dca.tca import RunTca, best_mid, bps, mids, tranche_tca
from exchanges.clock import SimClock
from exchanges.errors import ErrorKind, VenueError
from exchanges.simulated import SimulatedMarket
from exchanges.venues import DEFAULT_SPECS
from tests.dca.helpers import book, specs

D = Decimal


def seen(venue: str, outcome: object, bid: str | None, ask: str | None) -> QuoteSeen:
    return QuoteSeen(
        venue,
        outcome,  # type: ignore[arg-type]
        D(bid) if bid else None,
        D(ask) if ask else None,
        0.0,
        None,
        "live",
    )


def test_a_single_tranche_is_judged_against_the_lowest_mid_fees_out_and_in() -> None:
    # Kraken: bid 98, ask 100 (mid 99), fee 0.40%. OKX: bid 99, ask 101 (mid 100), fee 0.10%.
    fees = specs(kraken="0.004", okx="0.001")
    books = {
        "kraken": book("kraken", [("100", "1")], [("98", "1")]),
        "okx": book("okx", [("101", "1")], [("99", "1")]),
    }
    r = route(books, fees, D("0.5"))
    assert r is not None and r.venue == "kraken"  # 50.20 against OKX's 50.5505
    quotes = [
        seen("kraken", r.legs[0], "98", "100"),
        seen(
            "okx",
            Cost(
                "okx", D("0.5"), D("50.5"), D("0.0505"), D("50.5505"), D(101), 1, D(101), D("0.001")
            ),
            "99",
            "101",
        ),
    ]
    tca = tranche_tca(r, quotes)
    assert tca.mid_best == D(99) and tca.mid_chosen == D(99)
    # avg price 100: (100 - 99) / 99 × 10⁴ = 101.0101… bps; with the fee 100.4: 141.4141… bps
    assert tca.slippage_bps == D(1) / D(99) * 10_000
    assert tca.slippage_fee_bps == D("1.4") / D(99) * 10_000
    assert tca.improvement is None and tca.improvement_bps is None  # single mode


def test_a_split_reports_its_improvement_over_the_best_single_venue() -> None:
    # README's thin-top story: Binance 0.05 @ 90,000 then 5 @ 90,400; Kraken 3 @ 90,100; 0.10% each.
    fees = specs(binance="0.001", kraken="0.001")
    books = {
        "binance": book("binance", [("90000", "0.05"), ("90400", "5")], [("89990", "1")]),
        "kraken": book("kraken", [("90100", "3")], [("90090", "1")]),
    }
    r = route(books, fees, D(2), Mode.SPLIT)
    assert r is not None and r.total == D("180375.195")
    quotes = [
        seen("binance", r.legs[0], "89990", "90000"),  # mid 89,995
        seen("kraken", r.legs[1], "90090", "90100"),  # mid 90,095
    ]
    tca = tranche_tca(r, quotes)
    assert tca.improvement == D("180380.20") - D("180375.195") == D("5.005")
    assert tca.improvement_bps == D("5.005") / D("180380.20") * 10_000
    # Legs weighted by BTC: (0.05 × 89,995 + 1.95 × 90,095) / 2 = 90,092.5
    assert tca.mid_chosen == D("90092.5")
    assert tca.mid_best == D(89995)


def test_venues_without_a_usable_book_have_no_mid() -> None:
    quotes = [
        seen("kraken", VenueError("kraken", ErrorKind.TIMEOUT, "timed out"), "1", "2"),
        seen("okx", InsufficientDepth("okx", D(5), D(1)), "99", "101"),
        seen("bitstamp", InsufficientDepth("bitstamp", D(5), D(1)), None, "100"),
    ]
    assert mids(quotes) == {"okx": D(100)}
    assert best_mid(quotes) == D(100)
    assert best_mid([]) is None
    assert bps(D(1), D(0)) is None and bps(None, D(1)) is None


def test_run_figures_against_arrival_twap_lump_worst_and_median_by_hand() -> None:
    # Three decisions with best mids 100, 102 and 104; the second was skipped (no BTC).
    tca = RunTca()
    tca.see(D(100))
    tca.set_lump(D("203.00"), D(2))  # the whole 2 BTC at the first books: 101.50 / BTC
    tca.see(D(102))
    tca.see(None)  # a decision with no book anywhere counts for nothing
    tca.see(D(104))
    tca.set_lump(D(1), D(1))  # later decisions never replace the lump sum
    # Bought 2 BTC for 206.00 in all, of which fees 1.03; saved 4 vs worst, 1 vs median.
    q = tca.report(D(2), D("206.00"), D("1.03"), D(4), D(1))
    assert q.arrival_mid == D(100) and q.twap_mid == D(102) and q.lump_total == D("203.00")
    assert q.shortfall == D(6) and q.shortfall_bps == D(6) / D(200) * 10_000 == D(300)
    assert q.vs_twap == D(2) and q.vs_twap_bps == D(2) / D(204) * 10_000
    assert q.vs_lump == D(3) and q.vs_lump_bps == D(3) / D(203) * 10_000
    assert q.vs_worst_bps == D(4) / D(210) * 10_000
    assert q.vs_median_bps == D(1) / D(207) * 10_000
    assert q.fee_share == D("1.03") / D("206.00")


def test_a_run_that_bought_nothing_has_no_figures_but_its_market() -> None:
    tca = RunTca()
    tca.see(D(100))
    q = tca.report(D(0), D(0), D(0), D(0), D(0))
    assert q.arrival_mid == D(100)
    assert q.shortfall is None and q.vs_twap is None and q.vs_lump is None
    assert q.fee_share is None and q.vs_worst_bps is None
    assert RunTca().report(D(1), D(1), D(0), D(0), D(0)).shortfall_bps is None


async def test_a_run_carries_its_quality_from_the_books_it_decided_on() -> None:
    clock = SimClock()
    journal = MemoryJournal()
    plan = build_plan(amount="1", duration="6h", tranches=6, specs=DEFAULT_SPECS)
    summary = await Executor(plan, SimulatedMarket(clock), journal, clock).run()
    fills = [e for e in journal.events if isinstance(e, TrancheFilled | TrancheSkipped)]
    assert len(fills) == 6
    first = fills[0]
    assert first.lump_amount == D(1) and first.lump_total is not None
    assert all(f.lump_amount is None for f in fills[1:])
    arrival = best_mid(first.quotes)
    assert arrival is not None
    q = summary.quality
    assert q.arrival_mid == arrival
    assert q.shortfall == summary.total - D(1) * arrival
    mids_seen = [best_mid(f.quotes) for f in fills]
    assert q.twap_mid == sum(m for m in mids_seen if m is not None) / 6
    assert q.vs_lump == summary.total - first.lump_total
    assert q.fee_share == summary.fee / summary.total


def _route_at(venue: str, price: str, qty: str, fee_rate: str = "0.001") -> Route:
    q, p, r = Decimal(qty), Decimal(price), Decimal(fee_rate)
    notional = p * q
    fee = notional * r
    leg = Cost(venue, q, notional, fee, notional + fee, p, 1, p, r)
    return Route(q, Mode.SINGLE, (leg,), {venue: notional + fee})


def test_a_fill_is_measured_against_its_decision_and_the_mid() -> None:
    from dca.tca import fill_tca

    decision = _route_at("binance", "60000", "0.01")
    fill = _route_at("binanceus", "60120", "0.01")
    q = fill_tca(fill, decision, Decimal("59995"))
    assert q.vs_decision_bps == Decimal(120) / Decimal(60000) * 10_000  # +20 bps
    assert q.vs_decision_fee_bps == q.vs_decision_bps  # same fee rate on both sides
    assert q.decision_vs_mid_bps == Decimal(5) / Decimal(59995) * 10_000
    assert q.fill_vs_mid_bps == Decimal(125) / Decimal(59995) * 10_000
    assert fill_tca(fill, decision, None).fill_vs_mid_bps is None


def test_a_runs_fills_against_decisions_are_weighted_by_the_btc_filled() -> None:
    from dca.tca import fills_vs_decisions

    pairs = [
        (_route_at("binance", "60060", "0.03"), _route_at("binance", "60000", "0.03")),
        (_route_at("binance", "60000", "0.01"), _route_at("binance", "60000", "0.01")),
    ]
    out, with_fees = fills_vs_decisions(pairs)
    # 0.03 BTC 60 dearer, 0.01 BTC at the decision: 1.8 over 2400, in bps.
    assert out == Decimal("1.8") / Decimal("2400") * 10_000
    assert with_fees == out
    assert fills_vs_decisions([]) == (None, None)
