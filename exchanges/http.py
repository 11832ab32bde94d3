"""HTTP plumbing shared by every venue: one session, timeouts, typed errors, rate limits.

Every venue client shares one ``aiohttp.ClientSession`` (Coinbase refuses requests
without a User-Agent, so ours names the app and its version). Each request runs
under the venue's own timeout, and every way a connection can fail becomes a
``VenueError`` of the matching kind, so one venue's trouble is data, not a crash.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from btc_dca import __version__
from exchanges.adapter import RestRequest
from exchanges.errors import ErrorKind, VenueError
from exchanges.wire import status_error

USER_AGENT = f"btc-dca/{__version__}"
DEFAULT_TIMEOUT_S = 3.0


def new_session(*, user_agent: str = USER_AGENT, limit: int = 32) -> aiohttp.ClientSession:
    """The one session all venues share; must be created inside the running loop."""
    connector = aiohttp.TCPConnector(limit=limit, ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": user_agent, "Accept": "application/json"},
        # Timeouts are per venue and per call (asyncio.timeout around each request).
        timeout=aiohttp.ClientTimeout(total=None),
    )


def _refused(exc: BaseException) -> bool:
    os_error = getattr(exc, "os_error", None)
    cause = os_error if os_error is not None else exc.__cause__
    if isinstance(cause, ConnectionRefusedError):
        return True
    return isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED


def _tls(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError | aiohttp.ClientSSLError):
            return True
        current = getattr(current, "os_error", None) or current.__cause__ or current.__context__
    return False


def map_exception(venue: str, exc: BaseException, timeout_s: float) -> VenueError:
    """The typed error for an exception raised while talking to ``venue``."""
    if isinstance(exc, VenueError):
        return exc
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return VenueError(venue, ErrorKind.TIMEOUT, f"timed out after {timeout_s:g}s")
    if isinstance(exc, aiohttp.ClientConnectorDNSError | socket.gaierror):
        return VenueError(venue, ErrorKind.DNS, f"DNS lookup failed: {_host(exc)}")
    if _tls(exc):
        return VenueError(venue, ErrorKind.TLS, f"TLS handshake failed: {_reason(exc)}")
    if isinstance(exc, aiohttp.ClientConnectorError) and _refused(exc):
        return VenueError(venue, ErrorKind.REFUSED, f"connection refused by {_host(exc)}")
    if isinstance(exc, ConnectionRefusedError):
        return VenueError(venue, ErrorKind.REFUSED, "connection refused")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return VenueError(venue, ErrorKind.MALFORMED, f"truncated answer: {_reason(exc)}")
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return status_error(venue, exc.status, exc.headers or {}, "WebSocket upgrade refused")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return VenueError(venue, ErrorKind.NETWORK, f"network error: {_reason(exc)}")
    return VenueError(venue, ErrorKind.NETWORK, f"unexpected error: {_reason(exc)}")


def _host(exc: BaseException) -> str:
    host = getattr(exc, "host", None)
    port = getattr(exc, "port", None)
    if not host:
        return _reason(exc)
    return f"{host}:{port}" if port else str(host)


def _reason(exc: BaseException) -> str:
    inner = getattr(exc, "os_error", None)
    text = str(inner if inner is not None else exc) or exc.__class__.__name__
    return text if len(text) <= 120 else text[:117] + "..."


@dataclass(frozen=True, slots=True)
class Answer:
    """A raw HTTP answer: status, headers, body bytes and round-trip time."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed_ms: float


async def fetch(
    session: aiohttp.ClientSession,
    venue: str,
    request: RestRequest,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    *,
    max_bytes: int = 32 * 1024 * 1024,
) -> Answer:
    """GET ``request`` within ``timeout_s`` (connect + read); raises a typed ``VenueError``."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            async with session.get(
                request.url, params=request.params or None, allow_redirects=True
            ) as resp:
                if (resp.content_length or 0) > max_bytes:
                    raise VenueError(
                        venue, ErrorKind.MALFORMED, f"answer too large: {resp.content_length} bytes"
                    )
                body = await resp.read()
                return Answer(
                    resp.status,
                    dict(resp.headers),
                    body,
                    (time.perf_counter() - started) * 1000,
                )
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise map_exception(venue, exc, timeout_s) from None


class RateLimiter:
    """Spaces one venue's requests to its public budget and honours Retry-After.

    ``acquire`` waits for the next slot when that fits in the caller's budget and
    raises ``RATE_LIMITED`` at once when the venue told us to back off for longer.
    """

    def __init__(self, venue: str, rate_per_s: float) -> None:
        self.venue = venue
        self.interval = 1.0 / rate_per_s if rate_per_s > 0 else 0.0
        self._next = 0.0
        self._blocked_until = 0.0
        self._reason: VenueError | None = None

    @staticmethod
    def _now() -> float:
        return time.monotonic()

    def blocked_for(self) -> float:
        """Seconds until the venue allows requests again (0 when not backing off)."""
        return max(0.0, self._blocked_until - self._now())

    def back_off(self, error: VenueError, default_s: float = 5.0) -> None:
        """Stop requests after a 429/418: for Retry-After seconds, else ``default_s``."""
        wait = error.retry_after if error.retry_after is not None else default_s
        self._blocked_until = max(self._blocked_until, self._now() + wait)
        self._reason = error

    async def acquire(self, budget_s: float) -> None:
        """Wait for this venue's next request slot, or raise if it is beyond ``budget_s``."""
        blocked = self.blocked_for()
        if blocked > 0:
            why = self._reason.message if self._reason else "rate limited"
            raise VenueError(
                self.venue,
                ErrorKind.RATE_LIMITED,
                f"backing off for {blocked:.1f}s more ({why})",
                retry_after=blocked,
            )
        now = self._now()
        slot = max(now, self._next)
        wait = slot - now
        if wait > budget_s:
            raise VenueError(
                self.venue,
                ErrorKind.RATE_LIMITED,
                f"request budget used up; next slot in {wait:.1f}s",
                retry_after=wait,
            )
        self._next = slot + self.interval
        if wait > 0:
            await asyncio.sleep(wait)
