"""OKX: the books REST format and errors, and the books channel replayed from real traffic."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchanges.book import OrderBook
from exchanges.checksums import okx_crc32
from exchanges.errors import ErrorKind, VenueError
from exchanges.okx import OkxAdapter, OkxSync
from exchanges.venues import DEFAULT_SPECS
from tests.exchanges.captured import available, ws_frames
from tests.exchanges.checks import outcome, rest_error, rest_survives, stream_survives
from tests.exchanges.servers import VenueServer, WsScript
from tests.exchanges.wsclient import session

Side = list[tuple[str, str]]

# The documented REST answer, with a second level per side.
REST_BODY = (
    '{"code":"0","msg":"","data":[{"asks":[["41006.8","0.60038921","0","1"],'
    '["41007.1","1.2","0","3"]],"bids":[["41006.3","0.30178218","0","2"],'
    '["41005.0","0.00000001","0","1"]],"ts":"1629966436396"}]}'
)


def books(
    action: str,
    bids: Side,
    asks: Side,
    *,
    book: tuple[Side, Side] | None = None,
    seq: int | None = None,
    prev: int | None = None,
    inst: str = "BTC-USDT",
) -> str:
    """A ``books`` message as OKX frames it; the checksum is that of ``book`` (bids, asks)."""
    full_bids, full_asks = book if book is not None else (bids, asks)
    data: dict[str, object] = {
        "asks": [[p, s, "0", "1"] for p, s in asks],
        "bids": [[p, s, "0", "1"] for p, s in bids],
        "ts": "1700000000000",
        "checksum": okx_crc32(full_bids, full_asks),
    }
    if seq is not None:
        data["seqId"] = seq
        data["prevSeqId"] = prev if prev is not None else -1
    return json.dumps(
        {"arg": {"channel": "books", "instId": inst}, "action": action, "data": [data]}
    )


def test_rest_request_names_the_instrument_and_clamps_the_size() -> None:
    adapter = OkxAdapter()
    req = adapter.rest_request(DEFAULT_SPECS["okx"], "BTC-USDT", 150)
    assert req.url == "https://www.okx.com/api/v5/market/books"
    assert req.params == {"instId": "BTC-USDT", "sz": "150"}
    assert adapter.rest_request(DEFAULT_SPECS["okx"], "BTC-USDT", 9000).params["sz"] == "400"
    assert adapter.ws_url(DEFAULT_SPECS["okx"], "BTC-USDT") == "wss://ws.okx.com:8443/ws/v5/public"
    assert adapter.max_depth == 400


def test_the_real_rest_format_parses_to_exact_decimals() -> None:
    book, raw = OkxAdapter().parse_rest(200, {}, REST_BODY.encode(), "USDT", 12.5)
    assert book.venue == "okx" and book.quote == "USDT" and book.ts == 12.5
    assert book.asks[0].price == Decimal("41006.8")
    assert book.asks[0].size == Decimal("0.60038921")
    assert book.asks[1].size == Decimal("1.2")
    assert book.bids[1].size == Decimal("0.00000001")
    assert raw["code"] == "0"


def test_okx_lists_btc_only_against_usdt_and_usdc() -> None:
    symbols = DEFAULT_SPECS["okx"].symbols
    assert symbols == {"USDT": "BTC-USDT", "USDC": "BTC-USDC"}
    assert "USD" not in symbols and "EUR" not in symbols


@pytest.mark.parametrize(
    ("status", "body", "kind", "words"),
    [
        (200, '{"code":"51001","msg":"Instrument ID does not exist","data":[]}',
         ErrorKind.UNSUPPORTED_PAIR, "OKX lists no BTC-USDT instrument"),
        (429, '{"msg":"Too Many Requests","code":"50011"}', ErrorKind.RATE_LIMITED, "50011"),
        (200, '{"code":"50011","msg":"Rate limit reached","data":[]}',
         ErrorKind.RATE_LIMITED, "Rate limit"),
        (200, '{"code":"50001","msg":"Service temporarily unavailable","data":[]}',
         ErrorKind.UNAVAILABLE, "unavailable"),
        (200, '{"code":"50014","msg":"Parameter instId can not be empty","data":[]}',
         ErrorKind.EXCHANGE, "OKX error 50014"),
        (403, '{"code":"50002","msg":"forbidden"}', ErrorKind.FORBIDDEN, "firewall"),
        (451, "blocked", ErrorKind.RESTRICTED, "restricted location"),
        (503, "<html>down</html>", ErrorKind.HTTP, "HTTP 503"),
        (502, '{"msg":"bad gateway"}', ErrorKind.HTTP, "bad gateway"),
        (200, '{"code":"0","msg":"","data":[]}', ErrorKind.EMPTY_BOOK, "no book"),
        (200, '{"code":"0","msg":"","data":[{"asks":[],"bids":[]}]}', ErrorKind.EMPTY_BOOK, "asks"),
        (200, '{"code":"0","data":[{"asks":[["1","1","0","1"]],"bids":[["2","1","0","1"]]}]}',
         ErrorKind.CROSSED_BOOK, "crossed"),
        (200, '{"code":"0","data":[{"asks":[["1","x"]],"bids":[]}]}', ErrorKind.MALFORMED, "size"),
        (200, '{"data":[]}', ErrorKind.MALFORMED, "code"),
        (200, '{"code":"0","data":[{"asks":[["41006.8",', ErrorKind.MALFORMED, "JSON"),
    ],
)  # fmt: skip
def test_okx_error_payloads_become_typed_errors(
    status: int, body: str, kind: ErrorKind, words: str
) -> None:
    rest_error(OkxAdapter(), status, body, "USDT", kind, words, retry_after="2")


def test_a_rate_limit_says_when_to_retry() -> None:
    body = b'{"code":"50011","msg":"Too Many Requests","data":[]}'
    with pytest.raises(VenueError) as err:
        OkxAdapter().parse_rest(429, {"Retry-After": "3"}, body, "USDT", 0)
    assert err.value.retry_after == 3.0
    with pytest.raises(VenueError) as err:
        OkxAdapter().parse_rest(200, {}, body, "USDT", 0)
    assert err.value.retry_after == 1.0


# --- the books channel, replayed from the real recording -------------------------


def _captured_books(inst: str) -> list[str]:
    out = []
    for frame in ws_frames("OKX.ws.1.0"):
        msg = json.loads(frame.text)
        if msg.get("arg") == {"channel": "books", "instId": inst} and "action" in msg:
            out.append(frame.text)
    return out


INSTRUMENTS = ["BTC-USDT", "BTC-USD-220527", "UNI-USD-SWAP"]
needs_capture = pytest.mark.skipif(not available(), reason="captured traffic not present")


@needs_capture
@pytest.mark.parametrize("inst", INSTRUMENTS)
def test_every_recorded_checksum_verifies(inst: str) -> None:
    frames = ws_frames("OKX.ws.1.0")
    sync = OkxSync(inst, "USDT")
    verified = 0
    for frame in frames:
        # The whole mixed stream goes in: tickers, trades and other instruments are ignored.
        book = sync.on_message(frame.text, frame.received)
        verified += book is not None
    assert verified == len(_captured_books(inst)) > 90
    final = sync.book.snapshot()
    assert final.best_bid is not None and final.best_bid < final.best_ask
    assert len(sync.book.bids) <= 400 and len(sync.book.asks) <= 400


@needs_capture
def test_a_dropped_recorded_message_is_caught_by_the_checksum() -> None:
    # The 2022 recording predates seqId: the checksum alone must notice the loss.
    msgs = _captured_books("BTC-USDT")
    errors = []
    for dropped in range(1, 40):
        sync = OkxSync("BTC-USDT", "USDT")
        for text in msgs[:dropped] + msgs[dropped + 1 :]:
            out = outcome(lambda s=sync, t=text: s.on_message(t, 0.0))  # type: ignore[misc]
            if isinstance(out, VenueError):
                errors.append(out)
                break
    assert all(e.kind is ErrorKind.CHECKSUM and "checksum mismatch" in str(e) for e in errors)
    assert len(errors) >= 35  # a message that only touched levels past the top 25 can slip by


def _with_seq_ids(msgs: list[str]) -> list[str]:
    """The recording with the sequence ids today's OKX adds (snapshot prevSeqId -1)."""
    out = []
    for i, text in enumerate(msgs):
        msg = json.loads(text)
        msg["data"][0]["seqId"] = 1000 + i
        msg["data"][0]["prevSeqId"] = 999 + i if i else -1
        out.append(json.dumps(msg))
    return out


