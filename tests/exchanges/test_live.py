"""The live driver against local servers that speak Binance's and Bitstamp's real formats."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from decimal import Decimal

import pytest
from aiohttp import web

from exchanges.book import OrderBook
from exchanges.clock import RealClock
from exchanges.convert import FixedRates
from exchanges.errors import ErrorKind, VenueError
from exchanges.feed import backoff_delay
from exchanges.live import LiveMarket, LiveSettings
from exchanges.market import Health, VenueStatus
from exchanges.venues import DEFAULT_SPECS, VenueSpec
from tests.exchanges.servers import Reply, VenueServer, WsScript, closed_port

DEPTH = "/api/v3/depth"
BITSTAMP_BOOK = "/api/v2/order_book/btcusd/"
WS_PATH = "/ws/btcusdt@depth@100ms"

FAST = LiveSettings(
    timeout_s=1.0, stale_after_s=5.0, backoff_base_s=0.05, backoff_max_s=0.2, poll_interval_s=0.05
)


def binance_book(last: int = 100, ask: str = "91000.00", bid: str = "90999.00") -> str:
    """A Binance depth answer with two levels a side."""
    return json.dumps(
        {
            "lastUpdateId": last,
            "bids": [[bid, "0.50000000"], ["90998.00", "1.00000000"]],
            "asks": [[ask, "0.25000000"], ["91001.00", "2.00000000"]],
        }
    )


def bitstamp_book(micro: int = 1000) -> str:
    """A Bitstamp order-book answer."""
    return json.dumps(
        {
            "timestamp": str(micro // 10**6),
            "microtimestamp": str(micro),
            "bids": [["90990", "1.0"]],
            "asks": [["91010", "0.7"], ["91020", "3.1"]],
        }
    )


def depth_event(first: int, final: int, asks: list[list[str]]) -> str:
    """A raw Binance ``depthUpdate``."""
    return json.dumps(
        {"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": first, "u": final, "b": [], "a": asks}
    )


def spec_at(venue: str, srv: VenueServer, **changes: object) -> VenueSpec:
    """The venue's default spec pointed at a local server."""
    return DEFAULT_SPECS[venue].with_overrides(rest_url=srv.url, ws_url=srv.ws_url, **changes)


async def one(market: LiveMarket, venue: str) -> OrderBook | VenueError:
    """One venue's fresh book, then close the market."""
    try:
        return (await market.fresh_books([venue]))[venue]
    finally:
        await market.close()


# -- REST quotes -----------------------------------------------------------------------------


async def test_rest_books_from_binance_us_and_bitstamp(srv: VenueServer) -> None:
    srv.rest(DEPTH, Reply(binance_book()))
    srv.rest(BITSTAMP_BOOK, Reply(bitstamp_book()))
    specs = {v: spec_at(v, srv) for v in ("binanceus", "bitstamp")}
    market = LiveMarket(specs, "USD", settings=FAST)
    try:
        books = await market.fresh_books(["binanceus", "bitstamp"])
    finally:
        await market.close()
    us, bs = books["binanceus"], books["bitstamp"]
    assert not isinstance(us, VenueError) and not isinstance(bs, VenueError)
    assert us.best_ask == Decimal("91000.00") and us.asks[0].size == Decimal("0.25000000")
    assert bs.best_ask == Decimal("91010")
    _path, query, headers = srv.requests[0]
    assert query == {"symbol": "BTCUSD", "limit": "500"}
    assert headers["User-Agent"].startswith("btc-dca/")
    assert market.status("binanceus").health is Health.LIVE
    assert market.status("binanceus").latency_ms is not None


