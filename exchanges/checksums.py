"""Order book checksums that venues send so a client can prove its local book is right.

Both are CRC32 over the wire TEXT of the top levels (trailing zeros included),
which is why ``LocalBook`` keeps each level's text beside its ``Decimal``.
Kraken v2 (documented at docs.kraken.com, "Book checksum v2"): top 10 asks then
top 10 bids, each level as price then qty with the ``.`` removed and leading
zeros stripped, unsigned CRC32. OKX ("Checksum" in the v5 order book channel
docs): the top 25 levels interleaved ``bidPx:bidSz:askPx:askSz`` (continuing
with one side when the other runs out), joined by ``:``, CRC32 read as a signed
int32.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

KRAKEN_LEVELS = 10
OKX_LEVELS = 25

# Level text pairs recur across messages (only the changed levels are new), so the
# Kraken fragment of each is memoised; the cap bounds memory on a long session.
_KRAKEN_FRAGMENTS: dict[tuple[str, str], str] = {}
_FRAGMENT_CACHE_MAX = 200_000


def _kraken_fragment(level: tuple[str, str]) -> str:
    frag = _KRAKEN_FRAGMENTS.get(level)
    if frag is None:
        price, qty = level
        frag = price.replace(".", "").lstrip("0") + qty.replace(".", "").lstrip("0")
        if len(_KRAKEN_FRAGMENTS) >= _FRAGMENT_CACHE_MAX:
            _KRAKEN_FRAGMENTS.clear()
        _KRAKEN_FRAGMENTS[level] = frag
    return frag


def kraken_crc32(asks: Sequence[tuple[str, str]], bids: Sequence[tuple[str, str]]) -> int:
    """Kraken v2 book checksum (unsigned) of asks (lowest first) and bids (highest first).

    Each level is ``(price_text, qty_text)`` exactly as sent; only the first 10 per
    side count.
    """
    text = "".join(map(_kraken_fragment, asks[:KRAKEN_LEVELS])) + "".join(
        map(_kraken_fragment, bids[:KRAKEN_LEVELS])
    )
    return zlib.crc32(text.encode("ascii", "replace"))


def okx_crc32(bids: Sequence[tuple[str, str]], asks: Sequence[tuple[str, str]]) -> int:
    """OKX book checksum (signed int32) of bids (highest first) and asks (lowest first)."""
    parts: list[str] = []
    for i in range(OKX_LEVELS):
        if i < len(bids):
            parts.append(bids[i][0])
            parts.append(bids[i][1])
        if i < len(asks):
            parts.append(asks[i][0])
            parts.append(asks[i][1])
    crc = zlib.crc32(":".join(parts).encode("ascii", "replace"))
    return crc - (1 << 32) if crc >= (1 << 31) else crc