@needs_capture
def test_a_dropped_message_with_seq_ids_is_a_sequence_gap() -> None:
    msgs = _with_seq_ids(_captured_books("BTC-USDT"))
    sync = OkxSync("BTC-USDT", "USDT")
    for text in msgs[:50]:
        assert sync.on_message(text, 0.0) is not None
    with pytest.raises(VenueError) as err:
        sync.on_message(msgs[51], 0.0)
    assert err.value.kind is ErrorKind.SEQUENCE_GAP
    assert "prevSeqId 1050 after seqId 1049" in str(err.value)
    # Resync: a fresh sync from a snapshot follows the rest of the stream again.
    fresh = OkxSync("BTC-USDT", "USDT")
    for text in msgs:
        fresh.on_message(text, 0.0)
    assert fresh.seq == 1000 + len(msgs) - 1


# --- synthetic sessions over a loopback socket ------------------------------------

BIDS0 = [("30000.1", "1.5"), ("30000.0", "2")]
ASKS0 = [("30000.5", "0.5"), ("30001", "3")]
BIDS1 = [("30000.2", "0.1"), *BIDS0]
ASKS1 = [("30001", "3")]
ACK = '{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"}'


def _first_connection() -> list[str]:
    return [
        ACK,
        books("snapshot", BIDS0, ASKS0, seq=100),
        "pong",
        books("update", [("30000.2", "0.1")], [("30000.5", "0")], book=(BIDS1, ASKS1),
              seq=101, prev=100),
        books("update", [("29999", "1")], [], book=([*BIDS1, ("29999", "1")], ASKS1),
              seq=103, prev=102),
    ]  # fmt: skip