@pytest.mark.parametrize(
    ("venue", "reply", "kind", "words"),
    [
        ("binance", Reply('{"code":0,"msg":"Service unavailable from a restricted location"}',
                          status=451), ErrorKind.RESTRICTED, "try binanceus"),
        ("binance", Reply("<html>blocked</html>", status=403, content_type="text/html"),
         ErrorKind.FORBIDDEN, "use binanceus"),
        ("binance", Reply('{"code":-1003,"msg":"Too many requests"}', status=429,
                          headers={"Retry-After": "30"}), ErrorKind.RATE_LIMITED, "retry after 30s"),
        ("binance", Reply('{"code":-1003,"msg":"banned"}', status=418,
                          headers={"Retry-After": "120"}), ErrorKind.BANNED, "IP banned"),
        ("binance", Reply("upstream down", status=503), ErrorKind.HTTP, "HTTP 503"),
        ("binance", Reply('{"code":-1121,"msg":"Invalid symbol."}', status=400), ErrorKind.HTTP,
         "Invalid symbol."),
        ("binance", Reply('{"code":-1121,"msg":"Invalid symbol."}'), ErrorKind.EXCHANGE,
         "Invalid symbol."),
        ("binance", Reply('{"lastUpdateId":1,"bids":[["1","1"]],"asks":[["2",'), ErrorKind.MALFORMED,
         "malformed JSON"),
        ("binance", Reply(binance_book(), cut_after=40), ErrorKind.MALFORMED, "truncated"),
        ("binance", Reply('{"lastUpdateId":1,"bids":[],"asks":[]}'), ErrorKind.EMPTY_BOOK,
         "no asks"),
        ("binance", Reply(binance_book(ask="90000", bid="90500")), ErrorKind.CROSSED_BOOK,
         "crossed"),
        ("bitstamp", Reply('{"status":"error","reason":"Invalid pair"}'), ErrorKind.EXCHANGE,
         "Invalid pair"),
        ("bitstamp", Reply("", status=500), ErrorKind.HTTP, "HTTP 500"),
        ("bitstamp", Reply(bitstamp_book(), cut_after=10), ErrorKind.MALFORMED, "truncated"),
    ],
)  # fmt: skip
async def test_every_http_failure_is_a_typed_error_with_the_venue_name(
    srv: VenueServer, venue: str, reply: Reply, kind: ErrorKind, words: str
) -> None:
    srv.rest(DEPTH, reply)
    srv.rest("/api/v2/order_book/btcusdt/", reply)
    market = LiveMarket({venue: spec_at(venue, srv)}, "USDT", settings=FAST)
    result = await one(market, venue)
    assert isinstance(result, VenueError)
    assert (result.kind, result.venue) == (kind, venue)
    assert words in str(result)
    status = market.status(venue)
    assert status.health is Health.DOWN and status.error == result


async def test_timeout(srv: VenueServer) -> None:
    srv.rest(DEPTH, Reply(binance_book(), delay=2.0))
    settings = LiveSettings(timeout_s=0.3)
    market = LiveMarket({"binance": spec_at("binance", srv)}, "USDT", settings=settings)
    started = time.perf_counter()
    result = await one(market, "binance")
    assert time.perf_counter() - started < 1.0
    assert isinstance(result, VenueError) and result.kind is ErrorKind.TIMEOUT
    assert str(result) == "timed out after 0.3s"


async def test_dns_failure_refused_and_tls() -> None:
    async with VenueServer() as plain:
        plain.rest(DEPTH, Reply(binance_book()))
        specs = {
            # .invalid never resolves (RFC 6761): the lookup fails locally.
            "binance": DEFAULT_SPECS["binance"].with_overrides(
                rest_url="http://api.binance.invalid"
            ),
            "binanceus": DEFAULT_SPECS["binanceus"].with_overrides(
                rest_url=f"http://127.0.0.1:{closed_port()}"
            ),
            # https to a server that only speaks plain HTTP: the handshake fails.
            "bitstamp": DEFAULT_SPECS["bitstamp"].with_overrides(
                rest_url=f"https://127.0.0.1:{plain.port}"
            ),
        }
        market = LiveMarket(specs, "USDT", settings=FAST)
        try:
            books = await market.fresh_books(list(specs))
        finally:
            await market.close()
    kinds = {v: b.kind for v, b in books.items() if isinstance(b, VenueError)}
    assert kinds == {
        "binance": ErrorKind.DNS,
        "binanceus": ErrorKind.REFUSED,
        "bitstamp": ErrorKind.TLS,
    }
    assert "api.binance.invalid" in str(books["binance"])


async def test_429_is_honoured_no_request_until_retry_after(srv: VenueServer) -> None:
    srv.rest(DEPTH, [Reply("{}", status=429, headers={"Retry-After": "60"}), Reply(binance_book())])
    market = LiveMarket({"binance": spec_at("binance", srv)}, "USDT", settings=FAST)
    try:
        first = (await market.fresh_books(["binance"]))["binance"]
        second = (await market.fresh_books(["binance"]))["binance"]
    finally:
        await market.close()
    assert isinstance(first, VenueError) and first.retry_after == 60
    assert isinstance(second, VenueError) and second.kind is ErrorKind.RATE_LIMITED
    assert "backing off" in str(second)
    assert srv.count(DEPTH) == 1  # the venue said wait: we did not ask again


