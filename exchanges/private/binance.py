"""Binance and Binance.US private API (``/api/v3``; the same API on both).

Requests are signed by ccxt (HMAC-SHA256 of query + body, ``X-MBX-APIKEY``); answers
are read here from Binance's own text. A buy's commission is charged in BTC unless the
account pays fees in BNB: the fills say which, and are recorded as charged.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from exchanges.errors import ErrorKind, VenueError
from exchanges.private.account import JSON, VenueAccount, dec, retry_after
from exchanges.private.types import AccountCheck, MarketRules, OrderAnswer, Trade

# Binance error codes -> what they mean for us (https://developers.binance.com, error codes).
_CODES: dict[int, tuple[ErrorKind, str]] = {
    -1003: (ErrorKind.RATE_LIMITED, "too many requests"),
    -1021: (ErrorKind.CLOCK_SKEW, "timestamp outside the receive window (clock skew)"),
    -1022: (ErrorKind.BAD_SIGNATURE, "the request's signature is not valid"),
    -2014: (ErrorKind.BAD_KEY, "the API key's format is invalid"),
    -2015: (ErrorKind.BAD_KEY, "the API key is not valid, or lacks this permission or IP"),
    -2013: (ErrorKind.UNKNOWN_ORDER, "no such order"),
    -1013: (ErrorKind.FILTER, "filter failure"),
    -1111: (ErrorKind.FILTER, "precision over the maximum for this asset"),
    -1121: (ErrorKind.UNSUPPORTED_PAIR, "invalid symbol"),
}

_STATUS = {"FILLED": "filled", "NEW": "open", "PARTIALLY_FILLED": "open"}


class BinanceAccount(VenueAccount):
    """Binance (and Binance.US, ``ccxt_id`` binanceus)."""

    ccxt_id = "binance"

    def configure(self, client: Any) -> None:
        """A 5 s receive window: a request older than that is refused, never acted on."""
        client.options["recvWindow"] = 5000

    def refusal(
        self, status: int, headers: Mapping[str, str], body: str, data: JSON
    ) -> VenueError | None:
        """Binance answers errors with an HTTP status >= 400 and ``{"code", "msg"}``."""
        if status == 429:
            return self.error(
                ErrorKind.RATE_LIMITED,
                "rate limited (HTTP 429); waiting as told before the next request",
                status=status,
                retry_after=retry_after(headers),
            )
        if status == 418:
            return self.error(
                ErrorKind.BANNED,
                "this IP is banned for ignoring rate limits (HTTP 418)",
                status=status,
                retry_after=retry_after(headers),
            )
        if status == 451:
            return self.error(
                ErrorKind.RESTRICTED,
                "unavailable from a restricted location (HTTP 451): use Binance.US",
                status=status,
            )
        if status < 400:
            if data is None:
                return self.error(
                    ErrorKind.UNREADABLE, f"an answer that is not JSON (HTTP {status})"
                )
            return None
        code = data.get("code") if isinstance(data, dict) else None
        msg = str(data.get("msg", "")) if isinstance(data, dict) else body[:200]
        if isinstance(code, int):
            if code == -2010:
                kind = (
                    ErrorKind.INSUFFICIENT_BALANCE
                    if "insufficient balance" in msg.lower()
                    else ErrorKind.EXCHANGE
                )
                return self.error(kind, f"order refused: {msg} ({code})", status=status)
            if code in _CODES:
                kind, what = _CODES[code]
                return self.error(kind, f"{what}: {msg} ({code})", status=status)
            return self.error(ErrorKind.EXCHANGE, f"{msg} ({code})", status=status)
        if status >= 500:
            # Binance: a 5xx to an order means its outcome is unknown (ask before resending).
            return self.error(ErrorKind.HTTP, f"HTTP {status}: outcome unknown", status=status)
        return self.error(ErrorKind.HTTP, f"HTTP {status}", status=status)

    async def resync(self) -> bool:
        """Measure Binance's clock (``/api/v3/time``) and sign with its time from now on."""
        data = await self.call("public_get_time")
        server = int(data["serverTime"])
        self.client.options["timeDifference"] = self.client.milliseconds() - server
        return True

    async def rules(self, quote: str, symbol: str) -> MarketRules:
        """LOT_SIZE, PRICE_FILTER and NOTIONAL (or MIN_NOTIONAL) from ``exchangeInfo``."""
        data = await self.call("public_get_exchangeinfo", {"symbol": symbol})
        try:
            (info,) = [s for s in data["symbols"] if s["symbol"] == symbol]
            filters = {f["filterType"]: f for f in info["filters"]}
            lot = filters["LOT_SIZE"]
            notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
            return MarketRules(
                symbol=symbol,
                lot_step=dec(lot["stepSize"], "stepSize").normalize(),
                min_qty=dec(lot["minQty"], "minQty"),
                tick=dec(filters["PRICE_FILTER"]["tickSize"], "tickSize").normalize(),
                min_notional=dec(notional.get("minNotional", "0"), "minNotional"),
                fee_currency="BTC",
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise self.error(ErrorKind.MALFORMED, f"exchangeInfo for {symbol}: {exc}") from None

    async def _account(self) -> JSON:
        return await self.call("private_get_account", {"omitZeroBalances": "true"})

    async def free(self) -> dict[str, Decimal]:
        """Free balances from ``/api/v3/account``."""
        data = await self._account()
        try:
            return {str(b["asset"]): dec(b["free"], "free") for b in data["balances"]}
        except (KeyError, ValueError, TypeError) as exc:
            raise self.error(ErrorKind.MALFORMED, f"account balances: {exc}") from None

    async def check(self, quote: str, rules: MarketRules, price: Decimal) -> AccountCheck:
        """Balances and the account's taker fee (``commissionRates``), withdraw permission
        (``apiRestrictions``), and an order validated by ``/api/v3/order/test``."""
        data = await self._account()
        notes: list[str] = []
        try:
            free = {str(b["asset"]): dec(b["free"], "free") for b in data["balances"]}
            rates = data.get("commissionRates") or {}
            fee = dec(rates["taker"], "taker") if "taker" in rates else None
        except (KeyError, ValueError, TypeError) as exc:
            raise self.error(ErrorKind.MALFORMED, f"account: {exc}") from None
        if data.get("canTrade") is False:
            raise self.error(ErrorKind.BAD_KEY, "this key may not trade (canTrade false)")
        withdraw: bool | None = None
        try:
            restrictions = await self.call("sapi_get_account_apirestrictions")
            withdraw = bool(restrictions.get("enableWithdrawals"))
        except VenueError as exc:
            if exc.kind in (ErrorKind.BAD_KEY, ErrorKind.BAD_SIGNATURE):
                raise
            notes.append(f"withdraw permission unknown ({exc.message})")
        qty = max(
            rules.min_qty,
            _up(rules.min_notional / price, rules.lot_step) if price else rules.min_qty,
        )
        await self.call(
            "private_post_order_test", self._order_params(rules, qty, price, "btcdcacheck")
        )
        return AccountCheck(self.venue, free, fee, withdraw, True, tuple(notes))

    def _order_params(
        self, rules: MarketRules, qty: Decimal, price: Decimal, client_id: str
    ) -> dict[str, str]:
        return {
            "symbol": rules.symbol,
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "IOC",
            "quantity": f"{qty:f}",
            "price": f"{price:f}",
            "newClientOrderId": client_id,
            "newOrderRespType": "FULL",
        }

    async def buy_ioc(
        self, rules: MarketRules, qty: Decimal, price: Decimal, client_id: str
    ) -> OrderAnswer:
        """``POST /api/v3/order``: LIMIT, IOC, with ``newClientOrderId``; fills in the answer."""
        data = await self.call(
            "private_post_order", self._order_params(rules, qty, price, client_id)
        )
        return self._answer(data, data.get("fills", []) if isinstance(data, dict) else None)

    async def order(self, rules: MarketRules, client_id: str) -> OrderAnswer | None:
        """``GET /api/v3/order`` by ``origClientOrderId``, its fills from ``myTrades``."""
        try:
            data = await self.call(
                "private_get_order", {"symbol": rules.symbol, "origClientOrderId": client_id}
            )
        except VenueError as exc:
            if exc.kind is ErrorKind.UNKNOWN_ORDER:
                return None
            raise
        fills: list[JSON] = []
        if dec(data.get("executedQty", "0"), "executedQty") > 0:
            trades = await self.call(
                "private_get_mytrades", {"symbol": rules.symbol, "orderId": str(data["orderId"])}
            )
            fills = [
                {
                    "price": t["price"],
                    "qty": t["qty"],
                    "commission": t["commission"],
                    "commissionAsset": t["commissionAsset"],
                }
                for t in trades
            ]
        return self._answer(data, fills)

    def _answer(self, data: JSON, fills: list[JSON] | None) -> OrderAnswer:
        try:
            orig = dec(data["origQty"], "origQty")
            executed = dec(data["executedQty"], "executedQty")
            trades = tuple(
                Trade(
                    dec(f["price"], "price"),
                    dec(f["qty"], "qty"),
                    dec(f["commission"], "commission"),
                    str(f["commissionAsset"]),
                )
                for f in fills or []
            )
            status = _STATUS.get(str(data["status"]))
            if status is None:  # EXPIRED, CANCELED, REJECTED...: IOC ended
                status = "filled" if executed == orig else "partial" if executed else "unfilled"
            return OrderAnswer(
                str(data["clientOrderId"]), str(data["orderId"]), status, orig, executed, trades
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise self.error(
                ErrorKind.UNREADABLE, f"an order answer that cannot be read: {exc}"
            ) from None


class BinanceUsAccount(BinanceAccount):
    """Binance.US: the same API at api.binance.us."""

    ccxt_id = "binanceus"


def _up(value: Decimal, step: Decimal) -> Decimal:
    """``value`` rounded up to a multiple of ``step``."""
    n = (value / step).to_integral_value(rounding="ROUND_CEILING")
    return n * step
