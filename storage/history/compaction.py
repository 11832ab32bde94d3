"""Compaction: the small files of a closed partition (any day but today) merged into one.

The merged file is written atomically before the small files are removed; a
crash in between leaves rows twice, which readers collapse by key (and the next
compaction merges away). The removal waits for readers in progress (the readers
lock), so no reader ever finds a file gone mid-read. Only files that validate are
merged; bad files stay where they are and are reported. Only one compaction runs
per data dir at a time.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from storage.history.dataset import (
    BadFile,
    dedupe,
    fsync_dir,
    is_visible,
    lazy_files,
    new_part_name,
    partition_of,
    scan,
    table_dir,
    write_atomic,
)
from storage.history.schema import TABLES
from storage.paths import private_mkdir
from storage.runs.locks import COMPACTION_LOCK, READERS_LOCK, flocked

log = logging.getLogger(__name__)


@dataclass
class CompactionReport:
    """What a compaction did."""

    partitions: int = 0
    files_in: int = 0
    files_out: int = 0
    rows: int = 0
    bad: list[BadFile] = field(default_factory=list)
    busy: bool = False

    def __str__(self) -> str:
        if self.busy:
            return "another compaction is running; nothing done"
        text = (
            f"compacted {self.partitions} partition(s): {self.files_in} files into "
            f"{self.files_out}, {self.rows} rows kept"
        )
        return text + (f"; {len(self.bad)} bad file(s) left in place" if self.bad else "")


def compact(
    data_dir: Path, *, today: datetime | None = None, min_files: int = 2
) -> CompactionReport:
    """Merge every closed partition holding at least ``min_files`` good files; keeps every row."""
    report = CompactionReport()
    open_partition = partition_of(today or datetime.now(UTC))
    private_mkdir(data_dir)
    with flocked(data_dir / COMPACTION_LOCK, wait=False) as got:
        if not got:
            report.busy = True
            return report
        for table in (*TABLES, "market"):
            root = table_dir(data_dir, table)
            if not root.is_dir():
                continue
            # market/ is partitioned by date and then venue: its leaves are one level down.
            pattern = "date=*/venue=*" if table == "market" else "date=*"
            for part in sorted(p for p in root.glob(pattern) if p.is_dir()):
                day = part.parent.name if table == "market" else part.name
                if day >= open_partition:
                    continue
                files = sorted(p for p in part.glob("*.parquet") if is_visible(p))
                found = scan(data_dir, table, files)
                report.bad.extend(found.bad)
                if len(found.files) < min_files:
                    continue
                rows = _merge(data_dir, table, part, found.files)
                report.partitions += 1
                report.files_in += len(found.files)
                report.files_out += 1
                report.rows += rows
    log.log(logging.INFO if report.partitions else logging.DEBUG, "%s", report)
    return report


def _merge(data_dir: Path, table: str, part: Path, files: list[Path]) -> int:
    df = dedupe(lazy_files(files, table), table).collect()
    # A name that sorts after the files it replaces, so "oldest first" order is kept.
    write_atomic(df, part, new_part_name("part"))
    with flocked(data_dir / READERS_LOCK):
        for path in files:
            path.unlink(missing_ok=True)
    fsync_dir(part)
    return df.height


def compact_logged(data_dir: Path) -> None:
    """Compact ``data_dir``; a failure is logged, not raised (compaction is housekeeping)."""
    try:
        compact(data_dir)
    except Exception:
        log.exception("background compaction of %s failed", data_dir)


def compact_in_background(data_dir: Path) -> threading.Thread:
    """Start a compaction in a daemon thread (at a command's start); failures are logged."""
    thread = threading.Thread(
        target=compact_logged, args=(data_dir,), name="btc-dca-compaction", daemon=True
    )
    thread.start()
    return thread
