"""One colour per venue, so a venue reads the same in its panel, the tranche table and history."""

from __future__ import annotations

from exchanges.venues import VENUE_IDS

VENUE_COLOURS: dict[str, str] = {
    "binance": "#f0b90b",
    "binanceus": "#d4a72c",
    "coinbase": "#3c82f6",
    "kraken": "#8d5cf6",
    "bitstamp": "#22b573",
    "okx": "#e0e0e0",
}


def venue_colour(venue: str) -> str:
    """The venue's colour; split routes ("a+b") take the first leg's."""
    first = venue.split("+", 1)[0]
    return VENUE_COLOURS.get(first, "#c0c0c0" if first not in VENUE_IDS else "#ffffff")
