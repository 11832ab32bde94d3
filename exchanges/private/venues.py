"""Which venues take real orders, and the account class that speaks each.

A venue is offered live only when a local stand-in of its private API tests every
step of an order against it (tests/standins/); the others are refused by name.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from exchanges.errors import ErrorKind, VenueError
from exchanges.venues import VenueSpec, display_name

if TYPE_CHECKING:
    from exchanges.private.account import VenueAccount
    from exchanges.private.keys import ApiKeys

# venue id -> (module, class): imported only when an account is opened (ccxt with it).
LIVE_VENUES: dict[str, tuple[str, str]] = {
    "binance": ("exchanges.private.binance", "BinanceAccount"),
    "binanceus": ("exchanges.private.binance", "BinanceUsAccount"),
    "kraken": ("exchanges.private.kraken", "KrakenAccount"),
}


def offered(venue: str) -> bool:
    """True when real orders can be sent to ``venue``."""
    return venue in LIVE_VENUES


def not_offered(venue: str) -> VenueError:
    """The refusal for a venue real orders are not offered on."""
    names = ", ".join(display_name(v) for v in LIVE_VENUES)
    name = display_name(venue)
    return VenueError(
        venue,
        ErrorKind.NOT_OFFERED,
        f"{name}: real orders are not offered on {name} (only on {names})",
    )


def open_account(venue: str, spec: VenueSpec, keys: ApiKeys, **kw: Any) -> VenueAccount:
    """The account for ``venue`` at ``spec.rest_url`` (which also serves its private API)."""
    if venue not in LIVE_VENUES:
        raise not_offered(venue)
    module, cls = LIVE_VENUES[venue]
    account_cls = getattr(importlib.import_module(module), cls)
    account: VenueAccount = account_cls(venue, keys, spec.rest_url, **kw)
    return account
