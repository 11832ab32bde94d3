"""Atomic files and bad files: a crash or a stray file never costs the rest of the history."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from storage.history.dataset import scan, table_files, write_atomic
from storage.history.queries import History
from tests.storage.helpers import plan, run


async def test_a_crash_between_temp_write_and_rename_leaves_a_readable_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = plan(tranches=3)
    _, _, run_id = await run(tmp_path, p)
    before = scan(tmp_path, "tranches").collect()

    # The next file is fully written and fsynced, then the process "dies" before the rename.
    def die(src: object, dst: object) -> None:
        raise KeyboardInterrupt

    folder = table_files(tmp_path, "tranches")[0].parent
    monkeypatch.setattr("storage.history.dataset.os.replace", die)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(before, folder)
    monkeypatch.undo()
    # A real kill leaves the temp file behind: put one there, as it would be.
    (folder / ".part-0-dead.parquet.tmp").write_bytes(b"PAR1 half a file")

    after = scan(tmp_path, "tranches")
    assert after.bad == []
    assert after.collect().equals(before)
    assert History(tmp_path).run_tranches(run_id)["index"].to_list() == [0, 1, 2]


def test_write_atomic_adds_one_whole_file_and_no_temp(tmp_path: Path) -> None:
    df = pl.DataFrame({"a": [1, 2, 3]})
    path = write_atomic(df, tmp_path / "t" / "date=2026-01-01")
    assert pl.read_parquet(path).equals(df)
    assert [f.name for f in path.parent.iterdir()] == [path.name]


async def test_truncated_and_foreign_files_are_reported_and_skipped(tmp_path: Path) -> None:
    p = plan(tranches=4)
    summary, _, run_id = await run(tmp_path, p)
    folder = table_files(tmp_path, "tranches")[0].parent
    good = table_files(tmp_path, "tranches")[0]
    truncated = folder / "part-9-truncated.parquet"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    foreign = folder / "part-9-foreign.parquet"
    pl.DataFrame({"ticker": ["AAPL"], "close": [1.0]}).write_parquet(foreign)

    h = History(tmp_path)
    reasons = {b.path.name: b.reason for b in h.bad}
    assert "truncated or corrupt" in reasons["part-9-truncated.parquet"]
    assert "not a tranches file: missing columns" in reasons["part-9-foreign.parquet"]
    tranches = h.run_tranches(run_id)
    assert tranches["index"].to_list() == [0, 1, 2, 3]
    assert sum(tranches["total"].to_list()) == summary.total


def test_a_file_with_a_wrong_column_type_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "runs" / "date=2026-01-01"
    folder.mkdir(parents=True)
    from storage.history.schema import RUNS

    df = pl.DataFrame(schema=RUNS).with_columns(pl.col("rev").cast(pl.Utf8))
    df.write_parquet(folder / "part-1.parquet")
    extra = pl.DataFrame(schema=RUNS).with_columns(pl.lit(1).alias("surprise"))
    extra.write_parquet(folder / "part-2.parquet")
    bad = scan(tmp_path, "runs").bad
    assert "column rev is String, expected Int64" in bad[0].reason
    assert "unexpected columns surprise" in bad[1].reason
    assert str(bad[0]).startswith(str(folder))


async def test_a_file_whose_data_pages_are_corrupt_is_dropped_at_read(tmp_path: Path) -> None:
    p = plan(tranches=2)
    await run(tmp_path, p)
    victim = table_files(tmp_path, "quotes")[0]
    raw = bytearray(victim.read_bytes())
    # Keep the footer (schema readable) but scribble over the data pages.
    for i in range(8, len(raw) // 2):
        raw[i] = 0xFF
    victim.write_bytes(bytes(raw))
    os.utime(victim, ns=(1, 1))
    s = scan(tmp_path, "quotes")
    df = s.collect()
    assert df.height == len(p.venues)  # the other tranche's quotes survive
    assert [b.path for b in s.bad] == [victim]
    assert "data cannot be read" in s.bad[0].reason


def test_an_empty_data_dir_reads_as_empty_tables(tmp_path: Path) -> None:
    h = History(tmp_path / "nothing")
    assert h.run_summaries().height == 0
    assert h.run_tranches("x").height == 0
    assert h.venue_share().height == 0
    assert h.run("x") is None
