"""Book checksums: Kraken's documented example, OKX's documented string, real OKX traffic."""

from __future__ import annotations

import json
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchanges.checksums import kraken_crc32, kraken_fragment, okx_crc32
from tests.exchanges.captured import available, ws_frames

# Kraken's "Book checksum v2" example (docs.kraken.com), levels as the socket sends them.
KRAKEN_ASKS = [
    ("45285.2", "0.00100000"),
    ("45286.4", "1.54571953"),
    ("45286.6", "1.54571109"),
    ("45289.6", "1.54560911"),
    ("45290.2", "0.15890660"),
    ("45291.8", "1.54553491"),
    ("45294.7", "0.04454749"),
    ("45296.1", "0.35380000"),
    ("45297.5", "0.09945542"),
    ("45299.5", "0.18772827"),
]
KRAKEN_BIDS = [
    ("45283.5", "0.10000000"),
    ("45283.4", "1.54582015"),
    ("45282.1", "0.10000000"),
    ("45281.0", "0.10000000"),
    ("45280.3", "1.54592586"),
    ("45279.0", "0.07990000"),
    ("45277.6", "0.03310103"),
    ("45277.5", "0.30000000"),
    ("45277.3", "1.54602737"),
    ("45276.6", "0.15445238"),
]


def test_krakens_documented_example_gives_3310070434() -> None:
    assert kraken_crc32(KRAKEN_ASKS, KRAKEN_BIDS) == 3310070434


def test_kraken_checksum_depends_on_trailing_zeros_and_ignores_deeper_levels() -> None:
    # 0.1 and 0.10000000 are the same amount but not the same text: the CRC differs.
    changed = [("45283.5", "0.1"), *KRAKEN_BIDS[1:]]
    assert kraken_crc32(KRAKEN_ASKS, changed) != 3310070434
    deeper = [*KRAKEN_BIDS, ("1.0", "5.00000000")]
    assert kraken_crc32([*KRAKEN_ASKS, ("99999.9", "1.0")], deeper) == 3310070434


def test_kraken_fragment_drops_the_point_and_leading_zeros() -> None:
    assert kraken_fragment("45285.2", "0.00100000") == "452852100000"
    assert kraken_fragment("0.05005", "0.00000500") == "5005500"


def test_okx_checksum_interleaves_bids_and_asks_as_documented() -> None:
    # OKX v5 docs: bids 3366.1/7, 3366/6; asks 3366.8/9, 3368/8 -> this string.
    bids = [("3366.1", "7"), ("3366", "6")]
    asks = [("3366.8", "9"), ("3368", "8")]
    crc = zlib.crc32(b"3366.1:7:3366.8:9:3366:6:3368:8")
    expected = crc - 2**32 if crc >= 2**31 else crc
    assert okx_crc32(bids, asks) == expected
    # One side longer: the rest of it follows on its own.
    longer = zlib.crc32(b"3366.1:7:3366.8:9:3366:6:3368:8:3369:1")
    assert okx_crc32(bids, [*asks, ("3369", "1")]) == (
        longer - 2**32 if longer >= 2**31 else longer
    )


@pytest.mark.skipif(not available(), reason="captured traffic not present")
def test_okx_checksum_matches_a_real_recorded_snapshot() -> None:
    frames = ws_frames("OKX.ws.1.0")
    snaps = [json.loads(f.text) for f in frames if '"action":"snapshot"' in f.text]
    assert len(snaps) == 3
    for snap in snaps:
        data = snap["data"][0]
        bids = [(p, s) for p, s, *_ in data["bids"]]
        asks = [(p, s) for p, s, *_ in data["asks"]]
        assert okx_crc32(bids, asks) == data["checksum"]
        assert data["checksum"] < 2**31


_levels = st.lists(
    st.tuples(
        st.from_regex(r"[0-9]{1,6}\.[0-9]{1,8}", fullmatch=True),
        st.from_regex(r"[0-9]{1,3}\.[0-9]{1,8}", fullmatch=True),
    ),
    max_size=40,
)


@settings(max_examples=60)
@given(_levels, _levels)
def test_checksums_stay_in_their_integer_ranges(
    bids: list[tuple[str, str]], asks: list[tuple[str, str]]
) -> None:
    assert 0 <= kraken_crc32(asks, bids) < 2**32
    assert -(2**31) <= okx_crc32(bids, asks) < 2**31
