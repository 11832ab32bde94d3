"""A window of recorded books read one day at a time, for a replay.

``open_window`` looks at the window once: which venues have books in the quote, and how
many snapshots the schedule reads (only the capture-time column is read for that).
``DayStream`` then feeds a replay: the day the replay's clock is in is read when the
clock reaches it, the next day is read in a thread meanwhile, and a day the clock has
left is dropped. A replay so holds two days of books at most, whatever the window's
length: memory stays flat from a day to a year.

Of each day only the snapshots the schedule needs are read (the newest captured at or
before each tranche's time), and of those only the best bid and the first ask levels
(``ASK_PREFIX``); a walk past them reads the rest of that book. A time off the schedule
(a retry) whose book was not read reads it then. What a replay is served is exactly what
reading the whole window at once would serve (the tests compare the two).

A snapshot is read from the partition of its own capture day, where the recorder and the
compaction put it.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from array import array
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

import polars as pl

from exchanges.replay import AskLoader, Snapshot
from storage.history.dataset import BadFile, check_file, lazy_files
from storage.history.schema import SCHEMAS, utc
from storage.market.lake import TABLE, files_for

log = logging.getLogger(__name__)

# Ask levels read with every snapshot; a walk past them loads the rest of that book.
ASK_PREFIX = 6
_US = 1_000_000
_DAY_US = 86_400 * _US
# "No newer capture": later than any clock time.
NEVER = 2**62


def _us(t: float) -> int:
    return round(t * _US)


def _day_of(t_us: int) -> date:
    return datetime.fromtimestamp(t_us // _US, UTC).date()


def _day_start_us(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * _US


@dataclass
class Window:
    """What the lake holds for a replay's window: each venue's good files, day by day.

    ``files`` lists the venues with books in ``quote`` in the window; ``empty`` says why
    each other venue has none; ``snapshots`` is how many the prepared schedule reads.
    """

    quote: str
    lo_us: int
    end_us: int
    days: tuple[date, ...]
    files: dict[str, dict[date, list[Path]]]
    bad: list[BadFile] = field(default_factory=list)
    empty: dict[str, str] = field(default_factory=dict)
    files_read: int = 0
    snapshots: int = 0

    @property
    def venues(self) -> list[str]:
        """The venues with books in the window, in the order asked."""
        return list(self.files)

    def files_of(self, venue: str, day: date) -> list[Path]:
        """``venue``'s good files of ``day`` (none outside the window)."""
        return self.files.get(venue, {}).get(day, [])


def _schedule_us(schedule: Sequence[float]) -> array[int]:
    """The distinct tranche times in µs, sorted, 8 bytes each."""
    return array("q", sorted({_us(t) for t in schedule}))


def _between(times: array[int], lo_us: int, hi_us: int) -> array[int]:
    return times[bisect.bisect_left(times, lo_us) : bisect.bisect_left(times, hi_us)]


def _scan(window: Window, parts: Sequence[tuple[str, date]]) -> pl.LazyFrame | None:
    """The files of ``parts`` (venue, day) as one scan, with a ``venue`` column: the venue of
    each row's partition. One scan of many files, not one per venue: Polars plans and runs
    a scan per frame of a concatenation, ten times slower for a day's six small files."""
    owner: dict[str, str] = {}
    for venue, day in parts:
        owner.update((str(path), venue) for path in window.files_of(venue, day))
    if not owner:
        return None
    return pl.scan_parquet(
        list(owner),
        schema=SCHEMAS[TABLE],
        hive_partitioning=False,
        missing_columns="insert",
        include_file_paths="path",
    ).with_columns(venue=pl.col("path").replace_strict(owner, return_dtype=pl.Utf8))


def _day_times(window: Window, day: date, venues: Sequence[str]) -> dict[str, pl.DataFrame]:
    """Each venue's capture times (µs) of ``day`` in the window, with their quote."""
    lo = max(window.lo_us, _day_start_us(day))
    hi = min(window.end_us, _day_start_us(day) + _DAY_US - 1)
    ts_us = pl.col("ts").dt.epoch("us")
    scan = _scan(window, [(venue, day) for venue in venues])
    if scan is None:
        return {}
    found = scan.filter(ts_us.is_between(lo, hi)).select(ts_us.alias("ts_us"), "quote", "venue")
    return {str(v[0]): df for v, df in found.collect().partition_by("venue", as_dict=True).items()}


