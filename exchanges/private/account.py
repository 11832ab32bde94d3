"""One venue's private API through ccxt (async): filters, balances, fee, orders.

ccxt signs and sends; the money in its answers is read here, as ``Decimal`` from the
venue's own text (ccxt's unified structures hold floats), and every failure becomes a
``VenueError`` with the venue's name and a kind to act on: a refused key or signature,
a stale timestamp, a filter, funds, an unknown order, a rate limit with its Retry-After.

A timestamp outside the venue's window is resynced and the request sent once more; a
429 is waited out (Retry-After) up to ``max_wait_s`` and sent again: the venue refused
both before acting on them, so nothing can be bought twice. A timeout, a 5xx or an
unreadable answer to an order is never retried here: the caller asks the venue by the
client order id before anything is sent again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from exchanges.errors import ErrorKind, VenueError
from exchanges.private.keys import ApiKeys
from exchanges.private.types import AccountCheck, MarketRules, OrderAnswer
from exchanges.venues import display_name

log = logging.getLogger(__name__)

JSON = Any
Sleep = Callable[[float], Awaitable[None]]


class Refusal(Exception):
    """Raised inside ccxt's response handling: the venue's answer, already classified."""

    def __init__(self, error: VenueError) -> None:
        super().__init__(str(error))
        self.error = error


def dec(value: object, what: str = "value") -> Decimal:
    """A Decimal from the wire's text (or an int); ValueError for anything else."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError(f"{what}: {value!r} is not a decimal string")
    try:
        out = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"{what}: {value!r} is not a decimal") from exc
    if not out.is_finite():
        raise ValueError(f"{what}: {value!r} is not finite")
    return out


def point_urls(api: JSON, rest_url: str) -> JSON:
    """ccxt's ``urls['api']`` with every endpoint's scheme and host replaced by ``rest_url``'s.

    ``BTC_DCA_<VENUE>_REST_URL`` serves the private endpoints too (regional endpoints,
    proxies, the tests' stand-ins); each endpoint keeps its own path.
    """
    base = urlsplit(rest_url.rstrip("/"))
    prefix = base.path

    def moved(url: str) -> str:
        parts = urlsplit(url)
        return f"{base.scheme}://{base.netloc}{prefix}{parts.path}"

    if isinstance(api, str):
        return moved(api)
    return {
        k: (point_urls(v, rest_url) if isinstance(v, str | dict) else v) for k, v in api.items()
    }


