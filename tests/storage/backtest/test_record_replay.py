"""Record two local venues (127.0.0.1, their real REST formats), replay a plan, check by hand.

Binance.US and Bitstamp answer with books the test changes at known (recording clock)
times; the recorder takes its snapshots at those times; the backtest replays four
tranches over them with the live executor. Every tranche's venue and total is worked
out below by hand, and so is the venue left out when its newest book is too old.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from aiohttp import web

from dca.events import TrancheFilled
from dca.plan import build_plan
from exchanges.live import LiveMarket, LiveSettings
from exchanges.venues import DEFAULT_SPECS
from storage.backtest import replay as bt
from storage.market.recorder import Recorder
from tests.exchanges.servers import Reply, VenueServer

D = Decimal
T0 = 1_767_225_600.0  # the recording's clock: 2026-01-01T00:00Z
DEPTH = "/api/v3/depth"
BITSTAMP_BOOK = "/api/v2/order_book/btcusd/"
FAST = LiveSettings(
    timeout_s=1.0, stale_after_s=5.0, backoff_base_s=0.05, backoff_max_s=0.2, poll_interval_s=0.05
)


def binance_body(asks: list[list[str]], bid: str) -> Callable[[web.Request], str]:
    """Binance.US's depth answer (a function: the book in force when asked)."""
    return lambda _request: json.dumps(
        {"lastUpdateId": int(time.time() * 1000), "bids": [[bid, "1.00000000"]], "asks": asks}
    )


def bitstamp_body(asks: list[list[str]], bid: str) -> str:
    """Bitstamp's order book answer."""
    micro = int(time.time() * 1_000_000)
    return json.dumps(
        {
            "timestamp": str(micro // 10**6),
            "microtimestamp": str(micro),
            "bids": [[bid, "1.0"]],
            "asks": asks,
        }
    )


async def until(predicate: Callable[[], bool], within: float = 5.0) -> None:
    """Wait until the market shows what the servers now serve."""
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "the market never showed the new book"
        await asyncio.sleep(0.01)


def ask_of(market: LiveMarket, venue: str) -> Decimal | None:
    book = market.status(venue).book
    return book.best_ask if book is not None and market.status(venue).error is None else None


async def test_recorded_local_books_replay_to_the_hand_computed_venue_and_total(
    tmp_path: Path,
) -> None:
    specs = {
        "binanceus": DEFAULT_SPECS["binanceus"].with_overrides(taker_fee=D("0.001")),
        "bitstamp": DEFAULT_SPECS["bitstamp"].with_overrides(taker_fee=D("0.002")),
    }
    async with VenueServer() as srv:
        specs = {v: s.with_overrides(rest_url=srv.url, ws_url=srv.ws_url) for v, s in specs.items()}
        # Books A: Binance.US 1 @ 100.00 (bid 99.00), Bitstamp 2 @ 100.50 (bid 99.50).
        srv.rest(DEPTH, Reply(binance_body([["100.00", "1.00000000"]], "99.00")))
        srv.rest(BITSTAMP_BOOK, Reply(bitstamp_body([["100.50", "2.0"]], "99.50")))
        market = LiveMarket(specs, "USD", settings=FAST)
        recorder = Recorder(
            market, ["binanceus", "bitstamp"], tmp_path, market.clock, keepalive_s=45.0
        )
        await market.start()
        try:
            await until(lambda: ask_of(market, "binanceus") == D(100))
            await until(lambda: ask_of(market, "bitstamp") == D("100.50"))
            assert recorder.take(T0) == 2
            assert recorder.take(T0 + 30) == 0  # nothing changed, keepalive not due
            # Binance.US moves up to 1 @ 102.00; Bitstamp unchanged (written again: keepalive).
            srv.rest(DEPTH, Reply(binance_body([["102.00", "1.00000000"]], "101.00")))
            await until(lambda: ask_of(market, "binanceus") == D(102))
            assert recorder.take(T0 + 60) == 2
            # Bitstamp goes down: from now on only Binance.US is recorded.
            srv.rest(BITSTAMP_BOOK, Reply("upstream down", status=503))
            await until(lambda: ask_of(market, "bitstamp") is None)
            assert recorder.take(T0 + 120) == 1  # Binance.US by keepalive
            assert recorder.take(T0 + 180) == 1
            await recorder.flush()
        finally:
            await market.close()
    assert recorder.stats.per_venue == {"binanceus": 4, "bitstamp": 2}
    assert set(recorder.stats.down) == {"bitstamp"}

    # 2 BTC in 4 tranches of 0.5 at +10, +70, +130, +190 s; a book older than 50 s is out.
    plan = build_plan(
        amount="2", duration=240.0, tranches=4, venues=["binanceus", "bitstamp"], specs=specs
    )
    prepared = bt.prepare(tmp_path, plan, T0 + 10, max_age_s=50.0)
    outcome = await bt.replay(prepared, specs, None, keep_events=True)
    fills = [e for e in outcome.events if isinstance(e, TrancheFilled)]
    # +10: Binance.US A 0.5 × 100.00 + 0.1% = 50.05; Bitstamp A 0.5 × 100.50 + 0.2% = 50.3505
    # +70: Binance.US B 0.5 × 102.00 + 0.1% = 51.051; Bitstamp A (recorded at +60) 50.3505
    # +130, +190: Bitstamp's newest book (+60) is 70 s / 130 s old: out; Binance.US 51.051
    assert [(f.route.venue, f.route.total) for f in fills] == [
        ("binanceus", D("50.05")),
        ("bitstamp", D("50.3505")),
        ("binanceus", D("51.051")),
        ("binanceus", D("51.051")),
    ]
    assert fills[0].route.alternatives == {"binanceus": D("50.05"), "bitstamp": D("50.3505")}
    assert fills[2].route.alternatives == {"binanceus": D("51.051"), "bitstamp": None}
    out = {q.venue: str(q.outcome) for q in fills[2].quotes if q.venue == "bitstamp"}
    assert out == {"bitstamp": "newest recorded book is 70s old (limit 50s)"}
    out = {q.venue: str(q.outcome) for q in fills[3].quotes if q.venue == "bitstamp"}
    assert out == {"bitstamp": "newest recorded book is 130s old (limit 50s)"}
    assert outcome.summary.total == D("202.5025") and outcome.summary.qty == D(2)
    # Execution quality, by hand: first decision's mids 99.50 (Binance.US) and 100.00.
    q = outcome.summary.quality
    assert q.arrival_mid == D("99.5")
    assert q.shortfall == D("202.5025") - 2 * D("99.5")
    # Best mids per decision: 99.5, 100 (Bitstamp, still 99.5/100.5 vs 101/102), 101.5, 101.5.
    assert q.twap_mid == (D("99.5") + D("100") + D("101.5") + D("101.5")) / 4
    # All 2 BTC at the first books: Binance.US holds 1 BTC only; Bitstamp 2 @ 100.50 + 0.2%.
    assert q.lump_total == D("201.402")
    assert fills[1].tca.mid_best == D(100) and fills[1].tca.mid_chosen == D(100)
    assert fills[1].tca.slippage_fee_bps == (D("50.3505") / D("0.5") - 100) / 100 * 10_000