def _second_connection() -> list[str]:
    return [
        ACK,
        books("snapshot", BIDS1, ASKS1, seq=200),
        books("update", [], [("30000.9", "0.25")], book=(BIDS1, [("30000.9", "0.25"), *ASKS1]),
              seq=201, prev=200),
    ]  # fmt: skip


async def test_a_socket_session_from_snapshot_to_gap_and_a_clean_resync() -> None:
    adapter = OkxAdapter()
    async with VenueServer() as srv:
        srv.ws(
            "/ws/v5/public",
            WsScript(lambda n: _first_connection() if n == 0 else _second_connection(), wait_for=1),
        )
        url = srv.ws_url + "/ws/v5/public"
        first = await session(url, adapter.new_sync("BTC-USDT", "USDT"))
        second = await session(url, adapter.new_sync("BTC-USDT", "USDT"))
    assert json.loads(srv.received[0]) == {
        "op": "subscribe",
        "args": [{"channel": "books", "instId": "BTC-USDT"}],
    }
    snap, diff, gap = first
    assert isinstance(snap, OrderBook) and snap.best_ask == Decimal("30000.5")
    assert isinstance(diff, OrderBook)
    assert diff.best_bid == Decimal("30000.2") and diff.best_ask == Decimal("30001")
    assert [lv.size for lv in diff.bids] == [Decimal("0.1"), Decimal("1.5"), Decimal("2")]
    assert isinstance(gap, VenueError) and gap.kind is ErrorKind.SEQUENCE_GAP
    resynced = second[-1]
    assert isinstance(resynced, OrderBook) and resynced.best_ask == Decimal("30000.9")


def test_a_wrong_checksum_means_the_book_is_wrong() -> None:
    sync = OkxSync("BTC-USDT", "USDT")
    sync.on_message(books("snapshot", BIDS0, ASKS0, seq=1), 0.0)
    bad = books("update", [], [("30000.5", "0.4")], book=(BIDS0, ASKS0), seq=2, prev=1)
    with pytest.raises(VenueError) as err:
        sync.on_message(bad, 0.0)
    assert err.value.kind is ErrorKind.CHECKSUM
    # The state machine stays broken until a new snapshot arrives.
    with pytest.raises(VenueError) as err:
        sync.on_message(books("update", [], [], book=(BIDS0, ASKS0), seq=3, prev=2), 0.0)
    assert err.value.kind is ErrorKind.SEQUENCE_GAP
    assert sync.on_message(books("snapshot", BIDS0, ASKS0, seq=9), 0.0) is not None


