"""CPU used by the live feeds at real rates: 6 venues, ~10 messages/s each, over 60 s.

Run: .venv/bin/python bench/bench_feeds_cpu.py [--seconds 60] [--rate 10]
Goal: under 3% of one core. Local WebSocket servers (in their own thread, so their
CPU is not counted) play each venue's real format: Binance/Binance.US depth diffs
after a REST snapshot, Bitstamp microtimestamp diffs, Kraken v2 with a CRC32 on
every message, OKX with seqId chain and signed CRC32, Coinbase Advanced Trade
level2 with sequence_num. The figure is the CPU time of the thread that runs
``LiveMarket`` (decode, sync, checksum, book hand-off, listeners) over wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web

from exchanges.checksums import okx_crc32
from exchanges.live import LiveMarket, LiveSettings
from exchanges.localbook import LocalBook
from exchanges.market import Health, VenueStatus
from exchanges.registry import adapters_for
from exchanges.venues import DEFAULT_SPECS, VENUE_IDS
from tests.exchanges.servers import Reply, VenueServer

DEPTH = 100


class Walk:
    """A book that changes a few levels near the top each step (the generator's truth)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.book = LocalBook("gen", "USD")
        self.bids = [(self.price(9_099_900 - i * 10), self.size()) for i in range(DEPTH)]
        self.asks = [(self.price(9_100_000 + i * 10), self.size()) for i in range(DEPTH)]
        self.book.apply(self.bids, self.asks)

    @staticmethod
    def price(cents: int) -> str:
        return f"{cents // 100}.{cents % 100:02d}"

    def size(self) -> str:
        return f"{self.rng.randrange(1, 10**8) / 10**8:.8f}"

    def step(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """New sizes for 1-3 resting levels near the top (the book stays DEPTH deep)."""
        bids: list[tuple[str, str]] = []
        asks: list[tuple[str, str]] = []
        for _ in range(self.rng.randint(1, 3)):
            i = min(int(self.rng.expovariate(0.2)), DEPTH - 1)
            if self.rng.random() < 0.5:
                bids.append((self.book.top_bids(i + 1)[i][0], self.size()))
            else:
                asks.append((self.book.top_asks(i + 1)[i][0], self.size()))
        self.book.apply(bids, asks)
        return bids, asks


def binance_feed(n: int, symbol: str) -> tuple[str, list[str]]:
    walk = Walk(1)
    snap = json.dumps({"lastUpdateId": 1000, "bids": walk.bids, "asks": walk.asks})
    out = []
    for i in range(n):
        b, a = walk.step()
        event = {"e": "depthUpdate", "E": 1, "s": symbol, "U": 1001 + i, "u": 1001 + i}
        out.append(json.dumps({**event, "b": b, "a": a}))
    return snap, out


def bitstamp_feed(n: int) -> tuple[str, list[str]]:
    walk = Walk(2)
    snap = json.dumps({"microtimestamp": "1000", "bids": walk.bids, "asks": walk.asks})
    out = ['{"event":"bts:subscription_succeeded","channel":"diff_order_book_btcusd","data":{}}']
    for i in range(n):
        b, a = walk.step()
        data = {"microtimestamp": str(2000 + i), "bids": b, "asks": a}
        out.append(json.dumps({"data": data, "channel": "diff_order_book_btcusd", "event": "data"}))
    return snap, out


def okx_feed(n: int) -> list[str]:
    walk = Walk(3)

    def msg(action: str, b: list[tuple[str, str]], a: list[tuple[str, str]], seq: int) -> str:
        crc = okx_crc32(walk.book.top_bids(25), walk.book.top_asks(25))
        entry = {
            "asks": [[p, s, "0", "1"] for p, s in a],
            "bids": [[p, s, "0", "1"] for p, s in b],
            "ts": "1700000000000",
            "checksum": crc,
            "seqId": seq,
            "prevSeqId": -1 if action == "snapshot" else seq - 1,
        }
        arg = {"channel": "books", "instId": "BTC-USDT"}
        return json.dumps({"arg": arg, "action": action, "data": [entry]})

    out = [msg("snapshot", walk.bids, walk.asks, 100)]
    for i in range(n):
        b, a = walk.step()
        out.append(msg("update", b, a, 101 + i))
    return out


def coinbase_feed(n: int) -> list[str]:
    walk = Walk(4)

    def msg(kind: str, b: list[tuple[str, str]], a: list[tuple[str, str]], seq: int) -> str:
        t = "2026-11-26T00:00:00.000000Z"
        ups = [{"side": "bid", "event_time": t, "price_level": p, "new_quantity": s} for p, s in b]
        ups += [
            {"side": "offer", "event_time": t, "price_level": p, "new_quantity": s} for p, s in a
        ]
        event = {"type": kind, "product_id": "BTC-USD", "updates": ups}
        return json.dumps(
            {"channel": "l2_data", "timestamp": t, "sequence_num": seq, "events": [event]}
        )

    out = [msg("snapshot", walk.bids, walk.asks, 0)]
    for i in range(n):
        b, a = walk.step()
        out.append(msg("update", b, a, 1 + i))
    return out


def kraken_feed(n: int) -> list[str]:
    from exchanges.kraken_synth import synthetic_feed

    return synthetic_feed(n, DEPTH, per_message=2)


def paced(messages: list[str], rate: float, subscribes: int) -> Callable[..., object]:
    """A socket handler: wait for the client's subscriptions, then send at ``rate``/s."""

    async def handler(ws: web.WebSocketResponse, request: web.Request) -> None:
        for _ in range(subscribes):
            await ws.receive()
        start = time.monotonic()
        for i, text in enumerate(messages):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if ws.closed:
                return
            try:
                await ws.send_str(text)
            except ConnectionError:
                return  # the client went away (end of the run)
        async for _ in ws:
            pass

    return handler


class ServerThread:
    """The venue servers on their own loop in a background thread."""

    def __init__(self, seconds: float, rate: float) -> None:
        self.seconds, self.rate = seconds, rate
        self.urls: dict[str, tuple[str, str]] = {}
        self.ready = threading.Event()
        self.stop: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self.main()), daemon=True)

    async def main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stop = asyncio.Event()
        n = int(self.seconds * self.rate) + 50
        servers = []
        for venue in VENUE_IDS:
            srv = await VenueServer().__aenter__()
            servers.append(srv)
            self.urls[venue] = (srv.url, srv.ws_url)
            if venue in ("binance", "binanceus"):
                symbol = "BTCUSDT" if venue == "binance" else "BTCUSD"
                snap, msgs = binance_feed(n, symbol)
                srv.rest("/api/v3/depth", Reply(snap))
                path = f"/ws/{symbol.lower()}@depth@100ms"
                srv.ws(path, paced(msgs, self.rate, 0))  # type: ignore[arg-type]
            elif venue == "bitstamp":
                snap, msgs = bitstamp_feed(n)
                srv.rest("/api/v2/order_book/btcusd/", Reply(snap))
                srv.ws("/", paced(msgs, self.rate, 1))  # type: ignore[arg-type]
            elif venue == "kraken":
                srv.ws("/", paced(kraken_feed(n), self.rate, 1))  # type: ignore[arg-type]
            elif venue == "okx":
                srv.ws("/", paced(okx_feed(n), self.rate, 1))  # type: ignore[arg-type]
            else:
                srv.ws("/", paced(coinbase_feed(n), self.rate, 2))  # type: ignore[arg-type]
        self.ready.set()
        await self.stop.wait()
        for srv in servers:
            await srv.__aexit__(None, None, None)

    def start(self) -> None:
        self.thread.start()
        self.ready.wait()

    def close(self) -> None:
        if self.loop is not None and self.stop is not None:
            self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=5)


