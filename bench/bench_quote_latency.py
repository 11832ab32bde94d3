"""Quote latency: one book from each of 6 venues over loopback, 50 ms injected per venue.

Run: .venv/bin/python bench/bench_quote_latency.py [--rounds N] [--delay-ms 50]
Goal: the whole 6-venue quote in about one round trip (~50 ms), not six (~300 ms).
Compared, in the same run and against the same servers, with the same six books
fetched through ccxt's async client (skipped with a note when ccxt is not installed:
``uv pip install ccxt`` — it is deliberately not a project dependency).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from exchanges.http import new_session
from exchanges.live import LiveMarket, LiveSettings
from exchanges.registry import adapters_for
from exchanges.venues import DEFAULT_SPECS, VENUE_IDS
from tests.exchanges.servers import Reply, VenueServer

QUOTE = "USDT"
LEVELS = 100


def levels(start: float, step: float, extra: list[Any] | None = None) -> list[list[Any]]:
    """``LEVELS`` price levels as wire text, with venue-specific trailing fields."""
    return [
        [f"{start + i * step:.2f}", f"{0.1 + (i % 7) * 0.05:.8f}", *(extra or [])]
        for i in range(LEVELS)
    ]


def body_for(venue: str) -> str:
    """A BTC/USDT book answer in ``venue``'s real REST format."""
    asks, bids = levels(91_000.0, 0.5), levels(90_999.0, -0.5)
    if venue in ("binance", "binanceus"):
        return json.dumps({"lastUpdateId": 1, "bids": bids, "asks": asks})
    if venue == "bitstamp":
        return json.dumps(
            {"timestamp": "1", "microtimestamp": "1000000", "bids": bids, "asks": asks}
        )
    if venue == "kraken":
        ts = [[p, s, 1_700_000_000] for p, s in (lv[:2] for lv in asks)]
        tb = [[p, s, 1_700_000_000] for p, s in (lv[:2] for lv in bids)]
        return json.dumps({"error": [], "result": {"XBTUSDT": {"asks": ts, "bids": tb}}})
    if venue == "coinbase":
        ca = [[p, s, 3] for p, s in (lv[:2] for lv in asks)]
        cb = [[p, s, 3] for p, s in (lv[:2] for lv in bids)]
        return json.dumps({"bids": cb, "asks": ca, "sequence": 1, "time": "2026-11-26T00:00:00Z"})
    oa = [[p, s, "0", "1"] for p, s in (lv[:2] for lv in asks)]
    ob = [[p, s, "0", "1"] for p, s in (lv[:2] for lv in bids)]
    return json.dumps({"code": "0", "msg": "", "data": [{"asks": oa, "bids": ob, "ts": "1"}]})


async def ours(specs: dict[str, Any], venues: list[str], session: Any) -> float:
    """One 6-venue quote through LiveMarket (a fresh market, as ``btc-dca quote`` makes)."""
    market = LiveMarket(specs, QUOTE, venues=venues, session=session, settings=LiveSettings())
    started = time.perf_counter()
    books = await market.fresh_books(venues)
    elapsed = time.perf_counter() - started
    await market.close()
    bad = {v: str(b) for v, b in books.items() if isinstance(b, Exception)}
    if bad:
        raise SystemExit(f"our client failed: {bad}")
    return elapsed


def ccxt_clients(servers: dict[str, VenueServer]) -> dict[str, Any] | None:
    """ccxt async clients pointed at the local servers, or None without ccxt."""
    try:
        import ccxt.async_support as ccxt
    except ImportError:
        return None
    made: dict[str, Any] = {}
    for venue, cls, key, suffix in (
        ("binance", "binance", "public", "/api/v3"),
        ("binanceus", "binanceus", "public", "/api/v3"),
        ("kraken", "kraken", "public", ""),
        ("coinbase", "coinbaseexchange", "public", ""),
        ("bitstamp", "bitstamp", "public", "/api"),
        ("okx", "okx", "rest", ""),
    ):
        if venue not in servers:
            continue
        client = getattr(ccxt, cls)({"enableRateLimit": False})
        client.urls["api"][key] = servers[venue].url + suffix
        made[venue] = client
    return made


