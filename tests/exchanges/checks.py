"""Checks every venue's tests share: typed REST errors, and the parsers' fuzzing contract.

Whatever a venue sends, its parser returns a book, nothing (for acks), or raises a
``VenueError`` naming the venue — never any other exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest

from exchanges.adapter import BookSync, VenueAdapter
from exchanges.book import OrderBook
from exchanges.errors import ErrorKind, VenueError


def outcome(parse: Callable[[], OrderBook | None]) -> OrderBook | VenueError | None:
    """The parser's result, or the ``VenueError`` it raised; any other exception propagates."""
    try:
        return parse()
    except VenueError as exc:
        return exc


def rest_error(
    adapter: VenueAdapter,
    status: int,
    body: str | bytes,
    quote: str,
    kind: ErrorKind,
    words: str,
    *,
    retry_after: str | None = None,
) -> VenueError:
    """Assert ``adapter`` reads an HTTP answer as a ``kind`` error naming its venue and ``words``."""
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    data = body.encode() if isinstance(body, str) else body
    with pytest.raises(VenueError) as err:
        adapter.parse_rest(status, headers, data, quote, 0)
    assert err.value.kind is kind, err.value
    assert words in str(err.value)
    assert err.value.venue == adapter.venue
    return err.value


def rest_survives(adapter: VenueAdapter, status: int, body: bytes, quote: str) -> None:
    """Any bytes under any status: a valid book, or a typed error naming the venue."""
    out = outcome(lambda: adapter.parse_rest(status, {}, body, quote, 0)[0])
    if isinstance(out, VenueError):
        assert out.venue == adapter.venue
    else:
        assert isinstance(out, OrderBook) and out.asks
        assert not out.bids or out.bids[0].price < out.asks[0].price


def stream_survives(
    sync: BookSync, texts: Iterable[str | bytes], *, stop_at_error: bool = False
) -> None:
    """Feed ``texts`` to ``sync``: each gives a book, None, or a typed error (``stop_at_error``:
    the driver would resync there, so later messages prove nothing)."""
    for text in texts:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        out = outcome(lambda t=text: sync.on_message(t, 1.0))  # type: ignore[misc]
        assert out is None or isinstance(out, OrderBook | VenueError)
        if isinstance(out, VenueError) and stop_at_error:
            return
