"""Proof of life, not proof of change: every venue's quiet book stays in every tranche.

For each venue a local server speaks its real format: it syncs the book, then goes
quiet, sending only the venue's own liveness signal (Kraken ``heartbeat``, Coinbase
``heartbeats``, Binance ping frames, OKX ``pong``, Bitstamp ``bts:heartbeat``). A
socket silent past its limit makes the book stale and the tranche takes a REST
snapshot instead; a venue that cannot answer either is recorded with its reason.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from aiohttp import web

from dca.events import TrancheFilled, TrancheSkipped
from dca.executor import Executor
from dca.journal import MemoryJournal
from dca.plan import Plan
from exchanges.adapter import VenueAdapter
from exchanges.book import OrderBook
from exchanges.clock import RealClock
from exchanges.errors import ErrorKind, VenueError
from exchanges.kraken import KrakenAdapter
from exchanges.live import LiveMarket, LiveSettings
from exchanges.market import Health, VenueStatus
from storage.history.rows import quote_rows, tranche_row
from tests.exchanges import test_coinbase as cb
from tests.exchanges import test_kraken as kr
from tests.exchanges import test_okx as ok
from tests.exchanges.servers import PING, Reply, VenueServer, WsScript
from tests.exchanges.test_live import binance_book, bitstamp_book, spec_at, wait_for

# A socket silent for 0.3 s is stale (so a quiet stretch of 1.2 s would be four limits).
SETTINGS = LiveSettings(
    timeout_s=1.0, stale_after_s=0.3, backoff_base_s=0.05, backoff_max_s=0.2, poll_interval_s=0.05
)
BITSTAMP_ACK = '{"event":"bts:subscription_succeeded","channel":"diff_order_book_btcusd","data":{}}'
BITSTAMP_BEAT = '{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}'


def binance_diff(symbol: str, first: int, ask: str) -> str:
    """A ``depthUpdate`` for ``symbol`` (Binance.US lists BTCUSD)."""
    event = {"e": "depthUpdate", "E": 1, "s": symbol, "U": first, "u": first}
    return json.dumps({**event, "b": [], "a": [[ask, "1.00000000"]]})


def bitstamp_diff(micro: int, ask: str) -> str:
    """A ``diff_order_book_btcusd`` data message."""
    data = {"microtimestamp": str(micro), "bids": [], "asks": [[ask, "0.5"]]}
    return json.dumps({"data": data, "channel": "diff_order_book_btcusd", "event": "data"})


@dataclass(frozen=True)
class Venue:
    """One venue as its local server plays it: the sync, then its liveness signal."""

    venue: str
    quote: str
    rest_path: str
    rest_body: str
    ws_path: str
    subscribes: int
    sync: list[str]
    beat: str | Callable[[int], str] | None = None
    answers: dict[str, str] = field(default_factory=dict)
    # REST requests the stream's own sync makes (Binance and Bitstamp seed from REST).
    sync_requests: int = 0
    adapters: Mapping[str, VenueAdapter] | None = None

    def script(self, *, alive: bool) -> WsScript:
        """The socket: sync, then the venue's liveness signal (``alive``) or utter silence."""
        return WsScript(
            self.sync,
            wait_for=self.subscribes,
            interval=0.01,
            hold=True,
            beat=self.beat if alive else None,
            beat_every=0.05,
            answers=self.answers if alive else {},
            autoping=alive,
        )


