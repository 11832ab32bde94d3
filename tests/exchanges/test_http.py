"""HTTP plumbing: exceptions as typed errors, the User-Agent, size limits, request spacing."""

from __future__ import annotations

import errno
import socket
import time

import aiohttp
import pytest

from exchanges.adapter import RestRequest
from exchanges.errors import ErrorKind, VenueError
from exchanges.http import USER_AGENT, RateLimiter, fetch, map_exception, new_session
from exchanges.registry import adapter_for, adapters_for
from tests.exchanges.servers import Reply, VenueServer


@pytest.mark.parametrize(
    ("exc", "kind", "words"),
    [
        (TimeoutError(), ErrorKind.TIMEOUT, "timed out after 2s"),
        (socket.gaierror(-2, "Name or service not known"), ErrorKind.DNS, "DNS lookup failed"),
        (ConnectionRefusedError(111, "refused"), ErrorKind.REFUSED, "connection refused"),
        (OSError(errno.ECONNRESET, "reset by peer"), ErrorKind.NETWORK, "reset by peer"),
        (aiohttp.ServerDisconnectedError(), ErrorKind.NETWORK, "network error"),
        (aiohttp.ClientPayloadError("Response payload is not completed"), ErrorKind.MALFORMED,
         "truncated"),
        (ValueError("odd"), ErrorKind.NETWORK, "unexpected error: odd"),
        (VenueError("binance", ErrorKind.STALE, "kept"), ErrorKind.STALE, "kept"),
    ],
)  # fmt: skip
def test_exceptions_map_to_kinds(exc: BaseException, kind: ErrorKind, words: str) -> None:
    error = map_exception("binance", exc, 2.0)
    assert error.kind is kind
    assert words in str(error)


def test_refused_seen_through_an_errno_cause() -> None:
    key = aiohttp.client_reqrep.ConnectionKey("h", 1, False, True, None, None, None)
    inner = OSError(errno.ECONNREFUSED, "Connection refused")
    exc = aiohttp.ClientConnectorError(key, inner)
    assert map_exception("kraken", exc, 1.0).kind is ErrorKind.REFUSED


async def test_user_agent_names_the_app_and_a_huge_answer_is_refused() -> None:
    async with VenueServer() as srv, new_session() as session:
        srv.rest("/big", Reply("x" * 5000))
        with pytest.raises(VenueError) as err:
            await fetch(session, "okx", RestRequest(srv.url + "/big"), 1.0, max_bytes=100)
        assert err.value.kind is ErrorKind.MALFORMED and "too large" in str(err.value)
        srv.rest("/ok", Reply("{}"))
        answer = await fetch(session, "okx", RestRequest(srv.url + "/ok", {"a": "1"}), 1.0)
    assert answer.status == 200 and answer.body == b"{}"
    assert srv.requests[-1][2]["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("btc-dca/")


async def test_rate_limiter_spaces_requests_and_refuses_beyond_the_budget() -> None:
    limiter = RateLimiter("kraken", 10.0)
    started = time.monotonic()
    await limiter.acquire(1.0)
    await limiter.acquire(1.0)
    assert time.monotonic() - started >= 0.09
    with pytest.raises(VenueError) as err:
        await limiter.acquire(0.0)
    assert err.value.kind is ErrorKind.RATE_LIMITED and "next slot" in str(err.value)
    limiter.back_off(VenueError("kraken", ErrorKind.RATE_LIMITED, "HTTP 429"))
    assert 4.0 < limiter.blocked_for() <= 5.0  # no Retry-After: a default pause


def test_registry_knows_every_venue_module_in_the_build() -> None:
    assert adapter_for("nowhere") is None
    binanceus = adapter_for("binanceus")
    assert binanceus is not None and binanceus.venue == "binanceus"
    assert set(adapters_for(["binance", "bitstamp", "nowhere"])) == {"binance", "bitstamp"}


def test_registry_skips_a_venue_module_missing_from_the_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from exchanges import registry

    monkeypatch.setitem(registry.ADAPTERS, "ghost", ("exchanges.ghost", "GhostAdapter", ()))
    assert adapter_for("ghost") is None