async def test_a_slow_venue_does_not_delay_the_others() -> None:
    venues = ["binance", "binanceus", "bitstamp"]
    async with VenueServer() as slow, VenueServer() as fast:
        slow.rest(DEPTH, Reply(binance_book(), delay=2.0))
        fast.rest(DEPTH, Reply(binance_book(), delay=0.05))
        fast.rest("/api/v2/order_book/btcusdt/", Reply(bitstamp_book(), delay=0.05))
        specs = {
            "binance": spec_at("binance", slow),
            "binanceus": spec_at("binanceus", fast),
            "bitstamp": spec_at("bitstamp", fast),
        }
        settings = LiveSettings(timeout_s=3.0, timeouts={"binance": 0.5})
        market = LiveMarket(specs, "USDT", settings=settings)
        timings: dict[str, float] = {}
        started = time.perf_counter()

        async def timed(venue: str) -> None:
            await market.fresh_books([venue])
            timings[venue] = time.perf_counter() - started

        try:
            await asyncio.gather(*(timed(v) for v in venues))
            # All at once: the total is the slowest one's, not the sum.
            started2 = time.perf_counter()
            books = await market.fresh_books(venues)
            total = time.perf_counter() - started2
        finally:
            await market.close()
    assert timings["binanceus"] < 0.4 and timings["bitstamp"] < 0.4
    assert 0.45 < timings["binance"] < 1.0
    assert total < 0.9
    assert isinstance(books["binance"], VenueError)
    assert not isinstance(books["binanceus"], VenueError)


async def test_six_concurrent_requests_take_about_one_round_trip() -> None:
    async with VenueServer() as server:
        server.rest(DEPTH, Reply(binance_book(), delay=0.2))
        specs = {f"v{i}": spec_at("binance", server, id=f"v{i}") for i in range(6)}
        from exchanges.binance import BinanceAdapter

        adapters = {v: BinanceAdapter(v) for v in specs}
        market = LiveMarket(specs, "USDT", adapters=adapters, settings=FAST)
        started = time.perf_counter()
        try:
            books = await market.fresh_books(list(specs))
        finally:
            await market.close()
    assert time.perf_counter() - started < 0.5
    assert all(not isinstance(b, VenueError) for b in books.values())


# -- pairs and conversion ----------------------------------------------------------------------


async def test_binance_prices_a_usd_plan_on_its_usdt_book_at_a_live_rate(srv: VenueServer) -> None:
    srv.rest(DEPTH, Reply(binance_book()))
    rates = FixedRates(RealClock(), {("USDT", "USD"): Decimal("1.0002")})
    market = LiveMarket({"binance": spec_at("binance", srv)}, "USD", settings=FAST, rates=rates)
    book = await one(market, "binance")
    assert not isinstance(book, VenueError)
    assert book.quote == "USD"
    assert book.best_ask == Decimal("91000.00") * Decimal("1.0002")
    assert srv.requests[0][1]["symbol"] == "BTCUSDT"
    assert market.status("binance").note == "USDT→USD 1.0002 (fixed)"


async def test_no_rate_leaves_the_venue_out_and_parity_is_opt_in(srv: VenueServer) -> None:
    srv.rest(DEPTH, Reply(binance_book()))
    none = FixedRates(RealClock(), {})
    market = LiveMarket({"binance": spec_at("binance", srv)}, "USD", settings=FAST, rates=none)
    result = await one(market, "binance")
    assert isinstance(result, VenueError) and result.kind is ErrorKind.NO_RATE
    assert result.venue == "binance" and "USDT→USD" in str(result)
    parity = LiveMarket({"binance": spec_at("binance", srv)}, "USD", settings=FAST, peg_parity=True)
    book = await one(parity, "binance")
    assert not isinstance(book, VenueError)
    assert book.best_ask == Decimal("91000.00")
    assert "parity" in parity.status("binance").note


async def test_a_venue_without_the_pair_is_left_out_with_the_reason() -> None:
    market = LiveMarket({"binanceus": DEFAULT_SPECS["binanceus"]}, "EUR", settings=FAST)
    result = await one(market, "binanceus")
    assert isinstance(result, VenueError) and result.kind is ErrorKind.UNSUPPORTED_PAIR
    assert str(result) == "Binance.US does not list BTC/EUR (it lists BTC/USD, BTC/USDT, BTC/USDC)"
    assert market.status("binanceus").health is Health.DOWN
    unknown = await market.fresh_books(["nowhere"])
    assert isinstance(unknown["nowhere"], VenueError)
    assert unknown["nowhere"].kind is ErrorKind.DISABLED
    assert market.status("nowhere").error is not None


