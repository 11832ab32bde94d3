"""Bitstamp: the REST order book and the microtimestamp sync, replayed from real traffic."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchanges.bitstamp import BitstampAdapter, BitstampSync
from exchanges.errors import ErrorKind, VenueError
from exchanges.venues import DEFAULT_SPECS
from tests.exchanges.captured import available, rest_snapshots, ws_frames
from tests.exchanges.checks import rest_error, rest_survives, stream_survives

pytestmark = pytest.mark.skipif(not available(), reason="captured traffic not present")

PAIRS = ["sgbeur", "ethusd", "xrpeur", "bateur", "usdteur", "usdtusd", "xlmgbp", "adaeur"]


def diff(micro: int, bids: list[list[str]], asks: list[list[str]], pair: str = "btcusd") -> str:
    """A ``diff_order_book`` data message as Bitstamp sends it."""
    data = {
        "timestamp": str(micro // 10**6),
        "microtimestamp": str(micro),
        "bids": bids,
        "asks": asks,
    }
    return json.dumps({"data": data, "channel": f"diff_order_book_{pair}", "event": "data"})


def test_request_subscription_and_socket_url() -> None:
    adapter = BitstampAdapter()
    spec = DEFAULT_SPECS["bitstamp"]
    assert adapter.rest_request(spec, "btceur", 100).url == (
        "https://www.bitstamp.net/api/v2/order_book/btceur/"
    )
    assert adapter.ws_url(spec, "btceur") == "wss://ws.bitstamp.net"
    sub = json.loads(adapter.new_sync("btceur", "EUR").subscribe_messages()[0])
    assert sub == {"event": "bts:subscribe", "data": {"channel": "diff_order_book_btceur"}}


def test_a_real_order_book_parses_with_its_microtimestamp() -> None:
    snap = rest_snapshots("BITSTAMP.http.0.0")[1]  # ethusd
    book, raw = BitstampAdapter().parse_rest(200, {}, snap.body.encode(), "USD", 0.0)
    assert raw["microtimestamp"] == "1641343695681418"
    assert book.ts == pytest.approx(1641343695.681418)
    assert isinstance(book.best_ask, Decimal)
    assert book.best_bid is not None and book.best_bid < book.best_ask


def snapshot_micro(raw: Mapping[str, object]) -> int:
    """The REST book's ``microtimestamp``: Bitstamp sends it as a string of digits."""
    micro = raw["microtimestamp"]
    assert isinstance(micro, str)
    return int(micro)


def replay(pair: str) -> tuple[BitstampSync, int, int]:
    """Subscribe, buffer diffs, seed from the recorded REST book, apply the rest."""
    snap = next(s for s in rest_snapshots("BITSTAMP.http.0.0") if s.url.endswith(pair))
    adapter = BitstampAdapter()
    sync = adapter.new_sync(pair, "X")
    snapped = False
    applied = dropped = 0
    for frame in ws_frames("BITSTAMP.ws.1.0"):
        msg = json.loads(frame.text)
        if msg.get("channel") != f"diff_order_book_{pair}" or msg.get("event") != "data":
            assert sync.on_message(frame.text, frame.received) is None
            continue
        micro = int(msg["data"]["microtimestamp"])
        if not snapped and frame.received > snap.received:
            book, raw = adapter.parse_rest(200, {}, snap.body.encode(), "X", snap.received)
            dropped = sum(1 for m, _, _ in sync._buffer if m <= snapshot_micro(raw))
            assert sync.on_snapshot(book, raw) is not None
            snapped = True
        result = sync.on_message(frame.text, frame.received)
        if snapped and micro <= sync._snapshot_micro:
            assert result is None
            dropped += 1
        elif snapped and result is not None:
            applied += 1
            assert result.ts == micro / 1e6
    if not snapped:  # every diff arrived before the snapshot
        book, raw = adapter.parse_rest(200, {}, snap.body.encode(), "X", snap.received)
        dropped = sum(1 for m, _, _ in sync._buffer if m <= snapshot_micro(raw))
        assert sync.on_snapshot(book, raw) is not None
    return sync, applied, dropped