def _quote_times(df: pl.DataFrame | None, quote: str) -> list[int]:
    if df is None:
        return []
    return df.filter(pl.col("quote") == quote)["ts_us"].unique().sort().to_list()


def _needed(times: Sequence[int], prev: int | None, sched: Sequence[int]) -> dict[int, int]:
    """The capture times the tranche times ``sched`` read, each with the next capture time.

    ``times`` are a day's capture times (sorted), ``prev`` the newest before the day.
    """
    out: dict[int, int] = {}
    for t in sched:
        i = bisect.bisect_right(times, t) - 1
        if i >= 0:
            out[times[i]] = times[i + 1] if i + 1 < len(times) else NEVER
        elif prev is not None:
            out[prev] = times[0] if times else NEVER
    return out


def open_window(
    data_dir: Path,
    venues: Sequence[str],
    quote: str,
    start: float,
    end: float,
    schedule: Sequence[float],
    max_age_s: float,
) -> Window:
    """Check the window of a replay of ``schedule`` (clock times) from ``start`` to ``end``.

    Only the partitions of the window's days (from ``start - max_age_s``) and of ``venues``
    are listed; a file that is not a readable ``market`` file is skipped and reported.
    Reads the capture times only, a day at a time.
    """
    lo = start - max_age_s
    # The window ends before ``end``: a window up to midnight reads nothing of the next day.
    lo_dt, hi_dt = utc(lo), utc(max(lo, end - 1e-6))
    assert lo_dt is not None and hi_dt is not None
    first, last = lo_dt.date(), hi_dt.date()
    days = tuple(first + timedelta(days=i) for i in range((last - first).days + 1))
    window = Window(quote, _us(lo), _us(end), days, {})
    for venue in venues:
        by_day: dict[date, list[Path]] = {}
        for path in files_for(data_dir, venue, lo_dt, hi_dt):
            reason = check_file(path, TABLE)
            if reason is None:
                by_day.setdefault(date.fromisoformat(path.parent.parent.name[5:]), []).append(path)
            else:
                window.bad.append(BadFile(path, reason))
                log.warning("skipping bad file %s: %s", path, reason)
        if by_day:
            window.files[venue] = by_day
        else:
            window.empty[venue] = "nothing recorded in the window"
    sched = _schedule_us(schedule)
    others: dict[str, set[str]] = {v: set() for v in window.files}
    counts = dict.fromkeys(window.files, 0)
    prev: dict[str, int | None] = dict.fromkeys(window.files)
    for day in days:
        found = _day_times(window, day, window.venues)
        lo_us = _day_start_us(day)
        day_sched = _between(sched, lo_us, lo_us + _DAY_US)
        for venue in window.venues:
            df = found.get(venue)
            if df is not None:
                others[venue].update(df["quote"].unique().to_list())
            times = _quote_times(df, quote)
            counts[venue] += len(_needed(times, prev[venue], day_sched))
            if times:
                prev[venue] = times[-1]
    for venue in list(window.files):
        if prev[venue] is None:
            seen = sorted(others[venue] - {quote})
            window.empty[venue] = (
                f"recorded in {', '.join(seen)} in the window, not {quote}"
                if seen
                else "nothing recorded in the window"
            )
            del window.files[venue]
            continue
        window.files_read += sum(len(fs) for fs in window.files[venue].values())
        window.snapshots += counts[venue]
    return window


def _full_asks(files: list[Path], quote: str, key: int) -> tuple[list[int], list[int]]:
    """The whole ask side of the snapshot captured at ``key`` (µs) in ``files``."""
    df = (
        lazy_files(files, TABLE)
        .filter((pl.col("ts").dt.epoch("us") == key) & (pl.col("quote") == quote))
        .select("ask_price", "ask_size")
        .head(1)
        .collect()
    )
    return list(df["ask_price"][0]), list(df["ask_size"][0])


