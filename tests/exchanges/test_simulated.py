"""The simulated market: deterministic, realistic, with its traps and its faults."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal

import pytest

from dca.routing import route
from exchanges.clock import RealClock, ScaledClock, SimClock
from exchanges.errors import ErrorKind, VenueError
from exchanges.market import Health, VenueStatus
from exchanges.simulated import DEFAULT_PROFILES, Fault, SimulatedMarket, demo_faults
from exchanges.venues import DEFAULT_SPECS, VENUE_IDS

D = Decimal
T0 = 1_767_225_600.0


def test_same_seed_and_time_give_the_same_books_and_another_seed_does_not() -> None:
    a = SimulatedMarket(SimClock(T0), seed=1).book_at("kraken", T0 + 123.4)
    b = SimulatedMarket(SimClock(T0), seed=1).book_at("kraken", T0 + 123.4)
    c = SimulatedMarket(SimClock(T0), seed=2).book_at("kraken", T0 + 123.4)
    assert a == b
    assert a != c


def test_books_are_valid_and_realistic() -> None:
    market = SimulatedMarket(SimClock(T0), quote="EUR")
    for venue in VENUE_IDS:
        book = market.book_at(venue, T0 + 5000)
        assert book.quote == "EUR"
        assert book.best_bid is not None and book.best_bid < book.best_ask
        assert 50_000 < book.best_ask < 110_000
        assert book.spread_bps is not None and book.spread_bps < 5
        assert len(book.asks) == 40
        assert all(a.price < b.price for a, b in zip(book.asks, book.asks[1:], strict=False))
        assert all(lv.price == lv.price.quantize(D("0.01")) for lv in book.asks)


def test_the_traps_happen_coinbase_looks_cheapest_binance_top_is_thin() -> None:
    market = SimulatedMarket(SimClock(T0))
    books = {v: market.book_at(v, T0 + 600) for v in VENUE_IDS}
    assert min(books.values(), key=lambda b: b.best_ask).venue == "coinbase"
    assert books["binance"].asks[0].size < D("0.1")
    r = route(books, DEFAULT_SPECS, D("1"))
    assert r is not None
    assert r.venue != "coinbase"  # its 0.60% fee outweighs the lower price


def test_the_best_venue_changes_over_a_day() -> None:
    clock = SimClock(T0)
    market = SimulatedMarket(clock)
    winners: Counter[str] = Counter()
    for hour in range(48):
        books = {v: market.book_at(v, T0 + hour * 1800) for v in VENUE_IDS}
        r = route(books, DEFAULT_SPECS, D("0.5"))
        assert r is not None
        winners[r.venue] += 1
    assert len(winners) >= 2


async def test_faults_make_a_venue_down_stale_or_slow() -> None:
    clock = SimClock(T0)
    faults = [
        Fault("kraken", T0 + 10, T0 + 20, Health.DOWN, ErrorKind.REFUSED, "connection refused"),
        Fault("bitstamp", T0 + 10, T0 + 100, Health.STALE),
        Fault("okx", T0 + 10, T0 + 20, Health.LIVE, latency_ms=900.0),
    ]
    market = SimulatedMarket(clock, faults=faults)
    assert market.status("kraken").health is Health.LIVE
    clock.advance(15)
    books = await market.fresh_books(["kraken", "bitstamp", "okx"])
    assert books["kraken"] == VenueError("kraken", ErrorKind.REFUSED, "connection refused")
    assert market.status("kraken").health is Health.DOWN
    assert market.status("kraken").book is not None  # the last book is kept for the panel
    assert market.status("bitstamp").health is Health.LIVE  # 5s old: not stale yet
    assert market.status("okx").latency_ms == pytest.approx(
        DEFAULT_PROFILES["okx"].latency_ms + 900
    )
    assert "slow" in market.status("okx").note
    clock.advance(30)
    stale = await market.fresh_books(["bitstamp"])
    assert isinstance(stale["bitstamp"], VenueError)
    assert stale["bitstamp"].kind is ErrorKind.STALE
    status = market.status("bitstamp")
    assert status.health is Health.STALE
    assert status.age(clock.now()) == pytest.approx(35)
    assert market.status("kraken").health is Health.LIVE


def test_demo_faults_are_scheduled_after_the_start() -> None:
    faults = demo_faults(T0)
    assert {f.venue for f in faults} == {"kraken", "okx", "bitstamp"}
    assert all(f.start > T0 and f.end > f.start for f in faults)


async def test_streaming_notifies_listeners_until_closed() -> None:
    market = SimulatedMarket(ScaledClock(1.0), venues=["okx", "binance"], real_latency=True)
    seen: list[VenueStatus] = []
    remove = market.add_listener(seen.append)
    await market.start()
    await market.start()  # starting twice does not double the feeds
    await asyncio.sleep(0.35)
    books = await market.fresh_books(["okx"])
    await market.close()
    await market.close()
    remove()
    remove()
    assert {s.venue for s in seen} == {"okx", "binance"}
    assert all(s.health is Health.LIVE for s in seen)
    assert len(seen) >= 4
    assert not isinstance(books["okx"], VenueError)
    assert market.quote == "USD"
    assert set(market.specs) == {"okx", "binance"}


async def test_clocks() -> None:
    sim = SimClock(10.0)
    await sim.sleep(5)
    sim.advance(-3)  # time never goes back
    assert sim.now() == 15.0
    real = RealClock()
    before = real.now()
    await real.sleep(0.001)
    assert real.now() >= before
    fast = ScaledClock(1000.0, start=0.0)
    await fast.sleep(50)  # 50 ms of real time
    assert fast.now() >= 50
    with pytest.raises(ValueError, match="speed"):
        ScaledClock(0)
