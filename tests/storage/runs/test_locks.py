"""Locks between processes: one holder of a run, readers never see a compaction's deletes."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from storage.runs import locks
from storage.runs.locks import FileLock, flocked, is_held, reading, run_lock


def test_a_run_lock_has_one_holder_and_goes_with_its_file(tmp_path: Path) -> None:
    path = run_lock(tmp_path, "r1")
    first, second = FileLock(path), FileLock(path)
    assert first.acquire()
    assert first.acquire()  # already ours
    assert is_held(path)
    assert not second.acquire(tries=2)
    first.release()
    first.release()  # twice is fine
    assert not path.exists()
    assert not is_held(path)
    assert second.acquire()
    second.release()


def test_a_lock_file_removed_between_open_and_lock_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The last holder removed the file after we opened it: locking that orphan would let a
    # third process lock the new file too. The lock is taken on the file now at the path.
    answers = iter([False, True])
    monkeypatch.setattr(locks, "_same_file", lambda fd, path: next(answers))
    lock = FileLock(tmp_path / ".x.lock")
    assert lock.acquire()
    assert is_held(tmp_path / ".x.lock")
    lock.release()


def test_a_dropped_lock_is_let_go(tmp_path: Path) -> None:
    path = run_lock(tmp_path, "r2")
    lock = FileLock(path)
    assert lock.acquire()
    del lock
    gc.collect()
    assert not is_held(path)


def test_flocked_without_waiting_says_when_it_is_taken(tmp_path: Path) -> None:
    path = tmp_path / ".compaction.lock"
    with flocked(path) as got:
        assert got
        with flocked(path, wait=False) as again:
            assert not again
        with flocked(path, shared=True, wait=False) as reader:
            assert not reader
    with flocked(path, shared=True) as a, flocked(path, shared=True, wait=False) as b:
        assert a and b  # readers share


def test_reading_a_data_dir_that_does_not_exist_takes_no_lock(tmp_path: Path) -> None:
    with reading(tmp_path / "missing"):
        pass
    assert not (tmp_path / "missing").exists()