async def test_a_venue_with_no_client_in_this_build_is_unavailable() -> None:
    market = LiveMarket({"binance": DEFAULT_SPECS["binance"]}, "USDT", adapters={})
    result = await one(market, "binance")
    assert isinstance(result, VenueError) and result.kind is ErrorKind.UNAVAILABLE


# -- streaming -------------------------------------------------------------------------------


async def wait_for(predicate: Callable[[], bool], within: float = 3.0) -> None:
    """Poll ``predicate`` until it holds; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


def best_ask(market: LiveMarket, venue: str) -> Decimal | None:
    """The best ask of ``venue``'s book as the market holds it now; None without a book."""
    book = market.status(venue).book
    return None if book is None else book.best_ask


async def stream_until(market: LiveMarket, venue: str, best_ask: Decimal) -> VenueStatus:
    """Start the feeds, wait until ``venue``'s streamed book shows ``best_ask``, then close.

    Returns the venue's status at that moment.
    """
    await market.start()
    try:

        def shown() -> bool:
            book = market.status(venue).book
            return book is not None and book.best_ask == best_ask

        await wait_for(shown)
        return market.status(venue)
    finally:
        await market.close()


async def test_binance_stream_syncs_from_the_snapshot_and_resyncs_after_a_gap(
    srv: VenueServer,
) -> None:
    srv.rest(DEPTH, [Reply(binance_book(last=100)), Reply(binance_book(last=300))])

    def script(n: int) -> list[str]:
        if n == 0:
            return [
                depth_event(99, 100, [["91000.00", "9"]]),  # already in the snapshot
                depth_event(101, 102, [["90999.50", "0.1"]]),
                depth_event(103, 103, [["90999.60", "0.2"]]),
                depth_event(110, 111, [["90999.70", "0.3"]]),  # 104..109 missing: a gap
            ]
        return [depth_event(301, 301, [["90999.90", "0.4"]])]

    srv.ws(WS_PATH, WsScript(script, interval=0.02, hold=True))
    market = LiveMarket({"binance": spec_at("binance", srv)}, "USDT", settings=FAST)
    seen: list[VenueStatus] = []
    remove = market.add_listener(seen.append)
    await market.start()
    try:
        await wait_for(lambda: srv.connections.get(WS_PATH, 0) >= 2)
        await wait_for(lambda: best_ask(market, "binance") == Decimal("90999.90"))
        status = market.status("binance")
        books = await market.fresh_books(["binance"])
    finally:
        remove()
        await market.close()
    assert status.health is Health.LIVE
    assert status.note == "resynced after sequence gap"
    assert books["binance"] == status.book
    assert status.source == "stream"
    assert status.book is not None
    # The stream's levels on top of the second snapshot.
    assert [str(lv.price) for lv in status.book.asks[:2]] == ["90999.90", "91000.00"]
    asks_seen = {s.book.best_ask for s in seen if s.book is not None}
    assert Decimal("90999.50") in asks_seen  # the first session's diffs went live
    assert srv.count(DEPTH) == 2  # one snapshot per sync


async def test_bitstamp_stream_subscribes_and_applies_newer_diffs(srv: VenueServer) -> None:
    srv.rest("/api/v2/order_book/btceur/", Reply(bitstamp_book(micro=5000)))

    def diff(micro: int, ask: str) -> str:
        data = {"microtimestamp": str(micro), "bids": [], "asks": [[ask, "0.5"]]}
        return json.dumps({"data": data, "channel": "diff_order_book_btceur", "event": "data"})

    ack = '{"event":"bts:subscription_succeeded","channel":"diff_order_book_btceur","data":{}}'
    srv.ws("/", WsScript([ack, diff(4000, "1.00"), diff(6000, "91005")], wait_for=1, hold=True))
    market = LiveMarket({"bitstamp": spec_at("bitstamp", srv)}, "EUR", settings=FAST)
    await market.start()
    try:
        await wait_for(lambda: best_ask(market, "bitstamp") == Decimal("91005"))
    finally:
        await market.close()
    assert json.loads(srv.received[0]) == {
        "event": "bts:subscribe",
        "data": {"channel": "diff_order_book_btceur"},
    }
    book = market.status("bitstamp").book
    assert book is not None and Decimal("1.00") not in [lv.price for lv in book.asks]


