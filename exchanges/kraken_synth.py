"""Synthetic Kraken v2 book traffic with valid checksums, for benchmarks and tests.

``synthetic_feed`` writes a snapshot and then diff messages exactly as Kraken
frames them (numbers with trailing zeros, a CRC32 on every message) for a book
of any depth; ``replay`` pushes them through a fresh ``KrakenSync`` so the cost
of a diff — decode, apply, truncate, checksum — can be timed on one core.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from sortedcontainers import SortedList

from exchanges.checksums import KRAKEN_LEVELS, kraken_crc32
from exchanges.kraken import KrakenSync
from exchanges.localbook import LocalBook

SYMBOL = "BTC/USD"
# Prices are whole tenths; bids stay at or below BID_TOP and asks at or above
# ASK_BOTTOM (in tenths), so the synthetic book can never cross.
BID_TOP = 500_000
ASK_BOTTOM = 500_005


def _price(tenths: int) -> str:
    return f"{tenths // 10}.{tenths % 10}"


def _qty(rng: random.Random) -> str:
    sats = rng.randrange(1, 500_000_000)
    return f"{sats // 100_000_000}.{sats % 100_000_000:08d}"


def _levels(levels: Sequence[tuple[str, str]]) -> str:
    return ",".join(f'{{"price":{p},"qty":{q}}}' for p, q in levels)


def _message(
    kind: str, bids: Sequence[tuple[str, str]], asks: Sequence[tuple[str, str]], crc: int
) -> str:
    return (
        f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"{SYMBOL}",'
        f'"bids":[{_levels(bids)}],"asks":[{_levels(asks)}],"checksum":{crc},'
        f'"timestamp":"2026-11-26T12:00:00.000000Z"}}]}}'
    )


def synthetic_feed(
    updates: int, depth: int = 1000, *, per_message: int = 1, seed: int = 0
) -> list[str]:
    """A snapshot of ``depth`` levels per side, then ``updates`` diff messages.

    Each diff message carries exactly ``per_message`` level updates: new sizes for
    resting levels, and pairs of a level removed (size 0) and another inserted, so
    the book stays ``depth`` deep (with one update per message, only sizes change).
    Every message's checksum matches the resulting book.
    """
    rng = random.Random(seed)
    span = depth * 4
    book = LocalBook("kraken", "USD", depth)
    bid_ticks = sorted(rng.sample(range(BID_TOP - span, BID_TOP + 1), depth), reverse=True)
    ask_ticks = sorted(rng.sample(range(ASK_BOTTOM, ASK_BOTTOM + span), depth))
    bids = [(_price(t), _qty(rng)) for t in bid_ticks]
    asks = [(_price(t), _qty(rng)) for t in ask_ticks]
    book.apply(bids, asks)
    live = {"bids": SortedList(-t for t in bid_ticks), "asks": SortedList(ask_ticks)}
    lows = {"bids": BID_TOP - span, "asks": ASK_BOTTOM}
    out = [_message("snapshot", bids, asks, _crc(book))]
    for _ in range(updates):
        changes: dict[str, list[tuple[str, str]]] = {"bids": [], "asks": []}
        budget = per_message
        while budget > 0:
            side = rng.choice(("bids", "asks"))
            # Ticks are stored negated for bids so index 0 is the best on both sides.
            sign = -1 if side == "bids" else 1
            ticks = live[side]
            # Most activity is near the top of the book, as on a real venue.
            tick = sign * ticks[min(int(rng.expovariate(0.05)), depth - 1)]
            if budget == 1 or rng.random() < 0.6:
                changes[side].append((_price(tick), _qty(rng)))
                budget -= 1
                continue
            ticks.remove(sign * tick)
            changes[side].append((_price(tick), "0.00000000"))
            new = rng.randrange(lows[side], lows[side] + span + 1)
            while sign * new in ticks or new == tick:
                new = rng.randrange(lows[side], lows[side] + span + 1)
            ticks.add(sign * new)
            changes[side].append((_price(new), _qty(rng)))
            budget -= 2
        book.apply(changes["bids"], changes["asks"])
        out.append(_message("update", changes["bids"], changes["asks"], _crc(book)))
    return out


def _crc(book: LocalBook) -> int:
    return kraken_crc32(book.top_asks(KRAKEN_LEVELS), book.top_bids(KRAKEN_LEVELS))


def replay(messages: Sequence[str], depth: int = 1000) -> KrakenSync:
    """Apply every message through a fresh ``KrakenSync``, checksums verified; returns it.

    Raises ``VenueError`` (CHECKSUM) if any message disagrees with the local book.
    """
    sync = KrakenSync(SYMBOL, "USD", depth)
    for text in messages:
        sync.apply_message(text, 0.0)
    return sync
