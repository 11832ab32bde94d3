"""Bitstamp through the live driver: the periodic REST resync of a diff channel that cannot
show a lost message, against a local server in Bitstamp's wire format."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal

import pytest
from aiohttp import web

from exchanges.bitstamp import RESYNC_S, BitstampAdapter, BitstampSync
from exchanges.book import OrderBook
from exchanges.live import LiveMarket
from exchanges.market import VenueStatus
from exchanges.registry import adapters_for
from exchanges.venues import DEFAULT_SPECS
from tests.exchanges.servers import Reply, VenueServer, WsHandler
from tests.exchanges.test_live import FAST, spec_at, wait_for

BOOK = "/api/v2/order_book/btcusd/"
CHANNEL = "diff_order_book_btcusd"
ACK = json.dumps({"event": "bts:subscription_succeeded", "channel": CHANNEL, "data": {}})

Side = dict[str, str]


def diff(micro: int, bids: Side, asks: Side) -> str:
    """A ``diff_order_book`` data message as Bitstamp sends it."""
    data = {
        "timestamp": str(micro // 10**6),
        "microtimestamp": str(micro),
        "bids": [[p, s] for p, s in bids.items()],
        "asks": [[p, s] for p, s in asks.items()],
    }
    return json.dumps({"data": data, "channel": CHANNEL, "event": "data"})


class Truth:
    """The venue's true book after each diff; REST answers it as of a microtimestamp."""

    def __init__(self, micro: int, bids: Side, asks: Side) -> None:
        self.states = {micro: (dict(bids), dict(asks))}
        self.latest = micro

    def step(self, micro: int, bids: Side, asks: Side) -> str:
        """Move the book on by one diff; the diff's text (sent, or lost on the way)."""
        old_bids, old_asks = self.states[self.latest]
        self.states[micro] = (_merged(old_bids, bids), _merged(old_asks, asks))
        self.latest = micro
        return diff(micro, bids, asks)

    def body(self, micro: int | None = None) -> str:
        """The order-book answer as of ``micro`` (the latest by default)."""
        at = self.latest if micro is None else micro
        bids, asks = self.states[at]
        return json.dumps(
            {
                "timestamp": str(at // 10**6),
                "microtimestamp": str(at),
                "bids": sorted(([p, s] for p, s in bids.items()), key=lambda lv: -Decimal(lv[0])),
                "asks": sorted(([p, s] for p, s in asks.items()), key=lambda lv: Decimal(lv[0])),
            }
        )

    def matches(self, book: OrderBook | None) -> bool:
        """Whether ``book`` holds exactly the latest true levels."""
        return book is not None and _levels(book) == self.states[self.latest]


def _merged(side: Side, changes: Side) -> Side:
    merged = {**side, **changes}
    return {p: s for p, s in merged.items() if Decimal(s)}


def _levels(book: OrderBook) -> tuple[Side, Side]:
    bids = {str(lv.price): str(lv.size) for lv in book.bids}
    return bids, {str(lv.price): str(lv.size) for lv in book.asks}


def socket(script: Callable[[web.WebSocketResponse], Awaitable[None]]) -> WsHandler:
    """A socket handler: take the subscription, acknowledge it, run ``script``, stay open."""

    async def handler(ws: web.WebSocketResponse, request: web.Request) -> None:
        await ws.receive()  # bts:subscribe
        await ws.send_str(ACK)
        await script(ws)
        async for _msg in ws:  # open until the client leaves; heartbeats go unanswered
            pass

    return handler


def one_diff(truth: Truth) -> Callable[[web.WebSocketResponse], Awaitable[None]]:
    """A socket script sending one diff (the ask at 91010 becomes 0.8), then nothing."""

    async def script(ws: web.WebSocketResponse) -> None:
        await ws.send_str(truth.step(1100, {}, {"91010": "0.8"}))

    return script


def slow_fetch(started: asyncio.Event, seconds: float) -> Callable[[], float]:
    """A REST reply's delay that first says the fetch has started."""

    def delay() -> float:
        started.set()
        return seconds

    return delay


@contextlib.asynccontextmanager
async def streaming(
    srv: VenueServer,
    script: Callable[[web.WebSocketResponse], Awaitable[None]],
    listener: Callable[[VenueStatus], None] | None = None,
) -> AsyncIterator[LiveMarket]:
    """A live market on the server's Bitstamp, its socket running ``script``; closed after."""
    srv.ws("/", socket(script))
    market = LiveMarket({"bitstamp": spec_at("bitstamp", srv)}, "USD", settings=FAST)
    if listener is not None:
        market.add_listener(listener)
    await market.start()
    try:
        yield market
    finally:
        await market.close()


@pytest.fixture
def fast_resync(monkeypatch: pytest.MonkeyPatch) -> float:
    """Resync every 0.1 s instead of every 5 minutes."""
    monkeypatch.setattr(BitstampSync, "resync_every", 0.1)
    return 0.1


def test_every_five_minutes_for_bitstamp_only() -> None:
    assert RESYNC_S == 300.0
    assert BitstampAdapter().new_sync("btcusd", "USD").resync_every == RESYNC_S
    for venue, adapter in adapters_for(DEFAULT_SPECS).items():
        if venue != "bitstamp":
            assert adapter.new_sync("BTCUSDT", "USDT").resync_every is None, venue


async def test_a_lost_diff_is_repaired_by_the_periodic_resync_on_the_same_socket(
    srv: VenueServer, fast_resync: float, caplog: pytest.LogCaptureFixture
) -> None:
    truth = Truth(1000, {"90990": "1.0"}, {"91010": "0.7", "91020": "3.1"})
    first = [truth.step(1100, {}, {"91010": "0.9"})]
    truth.step(1200, {"90990": "2.5"}, {})  # lost on the way: nothing shows it
    first.append(truth.step(1300, {}, {"91015": "0.4"}))
    # Sent while the resync's snapshot is being fetched; the snapshot holds the first two.
    during = [
        truth.step(1400, {}, {"91010": "1.1"}),
        truth.step(1500, {}, {"91010": "2.2"}),
        truth.step(1600, {"90985": "0.3"}, {}),
    ]
    fetching = asyncio.Event()
    srv.rest(
        BOOK,
        [
            Reply(truth.body(1000)),
            # The REST answer takes a while: the diffs above arrive meanwhile.
            Reply(lambda _r: truth.body(1500), delay=slow_fetch(fetching, 0.1)),
            Reply(lambda _r: truth.body()),
        ],
    )

    async def script(ws: web.WebSocketResponse) -> None:
        for text in first:
            await ws.send_str(text)
        await fetching.wait()
        for text in during:
            await ws.send_str(text)

    seen: list[VenueStatus] = []
    caplog.set_level(logging.INFO, logger="exchanges.feed")
    async with streaming(srv, script, seen.append) as market:
        await wait_for(lambda: truth.matches(market.status("bitstamp").book))
        stats = market.stats()["bitstamp"]
    # Before the resync the local book was wrong: 91015 came, the lost 90990 2.5 did not.
    drifted = ({"90990": "1.0"}, {"91010": "0.9", "91015": "0.4", "91020": "3.1"})
    assert drifted in [_levels(s.book) for s in seen if s.book is not None]
    assert srv.connections["/"] == 1 and stats.reconnects == 0  # the same socket throughout
    assert stats.resyncs >= 1 and srv.count(BOOK) >= 2
    # The diffs that came during the fetch were applied once each: 1400 and 1500 are in
    # the snapshot (dropped; replayed, 1400 would undo 1500), 1600 is not (applied).
    # Applied: the first sync, 1100, 1300 and 1600.
    assert stats.applied == 4
    assert "bitstamp: resynced from a fresh REST snapshot (periodic, every 0.1s)" in caplog.text


async def test_a_decision_during_the_resync_prices_a_rest_snapshot(
    srv: VenueServer, fast_resync: float
) -> None:
    truth = Truth(1000, {"90990": "1.0"}, {"91010": "0.7"})
    fetching = asyncio.Event()
    srv.rest(
        BOOK,
        [
            Reply(truth.body()),
            Reply(lambda _r: truth.body(), delay=slow_fetch(fetching, 0.3)),
            Reply(lambda _r: truth.body()),
        ],
    )
    async with streaming(srv, one_diff(truth)) as market:
        await asyncio.wait_for(fetching.wait(), 3.0)  # the resync is in flight
        during = (await market.fresh_books(["bitstamp"]))["bitstamp"]
        await wait_for(lambda: market.stats()["bitstamp"].resyncs >= 1)
    assert isinstance(during, OrderBook)
    assert during.origin is not None and during.origin.source == "rest"
    assert during.best_ask == Decimal("91010")


async def test_a_failed_resync_keeps_the_socket_and_its_book(
    srv: VenueServer, fast_resync: float, caplog: pytest.LogCaptureFixture
) -> None:
    truth = Truth(1000, {"90990": "1.0"}, {"91010": "0.7"})
    srv.rest(BOOK, [Reply(truth.body()), Reply("", status=503), Reply(lambda _r: truth.body())])
    async with streaming(srv, one_diff(truth)) as market:
        await wait_for(lambda: market.stats()["bitstamp"].resyncs >= 1)
        book = market.status("bitstamp").book
    assert "bitstamp: periodic resync failed (HTTP 503" in caplog.text
    assert srv.connections["/"] == 1 and truth.matches(book)


def _reseed(sync: BitstampSync, micro: int, ask: str) -> OrderBook | None:
    """Hand ``sync`` a REST book as of ``micro``: bid 99.00 x 1, ask ``ask`` x 2."""
    raw = {"microtimestamp": str(micro), "bids": [["99.00", "1"]], "asks": [[ask, "2"]]}
    book = BitstampAdapter().parse_rest(200, {}, json.dumps(raw).encode(), "USD", 0)[0]
    return sync.on_snapshot(book, raw)


def _seeded(micro: int = 1000) -> BitstampSync:
    sync = BitstampSync("btcusd", "USD")
    assert _reseed(sync, micro, "101.00") is not None
    return sync


def test_a_rest_book_older_than_the_stream_is_caught_up_from_the_diffs_remembered() -> None:
    sync = _seeded()
    assert sync.on_message(diff(1100, {"98.00": "1"}, {}), 1.0) is not None
    assert sync.on_message(diff(1200, {}, {"100.50": "0.5"}), 1.0) is not None
    # The REST book saw 1100 but not 1200: 1200 is replayed on top of it, 1100 not.
    book = _reseed(sync, 1150, "101.50")
    assert book is not None
    assert [(str(lv.price), str(lv.size)) for lv in book.asks] == [("100.50", "0.5"),
                                                                  ("101.50", "2")]  # fmt: skip
    assert [str(lv.price) for lv in book.bids] == ["99.00"]  # 1100's bid is not in it
    assert sync.on_message(diff(1140, {"97.00": "1"}, {}), 1.0) is None  # in the REST book
    assert sync.on_message(diff(1300, {"97.00": "1"}, {}), 1.0) is not None


def test_a_rest_book_older_than_the_book_itself_is_refused() -> None:
    sync = _seeded(micro=1000)
    assert sync.on_message(diff(1100, {}, {"100.50": "0.5"}), 1.0) is not None
    before = sync.book.snapshot()
    assert _reseed(sync, 900, "101.50") is None  # older than the seed itself
    assert sync.book.snapshot() == before
    for i in range(1, 600):  # more diffs than remembered: 1150 may have lost one
        sync.on_message(diff(1100 + i, {}, {"100.60": str(i)}), 1.0)
    assert _reseed(sync, 1150, "101.50") is None
    assert not sync.needs_snapshot and sync.on_message(diff(2000, {}, {}), 1.0) is not None
