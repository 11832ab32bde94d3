"""A Binance (and Binance.US) stand-in on 127.0.0.1: the documented /api/v3 private API.

It checks each signed request the way Binance documents it (``X-MBX-APIKEY``; hex
HMAC-SHA256, keyed by the secret, of the query string followed by the body; a
``timestamp`` within ``recvWindow`` of its own clock), applies LOT_SIZE, PRICE_FILTER
and NOTIONAL to orders, fills a LIMIT IOC buy against its ask book (commission taken in
BTC), and answers in Binance's formats, refusals included:

- -2015 unknown key, -1022 bad signature, -1021 stale timestamp, -1013 filter failure,
  -2010 insufficient balance, -2013 unknown order; 429 then 418 with Retry-After;
- ``hold``: fill the order, then never answer (the crash window between fill and answer);
- ``fill_at_most``: fill each order in part only (its rest expires, as IOC);
- a client order id is refused only while an order with it is open, as on Binance: an IOC
  is closed at once, so a second order with the same id is accepted and fills again.

It serves the public depth too, so a run's decision and its fill see the same book.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

D = Decimal
LOT = MIN_QTY = D("0.00001")
TICK = D("0.01")
MIN_NOTIONAL = D("5")
TAKER = D("0.001")


def sign(secret: str, payload: str) -> str:
    """Binance's signature: hex HMAC-SHA256 of ``payload`` keyed by ``secret``."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _error(status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status, headers=headers)


