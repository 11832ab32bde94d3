"""Real orders: from a tranche falling due to its order(s) on the wire, against Binance
stand-ins that answer 50 ms late, beside a bare ccxt ``create_order``.

Run: .venv/bin/python bench/bench_live_order.py [runs]
Goal (issue 20): local overhead <= 5 ms from a tranche falling due to its order on the
wire; in split mode every leg in flight within 5 ms. Nothing here reaches a venue: the
stand-ins (tests/standins/) serve on 127.0.0.1 from a process of their own, so their work
is not counted as ours (a venue does its work on its own machines). Arrival times are
``time.perf_counter()`` in both processes: CLOCK_MONOTONIC, one clock for the machine.

"Local overhead" = time to the order's arrival at the stand-in, less the round trips the
tranche waits for before it (its balance check, all venues at once: +50 ms at the
stand-in, timed there from its arrival to its answer). The same path with no added latency
is printed too, and the path with each order's intent journaled to Parquet (fsync) before
it is sent, as real runs do (the write overlaps the balance check's round trip).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ccxt.async_support as ccxt
from aiohttp import web
from aiohttp.typedefs import Handler

from dca.live_execution import LiveExecution, LiveSettings
from dca.orders import MemoryOrderJournal, OrderJournal
from dca.pricing import Cost, cost_to_buy
from dca.routing import Mode, Route
from exchanges.book import Level, OrderBook
from exchanges.private.account import point_urls
from exchanges.private.binance import BinanceAccount, BinanceUsAccount
from exchanges.private.keys import ApiKeys
from storage.history.orders import ParquetOrderJournal
from tests.standins.binance import BinanceStandIn
from tests.standins.serve import serving_in_thread

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

D = Decimal
LATENCY = 0.05
DEEP = [(D("60000.00"), D("1000")), (D("60010.00"), D("1000"))]


def leg(venue: str, qty: str) -> Cost:
    book = OrderBook.build(
        venue, "USDT", [Level(D("59990"), D(1))], [Level(p, s) for p, s in DEEP], 0.0
    )
    cost = cost_to_buy(book, D(qty), D("0.001"))
    assert isinstance(cost, Cost)
    return cost


def standin(quote: str, latency: float) -> BinanceStandIn:
    s = BinanceStandIn(symbol=f"BTC{quote}", quote=quote, latency=latency, asks=list(DEEP))
    s.balances = {quote: D("10000000"), "BTC": D(0)}
    return s


# (method, path, arrived, answered): perf_counter() seconds at the stand-in.
Arrivals = list[tuple[str, str, float, float]]


def _serve(s: BinanceStandIn, conn: Connection) -> None:
    """The stand-in's process: serve, send the URL, then its requests whenever asked."""
    seen: Arrivals = []

    @web.middleware
    async def timed(request: web.Request, handler: Handler) -> web.StreamResponse:
        arrived = time.perf_counter()
        response = await handler(request)
        seen.append((request.method, request.path, arrived, time.perf_counter()))
        return response

    app = s.app()
    app.middlewares.insert(0, timed)
    with serving_in_thread(app) as url:
        conn.send(url)
        while conn.recv() is not None:
            conn.send(list(seen))


class Remote:
    """A stand-in serving from its own process."""

    def __init__(self, conn: Connection, url: str) -> None:
        self.conn = conn
        self.url = url
        self._lock = threading.Lock()

    def arrivals(self) -> Arrivals:
        with self._lock:
            self.conn.send(True)
            got: Arrivals = self.conn.recv()
            return got


@contextmanager
def serving_in_process(s: BinanceStandIn) -> Iterator[Remote]:
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("fork").Process(target=_serve, args=(s, theirs))
    child.start()
    try:
        yield Remote(ours, ours.recv())
    finally:
        ours.send(None)
        child.join(10)
        if child.is_alive():
            child.kill()


def order_arrivals(arrivals: Arrivals, since: float) -> list[float]:
    return [t for m, p, t, _ in arrivals if m == "POST" and p == "/api/v3/order" and t >= since]


def held(arrivals: Arrivals, since: float, until: float) -> float:
    """Seconds the venue held the requests the order waited for (its balance check)."""
    return sum(a - t for _, p, t, a in arrivals if since <= t < until and p != "/api/v3/order")