@pytest.mark.parametrize("pair", PAIRS)
def test_recorded_diffs_sync_to_a_sane_book(pair: str) -> None:
    sync, _applied, _dropped = replay(pair)
    assert not sync.needs_snapshot
    book = sync.book.snapshot()
    assert book.best_bid is not None and book.best_bid < book.best_ask


def test_diffs_older_than_the_snapshot_are_dropped_and_newer_ones_applied() -> None:
    sync, applied, dropped = replay("ethusd")
    # The socket delivered diffs from before the REST book (they are already in it).
    assert dropped >= 1
    assert applied >= 20
    last = [
        json.loads(f.text)["data"]
        for f in ws_frames("BITSTAMP.ws.1.0")
        if '"diff_order_book_ethusd"' in f.text and '"event":"data"' in f.text
    ][-1]
    # Every level of the last diff is in the book exactly as sent (or gone if size 0).
    for price, size in last["bids"]:
        level = sync.book.bids.get(-Decimal(price))
        assert (level[0] if level else Decimal(0)) == Decimal(size)
    for price, size in last["asks"]:
        level = sync.book.asks.get(Decimal(price))
        assert (level[0] if level else Decimal(0)) == Decimal(size)


def _synced() -> BitstampSync:
    sync = BitstampSync("btcusd", "USD")
    raw = {"microtimestamp": "1000", "bids": [["99.00", "1"]], "asks": [["101.00", "2"]]}
    book = BitstampAdapter().parse_rest(200, {}, json.dumps(raw).encode(), "USD", 0)[0]
    assert sync.on_snapshot(book, raw) is not None
    return sync


def test_buffered_diffs_replay_after_the_snapshot() -> None:
    sync = BitstampSync("btcusd", "USD")
    assert sync.needs_snapshot
    assert sync.on_message(diff(900, [["98.00", "5"]], []), 1.0) is None
    assert sync.on_message(diff(1100, [], [["100.50", "0.3"]]), 1.0) is None
    raw = {"microtimestamp": "1000", "bids": [["99.00", "1"]], "asks": [["101.00", "2"]]}
    book = BitstampAdapter().parse_rest(200, {}, json.dumps(raw).encode(), "USD", 0)[0]
    synced = sync.on_snapshot(book, raw)
    assert synced is not None
    assert synced.best_ask == Decimal("100.50")  # the newer diff applied
    assert Decimal("98.00") not in [lv.price for lv in synced.bids]  # the older one dropped
    assert not sync.needs_snapshot


def test_a_diff_out_of_order_is_a_gap_and_a_crossing_diff_is_refused() -> None:
    sync = _synced()
    assert sync.on_message(diff(1200, [["100.00", "1"]], []), 1.0) is not None
    assert sync.on_message(diff(999, [["1.00", "1"]], []), 1.0) is None  # in the snapshot
    with pytest.raises(VenueError) as err:
        sync.on_message(diff(1100, [], []), 1.0)
    assert err.value.kind is ErrorKind.SEQUENCE_GAP
    with pytest.raises(VenueError) as err:
        _synced().on_message(diff(1300, [["102.00", "1"]], []), 1.0)
    assert err.value.kind is ErrorKind.CROSSED_BOOK


def test_control_events() -> None:
    sync = _synced()
    ack = '{"event":"bts:subscription_succeeded","channel":"diff_order_book_btcusd","data":{}}'
    assert sync.on_message(ack, 1.0) is None
    assert sync.on_message(diff(2000, [], [], pair="btceur"), 1.0) is None
    with pytest.raises(VenueError) as err:
        sync.on_message('{"event":"bts:request_reconnect","channel":"","data":""}', 1.0)
    assert err.value.kind is ErrorKind.NETWORK
    with pytest.raises(VenueError) as err:
        sync.on_message('{"event":"bts:error","data":{"message":"Bad channel"}}', 1.0)
    assert err.value.kind is ErrorKind.EXCHANGE and "Bad channel" in str(err.value)


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        '{"event":"data","channel":"diff_order_book_btcusd","data":[]}',
        '{"event":"data","channel":"diff_order_book_btcusd","data":{"microtimestamp":"x"}}',
        '{"event":"data","channel":"diff_order_book_btcusd",'
        '"data":{"microtimestamp":"5000","bids":[["a","1"]],"asks":[]}}',
        '{"event":"data","channel":"diff_order_book_btcusd",'
        '"data":{"microtimestamp":"5000","bids":{},"asks":[]}}',
        '{"event":"data","chan',
    ],
)
def test_malformed_messages_are_typed(text: str) -> None:
    with pytest.raises(VenueError) as err:
        _synced().on_message(text, 1.0)
    assert err.value.kind is ErrorKind.MALFORMED
    with pytest.raises(VenueError):
        BitstampSync("btcusd", "USD").on_message(text, 1.0)