@dataclass
class BinanceStandIn:
    """State and behaviour of the stand-in; ``app()`` serves it."""

    key: str = "standin-key"
    secret: str = "standin-secret"
    symbol: str = "BTCUSDT"
    quote: str = "USDT"
    asks: list[tuple[Decimal, Decimal]] = field(
        default_factory=lambda: [
            (D("60000.00"), D("0.5")),
            (D("60010.00"), D("1")),
            (D("60100.00"), D("5")),
        ]
    )
    bids: list[tuple[Decimal, Decimal]] = field(default_factory=lambda: [(D("59990.00"), D("1"))])
    balances: dict[str, Decimal] = field(
        default_factory=lambda: {"USDT": D("100000"), "BTC": D("0")}
    )
    lot: Decimal = LOT
    min_qty: Decimal = MIN_QTY
    tick: Decimal = TICK
    min_notional: Decimal = MIN_NOTIONAL
    taker: Decimal = TAKER
    can_withdraw: bool = False
    # Milliseconds this venue's clock runs ahead of the caller's (a skewed client clock).
    skew_ms: int = 0
    # Seconds added before every answer (a distant venue).
    latency: float = 0.0
    clock: Callable[[], float] = time.time
    # Trouble to play: answer the next N signed requests with 429 (then 418), hold orders.
    rate_limit: int = 0
    retry_after: int = 1
    ban: bool = False
    hold: set[str] = field(default_factory=set)  # client order ids: fill, then no answer
    hold_all: bool = False
    hold_from: int | None = None  # hold the answer of this order (1 = first) and every later one
    # Each order fills at most this much BTC, the rest expiring (IOC): the book's liquidity
    # taken by someone else between the decision and the order (a partial fill).
    fill_at_most: Decimal | None = None
    orders: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    # (method, path, time.perf_counter()) of every request as it arrived, before any latency.
    arrivals: list[tuple[str, str, float]] = field(default_factory=list)
    tested: list[dict[str, str]] = field(default_factory=list)
    filled: asyncio.Event | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application()
        app.router.add_get("/api/v3/depth", self.depth)
        app.router.add_get("/api/v3/time", self.time)
        app.router.add_get("/api/v3/exchangeInfo", self.exchange_info)
        app.router.add_get("/api/v3/account", self.signed(self.account))
        app.router.add_get("/sapi/v1/account/apiRestrictions", self.signed(self.restrictions))
        app.router.add_post("/api/v3/order/test", self.signed(self.order_test))
        app.router.add_post("/api/v3/order", self.signed(self.new_order))
        app.router.add_get("/api/v3/order", self.signed(self.query_order))
        app.router.add_get("/api/v3/myTrades", self.signed(self.my_trades))
        return app

    def now_ms(self) -> int:
        return int(self.clock() * 1000) + self.skew_ms

    def orders_with(self, client_id: str) -> list[dict[str, Any]]:
        """Every order accepted with ``client_id``."""
        return [o for o in self.orders if o["clientOrderId"] == client_id]

    # -- public ---------------------------------------------------------------------------

    async def depth(self, request: web.Request) -> web.Response:
        await self._latency()
        return web.json_response(
            {
                "lastUpdateId": len(self.orders) + 1,
                "bids": [[f"{p:f}", f"{s:f}"] for p, s in self.bids],
                "asks": [[f"{p:f}", f"{s:f}"] for p, s in self.asks if s > 0],
            }
        )

    async def time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": self.now_ms()})

    async def exchange_info(self, request: web.Request) -> web.Response:
        await self._latency()
        symbol = request.query.get("symbol", self.symbol)
        if symbol != self.symbol:
            return _error(400, -1121, "Invalid symbol.")
        return web.json_response(
            {
                "timezone": "UTC",
                "serverTime": self.now_ms(),
                "symbols": [
                    {
                        "symbol": self.symbol,
                        "status": "TRADING",
                        "baseAsset": "BTC",
                        "baseAssetPrecision": 8,
                        "quoteAsset": self.quote,
                        "quotePrecision": 8,
                        "quoteAssetPrecision": 8,
                        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
                        "icebergAllowed": True,
                        "ocoAllowed": True,
                        "quoteOrderQtyMarketAllowed": True,
                        "isSpotTradingAllowed": True,
                        "isMarginTradingAllowed": False,
                        "permissions": [],
                        "permissionSets": [["SPOT"]],
                        "filters": [
                            {
                                "filterType": "PRICE_FILTER",
                                "minPrice": "0.01000000",
                                "maxPrice": "1000000.00000000",
                                "tickSize": f"{self.tick:f}",
                            },
                            {
                                "filterType": "LOT_SIZE",
                                "minQty": f"{self.min_qty:f}",
                                "maxQty": "9000.00000000",
                                "stepSize": f"{self.lot:f}",
                            },
                            {
                                "filterType": "NOTIONAL",
                                "minNotional": f"{self.min_notional:f}",
                                "applyMinToMarket": True,
                                "maxNotional": "9000000.00000000",
                                "applyMaxToMarket": False,
                                "avgPriceMins": 5,
                            },
                        ],
                    }
                ],
            }
        )

    # -- signing --------------------------------------------------------------------------

    def signed(
        self, handler: Callable[[web.Request, dict[str, str]], Any]
    ) -> Callable[[web.Request], Any]:
        async def checked(request: web.Request) -> web.StreamResponse:
            self.arrivals.append((request.method, request.path, time.perf_counter()))
            await self._latency()
            query = request.rel_url.raw_query_string
            body = (await request.read()).decode()
            self.requests.append((request.path, query + body))
            if self.ban:
                return _error(
                    418, -1003, "Way too many requests; IP banned.", {"Retry-After": "120"}
                )
            if self.rate_limit > 0:
                self.rate_limit -= 1
                return _error(
                    429,
                    -1003,
                    "Too many requests; please use the websocket.",
                    {"Retry-After": str(self.retry_after)},
                )
            if request.headers.get("X-MBX-APIKEY") != self.key:
                return _error(401, -2015, "Invalid API-key, IP, or permissions for action.")
            # totalParams: the query string followed by the body, without the signature.
            given, payload = _split_signature(query, body)
            if given is None or not hmac.compare_digest(given.lower(), sign(self.secret, payload)):
                return _error(400, -1022, "Signature for this request is not valid.")
            params = dict(parse_qsl(payload, keep_blank_values=True))
            try:
                stamp = int(params["timestamp"])
                window = int(params.get("recvWindow", "5000"))
            except (KeyError, ValueError):
                return _error(400, -1102, "Mandatory parameter 'timestamp' was not sent.")
            if window > 60000:
                return _error(400, -1131, "recvWindow must be less than 60000")
            server = self.now_ms()
            if stamp > server + 1000 or server - stamp > window:
                return _error(
                    400, -1021, "Timestamp for this request is outside of the recvWindow."
                )
            result = handler(request, params)
            if asyncio.iscoroutine(result):
                result = await result
            assert isinstance(result, web.StreamResponse)
            return result

        return checked

    async def _latency(self) -> None:
        if self.latency:
            await asyncio.sleep(self.latency)

    # -- account --------------------------------------------------------------------------

    def account(self, request: web.Request, params: dict[str, str]) -> web.Response:
        return web.json_response(
            {
                "makerCommission": 10,
                "takerCommission": 10,
                "canTrade": True,
                "canWithdraw": self.can_withdraw,
                "canDeposit": True,
                "commissionRates": {
                    "maker": "0.00100000",
                    "taker": f"{self.taker:.8f}",
                    "buyer": "0.00000000",
                    "seller": "0.00000000",
                },
                "accountType": "SPOT",
                "balances": [
                    {"asset": a, "free": f"{v:.8f}", "locked": "0.00000000"}
                    for a, v in self.balances.items()
                ],
                "permissions": ["SPOT"],
            }
        )

    def restrictions(self, request: web.Request, params: dict[str, str]) -> web.Response:
        return web.json_response(
            {
                "ipRestrict": False,
                "enableWithdrawals": self.can_withdraw,
                "enableReading": True,
                "enableSpotAndMarginTrading": True,
            }
        )

    # -- orders ---------------------------------------------------------------------------

    def _validate(self, params: dict[str, str]) -> tuple[Decimal, Decimal] | web.Response:
        if params.get("symbol") != self.symbol:
            return _error(400, -1121, "Invalid symbol.")
        if (params.get("side"), params.get("type"), params.get("timeInForce")) != (
            "BUY",
            "LIMIT",
            "IOC",
        ):
            return _error(400, -1106, "This stand-in takes only LIMIT IOC buys.")
        cid = params.get("newClientOrderId", "")
        import re

        if not re.fullmatch(r"[.A-Z:/a-z0-9_-]{1,36}", cid):
            return _error(400, -1100, "Illegal characters found in parameter 'newClientOrderId'.")
        try:
            qty = D(params["quantity"])
            price = D(params["price"])
        except (KeyError, ArithmeticError):
            return _error(400, -1102, "Mandatory parameter 'quantity' or 'price' was not sent.")
        if qty < self.min_qty or qty % self.lot:
            return _error(400, -1013, "Filter failure: LOT_SIZE")
        if price % self.tick:
            return _error(400, -1013, "Filter failure: PRICE_FILTER")
        if qty * price < self.min_notional:
            return _error(400, -1013, "Filter failure: NOTIONAL")
        if qty * price > self.balances.get(self.quote, D(0)):
            return _error(400, -2010, "Account has insufficient balance for requested action.")
        return qty, price

    def order_test(self, request: web.Request, params: dict[str, str]) -> web.Response:
        checked = self._validate(params)
        if isinstance(checked, web.Response):
            return checked
        self.tested.append(params)
        return web.json_response({})

    async def new_order(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        checked = self._validate(params)
        if isinstance(checked, web.Response):
            return checked
        qty, limit = checked
        cid = params["newClientOrderId"]
        # Unique among open orders only; an IOC never stays open, so a closed id is reused.
        if any(o["status"] in ("NEW", "PARTIALLY_FILLED") for o in self.orders_with(cid)):
            return _error(400, -2010, "Duplicate order sent.")
        order_id = next(self._ids)
        fills = self._fill(order_id, qty, limit)
        executed = sum((f["qty"] for f in fills), D(0))
        quote_spent = sum((f["price"] * f["qty"] for f in fills), D(0))
        order = {
            "symbol": self.symbol,
            "orderId": order_id,
            "clientOrderId": cid,
            "transactTime": self.now_ms(),
            "price": f"{limit:f}",
            "origQty": f"{qty:f}",
            "executedQty": f"{executed:f}",
            "cummulativeQuoteQty": f"{quote_spent:f}",
            "status": "FILLED" if executed == qty else "EXPIRED",
            "timeInForce": "IOC",
            "type": "LIMIT",
            "side": "BUY",
        }
        self.orders.append(order)
        if self.filled is not None:
            self.filled.set()
        held_by_count = self.hold_from is not None and len(self.orders) >= self.hold_from
        if self.hold_all or cid in self.hold or held_by_count:
            # Filled and booked, and the answer never comes: the crash window.
            await asyncio.sleep(3600)
        return web.json_response(
            {
                **order,
                "fills": [
                    {
                        "price": f"{f['price']:f}",
                        "qty": f"{f['qty']:f}",
                        "commission": f"{f['commission']:f}",
                        "commissionAsset": "BTC",
                        "tradeId": f["id"],
                    }
                    for f in fills
                ],
            }
        )

    def _fill(self, order_id: int, qty: Decimal, limit: Decimal) -> list[dict[str, Any]]:
        fills: list[dict[str, Any]] = []
        left = qty if self.fill_at_most is None else min(qty, self.fill_at_most)
        for n, (price, size) in enumerate(self.asks):
            if left <= 0 or price > limit:
                break
            take = min(size, left)
            if take <= 0:
                continue
            self.asks[n] = (price, size - take)
            left -= take
            commission = (take * self.taker).quantize(D("0.00000001"), ROUND_DOWN)
            self.balances[self.quote] = self.balances.get(self.quote, D(0)) - price * take
            self.balances["BTC"] = self.balances.get("BTC", D(0)) + take - commission
            fill = {
                "id": len(self.trades) + 1,
                "orderId": order_id,
                "price": price,
                "qty": take,
                "commission": commission,
            }
            self.trades.append(fill)
            fills.append(fill)
        return fills

    def query_order(self, request: web.Request, params: dict[str, str]) -> web.Response:
        cid = params.get("origClientOrderId")
        found = (
            self.orders_with(cid)
            if cid
            else [o for o in self.orders if str(o["orderId"]) == params.get("orderId")]
        )
        if not found:
            return _error(400, -2013, "Order does not exist.")
        return web.json_response(found[-1])

    def my_trades(self, request: web.Request, params: dict[str, str]) -> web.Response:
        wanted = params.get("orderId")
        return web.json_response(
            [
                {
                    "symbol": self.symbol,
                    "id": t["id"],
                    "orderId": t["orderId"],
                    "price": f"{t['price']:f}",
                    "qty": f"{t['qty']:f}",
                    "quoteQty": f"{t['price'] * t['qty']:f}",
                    "commission": f"{t['commission']:f}",
                    "commissionAsset": "BTC",
                    "isBuyer": True,
                }
                for t in self.trades
                if wanted is None or str(t["orderId"]) == wanted
            ]
        )


def _split_signature(query: str, body: str) -> tuple[str | None, str]:
    """The ``signature`` parameter and the signed payload (query then body, without it)."""
    given: str | None = None
    kept: list[str] = []
    for part in (query, body):
        if not part:
            continue
        pieces = part.split("&")
        rest = []
        for piece in pieces:
            if piece.startswith("signature="):
                given = piece.removeprefix("signature=")
            else:
                rest.append(piece)
        kept.append("&".join(rest))
    return given, "".join(kept)
