"""A table on disk: date-partitioned Parquet files, added atomically, read lazily.

Layout: ``<data_dir>/<table>/date=YYYY-MM-DD/part-<ns>-<uuid>.parquet``. A write
goes to a hidden temp file in the same folder (``.part-….parquet.tmp``), is
fsynced, renamed into place and the folder fsynced: readers see a whole file or
none. Readers skip every name that starts with ``.`` or ends with ``.tmp``.

A file that is truncated or not one of ours is reported (path and reason) and
skipped; the rest of the table still reads.

A compaction deletes the small files it merged, so readers list and read under
the data dir's readers lock (``locks.reading``), and a query whose files were
merged away since they were listed lists them again before it runs.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from storage.history.schema import ADDED, KEYS, SCHEMAS
from storage.paths import private_temp
from storage.runs.locks import reading

log = logging.getLogger(__name__)

Query = Callable[[pl.LazyFrame], pl.LazyFrame]
PART_GLOB = "date=*/*.parquet"


@dataclass(frozen=True, slots=True)
class BadFile:
    """A file in the data dir that could not be read as part of its table."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def table_dir(data_dir: Path, table: str) -> Path:
    """The folder of ``table`` in ``data_dir``."""
    return data_dir / table


def partition_of(day: datetime | None = None) -> str:
    """The partition folder name for a UTC day (today by default)."""
    day = day or datetime.now(UTC)
    return f"date={day.astimezone(UTC):%Y-%m-%d}"


def new_part_name(prefix: str = "part") -> str:
    """A file name that sorts by creation time and never collides."""
    return f"{prefix}-{time.time_ns():020d}-{uuid.uuid4().hex[:12]}.parquet"


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open folders
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(df: pl.DataFrame, folder: Path, name: str | None = None) -> Path:
    """Write ``df`` as one new Parquet file in ``folder``: temp, fsync, rename, fsync folder."""
    final = folder / (name or new_part_name())
    # The temp file is 0600 before the first byte (polars would create it under the umask).
    with private_temp(final) as fh:
        df.write_parquet(fh, compression="zstd", statistics=True)
    fsync_dir(folder)
    return final


def is_visible(path: Path) -> bool:
    """Whether a reader should look at ``path`` (temp and hidden files are ignored)."""
    name = path.name
    return not name.startswith(".") and not name.endswith(".tmp") and name.endswith(".parquet")


def table_files(data_dir: Path, table: str) -> list[Path]:
    """Every visible part file of ``table``, oldest partition and file first."""
    root = table_dir(data_dir, table)
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob(PART_GLOB) if is_visible(p))


def tables_version(data_dir: Path, tables: Iterable[str]) -> tuple[tuple[str, int, int], ...]:
    """Path, size and mtime of every visible part file of ``tables``: it changes whenever a
    file is added, replaced or removed (a write or a compaction). Stats only, no reads."""
    out: list[tuple[str, int, int]] = []
    for table in tables:
        for path in table_files(data_dir, table):
            try:
                st = path.stat()
            except OSError:  # merged away by a compaction since it was listed
                continue
            out.append((str(path), st.st_size, st.st_mtime_ns))
    return tuple(out)


# Validated files by (path, size, mtime): a footer is read once per process.
_checked: dict[tuple[str, int, int], str | None] = {}


def check_file(path: Path, table: str) -> str | None:
    """None if ``path`` is a readable file of ``table``; otherwise what is wrong with it."""
    try:
        st = path.stat()
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key in _checked:
        return _checked[key]
    reason = _check_schema(path, table)
    _checked[key] = reason
    return reason


def _check_schema(path: Path, table: str) -> str | None:
    try:
        found = pl.read_parquet_schema(path)
    except Exception as exc:  # polars raises several kinds for a broken footer
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"not a readable Parquet file (truncated or corrupt): {first}"
    expected = SCHEMAS[table]
    missing = [n for n in expected.names() if n not in found and n not in ADDED[table]]
    if missing:
        return f"not a {table} file: missing columns {', '.join(missing[:5])}"
    wrong = [n for n in expected.names() if n in found and found[n] != expected[n]]
    if wrong:
        n = wrong[0]
        return f"not a {table} file: column {n} is {found[n]}, expected {expected[n]}"
    extra = [n for n in found if n not in expected]
    if extra:
        return f"not a {table} file: unexpected columns {', '.join(extra[:5])}"
    return None