class VenueAccount:
    """A venue's private API. Subclasses say how the venue is spoken; this class runs calls.

    ``client`` is the ccxt exchange (built by ``make_client``); every call goes through
    ``call`` so failures come out typed and transient refusals are handled once, here.
    """

    ccxt_id = ""

    def __init__(
        self,
        venue: str,
        keys: ApiKeys,
        rest_url: str,
        *,
        timeout_s: float = 10.0,
        max_wait_s: float = 30.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.venue = venue
        self.name = display_name(venue)
        self.max_wait_s = max_wait_s
        self.sleep = sleep
        self.client = make_client(self.ccxt_id, keys, rest_url, timeout_s, self.refusal)
        self.configure(self.client)

    def configure(self, client: Any) -> None:
        """Venue-specific ccxt options."""

    async def close(self) -> None:
        """Close the client's HTTP session."""
        await self.client.close()

    # -- what a venue says; subclasses --------------------------------------------------

    def refusal(
        self, status: int, headers: Mapping[str, str], body: str, data: JSON
    ) -> VenueError | None:
        """The typed error in an answer, or None when it is an answer to read."""
        raise NotImplementedError

    async def resync(self) -> bool:
        """Re-measure the venue's clock after a stale timestamp; False when it cannot."""
        return False

    async def rules(self, quote: str, symbol: str) -> MarketRules:
        """The venue's filters for ``symbol``."""
        raise NotImplementedError

    async def check(self, quote: str, rules: MarketRules, price: Decimal) -> AccountCheck:
        """Authenticate, read balances, fee and permissions, validate an order; places none."""
        raise NotImplementedError

    async def free(self) -> dict[str, Decimal]:
        """Free balance per currency (the venue's own names mapped to BTC, USD, ...)."""
        raise NotImplementedError

    async def buy_ioc(
        self, rules: MarketRules, qty: Decimal, price: Decimal, client_id: str
    ) -> OrderAnswer:
        """Send a limit buy, immediate-or-cancel, with ``client_id``; the venue's answer."""
        raise NotImplementedError

    async def order(self, rules: MarketRules, client_id: str) -> OrderAnswer | None:
        """The order with ``client_id`` as the venue has it; None when it has none."""
        raise NotImplementedError

    # -- running calls ------------------------------------------------------------------

    def error(self, kind: ErrorKind, message: str, **kw: Any) -> VenueError:
        """A VenueError for this venue, its name first."""
        return VenueError(self.venue, kind, f"{self.name}: {message}", **kw)

    async def call(self, method: str, params: Mapping[str, object] | None = None) -> JSON:
        """Call the ccxt implicit API ``method`` (signed where the venue wants it).

        Raises VenueError. A stale timestamp is resynced and retried once, a rate limit
        waited out (up to ``max_wait_s``) and retried: the venue acted on neither.
        """
        import ccxt.async_support as ccxt

        resynced = False
        waited = 0.0
        fn = getattr(self.client, method)
        while True:
            try:
                return await fn(dict(params or {}))
            except Refusal as refused:
                err = refused.error
                if err.kind is ErrorKind.CLOCK_SKEW and not resynced and await self.resync():
                    resynced = True
                    log.warning("%s: clock skew, resynced and retrying %s", self.venue, method)
                    continue
                if err.kind is ErrorKind.RATE_LIMITED:
                    wait = err.retry_after if err.retry_after is not None else 1.0
                    if waited + wait <= self.max_wait_s:
                        waited += wait
                        log.warning(
                            "%s: rate limited, waiting %.1fs (Retry-After)", self.venue, wait
                        )
                        await self.sleep(wait)
                        continue
                raise err from None
            except ccxt.RequestTimeout:
                raise self.error(
                    ErrorKind.TIMEOUT, f"no answer within {self.client.timeout / 1000:g}s"
                ) from None
            except ccxt.NetworkError as exc:
                raise self.error(
                    ErrorKind.NETWORK, f"cannot reach the venue ({type(exc).__name__})"
                ) from None
            except ccxt.BaseError as exc:
                raise self.error(ErrorKind.EXCHANGE, f"{type(exc).__name__}") from None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a Retry-After header (None when absent or not a number)."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(float(value), 0.0)
            except ValueError:
                return None
    return None


def parse_json(text: str) -> JSON:
    """JSON with every fraction an exact Decimal; None when the text is not JSON."""
    try:
        return json.loads(text, parse_float=Decimal)
    except (ValueError, TypeError):
        return None


def make_client(
    ccxt_id: str,
    keys: ApiKeys,
    rest_url: str,
    timeout_s: float,
    refusal: Callable[[int, Mapping[str, str], str, JSON], VenueError | None],
) -> Any:
    """A ccxt client for ``ccxt_id`` at ``rest_url``; its answers classified by ``refusal``."""
    import ccxt.async_support as ccxt

    base = getattr(ccxt, ccxt_id)

    class Client(base):  # type: ignore[misc,valid-type]
        def parse_json(self, http_response: str) -> JSON:
            return parse_json(http_response)

        def handle_errors(
            self,
            code: int,
            reason: str,
            url: str,
            method: str,
            headers: Mapping[str, str],
            body: str,
            response: JSON,
            request_headers: object,
            request_body: object,
        ) -> None:
            found = refusal(code, headers or {}, body or "", response)
            if found is not None:
                raise Refusal(found)

        def handle_http_status_code(self, *args: object) -> None:
            # ``handle_errors`` has classified every answer already.
            return None

    config: dict[str, Any] = {
        "apiKey": keys.key,
        "secret": keys.secret,
        "timeout": int(timeout_s * 1000),
        "enableRateLimit": False,
    }
    if keys.passphrase:
        config["password"] = keys.passphrase
    client = Client(config)
    client.urls["api"] = point_urls(client.urls["api"], rest_url)
    return client
