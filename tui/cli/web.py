"""The browser view's server: textual-serve behind a secret, an Origin check and a Host check.

Browsers open WebSockets to any origin without asking, so without these any web page the
user visits could drive the dashboard. What it does (Jupyter's model):

- A secret (``token``) at start; the page, its files and its socket answer 403 without it.
  It comes once in the address (``/?token=…``), is then kept in a cookie scoped to the
  page (HttpOnly, SameSite=Strict, Path=/) and the page reloads without it in the address
  bar. Compared in constant time.
- The socket refuses an ``Origin`` that is not the page's own (another local port is
  another origin), and every request a ``Host`` that is not a name of this server (DNS
  rebinding: a foreign domain pointed at 127.0.0.1).
- The page links its script, font and socket relative to the address it was loaded from,
  and fetches nothing from another host (the font comes with textual-serve).
"""

from __future__ import annotations

import asyncio
import hmac
import html
import ipaddress
import logging
import secrets
import signal
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

if TYPE_CHECKING:
    from textual_serve.server import Server

log = logging.getLogger(__name__)

# The variable's name, not a secret.
ENV_TOKEN = "BTC_DCA_SERVE_TOKEN"  # noqa: S105  # nosec B105
# 256 bits: far past the 128 a guess would have to beat.
TOKEN_BYTES = 32
MIN_TOKEN_LEN = 16
TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
# The unspecified addresses (0.0.0.0, ::) and the empty host: names to recognise in --host.
WILDCARDS = frozenset({str(ipaddress.IPv4Address(0)), str(ipaddress.IPv6Address(0)), ""})


def new_token() -> str:
    """A fresh secret for the page: 256 random bits, URL-safe, never starting with ``-``
    (given back as ``--token -x...`` it would read as an option)."""
    while (token := secrets.token_urlsafe(TOKEN_BYTES)).startswith("-"):
        pass
    return token


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot be the page's secret (None when it can)."""
    if len(token) < MIN_TOKEN_LEN:
        return f"at least {MIN_TOKEN_LEN} characters (a short secret can be guessed)"
    if not set(token) <= TOKEN_CHARS:
        return "letters, digits and - _ . ~ only (it goes in an address and a cookie)"
    return None


def host_name(host_header: str) -> str | None:
    """The name in a ``Host`` header (``[::1]:8000`` → ``::1``), lowercase; None if malformed."""
    try:
        name = urlsplit(f"//{host_header}").hostname
    except ValueError:
        return None
    return name or None


@dataclass(frozen=True, slots=True)
class Guard:
    """Who may use the page: the secret, and the names the server answers to."""

    token: str
    port: int
    # The names a Host header may carry (lowercase); None: any (--public on every address).
    hosts: frozenset[str] | None

    @classmethod
    def for_address(cls, token: str, host: str, port: int, also: Iterable[str] = ()) -> Guard:
        """The guard of a server listening on ``host``; ``also``: more names (a proxy's)."""
        if host in WILDCARDS:
            return cls(token, port, None)
        names = {host.strip("[]").lower(), *(a.lower() for a in also)}
        if host_name(host) in LOOPBACK_NAMES or host == "localhost":
            names |= LOOPBACK_NAMES
        return cls(token, port, frozenset(names))

    @property
    def cookie(self) -> str:
        """The cookie's name: one per port, so two servers on one machine keep their own."""
        return f"btc-dca-token-{self.port}"

    def host_ok(self, host_header: str) -> bool:
        """Whether a request for ``host_header`` is for this server."""
        name = host_name(host_header)
        if name is None:
            return False
        return self.hosts is None or name in self.hosts

    def origin_ok(self, origin: str | None, host_header: str) -> bool:
        """Whether a socket opened from ``origin`` comes from the page itself.

        A browser always sends Origin with a WebSocket, and the page's own is the address
        it was loaded from, whose host and port are the request's Host. A client with no
        Origin is not a browser page: the secret alone decides for it.
        """
        if origin is None:
            return True
        try:
            netloc = urlsplit(origin).netloc
        except ValueError:
            return False
        return bool(netloc) and netloc.lower() == host_header.lower()

    def token_ok(self, presented: str | None) -> bool:
        """Whether ``presented`` is the secret (constant time)."""
        if not presented:
            return False
        return hmac.compare_digest(presented.encode(), self.token.encode())