async def test_a_silent_socket_goes_stale_and_the_decision_gets_a_rest_snapshot(
    srv: VenueServer,
) -> None:
    # The socket stays open but the venue says nothing, not even a pong to our pings.
    srv.rest(DEPTH, [Reply(binance_book(last=100)), Reply(binance_book(last=100, ask="91000.50"))])
    srv.ws(WS_PATH, WsScript([depth_event(101, 101, [["90999.50", "1"]])], hold=True,
                             autoping=False))  # fmt: skip
    settings = LiveSettings(timeout_s=1.0, stale_after_s=0.3, backoff_base_s=0.05)
    market = LiveMarket({"binance": spec_at("binance", srv)}, "USDT", settings=settings)
    await market.start()
    try:
        await wait_for(lambda: market.status("binance").health is Health.LIVE)
        await wait_for(lambda: market.status("binance").health is Health.STALE)
        status = market.status("binance")
        result = (await market.fresh_books(["binance"]))["binance"]
    finally:
        await market.close()
    assert status.error is not None and status.error.kind is ErrorKind.STALE
    assert str(status.error).startswith("socket silent for")
    # Not the streamed book (its socket cannot vouch for it): a snapshot fetched for this call.
    assert isinstance(result, OrderBook) and result.best_ask == Decimal("91000.50")
    assert result.origin is not None and result.origin.source == "rest"
    assert srv.count(DEPTH) == 2


async def test_socket_refused_falls_back_to_rest_polling(srv: VenueServer) -> None:
    srv.rest(DEPTH, Reply(binance_book()))
    srv.ws(WS_PATH, WsScript(reject_status=503))
    market = LiveMarket({"binance": spec_at("binance", srv)}, "USDT", settings=FAST)
    seen: list[VenueStatus] = []
    market.add_listener(seen.append)
    await market.start()
    try:
        await wait_for(lambda: "polling REST" in market.status("binance").note)
        await wait_for(lambda: srv.connections.get(WS_PATH, 0) >= 3)
        status = market.status("binance")
        book = (await market.fresh_books(["binance"]))["binance"]
    finally:
        await market.close()
    assert status.health is Health.LIVE
    assert "HTTP 503" in status.note
    assert not isinstance(book, VenueError)
    assert any(s.health is Health.DOWN for s in seen)


@pytest.mark.parametrize(("venue", "hint"), [("binance", True), ("binanceus", False)])
async def test_a_socket_refused_for_the_location_points_binance_users_at_binance_us(
    srv: VenueServer, venue: str, hint: bool
) -> None:
    srv.rest(DEPTH, Reply(binance_book()))
    srv.ws(WS_PATH, WsScript(reject_status=451))
    market = LiveMarket({venue: spec_at(venue, srv)}, "USDT", settings=FAST)
    seen: list[VenueStatus] = []
    market.add_listener(seen.append)
    await market.start()
    try:
        await wait_for(lambda: any(s.health is Health.DOWN for s in seen))
    finally:
        await market.close()
    error = next(s.error for s in seen if s.health is Health.DOWN)
    assert error is not None and error.kind is ErrorKind.RESTRICTED
    assert "HTTP 451: restricted location: WebSocket upgrade refused" in str(error)
    assert str(error).endswith("; try binanceus") is hint


class BrokenRest:
    """Binance's adapter with a bug in its REST parser (raises a plain exception)."""

    def __init__(self) -> None:
        from exchanges.registry import adapter_for

        self.inner = adapter_for("binance")

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def parse_rest(self, *args: object) -> object:
        raise KeyError("bids")


async def test_a_bug_while_polling_rest_shows_the_venue_down_and_the_feed_keeps_trying(
    srv: VenueServer, caplog: pytest.LogCaptureFixture
) -> None:
    srv.rest(DEPTH, Reply(binance_book()))
    srv.ws(WS_PATH, WsScript(reject_status=503))
    market = LiveMarket(
        {"binance": spec_at("binance", srv)},
        "USDT",
        settings=FAST,
        adapters={"binance": BrokenRest()},  # type: ignore[dict-item]
    )
    seen: list[VenueStatus] = []
    market.add_listener(seen.append)
    await market.start()
    try:
        # The socket keeps being retried after each failed poll: the feed did not die.
        await wait_for(lambda: srv.connections.get(WS_PATH, 0) >= 3)
        task = market._feeds["binance"].task
        assert task is not None and not task.done()
    finally:
        await market.close()
    errors = [str(s.error) for s in seen if s.health is Health.DOWN]
    assert "unexpected error: 'bids'" in errors
    assert "binance: feed failed" in caplog.text
    assert "KeyError" in caplog.text


