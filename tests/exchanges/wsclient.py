"""A minimal socket client for venue tests: subscribe, feed a BookSync, stop at its error.

The shared driver does this (plus reconnects and health) in production; here the
venue modules are exercised over a real loopback WebSocket in the venue's format.
"""

from __future__ import annotations

import aiohttp

from exchanges.adapter import BookSync
from exchanges.book import OrderBook
from exchanges.errors import VenueError


async def session(url: str, sync: BookSync, *, limit: int = 1000) -> list[OrderBook | VenueError]:
    """Connect, send the sync's subscriptions, and collect each book it yields.

    Stops at the first ``VenueError`` (kept as the last item), when the server
    closes, or after ``limit`` messages.
    """
    out: list[OrderBook | VenueError] = []
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        for text in sync.subscribe_messages():
            await ws.send_str(text)
        count = 0
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                break
            count += 1
            try:
                book = sync.on_message(msg.data, float(count))
            except VenueError as exc:
                out.append(exc)
                break
            if book is not None:
                out.append(book)
            if count >= limit:
                break
    return out
