"""The journal: durable per tranche, never a tranche twice."""

from __future__ import annotations

import errno
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from btc_dca import __version__
from dca.events import RunFinished, RunStarted, TrancheFilled, VenueDegraded, VenueRecovered
from exchanges.errors import ErrorKind, VenueError
from storage.history import journal as journal_module
from storage.history.dataset import scan, table_files
from storage.history.journal import JournalError, ParquetJournal, RunConflict
from storage.history.queries import History
from storage.runs.locks import is_held, run_lock
from tests.storage.helpers import plan, run


async def _events(tmp_path: Path) -> tuple[RunStarted, list[TrancheFilled], RunFinished]:
    _, memory, _ = await run(tmp_path / "source", plan(tranches=5))
    started = next(e for e in memory.events if isinstance(e, RunStarted))
    filled = [e for e in memory.events if isinstance(e, TrancheFilled)]
    finished = next(e for e in memory.events if isinstance(e, RunFinished))
    return started, filled, finished


async def test_a_tranche_is_on_disk_when_record_returns(tmp_path: Path) -> None:
    started, filled, _ = await _events(tmp_path)
    journal = ParquetJournal(tmp_path / "d")
    await journal.record(started)
    await journal.record(filled[0])
    assert History(tmp_path / "d").run_tranches(started.run_id)["index"].to_list() == [0]
    assert len(table_files(tmp_path / "d", "quotes")) == 1


async def test_the_same_tranche_is_never_written_twice(tmp_path: Path) -> None:
    started, filled, _ = await _events(tmp_path)
    d = tmp_path / "d"
    journal = ParquetJournal(d)
    await journal.record(started)
    await journal.record(filled[0])
    await journal.record(filled[0])
    assert len(table_files(d, "tranches")) == 1
    journal.close()  # the first process dies
    # A second process resuming the run learns what is on disk before writing.
    other = ParquetJournal(d)
    await other.record(replace(started, resumed=True, done=1))
    await other.record(filled[0])
    await other.record(filled[1])
    assert len(table_files(d, "tranches")) == 2
    assert History(d).run_tranches(started.run_id)["index"].to_list() == [0, 1]


async def test_duplicates_on_disk_collapse_on_read(tmp_path: Path) -> None:
    started, filled, _ = await _events(tmp_path)
    d = tmp_path / "d"
    for _ in range(2):  # two journals that do not know of each other: as after a bad copy
        journal = ParquetJournal(d)
        await journal.record(started)
        await journal.record(filled[0])
        journal.close()
    assert len(table_files(d, "tranches")) == 2
    assert scan(d, "tranches").collect().height == 1
    assert scan(d, "quotes").collect().height == len(filled[0].quotes)
    # Filtering by the key before the duplicates go reads the same rows as after.
    mine = pl.col("run_id") == started.run_id
    assert scan(d, "tranches").collect(where=mine).height == 1
    assert scan(d, "tranches").collect(where=~mine).height == 0
    assert History(d).run_tranches(started.run_id)["index"].to_list() == [0]


async def test_each_tranche_is_one_file_per_table_and_a_status_change_one_runs_file(
    tmp_path: Path,
) -> None:
    started, filled, finished = await _events(tmp_path)
    d = tmp_path / "d"
    journal = ParquetJournal(d)
    await journal.record(started)
    for e in filled:
        await journal.record(e)
    assert len(table_files(d, "tranches")) == len(table_files(d, "quotes")) == len(filled)
    assert History(d).run_tranches(started.run_id)["index"].to_list() == list(range(5))
    await journal.record(finished)
    assert len(table_files(d, "runs")) == 2
    row = History(d).run(started.run_id)
    assert row is not None
    assert (row["status"], row["rev"]) == ("finished", 1)
    assert row["app_version"] == __version__ != "unknown"


