"""A local HTTP server that receives apprise's ``json://`` alerts, in a thread of its own.

    with AlertServer() as srv:            # answers 200 and keeps every posted JSON body
        url = srv.url                     # "json://127.0.0.1:PORT/"
    with AlertServer(hang=True) as srv:   # accepts, reads, never answers
    refused_url()                         # a port nothing listens on

Its own thread and loop, so sync code (the command line) and async tests can both use it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from types import TracebackType
from typing import Any

from aiohttp import web


class AlertServer:
    """Receives JSON posts on 127.0.0.1; ``hang`` never answers them."""

    def __init__(self, *, hang: bool = False) -> None:
        self.hang = hang
        self.received: list[dict[str, Any]] = []
        self.arrived = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._release = asyncio.Event()
        self.port = 0

    @property
    def url(self) -> str:
        """The apprise URL that posts here."""
        return f"json://127.0.0.1:{self.port}/"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append(json.loads(body))
        self.arrived.set()
        if self.hang:
            await self._release.wait()
        return web.json_response({"ok": True})

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        self._release.set()
        assert self._runner is not None
        await self._runner.cleanup()

    def __enter__(self) -> AlertServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


def refused_url() -> str:
    """A ``json://`` URL on a loopback port nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"json://127.0.0.1:{port}/"