async def ccxt_call(venue: str, client: Any) -> Any:
    """The same book request through ccxt's implicit API, parsed by ccxt."""
    if venue in ("binance", "binanceus"):
        raw = await client.public_get_depth({"symbol": "BTCUSDT", "limit": 500})
    elif venue == "kraken":
        raw = await client.public_get_depth({"pair": "XBTUSDT", "count": 500})
        raw = next(iter(raw["result"].values()))
    elif venue == "coinbase":
        raw = await client.public_get_products_id_book({"id": "BTC-USDT", "level": 2})
    elif venue == "bitstamp":
        raw = await client.public_get_order_book_pair({"pair": "btcusdt"})
    else:
        raw = (await client.public_get_market_books({"instId": "BTC-USDT", "sz": 400}))["data"][0]
    return client.parse_order_book(raw, "BTC/USDT")


async def theirs(clients: dict[str, Any]) -> float:
    """One 6-venue quote through ccxt, all venues at once."""
    started = time.perf_counter()
    books = await asyncio.gather(*(ccxt_call(v, c) for v, c in clients.items()))
    elapsed = time.perf_counter() - started
    assert all(b["asks"] for b in books)
    return elapsed


def ms(values: list[float]) -> str:
    """Median and p90 in milliseconds."""
    ordered = sorted(values)
    p90 = ordered[int(len(ordered) * 0.9) - 1]
    return f"median {statistics.median(values) * 1000:7.1f} ms   p90 {p90 * 1000:7.1f} ms"


async def main(rounds: int, delay_ms: float) -> None:
    adapters = adapters_for(VENUE_IDS)
    venues = [v for v in VENUE_IDS if v in adapters]
    servers: dict[str, VenueServer] = {}
    for venue in venues:
        srv = await VenueServer().__aenter__()
        servers[venue] = srv
    try:
        specs = {}
        for venue in venues:
            spec = DEFAULT_SPECS[venue].with_overrides(rest_url=servers[venue].url)
            path = urlparse(adapters[venue].rest_request(spec, spec.symbols[QUOTE], 500).url).path
            servers[venue].rest(path, Reply(body_for(venue), delay=delay_ms / 1000))
            specs[venue] = spec
        print(f"Python {platform.python_version()} on {platform.machine()}; {len(venues)} venues")
        print(f"venues: {', '.join(venues)}; injected delay {delay_ms:g} ms each; {rounds} rounds")
        if len(venues) < 6:
            print(f"note: only {len(venues)} venue clients in this build")
        async with new_session() as session:
            await ours(specs, venues, session)  # warm-up: connections, imports
            ours_t = [await ours(specs, venues, session) for _ in range(rounds)]
        print(f"btc-dca LiveMarket.fresh_books : {ms(ours_t)}")
        print(
            f"  = {statistics.median(ours_t) * 1000 / delay_ms:.2f} round trips "
            f"(sequential would be {len(venues)})"
        )
        clients = ccxt_clients(servers)
        if clients is None:
            print("ccxt                           : skipped (not installed: uv pip install ccxt)")
            return
        try:
            await theirs(clients)
            theirs_t = [await theirs(clients) for _ in range(rounds)]
        finally:
            await asyncio.gather(*(c.close() for c in clients.values()))
        import ccxt

        print(f"ccxt {ccxt.__version__} async (same servers)  : {ms(theirs_t)}")
        ratio = statistics.median(theirs_t) / statistics.median(ours_t)
        print(f"  btc-dca / ccxt median: {1 / ratio:.2f}x the time")
    finally:
        for srv in servers.values():
            await srv.__aexit__(None, None, None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.delay_ms))