async def test_venue_events_go_to_the_log_not_the_tables(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = ParquetJournal(tmp_path)
    err = VenueError("kraken", ErrorKind.TIMEOUT, "timed out")
    await journal.record(VenueDegraded("r1", "kraken", err, 0.0))
    with caplog.at_level("INFO"):
        await journal.record(VenueRecovered("r1", "kraken", 1.0))
    assert "run r1 venue kraken recovered" in caplog.text
    assert not (tmp_path / "runs").exists()


async def test_a_failed_run_is_recorded_as_failed(tmp_path: Path) -> None:
    started, _, _ = await _events(tmp_path)
    journal = ParquetJournal(tmp_path / "d")
    await journal.record(started)
    await journal.fail(started.run_id, "disk on fire")
    row = History(tmp_path / "d").run(started.run_id)
    assert row is not None
    assert (row["status"], row["detail"]) == ("failed", "disk on fire")
    assert not is_held(run_lock(tmp_path / "d", started.run_id))  # let go for a resume


async def test_fail_never_raises_and_only_marks_a_run_it_executes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, filled, finished = await _events(tmp_path)
    d = tmp_path / "d"
    await ParquetJournal(d).fail("never-started", "boom")  # nothing to mark
    assert not (d / "runs").exists()

    holder = ParquetJournal(d)
    await holder.record(started)
    await holder.record(filled[0])
    other = ParquetJournal(d)
    with pytest.raises(RunConflict):
        await other.record(replace(started, resumed=True, done=1))
    await other.fail(started.run_id, "run is being executed by another process")
    assert History(d).run(started.run_id)["status"] == "running"  # type: ignore[index]

    # The disk is full: the failed row cannot be written either; the run stays "running"
    # (resumable) and its lock is let go.
    def disk_full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(journal_module, "write_batch", disk_full)
        with pytest.raises(JournalError):
            await holder.record(filled[1])
        await holder.fail(started.run_id, "cannot write history: No space left on device")
    assert not is_held(run_lock(d, started.run_id))
    assert History(d).run(started.run_id)["status"] == "running"  # type: ignore[index]

    resumed = ParquetJournal(d)
    await resumed.record(replace(started, resumed=True, done=1))
    await resumed.record(finished)
    await resumed.fail(started.run_id, "too late")  # the run ended: left as it is
    # It ended with only tranche 0 on disk: short of its amount.
    assert History(d).run(started.run_id)["status"] == "incomplete"  # type: ignore[index]


async def test_an_unwritable_dir_stops_the_run_with_a_journal_error(tmp_path: Path) -> None:
    started, _, _ = await _events(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(JournalError, match="cannot write history"):
        await ParquetJournal(blocker).record(started)


async def test_a_tranche_that_could_not_be_written_is_written_when_recorded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, filled, _ = await _events(tmp_path)
    d = tmp_path / "d"
    journal = ParquetJournal(d)
    await journal.record(started)

    def disk_full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(journal_module, "write_batch", disk_full)
        with pytest.raises(JournalError, match="No space left"):
            await journal.record(filled[0])
    await journal.record(filled[0])
    assert History(d).run_tranches(started.run_id)["index"].to_list() == [0]


async def test_a_run_is_executed_by_one_journal_at_a_time(tmp_path: Path) -> None:
    started, filled, finished = await _events(tmp_path)
    d = tmp_path / "d"
    first = ParquetJournal(d)
    await first.record(started)
    await first.record(filled[0])
    assert is_held(run_lock(d, started.run_id))
    # A second executor of the same run (another process) is refused before any tranche.
    second = ParquetJournal(d)
    with pytest.raises(RunConflict, match=r"run \S+ is being executed by another process"):
        await second.record(replace(started, resumed=True, done=1))
    assert History(d).run(started.run_id)["rev"] == 0  # type: ignore[index]
    for e in filled[1:]:
        await first.record(e)
    await first.record(finished)
    # Finished: the lock is gone with its file, and the run is not started again.
    assert not run_lock(d, started.run_id).exists()
    with pytest.raises(RunConflict, match="is finished already"):
        await second.record(replace(started, resumed=True, done=5))
    assert not is_held(run_lock(d, started.run_id))
    assert History(d).run_tranches(started.run_id)["index"].to_list() == list(range(5))


async def test_a_resume_loaded_before_another_process_continued_the_run_is_refused(
    tmp_path: Path,
) -> None:
    started, filled, _ = await _events(tmp_path)
    d = tmp_path / "d"
    first = ParquetJournal(d)
    await first.record(started)
    await first.record(filled[0])
    first.close()  # killed after one tranche; two resumes load it (done=1) ...
    winner = ParquetJournal(d)
    await winner.record(replace(started, resumed=True, done=1))
    await winner.record(filled[1])
    winner.close()  # ... the first one runs a tranche and is killed again
    with pytest.raises(RunConflict, match="has 2 tranches recorded, not 1"):
        await ParquetJournal(d).record(replace(started, resumed=True, done=1))
    assert not is_held(run_lock(d, started.run_id))