def _rows(scan: pl.LazyFrame, quote: str, keys: Sequence[int]) -> pl.DataFrame:
    """The snapshots of ``scan`` captured at ``keys`` (µs) in ``quote``, asks cut to
    ``ASK_PREFIX``; the first of a venue's rows with the same capture time."""
    ts_us = pl.col("ts").dt.epoch("us")
    return (
        scan.filter(ts_us.is_in(keys) & (pl.col("quote") == quote))
        .select(
            "venue",
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
        .unique(["venue", "ts_us"], keep="first", maintain_order=True)
        .collect()
    )


def _ints(series: pl.Series) -> array[int]:
    """An integer column without nulls as 8-byte integers, copied from its Arrow buffer
    (no Python int per value)."""
    out = array("q")
    if len(series):
        values = series.cast(pl.Int64).rechunk().to_arrow()
        start = values.offset * 8
        out.frombytes(memoryview(values.buffers()[1])[start : start + len(values) * 8])
    return out


class Books:
    """The snapshots read of one venue's day, packed in arrays: a replay makes a
    ``Snapshot`` of one only when a tranche asks for it, so a day of books read and let go
    is a dozen arrays, not tens of thousands of Python objects.

    Row ``r`` holds one snapshot: the best bid (``has_bid``), the exponents, how many ask
    levels it has (``ask_n``) and the first of them (``ask_len`` from ``ask_off`` in the flat
    ``ask_p``/``ask_s``); ``loader`` indexes ``loaders``, which read a whole ask side.
    """

    __slots__ = (
        "ask_len",
        "ask_n",
        "ask_off",
        "ask_p",
        "ask_s",
        "bid_p",
        "bid_s",
        "book_us",
        "has_bid",
        "loader",
        "loaders",
        "pe",
        "se",
    )

    def __init__(self) -> None:
        self.book_us, self.pe, self.se = array("q"), array("q"), array("q")
        self.has_bid, self.bid_p, self.bid_s = array("q"), array("q"), array("q")
        self.ask_n, self.ask_off, self.ask_len = array("q"), array("q"), array("q")
        self.ask_p, self.ask_s = array("q"), array("q")
        self.loader = array("q")
        self.loaders: list[AskLoader] = []

    def __len__(self) -> int:
        return len(self.book_us)

    def add(self, rows: pl.DataFrame, loaders: Sequence[AskLoader]) -> int:
        """Append ``rows`` (``_rows``' columns, one venue) with the loader of each row (an
        index into ``loaders``, given as a ``loader`` column); returns the first row's index."""
        first = len(self)
        base = len(self.loaders)
        self.loaders.extend(loaders)
        cols = rows.select(
            "book_us",
            "price_exp",
            "size_exp",
            pl.col("bid_p").is_not_null().cast(pl.Int64).alias("has_bid"),
            pl.col("bid_p").fill_null(0),
            pl.col("bid_s").fill_null(0),
            "ask_n",
            pl.col("ask_p").list.len().alias("ask_len"),
            pl.col("loader") + base,
        )
        self.book_us.extend(_ints(cols["book_us"]))
        self.pe.extend(_ints(cols["price_exp"]))
        self.se.extend(_ints(cols["size_exp"]))
        self.has_bid.extend(_ints(cols["has_bid"]))
        self.bid_p.extend(_ints(cols["bid_p"]))
        self.bid_s.extend(_ints(cols["bid_s"]))
        self.ask_n.extend(_ints(cols["ask_n"]))
        lengths = _ints(cols["ask_len"])
        offset = len(self.ask_p)
        for n in lengths:
            self.ask_off.append(offset)
            offset += n
        self.ask_len.extend(lengths)
        self.ask_p.extend(_ints(rows["ask_p"].explode().drop_nulls()))
        self.ask_s.extend(_ints(rows["ask_s"].explode().drop_nulls()))
        self.loader.extend(_ints(cols["loader"]))
        return first

    def snapshot(self, row: int, key: int) -> Snapshot:
        """Row ``row``, captured at ``key`` (µs), as a ``Snapshot``."""
        off, n, levels = self.ask_off[row], self.ask_len[row], self.ask_n[row]
        return Snapshot(
            key / _US,
            self.book_us[row] / _US,
            self.pe[row],
            self.se[row],
            (self.bid_p[row], self.bid_s[row]) if self.has_bid[row] else None,
            self.ask_p[off : off + n],
            self.ask_s[off : off + n],
            levels,
            self.loaders[self.loader[row]] if levels > n else None,
            key,
        )


@dataclass
class Day:
    """One day of one venue's books as a replay reads them.

    ``times``: the day's capture times (µs, sorted); ``prev``: the newest before the day;
    ``keys``: the capture times of the snapshots read (sorted), each with the next capture
    time (``until``) and its row in ``books``.
    """

    venue: str
    lo_us: int
    hi_us: int
    times: list[int]
    prev: int | None
    keys: array[int] = field(default_factory=lambda: array("q"))
    until: array[int] = field(default_factory=lambda: array("q"))
    rows: array[int] = field(default_factory=lambda: array("q"))
    books: Books = field(default_factory=Books)
    # The snapshot made last (index in ``keys``, snapshot): consecutive tranches between
    # two captures ask for the same one, and its levels are decoded once.
    _last: tuple[int, Snapshot] | None = None

    def snapshot(self, i: int) -> Snapshot:
        """The snapshot of ``keys[i]``."""
        last = self._last
        if last is not None and last[0] == i:
            return last[1]
        snap = self.books.snapshot(self.rows[i], self.keys[i])
        self._last = (i, snap)
        return snap

    def hold(self, rows: pl.DataFrame, until: Mapping[int, int], loaders: list[AskLoader]) -> None:
        """Add ``rows`` (sorted by capture time, ``until`` each one's next capture time),
        but for the capture times held already."""
        keys = rows["ts_us"].to_list()
        first = self.books.add(rows, loaders)
        if not self.keys:  # a day's first read: every row, in order
            self.keys.extend(keys)
            self.until.extend(until[k] for k in keys)
            self.rows.extend(range(first, first + len(keys)))
            return
        self._last = None  # indexes move
        for r, key in enumerate(keys, first):
            i = bisect.bisect_left(self.keys, key)
            if i < len(self.keys) and self.keys[i] == key:
                continue
            self.keys.insert(i, key)
            self.until.insert(i, until[key])
            self.rows.insert(i, r)


_days: dict[int, date] = {}


def _day_of_key(t_us: int) -> date:
    """``_day_of``, remembered per day (a day's thousands of keys share it)."""
    n = t_us // _DAY_US
    found = _days.get(n)
    if found is None:
        found = _days[n] = _day_of(t_us)
    return found


def _read_day(
    window: Window,
    index: int,
    venues: Sequence[str],
    sched: array[int],
    prev: dict[str, int | None],
) -> dict[str, Day]:
    """Read day ``index`` of the window: its capture times and the snapshots ``sched`` needs."""
    day = window.days[index]
    lo_us = _day_start_us(day)
    hi_us = lo_us + _DAY_US
    found = _day_times(window, day, venues)
    day_sched = _between(sched, lo_us, hi_us)
    out: dict[str, Day] = {}
    wanted: dict[str, dict[int, int]] = {}
    for venue in venues:
        times = _quote_times(found.get(venue), window.quote)
        out[venue] = Day(venue, lo_us, hi_us, times, prev.get(venue))
        if day_sched:
            wanted[venue] = _needed(times, prev.get(venue), day_sched)
    _load(window, out, wanted)
    return out


def _load(window: Window, days: Mapping[str, Day], wanted: Mapping[str, dict[int, int]]) -> None:
    """Read the snapshots ``wanted`` (venue → capture µs → next capture µs) into ``days``."""
    parts: dict[tuple[str, date], None] = {}
    for venue, until in wanted.items():
        for day in {_day_of_key(key) for key in until}:
            parts[venue, day] = None
    scan = _scan(window, sorted(parts))
    if scan is None:
        return
    keys = sorted({key for until in wanted.values() for key in until})
    rows = _rows(scan, window.quote, keys)
    for (venue,), part in rows.partition_by("venue", as_dict=True).items():
        v = str(venue)
        until = wanted[v]
        # Not another venue's times; in time order; each with the loader of its day's files.
        mine = part.filter(pl.col("ts_us").is_in(list(until))).sort("ts_us")
        day_of = mine["ts_us"] // _DAY_US
        loaders: list[AskLoader] = []
        index: dict[int, int] = {}
        for n in day_of.unique().sort().to_list():
            index[n] = len(loaders)
            files = window.files_of(v, _day_of_key(n * _DAY_US))
            loaders.append(partial(_full_asks, files, window.quote))
        mine = mine.with_columns(loader=day_of.replace_strict(index, return_dtype=pl.Int64))
        days[v].hold(mine, until, loaders)


class DayTape:
    """One venue's books for a replay, the day the clock is in (``DayStream`` sets it)."""

    def __init__(self, venue: str, window: Window) -> None:
        self.venue = venue
        self.window = window
        self.day: Day | None = None
        self.loaded_on_demand = 0

    def at(self, t: float) -> Snapshot | None:
        """The newest snapshot captured at or before ``t`` in the window, or None."""
        t_us = _us(t)
        day = self.day
        if day is None or not day.lo_us <= t_us < day.hi_us:
            return self._elsewhere(t_us)
        i = bisect.bisect_right(day.keys, t_us) - 1
        if i >= 0 and t_us < day.until[i]:
            return day.snapshot(i)
        return self._on_demand(day, t_us)

    def _on_demand(self, day: Day, t_us: int) -> Snapshot | None:
        """A time off the schedule in the day read: read its book now."""
        until = _needed(day.times, day.prev, [t_us])
        if not until:
            return None
        self.loaded_on_demand += 1
        _load(self.window, {self.venue: day}, {self.venue: until})
        (key,) = until
        return day.snapshot(day.keys.index(key))

    def _elsewhere(self, t_us: int) -> Snapshot | None:
        """A time outside the day read (not one a replay asks for): search the window."""
        window = self.window
        hi = min(t_us, window.end_us)
        files = [
            p
            for d, fs in sorted(window.files.get(self.venue, {}).items())
            if _day_start_us(d) <= hi
            for p in fs
        ]
        if not files or hi < window.lo_us:
            return None
        ts_us = pl.col("ts").dt.epoch("us")
        newest = (
            lazy_files(files, TABLE)
            .filter(ts_us.is_between(window.lo_us, hi) & (pl.col("quote") == window.quote))
            .select(ts_us.max())
            .collect()
            .item()
        )
        if newest is None:
            return None
        self.loaded_on_demand += 1
        day = Day(self.venue, 0, 0, [], None)
        _load(window, {self.venue: day}, {self.venue: {int(newest): NEVER}})
        return day.snapshot(0) if day.keys else None


class DayStream:
    """Feeds a replay's tapes the day its clock is in, reading the next day in a thread.

    ``advance(t)`` (awaited by the market before it answers for time ``t``) moves every
    tape to the day of ``t``; the day before is dropped. ``close`` waits for a read in
    flight. ``snapshots`` counts what was read.
    """

    def __init__(self, window: Window, venues: Sequence[str], schedule: Sequence[float]) -> None:
        self.window = window
        self.tapes = {v: DayTape(v, window) for v in venues if v in window.files}
        self._sched = _schedule_us(schedule)
        self._index = -1
        self._first_us = _day_start_us(window.days[0])
        # The clock times the tapes hold: a time in them needs nothing read.
        self._held = (0, 0)
        self._prev: dict[str, int | None] = dict.fromkeys(self.tapes)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="lake-day")
        self._ahead: tuple[int, Future[dict[str, Day]]] | None = None
        self.days_read = 0
        self.snapshots = 0

    def _read(self, index: int, prev: dict[str, int | None]) -> dict[str, Day]:
        return _read_day(self.window, index, list(self.tapes), self._sched, prev)

    async def advance(self, t: float) -> None:
        """Have every tape hold the day of clock time ``t`` (no-op for a time before it)."""
        t_us = _us(t)
        if self._held[0] <= t_us < self._held[1]:
            return
        target = min(max((t_us - self._first_us) // _DAY_US, 0), len(self.window.days) - 1)
        while self._index < target:
            index = self._index + 1
            ahead = self._ahead
            self._ahead = None
            if ahead is not None and ahead[0] == index:
                read = await asyncio.wrap_future(ahead[1])
            else:
                read = await asyncio.to_thread(self._read, index, dict(self._prev))
            self._take(index, read)
            if index + 1 < len(self.window.days):
                prev = dict(self._prev)
                self._ahead = (index + 1, self._pool.submit(self._read, index + 1, prev))

    def _take(self, index: int, read: dict[str, Day]) -> None:
        self._index = index
        lo = self._first_us + index * _DAY_US
        self._held = (lo, lo + _DAY_US)
        self.days_read += 1
        for venue, tape in self.tapes.items():
            day = read[venue]
            tape.day = day
            self.snapshots += len(day.keys)
            if day.times:
                self._prev[venue] = day.times[-1]

    @property
    def day(self) -> date | None:
        """The day the tapes hold (None before the first)."""
        return self.window.days[self._index] if self._index >= 0 else None

    def close(self) -> None:
        """Stop reading ahead (waits for a read in flight) and drop what was read."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._ahead = None
        for tape in self.tapes.values():
            tape.day = None
