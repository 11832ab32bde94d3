"""The lake reader from before streaming: the whole window read up front, kept as a reference.

Every snapshot a schedule needs is read at once into one tape per venue. The streaming
reader (``storage.market.stream``) must serve a replay exactly what this one serves; the
tests replay the same plans over the same lakes through both and compare every event.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from exchanges.replay import Snapshot
from storage.history.dataset import BadFile, check_file, lazy_files
from storage.history.schema import utc
from storage.market.lake import TABLE, files_for

log = logging.getLogger(__name__)

# Ask levels read with every snapshot; a walk past them loads the rest of that book.
ASK_PREFIX = 6
_US = 1_000_000


def _us(t: float) -> int:
    return round(t * _US)


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
