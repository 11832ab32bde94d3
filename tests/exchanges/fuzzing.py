"""Fuzzing support: run a parser and keep its typed error as a value."""

from __future__ import annotations

from collections.abc import Callable

from exchanges.book import OrderBook
from exchanges.errors import VenueError


def outcome(parse: Callable[[], OrderBook | None]) -> OrderBook | VenueError | None:
    """The parser's result, or the ``VenueError`` it raised; any other exception propagates."""
    try:
        return parse()
    except VenueError as exc:
        return exc
