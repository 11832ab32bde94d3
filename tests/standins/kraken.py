"""A Kraken stand-in on 127.0.0.1: the documented spot REST private API.

It checks each private request the way Kraken documents it (``API-Key``; ``API-Sign`` =
base64 HMAC-SHA512, keyed by the base64-decoded secret, of the URI path followed by
SHA-256(nonce + POST data); a nonce above the last one), applies ``ordermin``,
``costmin``, lot and tick to ``AddOrder`` (``validate=true`` checks only), fills a limit
IOC buy against its ask book with the fee in the quote currency (``oflags=fciq``), and
answers in Kraken's format: HTTP 200 with ``{"error": [...]}`` for every refusal.
``cl_ord_id`` is unique among open orders only (an IOC is closed at once). ``hold_from``
fills an order and then never answers (the crash window). It serves the public
``Depth`` and ``AssetPairs`` too, so a run's decision and its fill see the same book.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

D = Decimal
# Kraken's documented example key (docs.kraken.com, Spot REST Authentication).
DOCS_SECRET = (
    "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
)
ORDERMIN = D("0.0001")
COSTMIN = D("0.5")
TICK = D("0.1")
TAKER = D("0.0040")


def sign(secret: str, path: str, nonce: str, post_data: str) -> str:
    """Kraken's API-Sign: base64 HMAC-SHA512(b64decode(secret), path + SHA256(nonce + data))."""
    digest = hashlib.sha256((nonce + post_data).encode()).digest()
    mac = hmac.new(base64.b64decode(secret), path.encode() + digest, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


def _answer(result: object = None, errors: list[str] | None = None) -> web.Response:
    body: dict[str, object] = {"error": errors or []}
    if result is not None:
        body["result"] = result
    return web.json_response(body)


def _txid(n: int) -> str:
    letters = string.ascii_uppercase + string.digits
    raw = "".join(letters[(n * 7 + i * 13) % len(letters)] for i in range(16))
    return f"O{raw[:5]}-{raw[5:10]}-{raw[10:16]}"


@dataclass
class KrakenStandIn:
    """State and behaviour of the stand-in; ``app()`` serves it."""

    key: str = "standin-kraken-key"
    secret: str = DOCS_SECRET
    pair: str = "XBTUSD"
    result_key: str = "XXBTZUSD"
    quote: str = "USD"
    asks: list[tuple[Decimal, Decimal]] = field(
        default_factory=lambda: [
            (D("60000.0"), D("0.5")),
            (D("60010.0"), D("1")),
            (D("60100.0"), D("5")),
        ]
    )
    bids: list[tuple[Decimal, Decimal]] = field(default_factory=lambda: [(D("59990.0"), D("1"))])
    balances: dict[str, Decimal] = field(
        default_factory=lambda: {"ZUSD": D("100000.0000"), "XXBT": D("0.0000000000")}
    )
    taker: Decimal = TAKER
    latency: float = 0.0
    clock: Callable[[], float] = time.time
    hold_from: int | None = None
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    validated: list[dict[str, str]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    last_nonce: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application()
        app.router.add_get("/0/public/Depth", self.depth)
        app.router.add_get("/0/public/AssetPairs", self.asset_pairs)
        for name, handler in (
            ("Balance", self.balance),
            ("TradeVolume", self.trade_volume),
            ("AddOrder", self.add_order),
            ("QueryOrders", self.query_orders),
            ("ClosedOrders", self.closed_orders),
            ("OpenOrders", self.open_orders),
        ):
            app.router.add_post(f"/0/private/{name}", self.signed(handler))
        return app

    def orders_with(self, cl_ord_id: str) -> list[dict[str, Any]]:
        """Every order accepted with ``cl_ord_id``."""
        return [o for o in self.orders.values() if o.get("cl_ord_id") == cl_ord_id]

    async def depth(self, request: web.Request) -> web.Response:
        await self._latency()
        now = int(self.clock())
        return _answer(
            {
                self.result_key: {
                    "asks": [[f"{p:f}", f"{s:f}", now] for p, s in self.asks if s > 0],
                    "bids": [[f"{p:f}", f"{s:f}", now] for p, s in self.bids],
                }
            }
        )

    async def asset_pairs(self, request: web.Request) -> web.Response:
        if request.query.get("pair", self.pair) not in (self.pair, self.result_key):
            return _answer(errors=["EQuery:Unknown asset pair"])
        return _answer(
            {
                self.result_key: {
                    "altname": self.pair,
                    "wsname": f"XBT/{self.quote}",
                    "base": "XXBT",
                    "quote": f"Z{self.quote}",
                    "pair_decimals": 1,
                    "cost_decimals": 5,
                    "lot_decimals": 8,
                    "lot_multiplier": 1,
                    "ordermin": f"{ORDERMIN:f}",
                    "costmin": f"{COSTMIN:f}",
                    "tick_size": f"{TICK:f}",
                    "status": "online",
                }
            }
        )

    async def _latency(self) -> None:
        if self.latency:
            await asyncio.sleep(self.latency)

    def signed(self, handler: Callable[[dict[str, str]], Any]) -> Callable[[web.Request], Any]:
        async def checked(request: web.Request) -> web.StreamResponse:
            await self._latency()
            body = (await request.read()).decode()
            self.requests.append(request.path)
            if request.headers.get("API-Key") != self.key:
                return _answer(errors=["EAPI:Invalid key"])
            params = dict(parse_qsl(body, keep_blank_values=True))
            nonce = params.get("nonce", "")
            given = request.headers.get("API-Sign", "")
            if not nonce.isdigit() or not hmac.compare_digest(
                given, sign(self.secret, request.path, nonce, body)
            ):
                return _answer(errors=["EAPI:Invalid signature"])
            if int(nonce) <= self.last_nonce:
                return _answer(errors=["EAPI:Invalid nonce"])
            self.last_nonce = int(nonce)
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
            assert isinstance(result, web.StreamResponse)
            return result

        return checked

    def balance(self, params: dict[str, str]) -> web.Response:
        return _answer({k: f"{v:f}" for k, v in self.balances.items()})

    def trade_volume(self, params: dict[str, str]) -> web.Response:
        pct = f"{self.taker * 100:.4f}"
        return _answer(
            {
                "currency": "ZUSD",
                "volume": "0.0000",
                "fees": {self.result_key: {"fee": pct, "minfee": "0.1000", "maxfee": pct}},
            }
        )

    async def add_order(self, params: dict[str, str]) -> web.Response:
        if params.get("pair") not in (self.pair, self.result_key):
            return _answer(errors=["EQuery:Unknown asset pair"])
        if (params.get("type"), params.get("ordertype"), params.get("timeinforce")) != (
            "buy",
            "limit",
            "IOC",
        ):
            return _answer(errors=["EGeneral:Invalid arguments:this stand-in takes limit IOC buys"])
        cl = params.get("cl_ord_id", "")
        if not (len(cl) <= 18 and cl.isalnum()) and not (
            len(cl) == 32 and all(c in string.hexdigits for c in cl)
        ):
            return _answer(errors=["EGeneral:Invalid arguments:cl_ord_id"])
        try:
            volume = D(params["volume"])
            price = D(params["price"])
        except (KeyError, ArithmeticError):
            return _answer(errors=["EGeneral:Invalid arguments:volume"])
        if volume.as_tuple().exponent < -8:  # type: ignore[operator]
            return _answer(errors=["EGeneral:Invalid arguments:volume"])
        if price % TICK:
            return _answer(errors=["EOrder:Tick size check failed"])
        if volume < ORDERMIN:
            return _answer(errors=["EOrder:Order minimum not met"])
        if volume * price < COSTMIN:
            return _answer(errors=["EOrder:Cost minimum not met"])
        fee_in_quote = "fciq" in params.get("oflags", "").split(",")
        need = volume * price * (1 + self.taker if fee_in_quote else 1)
        if need > self.balances.get(f"Z{self.quote}", D(0)):
            return _answer(errors=["EOrder:Insufficient funds"])
        descr = {"order": f"buy {volume:f} {self.pair} @ limit {price:f}"}
        if params.get("validate") in ("true", "1"):
            self.validated.append(params)
            return _answer({"descr": descr})
        if any(o["status"] == "open" for o in self.orders_with(cl)):
            return _answer(errors=["EOrder:Duplicate order"])
        txid = _txid(next(self._ids))
        executed, cost = self._fill(volume, price)
        fee = (cost * self.taker).quantize(D("0.00001"))
        self.balances[f"Z{self.quote}"] -= cost + fee
        self.balances["XXBT"] = self.balances.get("XXBT", D(0)) + executed
        self.orders[txid] = {
            "cl_ord_id": cl,
            "status": "closed" if executed == volume else "canceled",
            "opentm": self.clock(),
            "closetm": self.clock(),
            "descr": {
                "pair": self.pair,
                "type": "buy",
                "ordertype": "limit",
                "price": f"{price:f}",
            },
            "vol": f"{volume:f}",
            "vol_exec": f"{executed:f}",
            "cost": f"{cost:f}",
            "fee": f"{fee:f}",
            "price": f"{(cost / executed) if executed else D(0):f}",
            "oflags": params.get("oflags", ""),
        }
        if self.hold_from is not None and len(self.orders) >= self.hold_from:
            await asyncio.sleep(3600)  # filled and booked; the answer never comes
        return _answer({"descr": descr, "txid": [txid]})

    def _fill(self, volume: Decimal, limit: Decimal) -> tuple[Decimal, Decimal]:
        left = volume
        cost = D(0)
        for n, (price, size) in enumerate(self.asks):
            if left <= 0 or price > limit:
                break
            take = min(size, left)
            if take <= 0:
                continue
            self.asks[n] = (price, size - take)
            left -= take
            cost += price * take
        return volume - left, cost

    def query_orders(self, params: dict[str, str]) -> web.Response:
        wanted = params.get("txid", "").split(",")
        found = {t: self.orders[t] for t in wanted if t in self.orders}
        if not found:
            return _answer(errors=["EOrder:Invalid order"])
        return _answer(found)

    def closed_orders(self, params: dict[str, str]) -> web.Response:
        cl = params.get("cl_ord_id")
        closed = {
            t: o
            for t, o in self.orders.items()
            if o["status"] != "open" and (cl is None or o["cl_ord_id"] == cl)
        }
        return _answer({"closed": closed, "count": len(closed)})

    def open_orders(self, params: dict[str, str]) -> web.Response:
        cl = params.get("cl_ord_id")
        opened = {
            t: o
            for t, o in self.orders.items()
            if o["status"] == "open" and (cl is None or o["cl_ord_id"] == cl)
        }
        return _answer({"open": opened})