def test_acks_notices_pongs_and_other_channels_change_nothing() -> None:
    sync = OkxSync("BTC-USDT", "USDT")
    assert sync.subscribe_messages() == [
        '{"op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]}'
    ]
    assert sync.needs_snapshot is False
    assert sync.on_snapshot(OkxAdapter().parse_rest(200, {}, REST_BODY.encode(), "USDT", 0)[0],
                            {}) is None  # fmt: skip
    assert sync.on_message("pong", 0.0) is None
    assert sync.on_message(ACK, 0.0) is None
    assert sync.on_message('{"event":"notice","code":"64008","msg":"upgrade"}', 0.0) is None
    assert sync.on_message(books("snapshot", BIDS0, ASKS0, inst="BTC-USDC"), 0.0) is None
    assert sync.on_message('{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[]}', 0) is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ('{"event":"error","code":"60018","msg":"Wrong URL or channel:books,instId:BTC-USD'
         ' doesn\'t exist"}', ErrorKind.UNSUPPORTED_PAIR),
        ('{"event":"error","code":"60012","msg":"Invalid request"}', ErrorKind.EXCHANGE),
        (books("update", BIDS0, ASKS0), ErrorKind.SEQUENCE_GAP),
        ('{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"partial","data":[]}',
         ErrorKind.MALFORMED),
        ('{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[1]}',
         ErrorKind.MALFORMED),
        ('{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot",'
         '"data":[{"asks":[["1","1"]],"bids":[],"checksum":"x"}]}', ErrorKind.MALFORMED),
        ('{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot",'
         '"data":[{"asks":[["1","1"]],"bids":[["1e999999999","1"]]}]}', ErrorKind.MALFORMED),
        ('{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot",'
         '"data":[{"asks":[["0","1"]],"bids":[]}]}', ErrorKind.MALFORMED),
        ('{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot",'
         '"data":[{"asks":[[1,"1"]],"bids":[]}]}', ErrorKind.MALFORMED),
        ('{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot",'
         '"data":[{"asks":[["1"]],"bids":[]}]}', ErrorKind.MALFORMED),
        ('{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot",'
         '"data":[{"asks":{},"bids":[]}]}', ErrorKind.MALFORMED),
        ("[]", ErrorKind.MALFORMED),
        ("{not json", ErrorKind.MALFORMED),
    ],
)  # fmt: skip
def test_socket_errors_are_typed(text: str, kind: ErrorKind) -> None:
    with pytest.raises(VenueError) as err:
        OkxSync("BTC-USDT", "USDT").on_message(text, 0.0)
    assert err.value.kind is kind
    assert err.value.venue == "okx"


def test_sequence_ids_may_come_as_strings() -> None:
    sync = OkxSync("BTC-USDT", "USDT")
    text = books("snapshot", BIDS0, ASKS0).replace('"ts"', '"seqId": "7", "prevSeqId": "-1", "ts"')
    assert sync.on_message(text, 0.0) is not None
    assert sync.seq == 7


# --- fuzzing ------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([200, 400, 429, 451, 500]))
def test_fuzz_rest_any_bytes_give_a_book_or_a_typed_error(body: bytes, status: int) -> None:
    rest_survives(OkxAdapter(), status, body, "USDT")


_text = st.one_of(
    st.text(max_size=8),
    st.from_regex(r"-?[0-9]{1,5}(\.[0-9]{1,3})?", fullmatch=True),
    # Numbers Decimal cannot negate or hold exactly.
    st.sampled_from(["1e999999999", "1e-999999999", "9" * 35]),
)
_level = st.lists(st.one_of(_text, st.integers(), st.booleans(), st.none()), max_size=4)
_entry = st.fixed_dictionaries(
    {
        "asks": st.one_of(st.lists(_level, max_size=4), st.integers()),
        "bids": st.lists(_level, max_size=4),
    },
    optional={
        "seqId": st.one_of(st.integers(), _text),
        "prevSeqId": st.one_of(st.integers(), _text),
        "checksum": st.one_of(st.integers(-(2**31), 2**31), _text),
    },
)
_msg = st.fixed_dictionaries(
    {
        "arg": st.fixed_dictionaries(
            {"channel": st.sampled_from(["books", "tickers"]),
             "instId": st.sampled_from(["BTC-USDT", "ETH-USDT"])}
        ),
        "action": st.sampled_from(["snapshot", "update", "x"]),
        "data": st.lists(_entry, max_size=2),
    }
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_msg.map(json.dumps), st.text(max_size=40)), max_size=8))
def test_fuzz_stream_any_messages_give_a_book_none_or_a_typed_error(texts: list[str]) -> None:
    stream_survives(OkxSync("BTC-USDT", "USDT"), texts)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_stream_raw_bytes(data: bytes) -> None:
    stream_survives(OkxSync("BTC-USDT", "USDT"), [data])
