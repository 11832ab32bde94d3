"""Kraken: the Depth REST format and its HTTP-200 errors, and the v2 book with its checksum."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchanges.book import OrderBook
from exchanges.checksums import kraken_crc32
from exchanges.errors import ErrorKind, VenueError
from exchanges.kraken import KrakenAdapter, KrakenSync, ws_symbol
from exchanges.kraken_synth import replay, synthetic_feed
from exchanges.venues import DEFAULT_SPECS
from tests.exchanges.checks import outcome, rest_error, rest_survives, stream_survives
from tests.exchanges.servers import VenueServer, WsScript
from tests.exchanges.test_checksums import KRAKEN_ASKS, KRAKEN_BIDS
from tests.exchanges.wsclient import session

Side = list[tuple[str, str]]

# The documented Depth answer.
REST_BODY = (
    '{"error":[],"result":{"XXBTZUSD":{"asks":[["30384.10000","2.059",1688671659]],'
    '"bids":[["30297.00000","1.115",1688671636]]}}}'
)


def book_msg(kind: str, bids: Side, asks: Side, *, book: tuple[Side, Side] | None = None,
             symbol: str = "BTC/USD", checksum: int | None = None) -> str:  # fmt: skip
    """A v2 ``book`` message with numbers written as Kraken writes them (trailing zeros kept).

    The checksum is that of ``book`` (the expected bids and asks after the message).
    """
    full_bids, full_asks = book if book is not None else (bids, asks)
    crc = kraken_crc32(full_asks, full_bids) if checksum is None else checksum

    def side(levels: Side) -> str:
        return ",".join(f'{{"price":{p},"qty":{q}}}' for p, q in levels)

    return (
        f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"{symbol}",'
        f'"bids":[{side(bids)}],"asks":[{side(asks)}],"checksum":{crc},'
        f'"timestamp":"2023-10-06T17:35:55.440295Z"}}]}}'
    )


SNAPSHOT = book_msg("snapshot", KRAKEN_BIDS, KRAKEN_ASKS)
HEARTBEAT = '{"channel":"heartbeat"}'
STATUS = (
    '{"channel":"status","type":"update","data":[{"version":"2.0.0","system":"online",'
    '"api_version":"v2","connection_id":12393906104898154338}]}'
)
ACK = (
    '{"method":"subscribe","result":{"channel":"book","depth":10,"snapshot":true,'
    '"symbol":"BTC/USD"},"success":true,"time_in":"2023-10-06T17:35:55.379135Z",'
    '"time_out":"2023-10-06T17:35:55.379182Z"}'
)


def test_rest_request_asks_for_the_rest_pair_name_and_a_clamped_count() -> None:
    adapter = KrakenAdapter()
    req = adapter.rest_request(DEFAULT_SPECS["kraken"], "XBTUSD", 250)
    assert req.url == "https://api.kraken.com/0/public/Depth"
    assert req.params == {"pair": "XBTUSD", "count": "250"}
    assert adapter.rest_request(DEFAULT_SPECS["kraken"], "XBTEUR", 9999).params["count"] == "500"
    assert adapter.rest_request(DEFAULT_SPECS["kraken"], "XBTEUR", 0).params["count"] == "1"
    assert adapter.ws_url(DEFAULT_SPECS["kraken"], "XBTUSD") == "wss://ws.kraken.com/v2"


def test_the_real_rest_format_parses_to_exact_decimals() -> None:
    book, raw = KrakenAdapter().parse_rest(200, {}, REST_BODY.encode(), "USD", 3.0)
    assert book.asks[0].price == Decimal("30384.10000")
    assert str(book.asks[0].price) == "30384.10000"
    assert book.asks[0].size == Decimal("2.059")
    assert book.bids[0].price == Decimal("30297.00000")
    assert book.bids[0].size == Decimal("1.115")
    assert book.venue == "kraken" and book.quote == "USD" and book.ts == 3.0
    assert raw["error"] == []


@pytest.mark.parametrize(("quote", "key"), [("USD", "XXBTZUSD"), ("EUR", "XXBTZEUR"),
                                            ("USDT", "XBTUSDT")])  # fmt: skip
def test_the_result_key_differs_from_the_requested_pair_and_is_taken_as_it_comes(
    quote: str, key: str
) -> None:
    body = REST_BODY.replace("XXBTZUSD", key).encode()
    book, _ = KrakenAdapter().parse_rest(200, {}, body, quote, 0)
    assert book.quote == quote and book.best_ask == Decimal("30384.1")


def test_symbols_per_quote_currency() -> None:
    symbols = DEFAULT_SPECS["kraken"].symbols
    assert symbols["USD"] == "XBTUSD" and symbols["EUR"] == "XBTEUR"
    assert symbols["USDT"] == "XBTUSDT"
    assert [ws_symbol(symbols[q]) for q in ("USD", "USDT", "EUR")] == [
        "BTC/USD",
        "BTC/USDT",
        "BTC/EUR",
    ]
    assert ws_symbol("BTC/USDC") == "BTC/USDC"
    assert KrakenAdapter().new_sync("XBTEUR", "EUR").symbol == "BTC/EUR"


@pytest.mark.parametrize(
    ("status", "body", "kind", "words"),
    [
        (200, '{"error":["EQuery:Unknown asset pair"]}', ErrorKind.UNSUPPORTED_PAIR,
         "Kraken lists no BTC/USD pair (EQuery:Unknown asset pair)"),
        (200, '{"error":["EGeneral:Too many requests"]}', ErrorKind.RATE_LIMITED,
         "Too many requests"),
        (200, '{"error":["EAPI:Rate limit exceeded"]}', ErrorKind.RATE_LIMITED, "Rate limit"),
        (200, '{"error":["EService:Unavailable"]}', ErrorKind.UNAVAILABLE, "unavailable"),
        (200, '{"error":["EGeneral:Invalid arguments",7]}', ErrorKind.EXCHANGE,
         "Kraken error: EGeneral:Invalid arguments; 7"),
        (520, '{"error":["EService:Busy"]}', ErrorKind.HTTP, "HTTP 520: EService:Busy"),
        (503, "<html>maintenance</html>", ErrorKind.HTTP, "HTTP 503"),
        (429, "", ErrorKind.RATE_LIMITED, "retry after 4s"),
        (403, "Forbidden", ErrorKind.FORBIDDEN, "firewall"),
        (451, "", ErrorKind.RESTRICTED, "restricted location"),
        (200, '{"error":[],"result":{}}', ErrorKind.MALFORMED, "one pair"),
        (200, '{"error":[],"result":{"A":{},"B":{}}}', ErrorKind.MALFORMED, "one pair"),
        (200, '{"error":[],"result":{"XXBTZUSD":[]}}', ErrorKind.MALFORMED, "not an object"),
        (200, '{"error":[],"result":{"XXBTZUSD":{"asks":[],"bids":[]}}}',
         ErrorKind.EMPTY_BOOK, "no asks"),
        (200, '{"error":[],"result":{"XXBTZUSD":{"asks":[["1","1",1]],"bids":[["2","1",1]]}}}',
         ErrorKind.CROSSED_BOOK, "crossed"),
        (200, '{"error":[],"result":{"XXBTZUSD":{"bids":[],"asks":[["1.0"]]}}}', ErrorKind.MALFORMED,
         "bad level"),
        (200, '{"error":[],"result":{"XXBTZUSD":{"asks":[["30384.1', ErrorKind.MALFORMED, "JSON"),
        (200, '"ok"', ErrorKind.MALFORMED, "JSON object"),
        # Numbers Decimal cannot negate exactly (bids sort by negated price): refused.
        (200, '{"error":[],"result":{"X":{"asks":[["2","1",1]],"bids":[["1e999999999","1",1]]}}}',
         ErrorKind.MALFORMED, "out of range"),
        (200, '{"error":[],"result":{"X":{"asks":[["2","1",1]],'
              '"bids":[["1.2345678901234567890123456789","1",1]]}}}',
         ErrorKind.MALFORMED, "out of range"),
    ],
)  # fmt: skip
def test_kraken_error_payloads_become_typed_errors(
    status: int, body: str, kind: ErrorKind, words: str
) -> None:
    rest_error(KrakenAdapter(), status, body, "USD", kind, words, retry_after="4")


def test_a_rate_limit_in_the_error_array_backs_off() -> None:
    body = b'{"error":["EGeneral:Too many requests"]}'
    with pytest.raises(VenueError) as err:
        KrakenAdapter().parse_rest(200, {}, body, "USD", 0)
    assert err.value.retry_after == 1.0  # Kraken's public budget: about one call a second
    with pytest.raises(VenueError) as err:
        KrakenAdapter().parse_rest(200, {"Retry-After": "6"}, body, "USD", 0)
    assert err.value.retry_after == 6.0


def test_only_the_documented_socket_depths_are_accepted() -> None:
    with pytest.raises(ValueError, match="depth"):
        KrakenAdapter(ws_depth=20)
    sync = KrakenAdapter(ws_depth=25).new_sync("XBTUSD", "USD")
    assert json.loads(sync.subscribe_messages()[0]) == {
        "method": "subscribe",
        "params": {"channel": "book", "symbol": ["BTC/USD"], "depth": 25, "snapshot": True},
    }
    assert sync.needs_snapshot is False


# --- the v2 book --------------------------------------------------------------------


def test_the_documented_snapshot_verifies_and_keeps_the_exact_numbers() -> None:
    sync = KrakenSync("BTC/USD", "USD", depth=10)
    book = sync.on_message(SNAPSHOT, 5.0)
    assert book is not None and book.ts == 5.0
    assert book.best_ask == Decimal("45285.2") and book.asks[0].size == Decimal("0.001")
    assert book.best_bid == Decimal("45283.5")
    assert sync.book.top_bids(1) == [("45283.5", "0.10000000")]
    assert len(book.asks) == len(book.bids) == 10


def test_trailing_zeros_matter_for_the_checksum() -> None:
    # The same amounts written without trailing zeros do not give Kraken's checksum.
    shortened = [(p, str(Decimal(q).normalize())) for p, q in KRAKEN_BIDS]
    text = book_msg("snapshot", shortened, KRAKEN_ASKS, checksum=3310070434)
    with pytest.raises(VenueError) as err:
        KrakenSync("BTC/USD", "USD", depth=10).on_message(text, 0.0)
    assert err.value.kind is ErrorKind.CHECKSUM
    assert "local" in str(err.value) and "3310070434" in str(err.value)


def test_updates_insert_delete_and_truncate_to_the_subscribed_depth() -> None:
    sync = KrakenSync("BTC/USD", "USD", depth=10)
    sync.on_message(SNAPSHOT, 0.0)
    # A better ask pushes the tenth ask out of a depth-10 book; a bid is deleted.
    asks = [("45284.0", "0.50000000"), *KRAKEN_ASKS[:9]]
    bids = KRAKEN_BIDS[1:]
    text = book_msg("update", [("45283.5", "0.00000000")], [("45284.0", "0.50000000")],
                    book=(bids, asks))  # fmt: skip
    book = sync.on_message(text, 1.0)
    assert book is not None
    assert book.best_ask == Decimal("45284.0") and book.best_bid == Decimal("45283.4")
    assert len(book.asks) == 10 and book.asks[-1].price == Decimal("45297.5")
    assert len(book.bids) == 9


def test_a_checksum_mismatch_stops_the_book_until_a_new_snapshot() -> None:
    sync = KrakenSync("BTC/USD", "USD", depth=10)
    sync.on_message(SNAPSHOT, 0.0)
    wrong = book_msg("update", [], [("45285.2", "0.00200000")], book=(KRAKEN_BIDS, KRAKEN_ASKS))
    with pytest.raises(VenueError) as err:
        sync.on_message(wrong, 1.0)
    assert err.value.kind is ErrorKind.CHECKSUM
    assert "BTC/USD book checksum mismatch" in str(err.value)
    with pytest.raises(VenueError) as err:
        sync.on_message(book_msg("update", [], [], book=(KRAKEN_BIDS, KRAKEN_ASKS)), 2.0)
    assert err.value.kind is ErrorKind.SEQUENCE_GAP
    assert sync.on_message(SNAPSHOT, 3.0) is not None


def test_heartbeats_status_acks_and_other_symbols_change_nothing() -> None:
    sync = KrakenSync("BTC/USD", "USD", depth=10)
    for text in (HEARTBEAT, STATUS, ACK, '{"method":"pong","req_id":1}',
                 book_msg("snapshot", KRAKEN_BIDS, KRAKEN_ASKS, symbol="BTC/EUR")):  # fmt: skip
        assert sync.on_message(text, 0.0) is None
    assert sync.on_snapshot(sync.book.snapshot() if sync.book.asks else _rest_book(), {}) is None


def _rest_book() -> OrderBook:
    return KrakenAdapter().parse_rest(200, {}, REST_BODY.encode(), "USD", 0)[0]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ('{"error":"Currency pair not supported BTC/USDQ","method":"subscribe","success":false,'
         '"symbol":"BTC/USDQ"}', ErrorKind.UNSUPPORTED_PAIR),
        ('{"error":"Exceeded msg rate","method":"subscribe","success":false}', ErrorKind.EXCHANGE),
        (book_msg("update", KRAKEN_BIDS, KRAKEN_ASKS), ErrorKind.SEQUENCE_GAP),
        ('{"channel":"book","type":"snapshot","data":{}}', ErrorKind.MALFORMED),
        ('{"channel":"book","type":"delta","data":[]}', ErrorKind.MALFORMED),
        ('{"channel":"book","type":"snapshot","data":[7]}', ErrorKind.MALFORMED),
        ('{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD","bids":[],"asks":[]}]}',
         ErrorKind.MALFORMED),
        ('{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD","bids":{},'
         '"checksum":1}]}', ErrorKind.MALFORMED),
        ('{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD","bids":[[1,2]],'
         '"checksum":1}]}', ErrorKind.MALFORMED),
        ('{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD",'
         '"bids":[{"price":1e-99999999,"qty":1.0}],"checksum":1}]}', ErrorKind.MALFORMED),
        ('{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD",'
         '"bids":[{"price":0.0,"qty":1.0}],"checksum":1}]}', ErrorKind.MALFORMED),
        ('{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD",'
         '"bids":[{"price":1.2345678901234567890123456789,"qty":1.0}],"checksum":1}]}',
         ErrorKind.MALFORMED),
        ('{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD",'
         '"bids":[{"price":NaN,"qty":1.0}],"checksum":1}]}', ErrorKind.MALFORMED),
        ('{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD",'
         '"bids":[{"price":5.0,"qty":-1.0}],"checksum":1}]}', ErrorKind.MALFORMED),
        ("[1]", ErrorKind.MALFORMED),
        ('{"channel":', ErrorKind.MALFORMED),
    ],
)  # fmt: skip
def test_socket_errors_are_typed(text: str, kind: ErrorKind) -> None:
    with pytest.raises(VenueError) as err:
        KrakenSync("BTC/USD", "USD", depth=10).on_message(text, 0.0)
    assert err.value.kind is kind
    assert err.value.venue == "kraken"


def test_numbers_sent_as_strings_or_integers_still_checksum() -> None:
    text = SNAPSHOT.replace('"qty":0.00100000', '"qty":"0.00100000"')
    assert KrakenSync("BTC/USD", "USD", depth=10).on_message(text, 0.0) is not None
    # An integral price written without a point checksums as written.
    bids = [("45284", "1.00000000")]
    asks = [("45285", "2.00000000")]
    assert KrakenSync("BTC/USD", "USD").on_message(book_msg("snapshot", bids, asks), 0) is not None
    assert KrakenSync("BTC/USD", "USD").apply_message(SNAPSHOT.encode(), 0) is True


# --- a socket session ---------------------------------------------------------------

ASKS_AFTER = [*KRAKEN_ASKS[:2], ("45286.5", "0.30000000"), *KRAKEN_ASKS[2:9]]


def _first_connection() -> list[str]:
    return [
        STATUS,
        ACK,
        SNAPSHOT,
        HEARTBEAT,
        book_msg("update", [], [("45286.5", "0.30000000")], book=(KRAKEN_BIDS, ASKS_AFTER)),
        # Kraken dropped a message here: its checksum no longer matches our book.
        book_msg("update", [("45283.6", "1.00000000")], [],
                 book=([("45283.6", "1.00000000"), ("45283.55", "2.0"), *KRAKEN_BIDS[:8]],
                       ASKS_AFTER)),
    ]  # fmt: skip


def _second_connection() -> list[str]:
    return [STATUS, ACK, book_msg("snapshot", KRAKEN_BIDS, ASKS_AFTER), HEARTBEAT]


async def test_a_socket_session_from_snapshot_to_bad_checksum_and_a_clean_resync() -> None:
    adapter = KrakenAdapter(ws_depth=10)
    async with VenueServer() as srv:
        srv.ws(
            "/v2",
            WsScript(lambda n: _first_connection() if n == 0 else _second_connection(), wait_for=1),
        )
        url = srv.ws_url + "/v2"
        first = await session(url, adapter.new_sync("XBTUSD", "USD"))
        second = await session(url, adapter.new_sync("XBTUSD", "USD"))
    sent = json.loads(srv.received[0])
    assert sent["params"]["symbol"] == ["BTC/USD"] and sent["params"]["depth"] == 10
    snap, diff, bad = first
    assert isinstance(snap, OrderBook) and isinstance(diff, OrderBook)
    assert diff.asks[2].price == Decimal("45286.5") and len(diff.asks) == 10
    assert isinstance(bad, VenueError) and bad.kind is ErrorKind.CHECKSUM
    (resynced,) = second
    assert isinstance(resynced, OrderBook) and resynced.asks == diff.asks


# --- the benchmark helper -----------------------------------------------------------


def test_a_synthetic_1000_level_feed_verifies_on_every_message() -> None:
    feed = synthetic_feed(3000, depth=1000, seed=7)
    sync = replay(feed, depth=1000)
    assert len(sync.book.bids) == len(sync.book.asks) == 1000
    book = sync.on_message(feed[-1], 0.0)
    assert book is not None  # re-applying the last absolute sizes changes nothing
    sizes = synthetic_feed(50, depth=100, per_message=5, seed=1)
    assert len(replay(sizes, depth=100).book.asks) == 100


def test_a_corrupted_synthetic_message_is_caught() -> None:
    feed = synthetic_feed(200, depth=100, seed=3)
    # Skip message i: whenever it touched the top ten levels, message i + 1 must fail.
    errors = []
    for i in range(1, 40):
        probe = replay(feed[:i], depth=100)
        for text in feed[i + 1 : i + 2]:
            out = outcome(lambda s=probe, t=text: s.on_message(t, 0.0))  # type: ignore[misc]
            if isinstance(out, VenueError):
                errors.append(out)
    assert errors and all(e.kind is ErrorKind.CHECKSUM for e in errors)


# --- fuzzing ------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([200, 429, 500]))
def test_fuzz_rest_any_bytes_give_a_book_or_a_typed_error(body: bytes, status: int) -> None:
    rest_survives(KrakenAdapter(), status, body, "USD")


_number = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=8, min_value=-10, max_value=10**6),
    st.integers(-5, 10**6),
    st.text(max_size=6),
    st.booleans(),
    st.none(),
    st.sampled_from(["1e-999999", "1e999999", "NaN", "Infinity", "1e999999999"]),
)
_level = st.fixed_dictionaries({}, optional={"price": _number, "qty": _number})
_entry = st.fixed_dictionaries(
    {"symbol": st.sampled_from(["BTC/USD", "BTC/EUR"])},
    optional={
        "bids": st.one_of(st.lists(_level, max_size=4), st.integers()),
        "asks": st.lists(_level, max_size=4),
        "checksum": st.one_of(st.integers(0, 2**32), st.text(max_size=3)),
    },
)
_msg = st.fixed_dictionaries(
    {"channel": st.sampled_from(["book", "heartbeat", "status"]),
     "type": st.sampled_from(["snapshot", "update", "x"]),
     "data": st.lists(_entry, max_size=2)},
    optional={"success": st.booleans(), "error": st.text(max_size=10)},
)  # fmt: skip


def _dumps(msg: object) -> str:
    # Decimals go out as bare JSON numbers (as Kraken writes them), the odd strings too.
    text = json.dumps(msg, default=str)
    for number in ("1e-999999", "1e999999999"):
        text = text.replace(f'"{number}"', number)
    return text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_msg.map(_dumps), st.text(max_size=40)), max_size=8))
def test_fuzz_stream_any_messages_give_a_book_none_or_a_typed_error(texts: list[str]) -> None:
    sync = KrakenSync("BTC/USD", "USD", depth=10)
    sync.on_message(SNAPSHOT, 0.0)
    stream_survives(sync, texts)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_stream_raw_bytes(data: bytes) -> None:
    stream_survives(KrakenSync("BTC/USD", "USD"), [data])


def test_levels_truncated_past_the_depth_do_not_pile_up() -> None:
    sync = KrakenSync("BTC/USD", "USD", depth=10)
    sync.on_message(SNAPSHOT, 0.0)
    # Asks beyond the tenth are cut straight away; the checksum stays the snapshot's.
    for i in range(30):
        deep = book_msg("update", [], [(f"{46000 + i}.0", "1.00000000")],
                        book=(KRAKEN_BIDS, KRAKEN_ASKS))  # fmt: skip
        assert sync.on_message(deep, 0.0) is not None
    assert len(sync.book.asks) == 10
    book = sync.on_message(book_msg("update", [], [], book=(KRAKEN_BIDS, KRAKEN_ASKS)), 0.0)
    assert book is not None and len(book.asks) == 10  # the priced levels are cut too
    assert book.asks[-1].price < Decimal(46000)


def test_a_thin_book_is_checksummed_after_every_change() -> None:
    sync = KrakenSync("BTC/USD", "USD", depth=10)
    bids = [("100.0", "1.00000000"), ("99.5", "2.00000000")]
    asks = [("101.0", "0.50000000")]
    assert sync.on_message(book_msg("snapshot", bids, asks), 0.0) is not None
    # Far below the best bid, but with fewer than ten levels every level is checksummed.
    deeper = [*bids, ("50.0", "3.00000000")]
    book = sync.on_message(book_msg("update", [("50.0", "3.00000000")], [], book=(deeper, asks)), 1)
    assert book is not None and len(book.bids) == 3
    # A diff below the top ten of a full side leaves the checksum as it was.
    full = KrakenSync("BTC/USD", "USD", depth=25)
    full.on_message(SNAPSHOT, 0.0)
    deep = book_msg("update", [("40000.0", "1.00000000")], [],
                    book=(KRAKEN_BIDS, KRAKEN_ASKS))  # fmt: skip
    assert full.on_message(deep, 1.0) is not None
    wrong = book_msg("update", [("40001.0", "1.00000000")], [], checksum=12345)
    with pytest.raises(VenueError) as err:
        full.on_message(wrong, 2.0)
    assert err.value.kind is ErrorKind.CHECKSUM
