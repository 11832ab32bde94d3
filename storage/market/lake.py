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

import bisect
import logging
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import polars as pl

from exchanges.book import Level, OrderBook
from exchanges.replay import Snapshot
from storage.history.dataset import (
    BadFile,
    check_file,
    fsync_dir,
    is_visible,
    lazy_files,
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
    """Every venue with at least one file in ``market/``, and the days it has."""
    root = table_dir(data_dir, TABLE)
    found: dict[str, set[date]] = {}
    if not root.is_dir():
        return {}
    for folder in root.glob("date=*/venue=*"):
        if not any(is_visible(p) for p in folder.glob("*.parquet")):
            continue
        try:
            day = date.fromisoformat(folder.parent.name.removeprefix("date="))
        except ValueError:
            continue
        found.setdefault(folder.name.removeprefix("venue="), set()).add(day)
    return {v: Recorded(v, tuple(sorted(days))) for v, days in sorted(found.items())}


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


# -- reading for a replay --------------------------------------------------------------

# Ask levels read with every snapshot; a walk past them loads the rest of that book.
ASK_PREFIX = 6
_US = 1_000_000


def _us(t: float) -> int:
    return round(t * _US)


class NoRecording(ValueError):
    """The lake cannot serve the asked window; the message names the problem and the option."""


class LakeTape:
    """One venue's recorded books for a window, read from ``market/`` partitions.

    The snapshots a schedule needs are read up front (``load_tapes``); a time off the
    schedule (a retry) whose newest book was not read loads it on demand.
    """

    def __init__(self, venue: str, quote: str, files: list[Path], times: pl.Series) -> None:
        self.venue = venue
        self.quote = quote
        self.files = files
        self._times = times  # every capture time in the window, µs, sorted
        self._keys: list[int] = []  # capture times of the loaded snapshots, µs, sorted
        self._snaps: list[tuple[Snapshot, int]] = []  # (snapshot, next capture time µs)
        self.loaded_on_demand = 0

    def fill(self, loaded: list[tuple[Snapshot, int, int]]) -> None:
        """Take snapshots read in time order: (snapshot, capture µs, next capture µs)."""
        self._keys = [key for _, key, _ in loaded]
        self._snaps = [(snap, until) for snap, _, until in loaded]

    def _insert(self, snap: Snapshot, key: int, valid_until: int) -> None:
        i = bisect.bisect_left(self._keys, key)
        if i < len(self._keys) and self._keys[i] == key:
            return
        self._keys.insert(i, key)
        self._snaps.insert(i, (snap, valid_until))

    def at(self, t: float) -> Snapshot | None:
        """The newest snapshot captured at or before ``t``, or None."""
        t_us = _us(t)
        i = bisect.bisect_right(self._keys, t_us) - 1
        if i >= 0:
            snap, valid_until = self._snaps[i]
            if t_us < valid_until:
                return snap
        return self._load_at(t_us)

    def _load_at(self, t_us: int) -> Snapshot | None:
        idx = self._times.search_sorted(t_us, side="right") - 1
        if idx < 0:
            return None
        key = int(self._times[idx])
        nxt = int(self._times[idx + 1]) if idx + 1 < len(self._times) else 2**62
        rows = _read_rows(self.files, self.quote, [key])
        self.loaded_on_demand += 1
        snaps = _snapshots(rows, self._full_asks)
        if not snaps:  # pragma: no cover - the times come from the same files
            return None
        self._insert(snaps[0][0], key, nxt)
        return snaps[0][0]

    def _full_asks(self, key: int) -> tuple[list[int], list[int]]:
        df = (
            lazy_files(self.files, TABLE)
            .filter((pl.col("ts").dt.epoch("us") == key) & (pl.col("quote") == self.quote))
            .select("ask_price", "ask_size")
            .head(1)
            .collect()
        )
        return list(df["ask_price"][0]), list(df["ask_size"][0])


def _read_rows(files: list[Path], quote: str, keys: list[int]) -> pl.DataFrame:
    """The snapshots captured at ``keys`` (µs) in ``quote``, asks cut to ``ASK_PREFIX``."""
    ts_us = pl.col("ts").dt.epoch("us")
    return (
        lazy_files(files, TABLE)
        .filter(ts_us.is_in(keys) & (pl.col("quote") == quote))
        .select(
            ts_us.alias("ts_us"),
            pl.col("book_ts").dt.epoch("us").alias("book_us"),
            "price_exp",
            "size_exp",
            pl.col("bid_price").list.first().alias("bid_p"),
            pl.col("bid_size").list.first().alias("bid_s"),
            pl.col("ask_price").list.head(ASK_PREFIX).alias("ask_p"),
            pl.col("ask_size").list.head(ASK_PREFIX).alias("ask_s"),
            pl.col("ask_price").list.len().alias("ask_n"),
        )
        .unique("ts_us", keep="first", maintain_order=True)
        .sort("ts_us")
        .collect()
    )


def _snapshots(
    rows: pl.DataFrame, full_asks: Callable[[int], tuple[list[int], list[int]]]
) -> list[tuple[Snapshot, int]]:
    """Packed snapshots of ``rows`` with their capture time in µs."""
    out: list[tuple[Snapshot, int]] = []
    cols = [
        rows[c].to_list()
        for c in (
            "ts_us",
            "book_us",
            "price_exp",
            "size_exp",
            "bid_p",
            "bid_s",
            "ask_p",
            "ask_s",
            "ask_n",
        )
    ]
    for key, book_us, pe, se, bp, bs, ap, asz, an in zip(*cols, strict=True):
        more = full_asks if an > len(ap) else None
        bid = (bp, bs) if bp is not None else None
        snap = Snapshot(key / _US, book_us / _US, pe, se, bid, ap, asz, an, more, key)
        out.append((snap, key))
    return out


@dataclass
class Lake:
    """What ``load_tapes`` read: a tape per venue with books in the window, files skipped."""

    tapes: dict[str, LakeTape]
    bad: list[BadFile]
    empty: dict[str, str]  # venue -> why it has nothing in the window
    files_read: int = 0
    snapshots: int = 0


def load_tapes(
    data_dir: Path,
    venues: Sequence[str],
    quote: str,
    start: float,
    end: float,
    schedule: Sequence[float],
    max_age_s: float,
) -> Lake:
    """Read the books a replay of ``schedule`` (clock times) between ``start`` and ``end`` needs.

    Only the partitions of the window's days (from ``start - max_age_s``) and of ``venues``
    are opened; a file that is not a readable ``market`` file is skipped and reported.
    """
    lake = Lake({}, [], {})
    lo = start - max_age_s
    # The window ends before ``end``: a window up to midnight reads nothing of the next day.
    lo_dt, hi_dt = utc(lo), utc(max(lo, end - 1e-6))
    assert lo_dt is not None and hi_dt is not None
    sched = pl.DataFrame({"t": sorted({_us(t) for t in schedule})}, schema={"t": pl.Int64})
    for venue in venues:
        files: list[Path] = []
        for path in files_for(data_dir, venue, lo_dt, hi_dt):
            reason = check_file(path, TABLE)
            if reason is None:
                files.append(path)
            else:
                lake.bad.append(BadFile(path, reason))
                log.warning("skipping bad file %s: %s", path, reason)
        if not files:
            lake.empty[venue] = "nothing recorded in the window"
            continue
        ts_us = pl.col("ts").dt.epoch("us")
        window = (
            lazy_files(files, TABLE)
            .filter(ts_us.is_between(_us(lo), _us(end)))
            .select(ts_us.alias("ts_us"), "quote")
            .collect()
        )
        in_quote = window.filter(pl.col("quote") == quote)["ts_us"].unique().sort()
        if in_quote.is_empty():
            others = sorted(set(window["quote"].to_list()))
            lake.empty[venue] = (
                f"recorded in {', '.join(others)} in the window, not {quote}"
                if others
                else "nothing recorded in the window"
            )
            continue
        times = pl.DataFrame({"ts_us": in_quote}).with_columns(
            next_us=pl.col("ts_us").shift(-1, fill_value=2**62)
        )
        matched = sched.join_asof(times, left_on="t", right_on="ts_us", strategy="backward")
        needed = matched.drop_nulls("ts_us").unique("ts_us")
        until = dict(zip(needed["ts_us"].to_list(), needed["next_us"].to_list(), strict=True))
        tape = LakeTape(venue, quote, files, in_quote)
        rows = _read_rows(files, quote, list(until))
        tape.fill([(snap, key, until[key]) for snap, key in _snapshots(rows, tape._full_asks)])
        lake.tapes[venue] = tape
        lake.files_read += len(files)
        lake.snapshots += rows.height
    return lake
