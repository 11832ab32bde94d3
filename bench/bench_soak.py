"""Soak: six local venues in their real formats, with trouble, and the engine deciding tranches.

Run: .venv/bin/python bench/bench_soak.py [--minutes 10] [--every 3] [--seed 1]

The venues run in a child process (their CPU is not the client's), each on its own
127.0.0.1 port, speaking its wire format: Binance and Binance.US depth diffs after a
REST snapshot (~10 msg/s), Bitstamp microtimestamp diffs, Kraken v2 with a CRC32 on
every message, OKX books with the seqId chain and a signed CRC32, Coinbase Advanced
Trade level2 numbered by sequence_num (Kraken, OKX and Coinbase in bursts). Every
venue keeps one true book that its socket diffs and its REST snapshots both follow,
and suffers, at random:

- quiet stretches: no diffs for 15-60 s, only the venue's liveness signal (Kraken and
  Coinbase heartbeats every second, Binance ping frames every 20 s, answers to OKX
  "ping" and Bitstamp "bts:heartbeat", pongs to WebSocket pings);
- a lost message (not on Bitstamp, whose diff channel has no gap detector: its feed
  re-seeds the book from REST every 5 minutes instead, counted among its resyncs);
- a venue-initiated close with its own manner (Binance's 24-hour close, Kraken's and
  Coinbase's maintenance close codes, OKX's idle close 4004, Bitstamp's
  ``bts:request_reconnect``);
- a dead socket: open but silent, pings unanswered, for 5-40 s, then dropped;
- slow REST: most answers in 5-50 ms, some in 0.2-0.8 s, some past the 3 s timeout.

The client is the product's own ``LiveMarket`` (every venue streaming, REST fallback per
decision) and ``Executor``: a tranche every ``--every`` seconds of wall time on a clock
running fast enough that the plan spans days. It prints messages applied, reconnects,
resyncs, tranches decided, where each decision's books came from, venues left out and
why, RSS and asyncio tasks at start and end, and CPU (client, venues, each core).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import random
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import WSMsgType, web

from dca.events import Event, TrancheFilled, TrancheSkipped
from dca.executor import Executor
from dca.plan import Plan
from exchanges.checksums import KRAKEN_LEVELS, OKX_LEVELS, kraken_crc32, okx_crc32
from exchanges.clock import RealClock, ScaledClock
from exchanges.errors import VenueError
from exchanges.live import FeedStats, LiveMarket, LiveSettings
from exchanges.localbook import LocalBook
from exchanges.venues import DEFAULT_SPECS, VENUE_IDS
from tests.exchanges.servers import Reply, VenueServer

LEVELS = 100
Side = list[tuple[str, str]]
# A diff for the sockets: (update id, bids, asks, lost on the way).
Item = tuple[int, Side, Side, bool]

# -- the venues (child process) ----------------------------------------------------------------


class Truth:
    """A venue's true book: 100 price points a side whose sizes change, vanish and return."""

    def __init__(self, rng: random.Random, mid_cents: int) -> None:
        self.rng = rng
        self.book = LocalBook("truth", "USD")
        self.bid_prices = [self.price(mid_cents - 5 - i * 10) for i in range(LEVELS)]
        self.ask_prices = [self.price(mid_cents + 5 + i * 10) for i in range(LEVELS)]
        self.book.apply(
            [(p, self.size()) for p in self.bid_prices], [(p, self.size()) for p in self.ask_prices]
        )
        self.id = 1000

    @staticmethod
    def price(cents: int) -> str:
        return f"{cents // 100}.{cents % 100:02d}"

    def size(self) -> str:
        return f"{self.rng.randrange(1, 10**8) / 10**8:.8f}"

    def step(self) -> tuple[Side, Side]:
        """Change 1-3 levels near the top (a size, or a level gone or back); the new id."""
        bids: Side = []
        asks: Side = []
        for _ in range(self.rng.randint(1, 3)):
            i = min(int(self.rng.expovariate(0.15)), LEVELS - 1)
            is_bid = self.rng.random() < 0.5
            price = (self.bid_prices if is_bid else self.ask_prices)[i]
            side = self.book.bids if is_bid else self.book.asks
            key = -Decimal(price) if is_bid else Decimal(price)
            present = key in side
            # Keep the top level on each side, so the book never empties or crosses.
            gone = present and i > 0 and self.rng.random() < 0.15
            size = "0.00000000" if gone else self.size()
            (bids if is_bid else asks).append((price, size))
        self.book.apply(bids, asks)
        self.id += 1
        return bids, asks

    def top(self, n: int = LEVELS) -> tuple[Side, Side]:
        return self.book.top_bids(n), self.book.top_asks(n)


