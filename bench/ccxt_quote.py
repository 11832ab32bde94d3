"""A competent ccxt script: the cheapest venue for an amount of BTC, order books walked, fees in.

The anchor ``bench_startup.py`` runs ``btc-dca quote`` against. Venue REST roots come as
``venue=url`` arguments (the bench's local servers); all books are fetched at once.

    python bench/ccxt_quote.py 2 binance=http://127.0.0.1:1234 kraken=http://...
"""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt

# ccxt class, API key in ``urls["api"]``, path prefix, taker fee.
CLIENTS = {
    "binance": ("binance", "public", "/api/v3", "0.001"),
    "binanceus": ("binanceus", "public", "/api/v3", "0.001"),
    "kraken": ("kraken", "public", "", "0.004"),
    "coinbase": ("coinbaseexchange", "public", "", "0.006"),
    "bitstamp": ("bitstamp", "public", "/api", "0.004"),
    "okx": ("okx", "rest", "", "0.001"),
}


async def book(venue: str, client: Any) -> Any:
    """The venue's BTC/USDT book through ccxt's implicit API, parsed by ccxt."""
    if venue in ("binance", "binanceus"):
        raw = await client.public_get_depth({"symbol": "BTCUSDT", "limit": 500})
    elif venue == "kraken":
        raw = next(iter((await client.public_get_depth({"pair": "XBTUSDT"}))["result"].values()))
    elif venue == "coinbase":
        raw = await client.public_get_products_id_book({"id": "BTC-USDT", "level": 2})
    elif venue == "bitstamp":
        raw = await client.public_get_order_book_pair({"pair": "btcusdt"})
    else:
        raw = (await client.public_get_market_books({"instId": "BTC-USDT", "sz": 400}))["data"][0]
    return client.parse_order_book(raw, "BTC/USDT")


def cost(asks: list[list[Any]], amount: Decimal, fee: Decimal) -> Decimal | None:
    """Walk the asks for ``amount`` and add the fee; None when the book is too thin."""
    left, notional = amount, Decimal(0)
    for price, size, *_ in asks:
        take = min(left, Decimal(str(size)))
        notional += take * Decimal(str(price))
        left -= take
        if not left:
            return notional * (1 + fee)
    return None


async def main(amount: Decimal, roots: dict[str, str]) -> None:
    clients = {}
    for venue, root in roots.items():
        cls, key, prefix, _ = CLIENTS[venue]
        client = getattr(ccxt, cls)({"enableRateLimit": False})
        client.urls["api"][key] = root + prefix
        clients[venue] = client
    try:
        books = await asyncio.gather(*(book(v, c) for v, c in clients.items()))
    finally:
        await asyncio.gather(*(c.close() for c in clients.values()))
    totals = {
        v: cost(b["asks"], amount, Decimal(CLIENTS[v][3]))
        for v, b in zip(clients, books, strict=True)
    }
    for venue, total in sorted(totals.items(), key=lambda kv: kv[1] or Decimal("Infinity")):
        print(f"{venue:10} {total:,.2f}" if total is not None else f"{venue:10} too thin")


if __name__ == "__main__":
    roots = dict(arg.split("=", 1) for arg in sys.argv[2:])
    asyncio.run(main(Decimal(sys.argv[1]), roots))
