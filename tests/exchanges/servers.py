"""A local aiohttp server that plays a venue: REST answers and WebSocket scripts.

Every exchange test talks to one of these on 127.0.0.1, in the venue's real wire
format, with injectable trouble: a delay, a status code and headers, a body that
is cut short, a socket that sends a script then closes or stays open.

    async with VenueServer() as srv:
        srv.rest("/api/v3/depth", Reply(body='{"lastUpdateId":1,...}', delay=0.05))
        srv.ws("/ws/btcusdt@depth@100ms", WsScript(["{...}", "{...}"], interval=0.01))
        url, ws_url = srv.url, srv.ws_url

Replies for one path can be a list: each request takes the next, the last repeats.
``srv.requests`` records (path, query, headers) of every REST call; ``srv.received``
the texts clients sent over sockets.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

Body = str | bytes | Callable[[web.Request], str | bytes]


@dataclass
class Reply:
    """One REST answer: body, status, headers, a delay before answering, or a cut."""

    body: Body = "{}"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds before answering; a function is asked anew for each request (a slow venue).
    delay: float | Callable[[], float] = 0.0
    # Send only this many bytes of the body, then drop the connection (a truncated body).
    cut_after: int | None = None
    content_type: str = "application/json"


WsHandler = Callable[[web.WebSocketResponse, web.Request], Awaitable[None]]


@dataclass
class WsScript:
    """A socket session: wait for ``wait_for`` client messages, send ``messages``, then close.

    ``messages`` may be a function of the connection number (0 for the first) to play a
    different script after a reconnect. ``hold`` keeps the socket open (silent) after
    the script instead of closing it.
    """

    messages: Sequence[str] | Callable[[int], Sequence[str]] = ()
    interval: float = 0.0
    wait_for: int = 0
    hold: bool = False
    delay: float = 0.0
    # Refuse the upgrade with this HTTP status instead (e.g. 451 or 503).
    reject_status: int | None = None
    # While holding: send ``beat`` every ``beat_every`` seconds: a venue's heartbeat text,
    # a function of the beat's number (Coinbase numbers its heartbeats), or PING for a
    # WebSocket ping frame (as Binance sends).
    beat: str | Callable[[int], str] | None = None
    beat_every: float = 0.0
    # While holding: answer a client text with the venue's reply (OKX "ping" -> "pong").
    answers: dict[str, str] = field(default_factory=dict)
    # False: protocol ping frames go unanswered (a socket that is open but dead).
    autoping: bool = True
    # Close with this code after the script (a venue's maintenance or 24-hour close).
    close_code: int | None = None


# ``WsScript.beat`` value for a WebSocket ping frame instead of a text.
PING = "<ping frame>"


class VenueServer:
    """REST + WebSocket routes on a loopback port; an async context manager."""

    def __init__(self, *, autoping: bool = True, record: bool = True) -> None:
        """``autoping``: custom socket handlers answer pings themselves when False;
        ``record``: keep ``requests`` (a long soak keeps counts only)."""
        self._autoping = autoping
        self._record = record
        self._app = web.Application()
        self._app.router.add_route("GET", "/{tail:.*}", self._dispatch)
        self._rest: dict[str, list[Reply]] = {}
        self._ws: dict[str, WsScript | WsHandler] = {}
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self.connections: dict[str, int] = {}
        self.rest_count: dict[str, int] = {}
        self.requests: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self.received: list[str] = []
        self.beats = 0
        self.port = 0

    @property
    def url(self) -> str:
        """Base http URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """Base ws URL."""
        return f"ws://127.0.0.1:{self.port}"

    def rest(self, path: str, reply: Reply | Sequence[Reply]) -> None:
        """Answer GETs of ``path`` with ``reply`` (a list: in turn, the last repeating)."""
        self._rest[path] = [reply] if isinstance(reply, Reply) else list(reply)

    def ws(self, path: str, script: WsScript | WsHandler) -> None:
        """Accept socket upgrades on ``path`` and play ``script`` (or run a custom handler)."""
        self._ws[path] = script

    def count(self, path: str) -> int:
        """How many REST requests ``path`` has had."""
        return self.rest_count.get(path, 0)

    async def __aenter__(self) -> VenueServer:
        self._runner = web.AppRunner(self._app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = _bound_socket()
        site = web.SockSite(self._runner, sock)
        await site.start()
        self.port = sock.getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for sock in list(self._sockets):
            await sock.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path in self._ws and request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._socket(request, self._ws[path])
        self.rest_count[path] = self.rest_count.get(path, 0) + 1
        if self._record:
            self.requests.append((path, dict(request.query), dict(request.headers)))
        replies = self._rest.get(path)
        if not replies:
            return web.Response(status=404, text='{"message":"NotFound"}')
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        delay = reply.delay() if callable(reply.delay) else reply.delay
        if delay:
            await asyncio.sleep(delay)
        body = reply.body(request) if callable(reply.body) else reply.body
        data = body.encode() if isinstance(body, str) else body
        if reply.cut_after is not None:
            resp = web.StreamResponse(status=reply.status, headers=reply.headers)
            resp.content_type = reply.content_type
            resp.content_length = len(data)
            await resp.prepare(request)
            await resp.write(data[: reply.cut_after])
            transport = request.transport
            if transport is not None:
                transport.close()
            return resp
        return web.Response(
            status=reply.status,
            body=data,
            headers=reply.headers,
            content_type=reply.content_type,
        )

    async def _socket(
        self, request: web.Request, script: WsScript | WsHandler
    ) -> web.StreamResponse:
        n = self.connections.get(request.path, 0)
        self.connections[request.path] = n + 1
        if isinstance(script, WsScript) and script.reject_status is not None:
            return web.Response(status=script.reject_status, text='{"msg":"rejected"}')
        autoping = script.autoping if isinstance(script, WsScript) else self._autoping
        ws = web.WebSocketResponse(autoping=autoping)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            if isinstance(script, WsScript):
                await self._play(ws, script, n)
            else:
                await script(ws, request)
        finally:
            self._sockets.discard(ws)
            await ws.close()
        return ws

    async def _play(self, ws: web.WebSocketResponse, script: WsScript, n: int) -> None:
        for _ in range(script.wait_for):
            msg = await ws.receive()
            if msg.type is not WSMsgType.TEXT:
                return
            self.received.append(msg.data)
        if script.delay:
            await asyncio.sleep(script.delay)
        messages = script.messages(n) if callable(script.messages) else script.messages
        for text in messages:
            await ws.send_str(text)
            if script.interval:
                await asyncio.sleep(script.interval)
        if script.hold:
            beating = asyncio.create_task(self._beat(ws, script)) if script.beat else None
            try:
                async for msg in ws:
                    if msg.type is WSMsgType.TEXT:
                        self.received.append(msg.data)
                        if msg.data in script.answers:
                            await ws.send_str(script.answers[msg.data])
            finally:
                if beating is not None:
                    beating.cancel()
                    await asyncio.gather(beating, return_exceptions=True)
        if script.close_code is not None:
            await ws.close(code=script.close_code)

    async def _beat(self, ws: web.WebSocketResponse, script: WsScript) -> None:
        n = 0
        while not ws.closed:
            await asyncio.sleep(script.beat_every)
            beat = script.beat
            try:
                if beat == PING:
                    await ws.ping()
                else:
                    await ws.send_str(beat(n) if callable(beat) else beat or "")
            except ConnectionError:
                return
            n += 1
            self.beats += 1


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def closed_port() -> int:
    """A loopback port with nothing listening (connecting to it is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def threaded_server() -> Iterator[VenueServer]:
    """A ``VenueServer`` on its own loop in a background thread.

    For commands that must own the main thread (``btc-dca run`` installs signal
    handlers, which only the main thread may do).
    """
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="venue-server", daemon=True)
    thread.start()
    server = VenueServer()
    asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(5)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.__aexit__(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
