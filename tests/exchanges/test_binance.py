"""Binance / Binance.US: the depth format and the U/u sync, replayed from real recorded traffic."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchanges.binance import BinanceAdapter, BinanceSync
from exchanges.errors import ErrorKind, VenueError
from exchanges.venues import DEFAULT_SPECS
from tests.exchanges.captured import Frame, available, rest_snapshots, ws_frames
from tests.exchanges.checks import rest_error, rest_survives, stream_survives

pytestmark = pytest.mark.skipif(not available(), reason="captured traffic not present")

SYMBOLS = {
    ("BINANCE", "binance"): ["NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"],
    ("BINANCE_US", "binanceus"): ["COMPUSDT", "OMGBUSD", "CRVUSDT", "ZRXUSDT"],
}
CASES = [(prefix, venue, sym) for (prefix, venue), syms in SYMBOLS.items() for sym in syms]


def depth(symbol: str, first: int, final: int, bids: list[list[str]], asks: list[list[str]]) -> str:
    """A raw ``depthUpdate`` event as Binance sends it."""
    return json.dumps(
        {"e": "depthUpdate", "E": 1, "s": symbol, "U": first, "u": final, "b": bids, "a": asks}
    )


def test_rest_request_uses_the_spec_url_and_a_covering_limit() -> None:
    adapter = BinanceAdapter("binanceus")
    req = adapter.rest_request(DEFAULT_SPECS["binanceus"], "BTCUSD", 250)
    assert req.url == "https://api.binance.us/api/v3/depth"
    assert req.params == {"symbol": "BTCUSD", "limit": "250"}
    assert adapter.rest_request(DEFAULT_SPECS["binance"], "BTCUSDT", 5).params["limit"] == "100"
    assert (
        adapter.rest_request(DEFAULT_SPECS["binance"], "BTCUSDT", 10**6).params["limit"] == "5000"
    )
    ws = adapter.ws_url(DEFAULT_SPECS["binance"], "BTCUSDT")
    assert ws == "wss://stream.binance.com:9443/ws/btcusdt@depth@100ms"


def test_a_real_depth_snapshot_parses_to_an_exact_decimal_book() -> None:
    snap = rest_snapshots("BINANCE.http.0.0")[0]
    book, raw = BinanceAdapter().parse_rest(200, {}, snap.body.encode(), "USDT", snap.received)
    assert raw["lastUpdateId"] == 499869752
    assert book.bids[0].price == Decimal("0.35210000")
    assert book.bids[0].size == Decimal("672.00000000")
    assert book.best_ask > book.bids[0].price
    assert len(book.asks) > 500 and len(book.bids) > 500
    assert all(a.price < b.price for a, b in zip(book.asks, book.asks[1:], strict=False))


def replay(prefix: str, venue: str, symbol: str) -> tuple[BinanceSync, int, int]:
    """Play the recorded snapshot and stream through a sync as the driver would.

    Returns the sync, the number of events applied, and the number of bookTicker
    frames (Binance's own best bid/ask, stamped with the same update ids) that were
    checked against the local book.
    """
    snap = next(s for s in rest_snapshots(f"{prefix}.http.0.0") if f"={symbol}&" in s.url)
    frames = ws_frames(f"{prefix}.ws.1.0")
    stream = f"{symbol.lower()}@depth@100ms"
    ticker = f"{symbol.lower()}@bookTicker"
    adapter = BinanceAdapter(venue)
    sync = adapter.new_sync(symbol, "X")
    assert sync.subscribe_messages() == []
    applied = 0
    snapped = False
    ours: dict[int, tuple[Decimal | None, Decimal]] = {}
    theirs: dict[int, tuple[Decimal, Decimal]] = {}
    for frame in frames:
        msg = json.loads(frame.text)
        if not snapped and frame.received > snap.received:
            book, raw = adapter.parse_rest(200, {}, snap.body.encode(), "X", snap.received)
            assert sync.on_snapshot(book, raw) is not None
            snapped = True
        if msg.get("stream") == stream:
            result = sync.on_message(frame.text, frame.received)
            applied += result is not None
            if result is not None:
                ours[sync._last or 0] = (result.best_bid, result.best_ask)
        elif msg.get("stream") == ticker:
            data = msg["data"]
            theirs[data["u"]] = (Decimal(data["b"]), Decimal(data["a"]))
    common = ours.keys() & theirs.keys()
    for update_id in common:
        assert ours[update_id] == theirs[update_id], update_id
    checked = len(common)
    assert snapped
    return sync, applied, checked


@pytest.mark.parametrize(("prefix", "venue", "symbol"), CASES)
def test_recorded_stream_syncs_without_gaps_and_keeps_a_sane_book(
    prefix: str, venue: str, symbol: str
) -> None:
    sync, applied, _ = replay(prefix, venue, symbol)
    assert not sync.needs_snapshot
    book = sync.book.snapshot()
    assert book.venue == venue
    assert book.best_bid is not None and book.best_bid < book.best_ask
    assert applied >= 1


@pytest.mark.parametrize(("prefix", "venue"), [("BINANCE", "binance"), ("BINANCE_US", "binanceus")])
def test_local_book_matches_binances_own_best_bid_ask(prefix: str, venue: str) -> None:
    checked = sum(replay(prefix, venue, s)[2] for s in SYMBOLS[(prefix, venue)])
    # bookTicker frames carry the same update id: the top of our book must equal theirs.
    assert checked >= 5


def test_the_first_recorded_event_already_in_the_snapshot_is_dropped() -> None:
    snap = rest_snapshots("BINANCE.http.0.0")[0]
    first = next(f for f in ws_frames("BINANCE.ws.1.0") if "nknusdt@depth" in f.text)
    adapter = BinanceAdapter()
    sync = adapter.new_sync("NKNUSDT", "USDT")
    assert sync.on_message(first.text, first.received) is None  # buffered
    book, raw = adapter.parse_rest(200, {}, snap.body.encode(), "USDT", snap.received)
    synced = sync.on_snapshot(book, raw)
    # U=499869750 u=499869752 <= lastUpdateId 499869752: nothing applied on top.
    assert synced is not None and synced.bids[:5] == book.bids[:5]
    assert sync._last == 499869752


def _synced(last: int = 100) -> BinanceSync:
    sync = BinanceSync("BTCUSDT", "USDT")
    raw = {"lastUpdateId": last, "bids": [["99.0", "1"]], "asks": [["101.0", "2"]]}
    book = BinanceAdapter().parse_rest(200, {}, json.dumps(raw).encode(), "USDT", 0)[0]
    assert sync.on_snapshot(book, raw) is not None
    return sync


def test_diffs_update_and_delete_levels() -> None:
    sync = _synced()
    book = sync.on_message(depth("BTCUSDT", 101, 102, [["100.0", "3"]], [["102.5", "1.5"]]), 5.0)
    assert book is not None
    assert book.best_bid == Decimal("100.0") and book.best_ask == Decimal("101.0")
    assert book.ts == pytest.approx(0.001)  # the event time E, in seconds
    book = sync.on_message(depth("BTCUSDT", 103, 103, [], [["101.0", "0"]]), 6.0)
    assert book is not None and book.best_ask == Decimal("102.5")
    with pytest.raises(VenueError) as err:
        # The last ask deleted: an empty book is an error, never silently priced.
        sync.on_message(depth("BTCUSDT", 104, 104, [], [["102.5", "0"]]), 7.0)
    assert err.value.kind is ErrorKind.EMPTY_BOOK


def test_a_missing_event_is_a_sequence_gap() -> None:
    sync = _synced()
    sync.on_message(depth("BTCUSDT", 101, 105, [], [["101.5", "1"]]), 1.0)
    with pytest.raises(VenueError) as err:
        sync.on_message(depth("BTCUSDT", 107, 110, [], [["101.6", "1"]]), 2.0)
    assert err.value.kind is ErrorKind.SEQUENCE_GAP
    assert "expected update 106" in str(err.value)


def test_a_snapshot_older_than_the_buffered_stream_is_refused() -> None:
    sync = BinanceSync("BTCUSDT", "USDT")
    sync.on_message(depth("BTCUSDT", 200, 201, [], []), 1.0)
    raw = {"lastUpdateId": 150, "bids": [], "asks": [["1", "1"]]}
    book = BinanceAdapter().parse_rest(200, {}, json.dumps(raw).encode(), "USDT", 0)[0]
    assert sync.on_snapshot(book, raw) is None
    assert sync.needs_snapshot


def test_the_first_event_after_the_snapshot_must_straddle_it() -> None:
    sync = BinanceSync("BTCUSDT", "USDT")
    sync.on_message(depth("BTCUSDT", 90, 95, [], []), 1.0)
    sync.on_message(depth("BTCUSDT", 103, 104, [], []), 1.0)  # 101..102 missing
    raw = {"lastUpdateId": 100, "bids": [], "asks": [["1", "1"]]}
    book = BinanceAdapter().parse_rest(200, {}, json.dumps(raw).encode(), "USDT", 0)[0]
    with pytest.raises(VenueError) as err:
        sync.on_snapshot(book, raw)
    assert err.value.kind is ErrorKind.SEQUENCE_GAP


def test_other_streams_and_acks_change_nothing() -> None:
    sync = _synced()
    assert sync.on_message('{"result":null,"id":1}', 1.0) is None
    assert sync.on_message(depth("ETHUSDT", 101, 101, [], []), 1.0) is None
    assert sync.on_message(depth("BTCUSDT", 90, 100, [], []), 1.0) is None  # already in
    with pytest.raises(VenueError) as err:
        sync.on_message('{"code":-1003,"msg":"Too many requests"}', 1.0)
    assert err.value.kind is ErrorKind.EXCHANGE and "Too many requests" in str(err.value)


@pytest.mark.parametrize(
    "text",
    [
        "[1,2]",
        '{"e":"depthUpdate","s":"BTCUSDT","U":5,"u":4,"b":[],"a":[]}',
        '{"e":"depthUpdate","s":"BTCUSDT","U":"5","u":6,"b":[],"a":[]}',
        '{"e":"depthUpdate","s":"BTCUSDT","U":5,"u":6,"b":{},"a":[]}',
        '{"e":"depthUpdate","s":"BTCUSDT","U":101,"u":101,"b":[["x","1"]],"a":[]}',
        '{"e":"depthUpdate","s":"BTCUSDT","U":101,"u":101,"b":[["1","-1"]],"a":[]}',
        '{"e":"depthUpdate","s":"BTCUSDT","U":101,"u":101,"b":[["NaN","1"]],"a":[]}',
        '{"e":"depthUpdate","s":"BTCUSDT","U":101,"u":101,"b":[[true,"1"]],"a":[]}',
        '{"e":"depthUpdate","s":"BTCUSDT","U":101,"u":101,"b":[["1"]],"a":[]}',
        '{"e":"depthUpdate","s":"BTCUSDT","U":101,"u":101,"b":[["1e999999999","1"]],"a":[]}',
        '{"e":"depthUpdate","s":"BTCUSDT","U":101,"u":101,"b":[["1.00000000000000000000000000001","1"]],"a":[]}',
        '{"e":"depthUpdate","s":"BTCUSDT","U":10',
    ],
)
def test_malformed_stream_messages_are_typed(text: str) -> None:
    with pytest.raises(VenueError) as err:
        _synced().on_message(text, 1.0)
    assert err.value.kind is ErrorKind.MALFORMED
    assert err.value.venue == "binance"


def test_a_stream_that_never_gets_its_snapshot_gives_up() -> None:
    sync = BinanceSync("BTCUSDT", "USDT")
    for i in range(2000):
        sync.on_message(depth("BTCUSDT", i, i, [], []), 1.0)
    with pytest.raises(VenueError) as err:
        sync.on_message(depth("BTCUSDT", 2000, 2000, [], []), 1.0)
    assert err.value.kind is ErrorKind.SEQUENCE_GAP


def test_snapshot_without_update_id_is_malformed() -> None:
    sync = BinanceSync("BTCUSDT", "USDT")
    raw = {"bids": [], "asks": [["1", "1"]]}
    with pytest.raises(VenueError) as err:
        BinanceAdapter().parse_rest(200, {}, json.dumps(raw).encode(), "USDT", 0)
    assert err.value.kind is ErrorKind.MALFORMED
    with pytest.raises(VenueError):
        sync.on_snapshot(_synced().book.snapshot(), raw)


@pytest.mark.parametrize(
    ("status", "body", "kind", "words"),
    [
        (451, '{"code":0,"msg":"Service unavailable from a restricted location"}',
         ErrorKind.RESTRICTED, "binanceus"),
        (403, "<html>WAF</html>", ErrorKind.FORBIDDEN, "binanceus"),
        (429, '{"code":-1003,"msg":"Too much request weight used"}',
         ErrorKind.RATE_LIMITED, "retry after 7s"),
        (418, '{"code":-1003,"msg":"Way too much request weight used; IP banned"}',
         ErrorKind.BANNED, "IP banned"),
        (400, '{"code":-1121,"msg":"Invalid symbol."}', ErrorKind.HTTP, "Invalid symbol."),
        (502, "Bad Gateway", ErrorKind.HTTP, "HTTP 502"),
        (200, '{"code":-1121,"msg":"Invalid symbol."}', ErrorKind.EXCHANGE, "-1121"),
        (200, '{"lastUpdateId":1,"bids":[],"asks":[]}', ErrorKind.EMPTY_BOOK, "no asks"),
        (200, '{"lastUpdateId":1,"bids":[["2","1"]],"asks":[["1","1"]]}',
         ErrorKind.CROSSED_BOOK, "crossed"),
        (200, '{"lastUpdateId":1,"bids":[["2","1"]],"asks":[["3",', ErrorKind.MALFORMED, "JSON"),
        (200, "[]", ErrorKind.MALFORMED, "object"),
    ],
)  # fmt: skip
def test_http_errors_and_binance_payloads_become_typed_errors(
    status: int, body: str, kind: ErrorKind, words: str
) -> None:
    rest_error(BinanceAdapter(), status, body, "USDT", kind, words, retry_after="7")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_rest_any_bytes_give_a_book_or_a_typed_error(body: bytes) -> None:
    rest_survives(BinanceAdapter(), 200, body, "USDT")


_level = st.lists(
    st.one_of(st.text(max_size=6), st.decimals(allow_nan=True), st.integers(), st.booleans()),
    max_size=3,
)
_event = st.fixed_dictionaries(
    {
        "e": st.sampled_from(["depthUpdate", "trade"]),
        "s": st.sampled_from(["BTCUSDT", "ETHUSDT"]),
        "U": st.one_of(st.integers(95, 110), st.text(max_size=2)),
        "u": st.integers(95, 112),
        "b": st.one_of(st.lists(_level, max_size=3), st.integers()),
        "a": st.lists(_level, max_size=3),
    }
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_event.map(lambda d: json.dumps(d, default=str)), st.text(max_size=40))))
def test_fuzz_stream_any_messages_give_a_book_none_or_a_typed_error(texts: list[str]) -> None:
    stream_survives(_synced(), texts, stop_at_error=True)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_stream_raw_bytes(data: bytes) -> None:
    stream_survives(_synced(), [data])


def test_frames_helper_reads_received_messages_only() -> None:
    frames = ws_frames("BINANCE.ws.1.0")
    assert all(isinstance(f, Frame) and f.text.startswith("{") for f in frames)