async def test_close_logs_a_feed_that_died_with_the_venue(
    srv: VenueServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = LiveMarket({"binance": spec_at("binance", srv)}, "USDT", settings=FAST)

    async def dies() -> None:
        raise RuntimeError("feed bug")

    monkeypatch.setattr(market._feeds["binance"], "run", dies)
    await market.start()
    await asyncio.sleep(0)
    await market.close()
    assert "binance: feed had stopped on an error" in caplog.text
    assert "RuntimeError: feed bug" in caplog.text


async def test_a_venue_down_on_every_count_reports_down_with_the_reason() -> None:
    port = closed_port()
    spec = DEFAULT_SPECS["binance"].with_overrides(
        rest_url=f"http://127.0.0.1:{port}", ws_url=f"ws://127.0.0.1:{port}"
    )
    market = LiveMarket({"binance": spec}, "USDT", settings=FAST)
    await market.start()
    try:
        await wait_for(lambda: market.status("binance").health is Health.DOWN)
        await asyncio.sleep(0.1)
        status = market.status("binance")
        result = (await market.fresh_books(["binance"]))["binance"]
    finally:
        await market.close()
        await market.close()  # twice is fine
    assert status.error is not None and status.error.kind is ErrorKind.REFUSED
    assert isinstance(result, VenueError) and result.kind is ErrorKind.REFUSED


async def test_close_leaves_no_tasks_and_closes_the_session(srv: VenueServer) -> None:
    srv.rest(DEPTH, Reply(binance_book()))
    srv.ws(WS_PATH, WsScript([depth_event(101, 101, [])], hold=True))
    market = LiveMarket({"binance": spec_at("binance", srv)}, "USDT", settings=FAST)
    await market.start()
    await market.start()  # idempotent
    await wait_for(lambda: market.status("binance").health is Health.LIVE)
    session = await market.session()
    await market.close()
    assert session.closed
    leftover = [t for t in asyncio.all_tasks() if t.get_name().startswith("feed-")]
    assert leftover == []


async def test_a_shared_session_is_left_open_for_its_owner(srv: VenueServer) -> None:
    from exchanges.http import new_session

    srv.rest(DEPTH, Reply(binance_book()))
    async with new_session() as session:
        market = LiveMarket({"binance": spec_at("binance", srv)}, "USDT", session=session)
        await one(market, "binance")
        assert not session.closed


async def test_a_failing_listener_does_not_stop_the_feed(srv: VenueServer) -> None:
    srv.rest(DEPTH, Reply(binance_book()))

    def broken(_: VenueStatus) -> None:
        raise RuntimeError("panel bug")

    market = LiveMarket({"binance": spec_at("binance", srv)}, "USDT", settings=FAST)
    market.add_listener(broken)
    result = await one(market, "binance")
    assert not isinstance(result, VenueError)


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, 0.5, 8.0, rng) for n in range(1, 9)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(8.0, 0.5 * 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(d, 6) for d in delays}) == len(delays)  # jittered, not lockstep


async def test_custom_ws_handler_exercises_server_disconnect(srv: VenueServer) -> None:
    async def drop(ws: web.WebSocketResponse, request: web.Request) -> None:
        await ws.close(code=1011)

    srv.rest(DEPTH, Reply(binance_book()))
    srv.ws(WS_PATH, drop)
    market = LiveMarket({"binance": spec_at("binance", srv)}, "USDT", settings=FAST)
    await market.start()
    try:
        await wait_for(lambda: srv.connections.get(WS_PATH, 0) >= 2)
        await wait_for(lambda: "code 1011" in market.status("binance").note)
    finally:
        await market.close()


async def test_the_same_failure_on_rest_and_stream_is_said_once() -> None:
    # No network: the stream and the REST fallback both fail to look the host up.
    spec = DEFAULT_SPECS["binance"].with_overrides(
        rest_url="http://api.binance.invalid", ws_url="ws://api.binance.invalid"
    )
    market = LiveMarket({"binance": spec}, "USDT", settings=FAST)
    await market.start()
    try:
        deadline = time.monotonic() + 10
        while market.status("binance").error is None:
            assert time.monotonic() < deadline, "the stream never failed"
            await asyncio.sleep(0.02)
        book = (await market.fresh_books(["binance"]))["binance"]
    finally:
        await market.close()
    assert isinstance(book, VenueError) and book.kind is ErrorKind.DNS
    assert book.message == "DNS lookup failed: api.binance.invalid:80 (stream too)"