@dataclass
class Trouble:
    """What a venue is going through now; the fault scheduler sets it."""

    quiet_until: float = 0.0
    dead_until: float = 0.0
    slow_until: float = 0.0
    lose_next: bool = False
    close_now: bool = False


@dataclass
class VenueStats:
    sent: int = 0
    lost: int = 0
    quiet: int = 0
    closes: int = 0
    dead: int = 0
    slow: int = 0
    beats: int = 0


# Mean messages per second per venue, and whether they come in bursts.
RATES = {"binance": (10, False), "binanceus": (10, False), "bitstamp": (5, False),
         "kraken": (6, True), "okx": (8, True), "coinbase": (8, True)}  # fmt: skip
# How each venue closes a socket on its own: Binance after 24 h (1000), Kraken and
# Coinbase for maintenance (1001 going away), OKX an idle socket (4004).
CLOSE_CODES = {"binance": 1000, "binanceus": 1000, "kraken": 1001, "coinbase": 1001, "okx": 4004}


class Venue:
    """One venue: its truth, its connections, its trouble, its wire format."""

    def __init__(self, venue: str, rng: random.Random) -> None:
        self.venue = venue
        self.rng = rng
        self.truth = Truth(rng, 9_100_000 + rng.randrange(-20_000, 20_000))
        self.conns: set[asyncio.Queue[Item]] = set()
        self.trouble = Trouble()
        self.stats = VenueStats()
        self.server = VenueServer(autoping=False, record=False)

    # REST ------------------------------------------------------------------------------------

    def rest_delay(self) -> float:
        r = self.rng.random()
        slow = time.monotonic() < self.trouble.slow_until
        if r < (0.5 if slow else 0.03):
            self.stats.slow += 1
            return self.rng.uniform(0.2, 0.8) if r < (0.35 if slow else 0.025) else 3.5
        return self.rng.uniform(0.005, 0.05)

    def rest_body(self, request: web.Request) -> str:
        bids, asks = self.truth.top()
        v = self.venue
        if v in ("binance", "binanceus"):
            return json.dumps({"lastUpdateId": self.truth.id, "bids": bids, "asks": asks})
        if v == "bitstamp":
            micro = 1_700_000_000_000_000 + self.truth.id
            return json.dumps({"timestamp": str(micro // 10**6), "microtimestamp": str(micro),
                               "bids": bids, "asks": asks})  # fmt: skip
        if v == "kraken":
            book = {"asks": [[p, s, 1700000000] for p, s in asks],
                    "bids": [[p, s, 1700000000] for p, s in bids]}  # fmt: skip
            return json.dumps({"error": [], "result": {"XXBTZUSD": book}})
        if v == "okx":
            entry = {"asks": [[p, s, "0", "1"] for p, s in asks],
                     "bids": [[p, s, "0", "1"] for p, s in bids], "ts": "1700000000000"}  # fmt: skip
            return json.dumps({"code": "0", "msg": "", "data": [entry]})
        return json.dumps({"bids": [[p, s, 1] for p, s in bids],
                           "asks": [[p, s, 1] for p, s in asks], "sequence": self.truth.id})  # fmt: skip

    # sockets ----------------------------------------------------------------------------------

    async def start(self) -> tuple[str, str]:
        await self.server.__aenter__()
        paths = {
            "binance": ("/api/v3/depth", "/ws/btcusdt@depth@100ms"),
            "binanceus": ("/api/v3/depth", "/ws/btcusd@depth@100ms"),
            "bitstamp": ("/api/v2/order_book/btcusd/", "/"),
            "kraken": ("/0/public/Depth", "/"),
            "okx": ("/api/v5/market/books", "/"),
            "coinbase": ("/products/BTC-USD/book", "/"),
        }
        rest, ws = paths[self.venue]
        self.server.rest(rest, Reply(self.rest_body, delay=self.rest_delay))
        self.server.ws(ws, self.connection)
        return self.server.url, self.server.ws_url

    async def connection(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        """One client connection: subscription, snapshot, then diffs and liveness signals."""
        v = self.venue
        subscribes = {"binance": 0, "binanceus": 0, "coinbase": 2}.get(v, 1)
        for _ in range(subscribes):
            msg = await ws.receive()
            if msg.type is not WSMsgType.TEXT:
                return
        queue: asyncio.Queue[Item] = asyncio.Queue()
        self.conns.add(queue)
        fmt = Wire(v)
        try:
            for text in fmt.hello(self.truth):
                await ws.send_str(text)
            reader = asyncio.create_task(self.read(ws, fmt))
            try:
                await self.write(ws, queue, fmt)
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
        except ConnectionError:
            pass
        finally:
            self.conns.discard(queue)

    async def read(self, ws: web.WebSocketResponse, fmt: Wire) -> None:
        """Answer pings and keep-alives, unless the socket is playing dead."""
        async for msg in ws:
            if time.monotonic() < self.trouble.dead_until:
                continue
            if msg.type is WSMsgType.PING:
                await ws.pong(msg.data)
            elif msg.type is WSMsgType.TEXT:
                answer = fmt.answer(msg.data)
                if answer is not None:
                    await ws.send_str(answer)

    async def write(self, ws: web.WebSocketResponse, queue: asyncio.Queue[Item], fmt: Wire) -> None:
        last_beat = last_ping = time.monotonic()
        while not ws.closed:
            item: Item | None
            try:
                item = await asyncio.wait_for(queue.get(), timeout=0.25)
            except TimeoutError:
                item = None
            now = time.monotonic()
            if now < self.trouble.dead_until:
                # Open but dead: nothing sent, pings unanswered; then the venue drops it.
                while not queue.empty():
                    queue.get_nowait()
                await asyncio.sleep(self.trouble.dead_until - now)
                await ws.close(code=1011)
                return
            if self.trouble.close_now:
                for text in fmt.goodbye():
                    await ws.send_str(text)
                await ws.close(code=CLOSE_CODES.get(self.venue, 1000))
                self.stats.closes += 1
                return
            if item is not None:
                uid, bids, asks, lost = item
                if lost:
                    fmt.lose()
                else:
                    await ws.send_str(fmt.diff(uid, bids, asks, self.truth))
                    self.stats.sent += 1
            if fmt.beats and now - last_beat >= 1.0:
                await ws.send_str(fmt.beat())
                self.stats.beats += 1
                last_beat = now
            if fmt.pings and now - last_ping >= 20.0:
                await ws.ping()
                last_ping = now

    async def run(self, stop: asyncio.Event) -> None:
        """Produce diffs at the venue's rate (in bursts where it bursts)."""
        rate, bursty = RATES[self.venue]
        while not stop.is_set():
            if bursty:
                await asyncio.sleep(self.rng.expovariate(rate / 6))
                count = self.rng.randint(2, 10)
            else:
                await asyncio.sleep(1 / rate)
                count = 1
            for _ in range(count):
                quiet = time.monotonic() < self.trouble.quiet_until
                if quiet:
                    break
                bids, asks = self.truth.step()
                lost = self.trouble.lose_next
                if lost:
                    # The truth moved on; the sockets never hear of it.
                    self.trouble.lose_next = False
                    self.stats.lost += 1
                for queue in list(self.conns):
                    queue.put_nowait((self.truth.id, bids, asks, lost))
                if bursty:
                    await asyncio.sleep(0.01)

    async def faults(self, stop: asyncio.Event) -> None:
        """Now and then, some trouble (a soak squeezes a month of it into minutes)."""
        while not stop.is_set():
            await asyncio.sleep(self.rng.expovariate(1 / 25))
            now = time.monotonic()
            if now < max(self.trouble.dead_until, self.trouble.quiet_until):
                continue
            pick = self.rng.random()
            if pick < 0.35:
                self.trouble.quiet_until = now + self.rng.uniform(15, 60)
                self.stats.quiet += 1
            elif pick < 0.55:
                if self.venue != "bitstamp":
                    self.trouble.lose_next = True
            elif pick < 0.75:
                self.trouble.close_now = True
                await asyncio.sleep(0.3)
                self.trouble.close_now = False
            elif pick < 0.85:
                self.trouble.dead_until = now + self.rng.uniform(5, 40)
                self.stats.dead += 1
            else:
                self.trouble.slow_until = now + 20


class Wire:
    """One connection's view of a venue's format (Coinbase numbers messages per connection)."""

    def __init__(self, venue: str) -> None:
        self.venue = venue
        self.seq = 0
        self.beats = venue in ("kraken", "coinbase")
        self.pings = venue in ("binance", "binanceus")

    def _next(self) -> int:
        seq, self.seq = self.seq, self.seq + 1
        return seq

    def lose(self) -> None:
        """A message lost on the way still took its number (Coinbase's sequence_num)."""
        if self.venue == "coinbase":
            self._next()

    def hello(self, truth: Truth) -> list[str]:
        v = self.venue
        bids, asks = truth.top()
        if v == "kraken":
            status = '{"channel":"status","type":"update","data":[{"system":"online"}]}'
            ack = '{"method":"subscribe","result":{"channel":"book"},"success":true}'
            return [status, ack, _kraken("snapshot", bids, asks, truth)]
        if v == "okx":
            ack = '{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"}}'
            return [ack, _okx("snapshot", bids, asks, truth, -1)]
        if v == "coinbase":
            subs = {"channel": "subscriptions", "sequence_num": self._next(), "events": []}
            return [json.dumps(subs), self._coinbase("snapshot", bids, asks)]
        if v == "bitstamp":
            return ['{"event":"bts:subscription_succeeded","channel":"diff_order_book_btcusd"}']
        return []

    def diff(self, uid: int, bids: Side, asks: Side, truth: Truth) -> str:
        v = self.venue
        if v in ("binance", "binanceus"):
            symbol = "BTCUSDT" if v == "binance" else "BTCUSD"
            return json.dumps({"e": "depthUpdate", "E": int(time.time() * 1000), "s": symbol,
                               "U": uid, "u": uid, "b": bids, "a": asks})  # fmt: skip
        if v == "bitstamp":
            data = {"microtimestamp": str(1_700_000_000_000_000 + uid), "bids": bids, "asks": asks}
            return json.dumps({"data": data, "channel": "diff_order_book_btcusd", "event": "data"})
        if v == "kraken":
            return _kraken("update", bids, asks, truth)
        if v == "okx":
            return _okx("update", bids, asks, truth, uid - 1, uid)
        return self._coinbase("update", bids, asks)

    def beat(self) -> str:
        if self.venue == "kraken":
            return '{"channel":"heartbeat"}'
        event = {"current_time": "2026-12-02 07:00:00 +0000 UTC", "heartbeat_counter": self.seq}
        msg = {"channel": "heartbeats", "sequence_num": self._next(), "events": [event]}
        return json.dumps(msg)

    def answer(self, text: str) -> str | None:
        if self.venue == "okx" and text == "ping":
            return "pong"
        if self.venue == "bitstamp" and "bts:heartbeat" in text:
            return '{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}'
        return None

    def goodbye(self) -> list[str]:
        if self.venue == "bitstamp":
            return ['{"event":"bts:request_reconnect","channel":"","data":""}']
        return []

    def _coinbase(self, kind: str, bids: Side, asks: Side) -> str:
        t = "2026-12-02T07:00:00.000000Z"
        ups = [{"side": "bid", "event_time": t, "price_level": p, "new_quantity": s}
               for p, s in bids]  # fmt: skip
        ups += [{"side": "offer", "event_time": t, "price_level": p, "new_quantity": s}
                for p, s in asks]  # fmt: skip
        event = {"type": kind, "product_id": "BTC-USD", "updates": ups}
        msg = {"channel": "l2_data", "timestamp": t, "sequence_num": self._next(),
               "events": [event]}  # fmt: skip
        return json.dumps(msg)


def _kraken(kind: str, bids: Side, asks: Side, truth: Truth) -> str:
    crc = kraken_crc32(truth.book.top_asks(KRAKEN_LEVELS), truth.book.top_bids(KRAKEN_LEVELS))

    def levels(side: Side) -> str:
        return ",".join(f'{{"price":{p},"qty":{q}}}' for p, q in side)

    return (
        f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"BTC/USD",'
        f'"bids":[{levels(bids)}],"asks":[{levels(asks)}],"checksum":{crc}}}]}}'
    )


def _okx(kind: str, bids: Side, asks: Side, truth: Truth, prev: int, seq: int | None = None) -> str:
    crc = okx_crc32(truth.book.top_bids(OKX_LEVELS), truth.book.top_asks(OKX_LEVELS))
    entry = {"asks": [[p, s, "0", "1"] for p, s in asks],
             "bids": [[p, s, "0", "1"] for p, s in bids], "ts": "1700000000000",
             "checksum": crc, "seqId": truth.id if seq is None else seq, "prevSeqId": prev}  # fmt: skip
    return json.dumps({"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": kind,
                       "data": [entry]})  # fmt: skip


async def serve(seed: int) -> None:
    """The child process: start the venues, print their URLs, run until stdin closes."""
    rng = random.Random(seed)
    venues = [Venue(v, random.Random(rng.random())) for v in VENUE_IDS]
    urls = {v.venue: await v.start() for v in venues}
    stop = asyncio.Event()
    tasks = [asyncio.create_task(v.run(stop)) for v in venues]
    tasks += [asyncio.create_task(v.faults(stop)) for v in venues]
    print(json.dumps(urls), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # the parent closes it to stop us
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    stats = {v.venue: v.stats.__dict__ for v in venues}
    print(json.dumps(stats), flush=True)
    for v in venues:
        await v.server.__aexit__(None, None, None)


# -- the client -----------------------------------------------------------------------------------


@dataclass
class Tally:
    """A journal that counts what the decisions saw (and keeps nothing else)."""

    filled: int = 0
    skipped: int = 0
    sources: Counter[tuple[str, str]] = field(default_factory=Counter)
    left_out: Counter[tuple[str, str]] = field(default_factory=Counter)
    example: dict[tuple[str, str], str] = field(default_factory=dict)
    oldest: dict[str, float] = field(default_factory=dict)

    async def record(self, event: Event) -> None:
        if not isinstance(event, TrancheFilled | TrancheSkipped):
            return
        if isinstance(event, TrancheFilled):
            self.filled += 1
        else:
            self.skipped += 1
        for q in event.quotes:
            if isinstance(q.outcome, VenueError):
                key = (q.venue, q.outcome.kind.value)
                self.left_out[key] += 1
                self.example.setdefault(key, str(q.outcome))
            elif q.source is not None:
                self.sources[(q.venue, q.source)] += 1
                age = q.book_age_s or 0.0
                self.oldest[q.venue] = max(self.oldest.get(q.venue, 0.0), age)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid``."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cores() -> list[tuple[int, int]]:
    """(busy, total) jiffies per core."""
    out = []
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                n = [int(x) for x in line.split()[1:]]
                idle = n[3] + n[4]
                out.append((sum(n) - idle, sum(n)))
    return out


@dataclass
class Result:
    """What the client saw over the soak."""

    plan: Plan
    speed: float
    tally: Tally
    stats: dict[str, FeedStats]
    rss: tuple[float, float]
    tasks: tuple[int, int, int]
    cpu: float
    wall: float
    cores: list[float]
    samples: list[tuple[float, float, int]]
    peak_mb: float


async def soak(urls: dict[str, tuple[str, str]], minutes: float, every: float) -> Result:
    specs = {
        v: DEFAULT_SPECS[v].with_overrides(rest_url=urls[v][0], ws_url=urls[v][1])
        for v in VENUE_IDS
    }
    # USDT books count as USD (no rate source needed locally); real timeouts and limits.
    market = LiveMarket(specs, "USD", clock=RealClock(), settings=LiveSettings(), peg_parity=True)
    tranches = max(1, int(minutes * 60 / every))
    speed = 3600 / every  # one tranche an hour of plan time, every ``every`` s of wall time
    plan = Plan(
        amount=Decimal("0.01") * tranches,
        duration_s=3600.0 * tranches,
        tranches=tranches,
        quote="USD",
        venues=tuple(VENUE_IDS),
    )
    tally = Tally()
    await market.start()
    await asyncio.sleep(3.0)  # connect and sync
    rss0, tasks0 = rss_mb(), len(asyncio.all_tasks())
    cpu0, wall0, cores0 = time.process_time(), time.perf_counter(), cores()
    executor = Executor(plan, market, tally, ScaledClock(speed), retries=0)
    samples: list[tuple[float, float, int]] = []

    async def sample() -> None:
        while True:
            await asyncio.sleep(60)
            samples.append((time.perf_counter() - wall0, rss_mb(), len(asyncio.all_tasks())))

    sampler = asyncio.create_task(sample())
    await executor.run()
    sampler.cancel()
    await asyncio.gather(sampler, return_exceptions=True)
    rss1, tasks1 = rss_mb(), len(asyncio.all_tasks())
    cpu, wall, cores1 = time.process_time() - cpu0, time.perf_counter() - wall0, cores()
    stats = market.stats()
    await market.close()
    return Result(
        plan=plan,
        speed=speed,
        tally=tally,
        stats=stats,
        rss=(rss0, rss1),
        tasks=(tasks0, tasks1, len(asyncio.all_tasks())),
        cpu=cpu,
        wall=wall,
        cores=[
            (b1 - b0) / max(1, t1 - t0) for (b0, t0), (b1, t1) in zip(cores0, cores1, strict=True)
        ],
        samples=samples,
        peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


def report(r: Result, server: dict[str, dict[str, int]], server_cpu: float) -> None:
    tally, plan, wall = r.tally, r.plan, r.wall
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores "
        f"(a shared machine: other work ran beside this); {wall / 60:.1f} min wall"
    )
    print(
        f"plan: {plan.tranches} tranches, one every {wall / plan.tranches:.1f} s of wall time "
        f"(clock {r.speed:.0f}x: the plan spans {plan.duration_s / 86400:.1f} days)"
    )
    print()
    print(
        "venue       applied  frames  reconnects  resyncs  pings  stream  rest  oldest(s)"
        "  | sent  lost  quiet  closes  dead  slowREST"
    )
    totals: Counter[str] = Counter()
    for v in VENUE_IDS:
        s = r.stats[v]
        srv = server.get(v, {})
        totals.update({"applied": s.applied, "reconnects": s.reconnects, "resyncs": s.resyncs})
        print(
            f"{v:10} {s.applied:8} {s.frames:7} {s.reconnects:11} {s.resyncs:8} {s.pings:6} "
            f"{tally.sources[(v, 'stream')]:7} {tally.sources[(v, 'rest')]:5} "
            f"{tally.oldest.get(v, 0.0):9.2f}  | {srv.get('sent', 0):5} {srv.get('lost', 0):5} "
            f"{srv.get('quiet', 0):6} {srv.get('closes', 0):7} {srv.get('dead', 0):5} "
            f"{srv.get('slow', 0):9}"
        )
    print()
    print(
        f"messages applied: {totals['applied']}  reconnects: {totals['reconnects']}  "
        f"resyncs: {totals['resyncs']}"
    )
    decided = tally.filled + tally.skipped
    print(
        f"tranches decided: {decided} of {plan.tranches} "
        f"({tally.filled} filled, {tally.skipped} skipped)"
    )
    decisions = decided * len(VENUE_IDS)
    out = sum(tally.left_out.values())
    print(f"venue decisions: {decisions}, priced {decisions - out}, left out {out}")
    for (venue, kind), n in sorted(tally.left_out.items()):
        print(f"  left out {n:4}x  {venue:10} {kind:12} e.g. {tally.example[(venue, kind)]}")
    rss0, rss1 = r.rss
    print(
        f"RSS: {rss0:.1f} MB at start, {rss1:.1f} MB at end ({(rss1 - rss0) / rss0:+.1%}); "
        f"peak {r.peak_mb:.1f} MB"
    )
    for at, rss, tasks in r.samples:
        print(f"  at {at / 60:4.1f} min: RSS {rss:.1f} MB, {tasks} tasks")
    t0, t1, t2 = r.tasks
    print(f"asyncio tasks: {t0} at start, {t1} at end, {t2} after close")
    print(
        f"CPU: client {100 * r.cpu / wall:.1f}% of one core; venues (child process) "
        f"{100 * server_cpu / wall:.1f}%; each core (whole machine): "
        + ", ".join(f"{100 * c:.0f}%" for c in r.cores)
    )


def main(minutes: float, every: float, seed: int) -> None:
    # The feeds log every venue close and resync as a warning: the soak counts them instead.
    logging.getLogger("exchanges").setLevel(logging.ERROR)
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--seed", str(seed)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdin is not None and child.stdout is not None
    try:
        urls = {k: (v[0], v[1]) for k, v in json.loads(child.stdout.readline()).items()}
        cpu_before = proc_cpu_s(child.pid)
        result = asyncio.run(soak(urls, minutes, every))
        server_cpu = proc_cpu_s(child.pid) - cpu_before
        child.stdin.close()
        server = json.loads(child.stdout.readline() or "{}")
        child.wait(10)
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(5)
    report(result, server, server_cpu)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="wall time of the soak")
    parser.add_argument("--every", type=float, default=3.0, help="wall seconds between tranches")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.seed))
    else:
        main(args.minutes, args.every, args.seed)
