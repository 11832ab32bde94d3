"""The ``market/`` dataset: recorded order books, one row per venue snapshot.

Layout: ``<data_dir>/market/date=YYYY-MM-DD/venue=<id>/part-….parquet``, written
atomically like the other tables (``dataset.write_atomic``) and compacted per closed
day and venue. A backtest reads only the partitions of its days and venues.

Prices and sizes are stored exactly as integers with a decimal exponent per row
(``price_exp``, ``size_exp``): ``Decimal(mantissa).scaleb(exp)`` gives back the
``Decimal`` the venue sent. Integers keep the files small (zstd on deltas) and let a
replay decode only the levels it walks. A mantissa holds at most 18 digits: a price
that needs more (only a converted one, e.g. ``price × 1 / rate``) is rounded half-even
to 18 significant digits — 10⁻¹³ of a 90,000 price — which is this table's one
documented rounding boundary.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import polars as pl

from exchanges.book import Level, OrderBook
from storage.history.dataset import (
    fsync_dir,
    is_visible,
    table_dir,
    write_atomic,
)
from storage.history.schema import MARKET, SCHEMA_VERSION, utc
from storage.runs.locks import READERS_LOCK, flocked

log = logging.getLogger(__name__)

TABLE = "market"
MAX_DIGITS = 18  # an Int64 holds every 18-digit integer
DEFAULT_DEPTH = 50


def _split(value: Decimal) -> tuple[int, int]:
    """``value`` as (integer, exponent), exactly; from its text, which is faster than
    ``as_tuple`` for the plain decimals venues send."""
    text = str(value)
    if "E" in text:
        sign, digits, exp = value.as_tuple()
        m = int("".join(map(str, digits)))
        return (-m if sign else m), int(exp)
    dot = text.find(".")
    if dot < 0:
        return int(text), 0
    return int(text[:dot] + text[dot + 1 :]), dot + 1 - len(text)


def _encode(values: Sequence[Decimal]) -> tuple[int, list[int]]:
    """One exponent for ``values`` and each value as an integer of at most ``MAX_DIGITS``
    digits at it (rounded half-even only when a value has more digits than that)."""
    if not values:
        return 0, []
    parts = [_split(v) for v in values]
    finest = min(e for _, e in parts)
    largest = max(v.adjusted() for v in values)
    exp = max(finest, largest - MAX_DIGITS + 1)
    if exp == finest:
        return exp, [m * 10 ** (e - exp) for m, e in parts]
    unit = Decimal(1).scaleb(exp)
    return exp, [int(v.quantize(unit, rounding=ROUND_HALF_EVEN).scaleb(-exp)) for v in values]


def snapshot_row(book: OrderBook, at: float, depth: int, source: str) -> dict[str, object]:
    """One ``market`` row: ``book``'s top ``depth`` levels a side, captured at clock time ``at``."""
    bids = book.bids[:depth]
    asks = book.asks[:depth]
    prices = [lv.price for lv in bids] + [lv.price for lv in asks]
    sizes = [lv.size for lv in bids] + [lv.size for lv in asks]
    pe, price_ints = _encode(prices)
    se, size_ints = _encode(sizes)
    nb = len(bids)
    return {
        "schema_version": SCHEMA_VERSION,
        "ts": utc(at),
        "venue": book.venue,
        "quote": book.quote,
        "book_ts": utc(book.ts),
        "source": source,
        "price_exp": pe,
        "size_exp": se,
        "bid_price": price_ints[:nb],
        "bid_size": size_ints[:nb],
        "ask_price": price_ints[nb:],
        "ask_size": size_ints[nb:],
    }


def level(price: int, size: int, price_exp: int, size_exp: int) -> Level:
    """A stored level back as exact Decimals."""
    return Level(Decimal(price).scaleb(price_exp), Decimal(size).scaleb(size_exp))


def book_of(row: dict[str, object]) -> OrderBook:
    """A whole stored row back as an ``OrderBook`` (for tests and tools; a replay decodes
    lazily, see ``exchanges.replay``)."""
    pe, se = int(row["price_exp"]), int(row["size_exp"])  # type: ignore[call-overload]
    bids = [level(p, s, pe, se) for p, s in zip(row["bid_price"], row["bid_size"], strict=True)]  # type: ignore[call-overload]
    asks = [level(p, s, pe, se) for p, s in zip(row["ask_price"], row["ask_size"], strict=True)]  # type: ignore[call-overload]
    book_ts = row["book_ts"]
    ts = book_ts.timestamp() if isinstance(book_ts, datetime) else 0.0
    return OrderBook(str(row["venue"]), str(row["quote"]), tuple(bids), tuple(asks), ts)


