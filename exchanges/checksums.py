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


def kraken_fragment(price_text: str, qty_text: str) -> str:
    """One level's part of the Kraken checksum string: digits without ``.``, no leading zeros."""
    return price_text.replace(".", "").lstrip("0") + qty_text.replace(".", "").lstrip("0")


def kraken_crc32(asks: Sequence[tuple[str, str]], bids: Sequence[tuple[str, str]]) -> int:
    """Kraken v2 book checksum (unsigned) of asks (lowest first) and bids (highest first).

    Each level is ``(price_text, qty_text)`` exactly as sent; only the first 10 per
    side count.
    """
    levels = [*asks[:KRAKEN_LEVELS], *bids[:KRAKEN_LEVELS]]
    return zlib.crc32("".join(kraken_fragment(p, q) for p, q in levels).encode("ascii", "replace"))


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
