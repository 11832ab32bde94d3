"""Kraken private API (``/0/private/...``, form-encoded, HMAC-SHA512 ``API-Sign``).

Kraken answers errors with HTTP 200 and ``{"error": ["EAPI:Invalid key"]}``. Orders are
sent with ``oflags=fciq`` (the fee in the quote currency), so the BTC received is the
volume bought. Kraken's ``cl_ord_id`` takes free text of up to 18 characters or a
32-hex short UUID: a longer client order id is sent as the short UUID derived from it
(``wire_id``), the same every time, so a restarted run asks for the very same order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from exchanges.errors import ErrorKind, VenueError
from exchanges.private.account import JSON, VenueAccount, dec
from exchanges.private.types import AccountCheck, MarketRules, OrderAnswer, Trade

# Kraken's error strings -> what they mean for us (docs.kraken.com, spot REST errors).
_ERRORS: dict[str, tuple[ErrorKind, str]] = {
    "EAPI:Invalid key": (ErrorKind.BAD_KEY, "the API key is not valid"),
    "EGeneral:Permission denied": (ErrorKind.BAD_KEY, "the API key lacks this permission"),
    "EAPI:Invalid signature": (ErrorKind.BAD_SIGNATURE, "the request's signature is not valid"),
    "EAPI:Invalid nonce": (ErrorKind.CLOCK_SKEW, "the nonce was not above the last one"),
    "EOrder:Insufficient funds": (ErrorKind.INSUFFICIENT_BALANCE, "insufficient funds"),
    "EOrder:Order minimum not met": (ErrorKind.FILTER, "filter failure: order minimum"),
    "EOrder:Cost minimum not met": (ErrorKind.FILTER, "filter failure: cost minimum"),
    "EOrder:Tick size check failed": (ErrorKind.FILTER, "filter failure: tick size"),
    "EGeneral:Invalid arguments": (ErrorKind.FILTER, "invalid arguments"),
    "EOrder:Unknown order": (ErrorKind.UNKNOWN_ORDER, "no such order"),
    "EAPI:Rate limit exceeded": (ErrorKind.RATE_LIMITED, "rate limited"),
    "EOrder:Rate limit exceeded": (ErrorKind.RATE_LIMITED, "order rate limited"),
    "EGeneral:Too many requests": (ErrorKind.RATE_LIMITED, "too many requests"),
    "EService:Unavailable": (ErrorKind.HTTP, "service unavailable: outcome unknown"),
    "EService:Busy": (ErrorKind.HTTP, "service busy: outcome unknown"),
}
# Kraken's asset names for the currencies we quote in.
_ASSETS = {
    "XXBT": "BTC",
    "XBT": "BTC",
    "ZUSD": "USD",
    "ZEUR": "EUR",
    "USDT": "USDT",
    "USDC": "USDC",
}
# Kraken asks clients to back off about a second after a rate-limit error (no Retry-After).
_BACKOFF_S = 1.0


def wire_id(client_id: str) -> str:
    """The ``cl_ord_id`` Kraken takes for ``client_id``: itself up to 18 characters, else
    the 32-hex short UUID of its SHA-256."""
    if len(client_id) <= 18:
        return client_id
    return hashlib.sha256(client_id.encode()).hexdigest()[:32]


class KrakenAccount(VenueAccount):
    """Kraken spot."""

    ccxt_id = "kraken"

    def configure(self, client: Any) -> None:
        """Nothing to set: ccxt signs with an increasing millisecond nonce."""

    def refusal(
        self, status: int, headers: Mapping[str, str], body: str, data: JSON
    ) -> VenueError | None:
        """Kraken's ``error`` list (HTTP 200) or an HTTP status."""
        if status == 429:
            return self.error(
                ErrorKind.RATE_LIMITED, "rate limited (HTTP 429)", retry_after=_BACKOFF_S
            )
        if status >= 500:
            return self.error(ErrorKind.HTTP, f"HTTP {status}: outcome unknown", status=status)
        if status >= 400:
            return self.error(ErrorKind.HTTP, f"HTTP {status}", status=status)
        if not isinstance(data, dict):
            return self.error(ErrorKind.UNREADABLE, f"an answer that is not JSON (HTTP {status})")
        errors = [str(e) for e in data.get("error") or []]
        if not errors:
            return None
        first = errors[0]
        for prefix, (kind, what) in _ERRORS.items():
            if first.startswith(prefix):
                wait = _BACKOFF_S if kind is ErrorKind.RATE_LIMITED else None
                return self.error(kind, f"{what} ({first})", retry_after=wait)
        return self.error(ErrorKind.EXCHANGE, first)

    async def resync(self) -> bool:
        """A nonce refused: the next one (a newer millisecond) is above it; send once more."""
        return True

    async def rules(self, quote: str, symbol: str) -> MarketRules:
        """Lot, minimums and tick from ``AssetPairs``."""
        data = await self.call("public_get_assetpairs", {"pair": symbol})
        try:
            (info,) = data["result"].values()
            lot = Decimal(1).scaleb(-int(info["lot_decimals"]))
            tick = (
                dec(info["tick_size"], "tick_size")
                if "tick_size" in info
                else Decimal(1).scaleb(-int(info["pair_decimals"]))
            )
            return MarketRules(
                symbol=symbol,
                lot_step=lot,
                min_qty=dec(info["ordermin"], "ordermin"),
                tick=tick.normalize(),
                min_notional=dec(info.get("costmin", "0"), "costmin"),
                fee_currency=quote,  # oflags=fciq
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise self.error(ErrorKind.MALFORMED, f"AssetPairs for {symbol}: {exc}") from None

    async def free(self) -> dict[str, Decimal]:
        """``Balance``: Kraken's asset names mapped to ours (XXBT -> BTC, ZUSD -> USD)."""
        data = await self.call("private_post_balance")
        try:
            return {_ASSETS.get(str(k), str(k)): dec(v, str(k)) for k, v in data["result"].items()}
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise self.error(ErrorKind.MALFORMED, f"balances: {exc}") from None

    def _order_params(
        self, rules: MarketRules, qty: Decimal, price: Decimal, client_id: str
    ) -> dict[str, str]:
        return {
            "pair": rules.symbol,
            "type": "buy",
            "ordertype": "limit",
            "price": f"{price:f}",
            "volume": f"{qty:f}",
            "timeinforce": "IOC",
            "oflags": "fciq",
            "cl_ord_id": wire_id(client_id),
        }

    async def check(self, quote: str, rules: MarketRules, price: Decimal) -> AccountCheck:
        """Balances, the account's taker fee (``TradeVolume``, in percent) and an order
        validated with ``validate=true``. Kraken does not say whether a key may withdraw."""
        free = await self.free()
        fee: Decimal | None = None
        data = await self.call("private_post_tradevolume", {"pair": rules.symbol})
        try:
            fees = data["result"].get("fees") or {}
            if fees:
                (mine,) = fees.values()
                fee = dec(mine["fee"], "fee") / 100
        except (KeyError, ValueError, TypeError) as exc:
            raise self.error(ErrorKind.MALFORMED, f"TradeVolume: {exc}") from None
        qty = max(rules.min_qty, _up(rules.min_notional / price, rules.lot_step))
        test = {**self._order_params(rules, qty, price, "btcdcacheck"), "validate": "true"}
        await self.call("private_post_addorder", test)
        notes = ("withdraw permission unknown (Kraken does not report it)",)
        return AccountCheck(self.venue, free, fee, None, True, notes)

    async def buy_ioc(
        self, rules: MarketRules, qty: Decimal, price: Decimal, client_id: str
    ) -> OrderAnswer:
        """``AddOrder`` (limit, IOC, fee in quote, ``cl_ord_id``), then the order as it closed."""
        params = self._order_params(rules, qty, price, client_id)
        data = await self.call("private_post_addorder", params)
        try:
            (txid,) = data["result"]["txid"]
        except (KeyError, ValueError, TypeError) as exc:
            raise self.error(
                ErrorKind.UNREADABLE, f"an AddOrder answer without its txid: {exc}"
            ) from None
        found = await self.call("private_post_queryorders", {"txid": str(txid)})
        try:
            info = found["result"][str(txid)]
        except (KeyError, TypeError) as exc:
            raise self.error(
                ErrorKind.UNREADABLE, f"order {txid} not in the answer: {exc}"
            ) from None
        return self._answer(client_id, str(txid), info)

    async def order(self, rules: MarketRules, client_id: str) -> OrderAnswer | None:
        """The order with ``client_id``: ``ClosedOrders`` then ``OpenOrders`` by ``cl_ord_id``."""
        for method, key in (
            ("private_post_closedorders", "closed"),
            ("private_post_openorders", "open"),
        ):
            data = await self.call(method, {"cl_ord_id": wire_id(client_id)})
            try:
                orders = data["result"][key]
            except (KeyError, TypeError) as exc:
                raise self.error(ErrorKind.UNREADABLE, f"{key} orders: {exc}") from None
            for txid, info in orders.items():
                return self._answer(client_id, str(txid), info)
        return None

    def _answer(self, client_id: str, txid: str, info: JSON) -> OrderAnswer:
        try:
            vol = dec(info["vol"], "vol")
            executed = dec(info["vol_exec"], "vol_exec")
            trades: tuple[Trade, ...] = ()
            if executed > 0:
                cost = dec(info["cost"], "cost")
                trades = (
                    Trade(cost / executed, executed, dec(info["fee"], "fee"), _quote_of(info)),
                )
            status = str(info["status"])
            if status in ("open", "pending"):
                state = "open"
            else:
                state = "filled" if executed == vol else "partial" if executed else "unfilled"
            return OrderAnswer(client_id, txid, state, vol, executed, trades)
        except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
            raise self.error(ErrorKind.UNREADABLE, f"an order that cannot be read: {exc}") from None


def _quote_of(info: JSON) -> str:
    """The quote currency of an order's pair (``XBTUSD`` -> USD): where fciq takes the fee."""
    pair = str(info.get("descr", {}).get("pair", ""))
    for quote in ("USDT", "USDC", "USD", "EUR"):
        if pair.endswith(quote):
            return quote
    return "USD"


def _up(value: Decimal, step: Decimal) -> Decimal:
    n = (value / step).to_integral_value(rounding="ROUND_CEILING")
    return n * step