VENUES = [
    Venue("binance", "USDT", "/api/v3/depth", binance_book(last=100),
          "/ws/btcusdt@depth@100ms", 0, [binance_diff("BTCUSDT", 101, "90999.50")],
          beat=PING, sync_requests=1),
    Venue("binanceus", "USD", "/api/v3/depth", binance_book(last=100),
          "/ws/btcusd@depth@100ms", 0, [binance_diff("BTCUSD", 101, "90999.50")],
          beat=PING, sync_requests=1),
    Venue("bitstamp", "USD", "/api/v2/order_book/btcusd/", bitstamp_book(micro=5000),
          "/", 1, [BITSTAMP_ACK, bitstamp_diff(6000, "91005")],
          answers={'{"event":"bts:heartbeat"}': BITSTAMP_BEAT}, sync_requests=1),
    Venue("kraken", "USD", "/0/public/Depth", kr.REST_BODY, "/", 1,
          [kr.STATUS, kr.ACK, kr.SNAPSHOT], beat=kr.HEARTBEAT,
          adapters={"kraken": KrakenAdapter(ws_depth=10)}),
    Venue("coinbase", "USD", "/products/BTC-USD/book", cb.REST_BODY, "/", 2,
          [cb.subscriptions(0), cb.l2(1, "snapshot", cb.SNAP)],
          beat=lambda n: cb.heartbeat(2 + n)),
    Venue("okx", "USDT", "/api/v5/market/books", ok.REST_BODY, "/", 1,
          [ok.ACK, ok.books("snapshot", ok.BIDS0, ok.ASKS0, seq=10)],
          answers={"ping": "pong"}),
]  # fmt: skip
IDS = [v.venue for v in VENUES]


def market_for(v: Venue, srv: VenueServer) -> LiveMarket:
    """A live market on the venue's local server."""
    return LiveMarket(
        {v.venue: spec_at(v.venue, srv)}, v.quote, adapters=v.adapters, settings=SETTINGS
    )


def plan_for(v: Venue, tranches: int, duration_s: float) -> Plan:
    """A small plan on this venue alone."""
    return Plan(
        amount=Decimal("0.001") * tranches,
        duration_s=duration_s,
        tranches=tranches,
        quote=v.quote,
        venues=(v.venue,),
    )


async def decide(market: LiveMarket, plan: Plan) -> list[TrancheFilled | TrancheSkipped]:
    """Run ``plan`` on the real clock; the tranche events."""
    journal = MemoryJournal()
    await Executor(plan, market, journal, RealClock(), retries=0).run()
    return [e for e in journal.events if isinstance(e, TrancheFilled | TrancheSkipped)]


async def synced(market: LiveMarket, venue: str) -> None:
    """Start the feeds and wait for the first streamed book."""
    await market.start()
    await wait_for(lambda: market.status(venue).source == "stream")


async def test_the_quiet_kraken_book_of_the_report_stays_in_tranches_two_and_on(
    srv: VenueServer,
) -> None:
    # As reported: Kraken synced, then only heartbeats. The book used to age past the
    # stale limit (no *change* for 10 s) and be left out from the second tranche on,
    # and the socket was dropped after three limits of quiet.
    v = VENUES[IDS.index("kraken")]
    srv.ws("/", v.script(alive=True))
    market = market_for(v, srv)
    await synced(market, "kraken")
    try:
        books = []
        for _ in range(4):
            books.append((await market.fresh_books(["kraken"]))["kraken"])
            await asyncio.sleep(0.4)  # more than the stale limit, every time
        status = market.status("kraken")
    finally:
        await market.close()
    assert all(isinstance(b, OrderBook) for b in books), books
    origins = [b.origin for b in books if isinstance(b, OrderBook)]
    assert all(o is not None and o.source == "stream" and o.age_s < 0.3 for o in origins)
    # The book has not changed since it was synced, and that is fine.
    changed = [o.changed_s or 0.0 for o in origins if o is not None]
    assert changed == sorted(changed) and changed[-1] > 1.0
    assert srv.connections["/"] == 1 and srv.count("/0/public/Depth") == 0
    assert status.health is Health.LIVE and status.received is not None
    assert status.heard is not None and status.heard - status.received > 1.0


@pytest.mark.parametrize("v", VENUES, ids=IDS)
async def test_a_quiet_stretch_with_heartbeats_keeps_the_book_in_every_tranche(
    srv: VenueServer, v: Venue
) -> None:
    srv.rest(v.rest_path, Reply(v.rest_body))
    srv.ws(v.ws_path, v.script(alive=True))
    market = market_for(v, srv)
    await synced(market, v.venue)
    try:
        # Four tranches 0.4 s apart: the book never changes after its sync.
        events = await decide(market, plan_for(v, 4, 1.6))
        stats = market.stats()[v.venue]
    finally:
        await market.close()
    assert [type(e) for e in events] == [TrancheFilled] * 4
    for event in events:
        assert isinstance(event, TrancheFilled)
        assert event.route.alternatives[v.venue] is not None
        (quote,) = event.quotes
        assert quote.source == "stream" and quote.reason is None
        assert quote.book_age_s is not None and quote.book_age_s < SETTINGS.stale_after_s
    assert srv.connections[v.ws_path] == 1  # never reconnected for being quiet
    assert srv.count(v.rest_path) == v.sync_requests  # no tranche needed REST
    assert (stats.stream_books, stats.rest_books, stats.reconnects) == (4, 0, 0)
    if v.beat is None:
        assert stats.pings > 0  # the venue answered our keep-alive requests
        assert any(text in v.answers for text in srv.received)