def _refuse(why: str) -> web.Response:
    log.warning("browser view: refused a request: %s", why)
    return web.Response(
        status=403,
        text=f"403 Forbidden: {why}.\n",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


_HEADERS = {
    # No other site may frame the page (and trick clicks or keys into it).
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    # The address can carry the secret: never tell another site where we came from.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def guard_middleware(guard: Guard) -> Middleware:
    """The checks every request passes before textual-serve sees it."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host", "")
        if not guard.host_ok(host):
            return _refuse("this server does not answer to that host name")
        if request.path == "/ws" and not guard.origin_ok(request.headers.get("Origin"), host):
            return _refuse("the socket only talks to its own page")
        in_address = request.query.get("token")
        if guard.token_ok(in_address):
            if request.method == "GET" and request.path == "/":
                # Keep it in a cookie and take it out of the address bar (and the history).
                rest = {k: v for k, v in request.query.items() if k != "token"}
                target = str(request.rel_url.with_query(rest)) if rest else request.path
                found = web.HTTPFound(target)
                found.set_cookie(
                    guard.cookie,
                    guard.token,
                    path="/",
                    httponly=True,
                    samesite="Strict",
                    secure=request.secure or _forwarded_https(request),
                )
                found.headers.update(_HEADERS)
                raise found
        elif not guard.token_ok(request.cookies.get(guard.cookie)):
            why = "wrong secret" if in_address else "open the address btc-dca serve printed"
            return _refuse(why)
        response = await handler(request)
        if not response.prepared:  # a socket's headers went out already
            for name, value in _HEADERS.items():
                response.headers.setdefault(name, value)
        return response

    return check


def _forwarded_https(request: web.Request) -> bool:
    return request.headers.get("X-Forwarded-Proto", "").lower() == "https"


# The page: textual-serve's own, with every address relative to where it was loaded from,
# the font served from here (no font host: works offline) and the start dialog kept.
PAGE = """<!DOCTYPE html>
<html>
  <head>
    <meta charset="utf-8" />
    <meta name="referrer" content="no-referrer" />
    <title>{title}</title>
    <link rel="stylesheet" href="/static/css/xterm.css" />
    <style>
      @font-face {{
        font-family: "Roboto Mono";
        src: url("/static/fonts/RobotoMono-VariableFont_wght.ttf") format("truetype");
        font-weight: 100 700;
      }}
      body {{ background: #0c181f; margin: 0; }}
      .dialog-container {{
        position: absolute; width: 100vw; height: 100vh; display: flex;
        align-items: center; justify-content: center; z-index: 10;
      }}
      .intro {{
        width: 640px; height: 240px; font-size: 16px; z-index: 20;
        font-family: "Roboto Mono", monospace; text-align: center;
        color: rgba(255, 255, 255, 0.95); background-color: #12232d;
        display: flex; align-items: center; justify-content: center; margin: 32px;
      }}
      body.-first-byte .intro-dialog {{ display: none; }}
      body .textual-terminal {{ opacity: 0; }}
      body.-first-byte .textual-terminal {{ opacity: 1; transition: opacity 0.3s ease-out; }}
      .closed-dialog {{ display: none; }}
      body.-closed .closed-dialog {{ display: flex; }}
      button {{
        padding: 16px 32px; background-color: #5e0ba7; color: #fff; border: none;
        font-family: "Roboto Mono", monospace; margin: 16px; cursor: pointer;
      }}
    </style>
    <script src="/static/js/textual.js"></script>
  </head>
  <body>
    <div class="dialog-container intro-dialog"><div class="intro">{title}</div></div>
    <span id="start" hidden></span>
    <div class="dialog-container closed-dialog">
      <div class="intro">
        <div>Session ended.</div>
        <button type="button" onclick="window.location.reload()">Restart</button>
      </div>
    </div>
    <div id="terminal" class="textual-terminal" data-font-size="{font_size}"></div>
    <script>
      // The socket of the address this page was loaded from (a proxy's https too).
      document.getElementById("terminal").dataset.sessionWebsocketUrl =
        (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
    </script>
  </body>
</html>
"""


def make_server(command: str, host: str, port: int, guard: Guard, title: str) -> Server:
    """A textual-serve server for ``command`` behind ``guard`` (loads aiohttp's app here)."""
    from textual_serve.server import Server

    class GuardedServer(Server):
        """textual-serve with its routes behind the guard and its own page."""

        async def _make_app(self) -> web.Application:
            app = web.Application(middlewares=[guard_middleware(guard)])
            app.add_routes(
                [
                    web.get("/", self.page),
                    web.get("/ws", self.handle_websocket),
                    web.get("/download/{key}", self.handle_download),
                    web.static("/static", self.statics_path),
                ]
            )
            return app

        async def page(self, request: web.Request) -> web.Response:
            try:
                font_size = max(6, min(64, int(request.query.get("fontsize", "16"))))
            except ValueError:
                font_size = 16
            text = PAGE.format(title=html.escape(self.title), font_size=font_size)
            return web.Response(text=text, content_type="text/html")

        def serve(self, debug: bool = False) -> None:
            """Serve until SIGINT or SIGTERM; no access log (addresses can carry the secret)."""
            self.debug = debug
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.request_exit)
            web.run_app(
                self._make_app(),
                host=host,
                port=port,
                handle_signals=False,
                loop=loop,
                print=None,
                access_log=None,
            )

    return GuardedServer(command, host=host, port=port, title=title)
