"""Compaction merges a closed day's small files into one and keeps every row."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from storage.history.compaction import compact, compact_in_background
from storage.history.dataset import scan, table_files
from storage.history.queries import History
from storage.history.schema import TABLES
from storage.runs.locks import COMPACTION_LOCK, flocked
from tests.storage.helpers import plan, run

TOMORROW = datetime.now(UTC) + timedelta(days=1)


async def _history(tmp_path: Path, runs: int = 3) -> dict[str, int]:
    for _ in range(runs):
        await run(tmp_path, plan(tranches=5))
    return {t: scan(tmp_path, t).collect().height for t in TABLES}


async def test_compaction_keeps_every_row_in_one_file_per_day(tmp_path: Path) -> None:
    rows = await _history(tmp_path)
    tranches_before = scan(tmp_path, "tranches").collect().sort("run_id", "index")
    assert len(table_files(tmp_path, "tranches")) == 15

    report = compact(tmp_path, today=TOMORROW)
    assert report.partitions == 3
    assert report.rows == sum(rows.values())
    assert len(table_files(tmp_path, "tranches")) == 1
    assert {t: scan(tmp_path, t).collect().height for t in TABLES} == rows
    assert scan(tmp_path, "tranches").collect().sort("run_id", "index").equals(tranches_before)
    assert "3 partition(s)" in str(report)


async def test_todays_partition_is_left_open(tmp_path: Path) -> None:
    await _history(tmp_path, runs=1)
    report = compact(tmp_path)
    assert report.partitions == 0
    assert len(table_files(tmp_path, "tranches")) == 5


async def test_a_crash_after_the_merge_leaves_duplicates_that_reads_collapse(
    tmp_path: Path,
) -> None:
    rows = await _history(tmp_path, runs=1)
    keep = tmp_path / "copy"
    shutil.copytree(tmp_path / "tranches", keep)
    compact(tmp_path, today=TOMORROW)
    # As if the process died before removing the small files: they are all still there.
    for f in keep.rglob("*.parquet"):
        shutil.copy(f, tmp_path / "tranches" / f.parent.name / f.name)
    assert scan(tmp_path, "tranches").collect().height == rows["tranches"]
    compact(tmp_path, today=TOMORROW)
    assert len(table_files(tmp_path, "tranches")) == 1
    assert scan(tmp_path, "tranches").collect().height == rows["tranches"]


async def test_bad_files_stay_and_are_reported(tmp_path: Path) -> None:
    await _history(tmp_path, runs=1)
    folder = table_files(tmp_path, "runs")[0].parent
    (folder / "part-0-junk.parquet").write_bytes(b"not parquet")
    report = compact(tmp_path, today=TOMORROW)
    assert [b.path.name for b in report.bad] == ["part-0-junk.parquet"]
    assert (folder / "part-0-junk.parquet").exists()
    assert "1 bad file(s) left in place" in str(report)


async def test_one_compaction_at_a_time_and_in_the_background(tmp_path: Path) -> None:
    rows = await _history(tmp_path, runs=1)
    with flocked(tmp_path / COMPACTION_LOCK, wait=False) as got:
        assert got
        busy = compact(tmp_path, today=TOMORROW)
    assert busy.busy
    assert "another compaction" in str(busy)
    compact_in_background(tmp_path).join(timeout=30)
    assert {t: scan(tmp_path, t).collect().height for t in TABLES} == rows


def _small_files(data_dir: Path, day: str, rows: pl.DataFrame) -> None:
    """One file per row in a past day's partition, as a long day of tranches leaves them."""
    folder = data_dir / "tranches" / f"date={day}"
    folder.mkdir(parents=True)
    for i in range(rows.height):
        rows.slice(i, 1).write_parquet(folder / f"part-{i:05d}.parquet")


def _read_while_compacting(data_dir: Path, run_id: str) -> tuple[set[int], list[Exception]]:
    """Row counts a reader saw (and its errors) reading over and over during a compaction."""
    seen: list[int] = []
    failures: list[Exception] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                h = History(data_dir)
                seen.append(h.run_tranches(run_id).height)
                seen.append(int(h.venue_share()["tranches"].sum()))
            except Exception as exc:  # the bug: a file merged away mid-read
                failures.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    while not seen and not failures:
        time.sleep(0.001)
    report = compact(data_dir, today=TOMORROW)
    time.sleep(0.05)  # and read the merged partition too
    stop.set()
    reader.join()
    assert report.files_in >= 300
    return set(seen), failures


async def test_readers_racing_a_compaction_of_many_small_files_always_see_every_row(
    tmp_path: Path,
) -> None:
    _, _, run_id = await run(tmp_path, plan(tranches=2))
    one = scan(tmp_path, "tranches").collect().head(1)
    expected = 2
    for day in ("2020-01-01", "2020-01-02"):
        index = pl.Series("index", range(expected, expected + 300)).cast(one.schema["index"])
        _small_files(tmp_path, day, pl.concat([one] * 300).with_columns(index))
        expected += 300
        seen, failures = await asyncio.to_thread(_read_while_compacting, tmp_path, run_id)
        assert failures == []
        assert seen == {expected}
    assert len(table_files(tmp_path, "tranches")) == 2 + 1


async def test_a_history_opened_before_a_compaction_reads_the_merged_files(tmp_path: Path) -> None:
    rows = await _history(tmp_path, runs=2)
    h = History(tmp_path)  # lists the small files, which the compaction then removes
    compact(tmp_path, today=TOMORROW)
    assert h.tranches.collect().height == rows["tranches"]
    assert h.run_summaries()["filled"].sum() == rows["tranches"]
    assert h.bad == []