@dataclass
class Scan:
    """A table's good files as one lazy frame, plus what was skipped and why.

    ``data_dir`` is set when ``files`` is the table's own listing, which a
    compaction may change: ``collect`` then lists again if a file has gone.
    """

    table: str
    files: list[Path]
    bad: list[BadFile]
    data_dir: Path | None = None

    def lazy(self, where: pl.Expr | None = None) -> pl.LazyFrame:
        """All rows of the good files (those ``where`` keeps), duplicates by key removed.

        ``where`` is applied before the duplicates are removed, so it is read from the files
        only for the rows it keeps: it must look at the table's key columns only (``run_id``),
        which keeps the result the same as filtering afterwards.
        """
        if not self.files:
            return pl.LazyFrame(schema=SCHEMAS[self.table])
        lf = lazy_files(self.files, self.table)
        if where is not None:
            lf = lf.filter(where)
        return dedupe(lf, self.table)

    def collect(self, query: Query | None = None, *, where: pl.Expr | None = None) -> pl.DataFrame:
        """``query`` applied to the table's rows (default: every row; with ``where``, the rows
        it keeps, see ``lazy``), safe from compactions.

        Without a query, a file that breaks mid-read is dropped and the rest still read.
        """
        if self.data_dir is None:
            return self._collect(query, where)
        with reading(self.data_dir):
            if not all(path.exists() for path in self.files):
                # Merged by a compaction since the listing: its rows are in the merged file.
                fresh = _listed(self.data_dir, self.table)
                self.files = fresh.files
                self.bad.extend(b for b in fresh.bad if b not in self.bad)
            return self._collect(query, where)

    def _collect(self, query: Query | None, where: pl.Expr | None) -> pl.DataFrame:
        try:
            lf = self.lazy(where)
            return (query(lf) if query is not None else lf).collect()
        except (pl.exceptions.PolarsError, OSError):
            if query is not None:
                raise
            self._drop_unreadable()
            return self.lazy(where).collect()

    def _drop_unreadable(self) -> None:
        good: list[Path] = []
        for path in self.files:
            try:
                pl.read_parquet(path)
            except Exception as exc:
                self.bad.append(BadFile(path, f"data cannot be read: {exc}"))
                log.warning("skipping bad file %s: %s", path, exc)
                continue
            good.append(path)
        self.files = good


def lazy_files(files: list[Path], table: str) -> pl.LazyFrame:
    """``table``'s files as one lazy frame; columns a file predates (``ADDED``) read as null."""
    return pl.scan_parquet(
        files, schema=SCHEMAS[table], hive_partitioning=False, missing_columns="insert"
    )


def dedupe(lf: pl.LazyFrame, table: str) -> pl.LazyFrame:
    """Rows unique by the table's key (a duplicate is the same row written twice: keep the
    first).

    A mask over the key, not ``unique``: ``unique`` carries every column through, which
    takes about 20 s for a million tranches with their nested decimal lists; the mask 0.3 s.
    A mask is computed over every row it is given, so a query for some runs passes them as
    ``where`` (see ``Scan.lazy``) to keep the rest from being read.
    """
    return lf.filter(pl.struct(list(KEYS[table])).is_first_distinct())


def scan(data_dir: Path, table: str, files: Iterable[Path] | None = None) -> Scan:
    """The table's valid files (each footer checked once per process), and the bad ones.

    Given ``files``, only those are checked (the caller keeps them from changing).
    """
    if files is not None:
        return _checked_scan(table, files)
    with reading(data_dir):
        return _listed(data_dir, table)


def _listed(data_dir: Path, table: str) -> Scan:
    found = _checked_scan(table, table_files(data_dir, table))
    found.data_dir = data_dir
    return found


def _checked_scan(table: str, files: Iterable[Path]) -> Scan:
    good: list[Path] = []
    bad: list[BadFile] = []
    for path in files:
        reason = check_file(path, table)
        if reason is None:
            good.append(path)
        else:
            bad.append(BadFile(path, reason))
            log.warning("skipping bad file %s: %s", path, reason)
    return Scan(table, good, bad)