def test_a_stream_without_snapshot_gives_up() -> None:
    sync = BitstampSync("btcusd", "USD")
    for i in range(2000):
        sync.on_message(diff(i, [], []), 1.0)
    with pytest.raises(VenueError) as err:
        sync.on_message(diff(2001, [], []), 1.0)
    assert err.value.kind is ErrorKind.SEQUENCE_GAP


@pytest.mark.parametrize(
    ("status", "body", "kind", "words"),
    [
        (200, '{"status":"error","reason":"Invalid currency pair."}', ErrorKind.EXCHANGE,
         "Invalid currency pair."),
        (200, '{"code":"API0005","reason":{"__all__":["Bad pair"]}}', ErrorKind.EXCHANGE,
         "Bad pair"),
        (404, '{"status":"error","reason":"Not found"}', ErrorKind.HTTP, "Not found"),
        (451, "", ErrorKind.RESTRICTED, "restricted"),
        (403, "<html>", ErrorKind.FORBIDDEN, "forbidden"),
        (429, "", ErrorKind.RATE_LIMITED, "retry after 3s"),
        (500, "oops", ErrorKind.HTTP, "HTTP 500"),
        (200, '{"microtimestamp":"1","bids":[],"asks":[]}', ErrorKind.EMPTY_BOOK, "no asks"),
        (200, '{"microtimestamp":"1","bids":[["5","1"]],"asks":[["4","1"]]}',
         ErrorKind.CROSSED_BOOK, "crossed"),
        (200, '{"microtimestamp":-1,"bids":[],"asks":[["4","1"]]}', ErrorKind.MALFORMED,
         "microtimestamp"),
        (200, '{"timestamp": "16413', ErrorKind.MALFORMED, "JSON"),
        (200, '"text"', ErrorKind.MALFORMED, "object"),
    ],
)  # fmt: skip
def test_rest_errors_are_typed(status: int, body: str, kind: ErrorKind, words: str) -> None:
    rest_error(BitstampAdapter(), status, body, "USD", kind, words, retry_after="3")


def test_integer_microtimestamp_and_no_microtimestamp() -> None:
    body = b'{"microtimestamp":1500000,"bids":[],"asks":[["4","1"]]}'
    assert BitstampAdapter().parse_rest(200, {}, body, "USD", 9.0)[0].ts == 1.5
    body = b'{"bids":[],"asks":[["4","1"]]}'
    assert BitstampAdapter().parse_rest(200, {}, body, "USD", 9.0)[0].ts == 9.0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_rest(body: bytes) -> None:
    rest_survives(BitstampAdapter(), 200, body, "USD")


_levels = st.lists(st.lists(st.one_of(st.text(max_size=5), st.integers(-5, 5)), max_size=3))
_msg = st.fixed_dictionaries(
    {
        "event": st.sampled_from(["data", "bts:error", "other"]),
        "channel": st.sampled_from(["diff_order_book_btcusd", "x"]),
        "data": st.one_of(
            st.fixed_dictionaries(
                {
                    "microtimestamp": st.one_of(st.integers(0, 3000).map(str), st.text(max_size=3)),
                    "bids": _levels,
                    "asks": _levels,
                }
            ),
            st.text(max_size=3),
        ),
    }
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_msg.map(json.dumps), st.text(max_size=30)), max_size=6))
def test_fuzz_stream(texts: list[str]) -> None:
    stream_survives(_synced(), texts, stop_at_error=True)