@pytest.mark.parametrize("v", VENUES, ids=IDS)
async def test_a_silent_socket_makes_the_book_stale_and_the_tranche_takes_rest(
    srv: VenueServer, v: Venue
) -> None:
    srv.rest(v.rest_path, Reply(v.rest_body))
    srv.ws(v.ws_path, v.script(alive=False))
    market = market_for(v, srv)
    await synced(market, v.venue)
    try:
        await wait_for(lambda: market.status(v.venue).health is Health.STALE)
        status = market.status(v.venue)
        events = await decide(market, plan_for(v, 1, 1.0))
        stats = market.stats()[v.venue]
    finally:
        await market.close()
    assert status.error is not None and "socket silent for" in str(status.error)
    (event,) = events
    assert isinstance(event, TrancheFilled) and event.route.alternatives[v.venue] is not None
    (quote,) = event.quotes
    assert quote.source == "rest" and quote.book_age_s == 0.0
    assert srv.count(v.rest_path) >= v.sync_requests + 1
    assert stats.rest_books == 1 and stats.stream_books == 0
    row = tranche_row(event, datetime.now(UTC))
    assert row["books"] == [
        {"venue": v.venue, "source": "rest", "age_s": 0.0, "changed_s": 0.0, "reason": None}
    ]


@pytest.mark.parametrize("v", VENUES, ids=IDS)
async def test_a_venue_that_cannot_answer_is_recorded_with_its_reason(
    srv: VenueServer, v: Venue
) -> None:
    # The socket is silent and REST answers 503 after the stream's own sync.
    replies = [Reply(v.rest_body)] * v.sync_requests + [Reply("upstream down", status=503)]
    srv.rest(v.rest_path, replies)
    srv.ws(v.ws_path, v.script(alive=False))
    market = market_for(v, srv)
    await synced(market, v.venue)
    try:
        await wait_for(lambda: market.status(v.venue).health is Health.STALE)
        events = await decide(market, plan_for(v, 1, 1.0))
    finally:
        await market.close()
    (event,) = events
    assert isinstance(event, TrancheSkipped)
    (quote,) = event.quotes
    assert isinstance(quote.outcome, VenueError) and quote.outcome.kind is ErrorKind.HTTP
    assert quote.reason is not None and quote.reason.startswith("HTTP 503")
    assert "(stream: socket silent for" in quote.reason
    row = tranche_row(event, datetime.now(UTC))
    assert row["alternatives"] == [{"venue": v.venue, "total": None}]
    assert row["books"] == [
        {"venue": v.venue, "source": None, "age_s": None, "changed_s": None,
         "reason": quote.reason}
    ]  # fmt: skip
    (qrow,) = quote_rows(event, datetime.now(UTC))
    assert qrow["status"] == "error" and qrow["book_source"] is None


async def test_a_tranche_prices_a_stale_venue_from_rest_beside_a_live_one(
    srv: VenueServer,
) -> None:
    # Kraken streams heartbeats; Binance's socket is dead, so its tranche book is fetched.
    kraken, binance = VENUES[IDS.index("kraken")], VENUES[IDS.index("binance")]
    srv.ws("/", kraken.script(alive=True))
    srv.rest(binance.rest_path, Reply(binance.rest_body))
    srv.ws(binance.ws_path, binance.script(alive=False))
    specs = {v: spec_at(v, srv) for v in ("kraken", "binance")}
    market = LiveMarket(
        specs,
        "USD",
        adapters={**(kraken.adapters or {}), "binance": _binance()},
        settings=SETTINGS,
        peg_parity=True,
    )
    await market.start()
    try:
        await wait_for(lambda: market.status("kraken").source == "stream")
        await wait_for(lambda: market.status("binance").health is Health.STALE)
        plan = Plan(Decimal("0.002"), 1.0, 1, "USD", ("kraken", "binance"))
        (event,) = await decide(market, plan)
    finally:
        await market.close()
    assert isinstance(event, TrancheFilled)
    assert all(t is not None for t in event.route.alternatives.values())
    sources = {q.venue: q.source for q in event.quotes}
    assert sources == {"kraken": "stream", "binance": "rest"}