async def measure(urls: dict[str, tuple[str, str]], seconds: float) -> None:
    adapters = adapters_for(VENUE_IDS)
    venues = [v for v in VENUE_IDS if v in adapters]
    specs = {
        v: DEFAULT_SPECS[v].with_overrides(rest_url=urls[v][0], ws_url=urls[v][1]) for v in venues
    }
    # Binance's USDT book for a USD plan at parity: no rate source needed for the bench.
    market = LiveMarket(specs, "USD", settings=LiveSettings(stale_after_s=30.0), peg_parity=True)
    updates = dict.fromkeys(venues, 0)
    notes: dict[str, set[str]] = {v: set() for v in venues}

    def listen(status: VenueStatus) -> None:
        updates[status.venue] += 1
        if status.note:
            notes[status.venue].add(status.note)

    market.add_listener(listen)
    await market.start()
    await asyncio.sleep(2.0)  # connect and sync before measuring
    base = dict(updates)
    cpu0, wall0 = time.thread_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
    health = {v: market.status(v).health for v in venues}
    await market.close()
    total = sum(updates[v] - base[v] for v in venues)
    print(f"Python {platform.python_version()} on {platform.machine()}; {len(venues)} venues")
    for v in venues:
        extra = f"  notes: {sorted(notes[v])}" if notes[v] else ""
        print(f"  {v:10} {health[v].value:10} {(updates[v] - base[v]) / wall:6.1f} books/s{extra}")
    print(f"book updates handled: {total} in {wall:.1f} s ({total / wall:.1f}/s)")
    print(
        f"CPU of the feed thread: {cpu:.3f} s over {wall:.1f} s = {100 * cpu / wall:.2f}% of one core"
    )
    print("goal: < 3% of one core")
    if any(h is not Health.LIVE for h in health.values()):
        print("warning: not every venue was live at the end")


def main(seconds: float, rate: float) -> None:
    servers = ServerThread(seconds + 5, rate)
    servers.start()
    try:
        asyncio.run(measure(servers.urls, seconds))
    finally:
        servers.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=10.0, help="messages/s per venue")
    args = parser.parse_args()
    main(args.seconds, args.rate)
