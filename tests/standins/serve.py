"""Serving a stand-in on 127.0.0.1: on the test's loop, or on a loop in a thread (for
commands that own the main thread, and for processes the test kills)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from aiohttp import web


async def _start(app: web.Application) -> tuple[web.AppRunner, str]:
    # A held answer (the crash window) is cut at shutdown instead of waited for.
    runner = web.AppRunner(app, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    return runner, f"http://127.0.0.1:{port}"


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on the running loop; yields its base URL."""
    runner, url = await _start(app)
    try:
        yield url
    finally:
        await runner.cleanup()


@contextmanager
def serving_in_thread(app: web.Application) -> Iterator[str]:
    """Serve ``app`` on its own loop in a background thread; yields its base URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="stand-in", daemon=True)
    thread.start()
    runner, url = asyncio.run_coroutine_threadsafe(_start(app), loop).result(10)
    try:
        yield url
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
