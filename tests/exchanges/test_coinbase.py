"""Coinbase: the Exchange level-2 REST book and the Advanced Trade level2 socket."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchanges.book import OrderBook
from exchanges.coinbase import REST_MAX_DEPTH, SNAPSHOT_LEVELS, CoinbaseAdapter, CoinbaseSync
from exchanges.errors import ErrorKind, VenueError
from exchanges.http import fetch, new_session
from exchanges.venues import DEFAULT_SPECS, VenueSpec
from tests.exchanges.checks import rest_error, rest_survives, stream_survives
from tests.exchanges.servers import Reply, VenueServer, WsScript
from tests.exchanges.wsclient import session

# The documented level-2 answer.
REST_BODY = (
    '{"bids":[["77588.84","0.02001939",3]],"asks":[["77588.85","0.04411574",3]],'
    '"sequence":135436302345,"auction_mode":false,"auction":null,'
    '"time":"2026-09-02T07:01:32.019204671Z"}'
)
TS = "2023-02-09T20:32:50.714964855Z"


def l2(seq: int, kind: str, updates: list[tuple[str, str, str]], product: str = "BTC-USD") -> str:
    """An ``l2_data`` message as Advanced Trade sends it: (side, price, new quantity)."""
    return json.dumps(
        {
            "channel": "l2_data",
            "client_id": "",
            "timestamp": TS,
            "sequence_num": seq,
            "events": [
                {
                    "type": kind,
                    "product_id": product,
                    "updates": [
                        {"side": s, "event_time": TS, "price_level": p, "new_quantity": q}
                        for s, p, q in updates
                    ],
                }
            ],
        }
    )


def heartbeat(seq: int) -> str:
    """A ``heartbeats`` message (it takes a sequence number like any other)."""
    return json.dumps(
        {
            "channel": "heartbeats",
            "client_id": "",
            "timestamp": TS,
            "sequence_num": seq,
            "events": [{"current_time": "2023-06-23 20:31:56 +0000 UTC", "heartbeat_counter": 3}],
        }
    )


def subscriptions(seq: int) -> str:
    """The subscription acknowledgement."""
    return json.dumps(
        {
            "channel": "subscriptions",
            "client_id": "",
            "timestamp": TS,
            "sequence_num": seq,
            "events": [{"subscriptions": {"level2": ["BTC-USD"], "heartbeats": ["heartbeats"]}}],
        }
    )


SNAP = [
    ("bid", "21921.73", "0.06317902"),
    ("bid", "21920.10", "1.5"),
    ("offer", "21921.74", "0.10000000"),
    ("offer", "21922.00", "2"),
]


def test_rest_request_asks_for_the_level_2_book() -> None:
    adapter = CoinbaseAdapter()
    req = adapter.rest_request(DEFAULT_SPECS["coinbase"], "BTC-EUR", 100)
    assert req.url == "https://api.exchange.coinbase.com/products/BTC-EUR/book"
    assert req.params == {"level": "2"}
    assert adapter.ws_url(DEFAULT_SPECS["coinbase"], "BTC-USD") == (
        "wss://advanced-trade-ws.coinbase.com"
    )


def test_the_real_rest_format_parses_to_exact_decimals() -> None:
    book, raw = CoinbaseAdapter().parse_rest(200, {}, REST_BODY.encode(), "USD", 9.0)
    assert book.best_bid == Decimal("77588.84") and book.bids[0].size == Decimal("0.02001939")
    assert book.best_ask == Decimal("77588.85") and book.asks[0].size == Decimal("0.04411574")
    assert raw["sequence"] == 135436302345
    assert book.ts == 9.0


def test_a_huge_full_book_is_cut_to_the_levels_we_use() -> None:
    asks = [[f"{50000 + i}.00", "0.5", 2] for i in range(5000)]
    bids = [[f"{49999 - i}.00", "0.5", 1] for i in range(5000)]
    body = json.dumps({"bids": bids, "asks": asks, "sequence": 1}).encode()
    book, _ = CoinbaseAdapter().parse_rest(200, {}, body, "USD", 0)
    assert len(book.asks) == len(book.bids) == REST_MAX_DEPTH
    assert book.asks[-1].price == Decimal(50000 + REST_MAX_DEPTH - 1)


def test_coinbase_lists_btc_in_usd_usdt_and_eur_but_not_usdc() -> None:
    symbols = DEFAULT_SPECS["coinbase"].symbols
    assert symbols == {"USD": "BTC-USD", "USDT": "BTC-USDT", "EUR": "BTC-EUR"}
    assert "USDC" not in symbols


@pytest.mark.parametrize(
    ("status", "body", "kind", "words"),
    [
        (404, '{"message":"NotFound"}', ErrorKind.UNSUPPORTED_PAIR,
         "Coinbase lists no BTC-USD product (NotFound)"),
        (404, "<html>not here</html>", ErrorKind.HTTP, "HTTP 404"),  # not Coinbase speaking
        (400, '{"message":"User-Agent header is required."}', ErrorKind.EXCHANGE,
         "HTTP 400: User-Agent header is required."),
        (429, '{"message":"Public rate limit exceeded"}', ErrorKind.RATE_LIMITED,
         "retry after 1s"),
        (403, "<html>cloudflare</html>", ErrorKind.FORBIDDEN, "firewall"),
        (451, '{"message":"Unavailable"}', ErrorKind.RESTRICTED, "restricted location"),
        (500, '{"message":"Internal server error"}', ErrorKind.HTTP, "Internal server error"),
        (200, '{"message":"maintenance"}', ErrorKind.EXCHANGE, "maintenance"),
        (200, '{"bids":[],"asks":[]}', ErrorKind.EMPTY_BOOK, "no asks"),
        (200, '{"bids":[["2","1",1]],"asks":[["1","1",1]]}', ErrorKind.CROSSED_BOOK, "crossed"),
        (200, '{"bids":{},"asks":[]}', ErrorKind.MALFORMED, "lists"),
        (200, '{"bids":[["1",null,1]],"asks":[]}', ErrorKind.MALFORMED, "bids size"),
        (200, "[]", ErrorKind.MALFORMED, "object"),
        (200, '{"bids":[["77588.84","0.0', ErrorKind.MALFORMED, "JSON"),
    ],
)  # fmt: skip
def test_coinbase_error_payloads_become_typed_errors(
    status: int, body: str, kind: ErrorKind, words: str
) -> None:
    rest_error(CoinbaseAdapter(), status, body, "USD", kind, words, retry_after="1")


async def test_a_rest_round_trip_sends_our_user_agent() -> None:
    adapter = CoinbaseAdapter()
    async with VenueServer() as srv:
        srv.rest("/products/BTC-USD/book", Reply(REST_BODY))
        spec = VenueSpec("coinbase", "Coinbase", Decimal("0.006"), Decimal(0), Decimal(0),
                         srv.url, srv.ws_url, {"USD": "BTC-USD"})  # fmt: skip
        async with new_session() as http:
            answer = await fetch(http, "coinbase", adapter.rest_request(spec, "BTC-USD", 100))
            missing = await fetch(http, "coinbase", adapter.rest_request(spec, "BTC-USDC", 100))
    book, _ = adapter.parse_rest(answer.status, answer.headers, answer.body, "USD", 0)
    assert book.best_ask == Decimal("77588.85")
    path, query, headers = srv.requests[0]
    assert path == "/products/BTC-USD/book"
    assert query == {"level": "2"}
    assert headers["User-Agent"].startswith("btc-dca/")
    with pytest.raises(VenueError) as err:
        adapter.parse_rest(missing.status, missing.headers, missing.body, "USDC", 0)
    assert err.value.kind is ErrorKind.UNSUPPORTED_PAIR


# --- the level2 socket --------------------------------------------------------------


def test_subscriptions_are_one_channel_per_message() -> None:
    sync = CoinbaseAdapter().new_sync("BTC-EUR", "EUR")
    assert [json.loads(t) for t in sync.subscribe_messages()] == [
        {"type": "subscribe", "product_ids": ["BTC-EUR"], "channel": "level2"},
        {"type": "subscribe", "product_ids": ["BTC-EUR"], "channel": "heartbeats"},
    ]
    assert sync.needs_snapshot is False
    assert sync.on_snapshot(CoinbaseAdapter().parse_rest(200, {}, REST_BODY.encode(), "EUR", 0)[0],
                            {}) is None  # fmt: skip


def test_snapshot_then_absolute_updates_and_deletes() -> None:
    sync = CoinbaseSync("BTC-USD", "USD")
    assert sync.on_message(subscriptions(0), 0.0) is None
    book = sync.on_message(l2(1, "snapshot", SNAP), 1.0)
    assert book is not None and book.best_bid == Decimal("21921.73")
    assert book.best_ask == Decimal("21921.74") and book.asks[0].size == Decimal("0.1")
    assert sync.on_message(heartbeat(2), 2.0) is None
    # new_quantity is the new size, not a change; "0" removes the level.
    book = sync.on_message(
        l2(3, "update", [("offer", "21921.74", "0"), ("bid", "21920.10", "0.25")]), 3.0
    )
    assert book is not None and book.ts == 3.0
    assert book.best_ask == Decimal("21922.00")
    assert [lv.size for lv in book.bids] == [Decimal("0.06317902"), Decimal("0.25")]


def test_a_skipped_sequence_number_on_any_channel_is_a_gap() -> None:
    sync = CoinbaseSync("BTC-USD", "USD")
    sync.on_message(l2(7, "snapshot", SNAP), 0.0)
    sync.on_message(heartbeat(8), 0.0)
    with pytest.raises(VenueError) as err:
        sync.on_message(heartbeat(10), 0.0)  # message 9 was lost, whatever channel it was on
    assert err.value.kind is ErrorKind.SEQUENCE_GAP
    assert "message 10 after 8" in str(err.value)
    with pytest.raises(VenueError) as err:
        sync.on_message(l2(11, "update", [("bid", "1", "1")]), 0.0)
    assert err.value.kind is ErrorKind.SEQUENCE_GAP  # no trusted book until a new snapshot


def test_other_products_and_channels_change_nothing() -> None:
    sync = CoinbaseSync("BTC-USD", "USD")
    assert sync.on_message(l2(0, "snapshot", SNAP, product="BTC-EUR"), 0.0) is None
    assert sync.on_message('{"channel":"ticker","events":[]}', 0.0) is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ('{"type":"error","message":"Failed to subscribe: product BTC-USDC not found"}',
         ErrorKind.UNSUPPORTED_PAIR),
        ('{"type":"error","message":"authentication failure"}', ErrorKind.EXCHANGE),
        (l2(1, "update", SNAP), ErrorKind.SEQUENCE_GAP),
        ('{"channel":"l2_data","events":[]}', ErrorKind.MALFORMED),
        ('{"channel":"l2_data","sequence_num":"1","events":[]}', ErrorKind.MALFORMED),
        ('{"channel":"l2_data","sequence_num":1,"events":{}}', ErrorKind.MALFORMED),
        ('{"channel":"l2_data","sequence_num":1,"events":[1]}', ErrorKind.MALFORMED),
        (l2(1, "partial", SNAP), ErrorKind.MALFORMED),
        (l2(1, "snapshot", [("ask", "1", "1")]), ErrorKind.MALFORMED),
        (l2(1, "snapshot", [("bid", "0", "1")]), ErrorKind.MALFORMED),
        (l2(1, "snapshot", [("bid", "1", "-1")]), ErrorKind.MALFORMED),
        (l2(1, "snapshot", [("bid", "1e999999999", "1")]), ErrorKind.MALFORMED),
        ('{"channel":"l2_data","sequence_num":1,"events":[{"type":"snapshot",'
         '"product_id":"BTC-USD","updates":[{"side":"bid","price_level":1,'
         '"new_quantity":"1"}]}]}', ErrorKind.MALFORMED),
        ('{"channel":"l2_data","sequence_num":1,"events":[{"type":"snapshot",'
         '"product_id":"BTC-USD","updates":[7]}]}', ErrorKind.MALFORMED),
        ('{"channel":"l2_data","sequence_num":1,"events":[{"type":"snapshot",'
         '"product_id":"BTC-USD","updates":{}}]}', ErrorKind.MALFORMED),
        (l2(1, "snapshot", [("bid", "1", "1")]), ErrorKind.EMPTY_BOOK),
        ("[]", ErrorKind.MALFORMED),
        ("{", ErrorKind.MALFORMED),
    ],
)  # fmt: skip
def test_socket_errors_are_typed(text: str, kind: ErrorKind) -> None:
    with pytest.raises(VenueError) as err:
        CoinbaseSync("BTC-USD", "USD").on_message(text, 0.0)
    assert err.value.kind is kind
    assert err.value.venue == "coinbase"


def _first_connection() -> list[str]:
    return [
        subscriptions(0),
        l2(1, "snapshot", SNAP),
        heartbeat(2),
        l2(3, "update", [("offer", "21921.74", "0.05")]),
        l2(5, "update", [("offer", "21921.80", "1")]),  # message 4 never arrived
    ]


def _second_connection() -> list[str]:
    return [subscriptions(0), l2(1, "snapshot", [*SNAP, ("offer", "21921.80", "1")])]


async def test_a_socket_session_from_snapshot_to_gap_and_a_clean_resync() -> None:
    adapter = CoinbaseAdapter()
    async with VenueServer() as srv:
        srv.ws("/", WsScript(lambda n: _first_connection() if n == 0 else _second_connection(),
                             wait_for=2))  # fmt: skip
        first = await session(srv.ws_url + "/", adapter.new_sync("BTC-USD", "USD"))
        second = await session(srv.ws_url + "/", adapter.new_sync("BTC-USD", "USD"))
    assert [json.loads(t)["channel"] for t in srv.received] == ["level2", "heartbeats"] * 2
    snap, diff, gap = first
    assert isinstance(snap, OrderBook) and isinstance(diff, OrderBook)
    assert diff.asks[0].size == Decimal("0.05")
    assert isinstance(gap, VenueError) and gap.kind is ErrorKind.SEQUENCE_GAP
    (resynced,) = second
    assert isinstance(resynced, OrderBook) and len(resynced.asks) == 3


# --- fuzzing ------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([200, 400, 404, 429, 503]))
def test_fuzz_rest_any_bytes_give_a_book_or_a_typed_error(body: bytes, status: int) -> None:
    rest_survives(CoinbaseAdapter(), status, body, "USD")


_text = st.one_of(
    st.text(max_size=6),
    st.from_regex(r"-?[0-9]{1,5}(\.[0-9]{1,3})?", fullmatch=True),
    # Numbers Decimal cannot negate or hold exactly.
    st.sampled_from(["1e999999999", "1e-999999999", "9" * 35]),
)
_update = st.fixed_dictionaries(
    {},
    optional={
        "side": st.sampled_from(["bid", "offer", "ask"]),
        "price_level": st.one_of(_text, st.integers(), st.none()),
        "new_quantity": st.one_of(_text, st.integers(), st.none()),
    },
)
_msg = st.fixed_dictionaries(
    {
        "channel": st.sampled_from(["l2_data", "heartbeats", "subscriptions"]),
        "events": st.lists(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["snapshot", "update", "x"]),
                 "product_id": st.sampled_from(["BTC-USD", "BTC-EUR"]),
                 "updates": st.one_of(st.lists(_update, max_size=4), st.integers())}
            ),
            max_size=2,
        ),
    },
    optional={"sequence_num": st.one_of(st.integers(0, 5), st.text(max_size=2)),
              "type": st.sampled_from(["error", "message"])},
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_msg.map(json.dumps), st.text(max_size=40)), max_size=8))
def test_fuzz_stream_any_messages_give_a_book_none_or_a_typed_error(texts: list[str]) -> None:
    stream_survives(CoinbaseSync("BTC-USD", "USD"), texts)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_stream_raw_bytes(data: bytes) -> None:
    stream_survives(CoinbaseSync("BTC-USD", "USD"), [data])


def test_a_whole_book_snapshot_keeps_the_best_levels_in_any_wire_order() -> None:
    bids = [("bid", f"{50000 - i}.00", "1.0") for i in range(3000)]
    offers = [("offer", f"{50001 + i}.00", "2.0") for i in range(3000)]
    updates = bids + offers
    random.Random(4).shuffle(updates)
    sync = CoinbaseSync("BTC-USD", "USD", levels=None)
    book = sync.on_message(l2(0, "snapshot", updates), 0.0)
    assert book is not None
    assert len(book.bids) == len(book.asks) == SNAPSHOT_LEVELS
    assert book.best_bid == Decimal("50000.00") and book.best_ask == Decimal("50001.00")
    assert book.asks[-1].price == Decimal(50001 + SNAPSHOT_LEVELS - 1)
    # Taking out the best offer reveals the next one, as on the venue.
    book = sync.on_message(l2(1, "update", [("offer", "50001.00", "0")]), 1.0)
    assert book is not None and book.best_ask == Decimal("50002.00")


@pytest.mark.parametrize("bad", [("bid", "x", "1"), ("ask", "1", "1"), ("bid", "NaN", "1")])
def test_a_bad_level_anywhere_in_a_whole_book_snapshot_is_malformed(
    bad: tuple[str, str, str],
) -> None:
    updates = [("offer", f"{50001 + i}.00", "2.0") for i in range(2 * SNAPSHOT_LEVELS)]
    text = l2(0, "snapshot", [*updates, bad])
    with pytest.raises(VenueError) as err:
        CoinbaseSync("BTC-USD", "USD").on_message(text, 0.0)
    assert err.value.kind is ErrorKind.MALFORMED
