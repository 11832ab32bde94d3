"""Compaction merges a closed day's small files into one and keeps every row."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import compaction
from storage.compaction import compact, compact_in_background
from storage.dataset import scan, table_files
from storage.schema import TABLES
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
    with compaction._exclusive(tmp_path) as got:
        assert got
        busy = compact(tmp_path, today=TOMORROW)
    assert busy.busy
    assert "another compaction" in str(busy)
    compact_in_background(tmp_path).join(timeout=30)
    assert {t: scan(tmp_path, t).collect().height for t in TABLES} == rows
