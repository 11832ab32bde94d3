"""The six venues: ids, display names, symbols per quote currency, default fees and limits.

Fee and limit defaults are the lowest public tier, from each venue's public fee
schedule as gathered in 2026-11; every value is overridable in the config file
(docs/data-and-config.md) because tiers and promotions differ per user.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

QUOTES: tuple[str, ...] = ("USD", "USDT", "USDC", "EUR")
VENUE_IDS: tuple[str, ...] = ("binance", "binanceus", "coinbase", "kraken", "bitstamp", "okx")


@dataclass(frozen=True, slots=True)
class VenueSpec:
    """Static facts about one venue, after config overrides."""

    id: str
    name: str
    taker_fee: Decimal
    min_order_btc: Decimal
    lot_btc: Decimal
    rest_url: str
    ws_url: str
    # Quote currency -> the venue's own symbol for BTC in it. A currency that is
    # missing here is not listed by the venue.
    symbols: dict[str, str] = field(default_factory=dict)
    enabled: bool = True

    def with_overrides(self, **changes: object) -> VenueSpec:
        """A copy with some fields replaced (config overrides)."""
        return replace(self, **changes)  # type: ignore[arg-type]


DEFAULT_SPECS: dict[str, VenueSpec] = {
    "binance": VenueSpec(
        "binance",
        "Binance",
        Decimal("0.0010"),
        Decimal("0.00001"),
        Decimal("0.00001"),
        "https://api.binance.com",
        "wss://stream.binance.com:9443",
        {"USDT": "BTCUSDT", "USDC": "BTCUSDC", "EUR": "BTCEUR"},
    ),
    "binanceus": VenueSpec(
        "binanceus",
        "Binance.US",
        Decimal("0.0010"),
        Decimal("0.00001"),
        Decimal("0.00001"),
        "https://api.binance.us",
        "wss://stream.binance.us:9443",
        {"USD": "BTCUSD", "USDT": "BTCUSDT", "USDC": "BTCUSDC"},
    ),
    "coinbase": VenueSpec(
        "coinbase",
        "Coinbase",
        Decimal("0.0060"),
        Decimal("0.00001"),
        Decimal("0.00000001"),
        "https://api.exchange.coinbase.com",
        "wss://advanced-trade-ws.coinbase.com",
        {"USD": "BTC-USD", "USDT": "BTC-USDT", "EUR": "BTC-EUR"},
    ),
    "kraken": VenueSpec(
        "kraken",
        "Kraken",
        Decimal("0.0040"),
        Decimal("0.0001"),
        Decimal("0.00000001"),
        "https://api.kraken.com",
        "wss://ws.kraken.com/v2",
        {"USD": "XBTUSD", "USDT": "XBTUSDT", "USDC": "XBTUSDC", "EUR": "XBTEUR"},
    ),
    "bitstamp": VenueSpec(
        "bitstamp",
        "Bitstamp",
        Decimal("0.0040"),
        Decimal("0.0001"),
        Decimal("0.00000001"),
        "https://www.bitstamp.net",
        "wss://ws.bitstamp.net",
        {"USD": "btcusd", "USDT": "btcusdt", "USDC": "btcusdc", "EUR": "btceur"},
    ),
    "okx": VenueSpec(
        "okx",
        "OKX",
        Decimal("0.0010"),
        Decimal("0.00001"),
        Decimal("0.00000001"),
        "https://www.okx.com",
        "wss://ws.okx.com:8443/ws/v5/public",
        {"USDT": "BTC-USDT", "USDC": "BTC-USDC"},
    ),
}


def display_name(venue: str) -> str:
    """The venue's name as users know it (the id for an unknown venue)."""
    spec = DEFAULT_SPECS.get(venue)
    return spec.name if spec else venue
