"""Venue id → the adapter that speaks its wire format.

Venue modules are looked up by name so a venue whose module is not in this build
is simply reported as unavailable instead of breaking the import of the rest.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import cast

from exchanges.adapter import VenueAdapter

# venue id -> (module, adapter class, constructor arguments)
ADAPTERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "binance": ("exchanges.binance", "BinanceAdapter", ("binance",)),
    "binanceus": ("exchanges.binance", "BinanceAdapter", ("binanceus",)),
    "bitstamp": ("exchanges.bitstamp", "BitstampAdapter", ()),
    "kraken": ("exchanges.kraken", "KrakenAdapter", ()),
    "coinbase": ("exchanges.coinbase", "CoinbaseAdapter", ()),
    "okx": ("exchanges.okx", "OkxAdapter", ()),
}


def adapter_for(venue: str) -> VenueAdapter | None:
    """A new adapter for ``venue``, or None when this build has no client for it."""
    entry = ADAPTERS.get(venue)
    if entry is None:
        return None
    module_name, class_name, args = entry
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, class_name)
    except (ImportError, AttributeError):
        return None
    return cast(VenueAdapter, cls(*args))


def adapters_for(venues: Iterable[str]) -> dict[str, VenueAdapter]:
    """Adapters for every venue that has one in this build."""
    found = {v: adapter_for(v) for v in venues}
    return {v: a for v, a in found.items() if a is not None}
