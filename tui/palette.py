"""One colour and one way of naming per venue, so a venue reads the same in its panel, the
form, the tranche table and history."""

from __future__ import annotations

from rich.text import Text

from exchanges.venues import VENUE_IDS, display_name

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


# A split's venues in a table cell: three letters each, in the venue's colour.
SHORT_NAMES = {
    "binance": "BNB",
    "binanceus": "BUS",
    "coinbase": "CB",
    "kraken": "KRK",
    "bitstamp": "BST",
    "okx": "OKX",
}
# A split whose full names are longer than this shows the short ones (a table column;
# one venue, "Binance.US", is 10).
SPLIT_W = 12


def venue_label(venue: str, *, fit: bool = False) -> Text:
    """A venue (or split "a+b") in its colour; with ``fit``, a split too long for a table
    column names its venues by their short names ("BNB+BUS+KRK+BST+OKX")."""
    legs = venue.split("+")
    names = [display_name(leg) for leg in legs]
    if fit and len(legs) > 1 and len("+".join(names)) > SPLIT_W:
        names = [SHORT_NAMES.get(leg, leg[:3].upper()) for leg in legs]
    text = Text()
    for i, (leg, name) in enumerate(zip(legs, names, strict=True)):
        if i:
            text.append("+", "dim")
        text.append(name, venue_colour(leg))
    return text