async def tranche_to_wire(
    runs: int, latency: float, split: bool, journal: OrderJournal | None = None
) -> tuple[list[float], list[float], list[float]]:
    """Per tranche: ms to the last leg on the wire, the local overhead, the legs' spread."""
    a, b = standin("USDT", latency), standin("USD", latency)
    # The USD stand-in holds USDT too, so one quote currency covers both legs here.
    b.balances["USDT"] = D("10000000")
    with serving_in_process(a) as remote_a, serving_in_process(b) as remote_b:
        url_a, url_b = remote_a.url, remote_b.url
        accounts = {
            "binance": BinanceAccount("binance", ApiKeys("binance", a.key, a.secret), url_a),
            "binanceus": BinanceUsAccount(
                "binanceus", ApiKeys("binanceus", b.key, b.secret), url_b
            ),
        }
        quote = "USDT"
        execution = LiveExecution(
            accounts,
            {"binance": "BTCUSDT", "binanceus": "BTCUSD"},
            journal or MemoryOrderJournal(),
            LiveSettings(quote),
        )
        legs = (
            (leg("binance", "0.01"), leg("binanceus", "0.01"))
            if split
            else (leg("binance", "0.01"),)
        )
        route = Route(
            sum((c.qty for c in legs), D(0)), Mode.SPLIT if split else Mode.SINGLE, legs, {}
        )
        total: list[float] = []
        local: list[float] = []
        spread: list[float] = []
        try:
            await execution.execute("bench", 0, route)  # warm: rules read once per run
            for i in range(1, runs + 1):
                t0 = time.perf_counter()
                await execution.execute("bench", i, route)
                seen_a = remote_a.arrivals()
                seen_b = remote_b.arrivals() if split else []
                wires = order_arrivals(seen_a, t0) + order_arrivals(seen_b, t0)
                last = max(wires)
                waits = max(held(seen_a, t0, last), held(seen_b, t0, last))
                total.append((last - t0) * 1000)
                local.append((last - t0 - waits) * 1000)
                spread.append((max(wires) - min(wires)) * 1000)
        finally:
            for account in accounts.values():
                await account.close()
    return total, local, spread


async def direct_vs_ccxt(runs: int, latency: float) -> tuple[list[float], list[float]]:
    """ms from the call to the order on the wire: our ``buy_ioc`` and ccxt's create_order."""
    s = standin("USDT", latency)
    ours: list[float] = []
    bare: list[float] = []
    with serving_in_process(s) as remote:
        url = remote.url
        account = BinanceAccount("binance", ApiKeys("binance", s.key, s.secret), url)
        client: Any = ccxt.binance(
            {
                "apiKey": s.key,
                "secret": s.secret,
                # As ours: no client-side throttle delaying the request.
                "enableRateLimit": False,
                "options": {
                    "fetchMarkets": {"types": ["spot"]},
                    "fetchCurrencies": False,
                    "fetchMargins": False,
                },
            }
        )
        client.urls["api"] = point_urls(client.urls["api"], url)
        try:
            rules = await account.rules("USDT", "BTCUSDT")
            await client.load_markets()
            for i in range(runs):
                t0 = time.perf_counter()
                await account.buy_ioc(rules, D("0.01"), D("60100.00"), f"ours{i}")
                ours.append((order_arrivals(remote.arrivals(), t0)[0] - t0) * 1000)
                t0 = time.perf_counter()
                await client.create_order(
                    "BTC/USDT", "limit", "buy", 0.01, 60100, {"timeInForce": "IOC"}
                )
                bare.append((order_arrivals(remote.arrivals(), t0)[0] - t0) * 1000)
        finally:
            await account.close()
            await client.close()
    return ours, bare


def fmt(samples: list[float]) -> str:
    return f"median {statistics.median(samples):6.2f} ms, max {max(samples):6.2f} ms"


async def main(runs: int) -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, ccxt {ccxt.__version__}, "
        f"load average {os.getloadavg()[0]:.1f} at start; {runs} tranches each"
    )
    for latency in (LATENCY, 0.0):
        total, local, _ = await tranche_to_wire(runs, latency, split=False)
        print(
            f"single, stand-in +{latency * 1000:.0f} ms: tranche due -> order on the wire "
            f"{fmt(total)}; local overhead {fmt(local)}"
        )
        total, local, spread = await tranche_to_wire(runs, latency, split=True)
        print(
            f"split (2 legs), +{latency * 1000:.0f} ms: last leg on the wire {fmt(total)}; "
            f"local overhead {fmt(local)}; legs apart {fmt(spread)}"
        )
    for split in (False, True):
        with tempfile.TemporaryDirectory() as data:
            total, local, spread = await tranche_to_wire(
                runs, LATENCY, split=split, journal=ParquetOrderJournal(Path(data))
            )
        what = "split (2 legs)" if split else "single"
        print(
            f"{what}, +{LATENCY * 1000:.0f} ms, intents journaled to Parquet (fsync), as runs "
            f"do: order on the wire {fmt(total)}; local overhead {fmt(local)}"
            + (f"; legs apart {fmt(spread)}" if split else "")
        )
    ours, bare = await direct_vs_ccxt(runs, LATENCY)
    print(f"one order, call -> on the wire: BinanceAccount.buy_ioc {fmt(ours)}")
    print(f"one order, call -> on the wire: bare ccxt create_order {fmt(bare)}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