def _binance() -> VenueAdapter:
    from exchanges.registry import adapter_for

    adapter = adapter_for("binance")
    assert adapter is not None
    return adapter


@pytest.mark.parametrize(
    ("v", "code"),
    [(VENUES[IDS.index("binance")], 1000), (VENUES[IDS.index("kraken")], 1001),
     (VENUES[IDS.index("coinbase")], 1001), (VENUES[IDS.index("okx")], 4004)],
    ids=["binance-24h", "kraken-maintenance", "coinbase-maintenance", "okx-idle"],
)  # fmt: skip
async def test_a_venue_initiated_close_reconnects_and_no_decision_prices_the_old_stream(
    srv: VenueServer, v: Venue, code: int
) -> None:
    srv.rest(v.rest_path, Reply(v.rest_body))
    first = v.script(alive=True)
    script = WsScript(
        v.sync,
        wait_for=v.subscribes,
        interval=0.01,
        hold=False,
        delay=0.0,
        close_code=code,
    )
    # The first session syncs and is closed by the venue; the next one syncs late.
    sessions = iter([script, WsScript(v.sync, wait_for=v.subscribes, delay=0.6, hold=True,
                                      beat=first.beat, beat_every=0.05, answers=first.answers)])  # fmt: skip

    async def handler(ws: web.WebSocketResponse, request: web.Request) -> None:
        await srv._play(ws, next(sessions), 0)

    srv.ws(v.ws_path, handler)
    market = market_for(v, srv)
    seen: list[VenueStatus] = []
    market.add_listener(seen.append)
    await market.start()
    try:
        await wait_for(lambda: srv.connections.get(v.ws_path, 0) >= 2)
        during = (await market.fresh_books([v.venue]))[v.venue]
        await wait_for(lambda: market.status(v.venue).source == "stream", within=5)
        after = (await market.fresh_books([v.venue]))[v.venue]
        stats = market.stats()[v.venue]
    finally:
        await market.close()
    # While the new session syncs, the tranche is priced from REST, never the old stream.
    assert isinstance(during, OrderBook) and during.origin is not None
    assert during.origin.source == "rest"
    assert isinstance(after, OrderBook) and after.origin is not None
    assert after.origin.source == "stream"
    assert stats.reconnects == 1 and stats.resyncs == 0
    # A routine close is never shown as the venue being down.
    assert Health.DOWN not in {s.health for s in seen}
    assert any(s.health is Health.CONNECTING and s.note.startswith("reconnecting") for s in seen)


async def test_a_venue_that_keeps_closing_at_once_backs_off_longer_each_time(
    srv: VenueServer,
) -> None:
    v = VENUES[IDS.index("kraken")]
    srv.rest(v.rest_path, Reply(v.rest_body))
    srv.ws("/", WsScript(v.sync, wait_for=1, close_code=1001))
    settings = LiveSettings(timeout_s=1.0, stale_after_s=5.0, backoff_base_s=0.02,
                            backoff_max_s=1.0, poll_interval_s=0.05)  # fmt: skip
    market = LiveMarket({"kraken": spec_at("kraken", srv)}, "USD", adapters=v.adapters,
                        settings=settings, rng=random.Random(3))  # fmt: skip
    await market.start()
    try:
        await wait_for(lambda: srv.connections.get("/", 0) >= 5, within=5)
        attempt = market._feeds["kraken"].attempt
    finally:
        await market.close()
    # Sessions shorter than the longest backoff do not reset it: 0.02, 0.04, 0.08 ... s.
    assert attempt >= 4
