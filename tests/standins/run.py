"""Run a stand-in by hand (or from a bench): ``python -m tests.standins.run binance [PORT]``.

Prints its URL, then serves until interrupted. Key ``standin-key``, secret
``standin-secret`` unless ``--key``/``--secret`` say otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
from decimal import Decimal

from aiohttp import web

from tests.standins.binance import BinanceStandIn


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("venue", choices=["binance", "binanceus"])
    parser.add_argument("port", type=int, nargs="?", default=0)
    parser.add_argument("--key", default="standin-key")
    parser.add_argument("--secret", default="standin-secret")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to answers")
    parser.add_argument("--quote", help="the quote currency (default: USD on binanceus)")
    parser.add_argument(
        "--fill-at-most", type=Decimal, help="fill each order in part: at most this BTC"
    )
    parser.add_argument(
        "--dearer", type=Decimal, default=Decimal(0), help="add this to every ask's price"
    )
    args = parser.parse_args()
    quote = args.quote or ("USD" if args.venue == "binanceus" else "USDT")
    standin = BinanceStandIn(
        key=args.key, secret=args.secret, symbol=f"BTC{quote}", quote=quote, latency=args.latency
    )
    standin.balances = {quote: standin.balances["USDT"], "BTC": standin.balances["BTC"]}
    standin.fill_at_most = args.fill_at_most
    standin.asks = [(price + args.dearer, size) for price, size in standin.asks]
    runner = web.AppRunner(standin.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    print(f"http://127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
