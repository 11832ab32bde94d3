"""Book maintenance: diff updates applied per second on one core, 1,000-level book.

Run: .venv/bin/python bench/bench_book.py [--updates N]
Goal: at least 100,000 level updates/s. Figures:
  1. LocalBook alone (SortedDict set/delete from wire text);
  2. Binance's full path per message: JSON decode, validation, U/u check, apply, and the
     immutable top-of-book handed to pricing (one level per message, then ten);
  3. Kraken v2 with the CRC32 checksum verified on every message (exchanges/kraken_synth.py),
     one and five level updates per message; then through ``on_message``, which also hands
     pricing the immutable book after every message.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from exchanges.binance import BinanceAdapter
from exchanges.kraken import KrakenSync
from exchanges.kraken_synth import SYMBOL, replay, synthetic_feed
from exchanges.localbook import LocalBook

DEPTH = 1000
GOAL = 100_000


def price(tick: int) -> str:
    """A price in wire text (cents)."""
    return f"{tick // 100}.{tick % 100:02d}"


def random_changes(n: int, seed: int = 1) -> list[tuple[bool, str, str]]:
    """``n`` level changes near the top of a 1,000-level book: (is bid, price, size)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        bid = rng.random() < 0.5
        offset = min(int(rng.expovariate(0.01)), DEPTH * 2)
        tick = 9_099_900 - offset if bid else 9_100_000 + offset
        size = "0" if rng.random() < 0.3 else f"{rng.randrange(1, 10**8) / 10**8:.8f}"
        out.append((bid, price(tick), size))
    return out


def seeded_book() -> LocalBook:
    book = LocalBook("binance", "USDT")
    book.apply(
        [(price(9_099_900 - i), "1.00000000") for i in range(DEPTH)],
        [(price(9_100_000 + i), "1.00000000") for i in range(DEPTH)],
    )
    return book


def bench_localbook(n: int) -> float:
    changes = random_changes(n)
    book = seeded_book()
    started = time.perf_counter()
    for bid, p, s in changes:
        if bid:
            book.set_bid(p, s)
        else:
            book.set_ask(p, s)
    return n / (time.perf_counter() - started)


def bench_binance(n: int, per_message: int) -> tuple[float, float]:
    """Level updates/s and messages/s through ``BinanceSync.on_message``."""
    changes = random_changes(n)
    messages = []
    update_id = 1001
    for i in range(0, n, per_message):
        chunk = changes[i : i + per_message]
        messages.append(
            json.dumps(
                {
                    "e": "depthUpdate",
                    "E": 1,
                    "s": "BTCUSDT",
                    "U": update_id,
                    "u": update_id,
                    "b": [[p, s] for bid, p, s in chunk if bid],
                    "a": [[p, s] for bid, p, s in chunk if not bid],
                }
            )
        )
        update_id += 1
    seed = seeded_book()
    raw = {
        "lastUpdateId": 1000,
        "bids": [list(t) for t in seed.top_bids(DEPTH)],
        "asks": [list(t) for t in seed.top_asks(DEPTH)],
    }
    adapter = BinanceAdapter()
    sync = adapter.new_sync("BTCUSDT", "USDT")
    book, _ = adapter.parse_rest(200, {}, json.dumps(raw).encode(), "USDT", 0.0)
    sync.on_snapshot(book, raw)
    started = time.perf_counter()
    for text in messages:
        sync.on_message(text, 0.0)
    elapsed = time.perf_counter() - started
    return n / elapsed, len(messages) / elapsed


def bench_kraken(n: int, per_message: int, *, priced: bool = False, repeats: int = 3) -> float:
    """Level updates/s through ``KrakenSync``, CRC32 verified on every message (best of runs).

    ``priced``: through ``on_message``, which also hands pricing the immutable book.
    The best of ``repeats`` runs is reported: other work on the machine only slows a run.
    """
    feed = synthetic_feed(n // per_message, DEPTH, per_message=per_message)
    best = 0.0
    for _ in range(repeats):
        if priced:
            sync = KrakenSync(SYMBOL, "USD", DEPTH)
            sync.on_message(feed[0], 0.0)
            started = time.perf_counter()
            for text in feed[1:]:
                sync.on_message(text, 0.0)
        else:
            started = time.perf_counter()
            replay(feed, DEPTH)
        best = max(best, n / (time.perf_counter() - started))
    return best


def main(n: int) -> None:
    print(
        f"Python {platform.python_version()} on {platform.machine()}, one core; {DEPTH}-level book"
    )
    print(f"  LocalBook set/delete                 : {bench_localbook(n):>10,.0f} updates/s")
    for per in (1, 10):
        levels, msgs = bench_binance(n if per > 1 else n // 4, per)
        print(
            f"  Binance on_message, {per:>2} level/msg     : {levels:>10,.0f} updates/s"
            f" ({msgs:,.0f} msgs/s, incl. decode + 200-level book for pricing)"
        )
    for per in (1, 5):
        rate = bench_kraken(n // 4, per)
        verdict = "meets" if rate >= GOAL else "misses"
        print(
            f"  Kraken v2, CRC32 on every msg, {per} lvl/msg: {rate:>10,.0f} updates/s"
            f" ({verdict} the 100k/s goal)"
        )
    priced = bench_kraken(n // 4, 1, priced=True)
    print(f"  Kraken on_message incl. book for pricing: {priced:>10,.0f} updates/s (1 lvl/msg)")
    print("goal: >= 100,000 updates/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=200_000)
    main(parser.parse_args().updates)