def frame(rows: Sequence[dict[str, object]]) -> pl.DataFrame:
    """Rows in the ``market`` schema."""
    return pl.DataFrame(
        {name: [row.get(name) for row in rows] for name in MARKET.names()}, schema=MARKET
    )


def partition_dir(data_dir: Path, day: date, venue: str) -> Path:
    """The folder of one day and venue."""
    return table_dir(data_dir, TABLE) / f"date={day:%Y-%m-%d}" / f"venue={venue}"


def write_snapshots(data_dir: Path, rows: Sequence[dict[str, object]]) -> list[Path]:
    """Write ``rows`` as one new file per (day, venue) partition; returns the files."""
    groups: dict[tuple[date, str], list[dict[str, object]]] = {}
    for row in rows:
        ts = row["ts"]
        assert isinstance(ts, datetime)
        groups.setdefault((ts.astimezone(UTC).date(), str(row["venue"])), []).append(row)
    return [
        write_atomic(frame(group), partition_dir(data_dir, day, venue))
        for (day, venue), group in sorted(groups.items())
    ]


def _days(start: datetime, end: datetime) -> list[date]:
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def files_for(data_dir: Path, venue: str, start: datetime, end: datetime) -> list[Path]:
    """The visible files of ``venue`` in the days from ``start`` to ``end`` (no other day)."""
    out: list[Path] = []
    for day in _days(start, end):
        folder = partition_dir(data_dir, day, venue)
        if folder.is_dir():
            out.extend(sorted(p for p in folder.glob("*.parquet") if is_visible(p)))
    return out


@dataclass(frozen=True, slots=True)
class Recorded:
    """What the lake holds for one venue: its days and whether any file is there."""

    venue: str
    days: tuple[date, ...]


def recorded(data_dir: Path) -> dict[str, Recorded]:
    """Every venue with at least one file in ``market/``, and the days it has.

    Listed with ``os.scandir``, stopping at a folder's first file: a year of six venues is
    2,190 folders, which ``Path.glob`` took half a second to list.
    """
    root = table_dir(data_dir, TABLE)
    found: dict[str, set[date]] = {}
    if not root.is_dir():
        return {}
    with os.scandir(root) as days:
        for day_dir in days:
            if not day_dir.name.startswith("date=") or not day_dir.is_dir():
                continue
            try:
                day = date.fromisoformat(day_dir.name.removeprefix("date="))
            except ValueError:
                continue
            with os.scandir(day_dir.path) as venues:
                for folder in venues:
                    if folder.name.startswith("venue=") and _has_file(folder.path):
                        found.setdefault(folder.name.removeprefix("venue="), set()).add(day)
    return {v: Recorded(v, tuple(sorted(days))) for v, days in sorted(found.items())}


def _has_file(folder: str) -> bool:
    """Whether ``folder`` holds a file a reader looks at."""
    try:
        with os.scandir(folder) as entries:
            return any(is_visible(Path(e.name)) for e in entries)
    except NotADirectoryError:
        return False


def prune(data_dir: Path, keep_days: int, today: date | None = None) -> list[Path]:
    """Delete the day partitions older than ``keep_days`` days before ``today``; returns them.

    ``keep_days`` 0 keeps everything. Waits for readers in progress (the readers lock).
    """
    if keep_days <= 0:
        return []
    root = table_dir(data_dir, TABLE)
    if not root.is_dir():
        return []
    cutoff = (today or datetime.now(UTC).date()) - timedelta(days=keep_days)
    old: list[Path] = []
    for folder in sorted(root.glob("date=*")):
        try:
            day = date.fromisoformat(folder.name.removeprefix("date="))
        except ValueError:
            continue
        if day < cutoff:
            old.append(folder)
    if old:
        with flocked(data_dir / READERS_LOCK):
            for folder in old:
                shutil.rmtree(folder, ignore_errors=True)
        fsync_dir(root)
        log.info("market: removed %d day(s) older than %d days", len(old), keep_days)
    return old


def bytes_of(paths: Iterable[Path]) -> int:
    """Total size of ``paths`` that still exist."""
    total = 0
    for p in paths:
        try:
            total += p.stat().st_size
        except OSError:
            continue
    return total
