"""Locks between processes sharing a data dir (POSIX ``flock``; none where it is missing).

A ``flock`` belongs to the open file and goes when the process goes, so a run
killed with ``kill -9`` never leaves a stale lock. The data dir has three kinds:

- ``.compaction.lock``: one compaction at a time.
- ``.readers.lock``: readers hold it shared while they list and read a table's
  files; a compaction holds it exclusively only while it deletes merged files.
- ``runs/.<run_id>.lock``: held by the process executing that run.
"""

from __future__ import annotations

import contextlib
import os
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

from storage.paths import PRIVATE_FILE, private_mkdir

try:
    import fcntl

    HAVE_FLOCK = True
except ImportError:  # pragma: no cover - Windows: no cross-process locks
    HAVE_FLOCK = False

COMPACTION_LOCK = ".compaction.lock"
READERS_LOCK = ".readers.lock"


@contextlib.contextmanager
def flocked(path: Path, *, shared: bool = False, wait: bool = True) -> Iterator[bool]:
    """Hold ``path``'s lock inside the block; yields False if taken and ``wait`` is False.

    Raises ``OSError`` when the lock file cannot be created.
    """
    if not HAVE_FLOCK:  # pragma: no cover - Windows
        yield True
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        try:
            fcntl.flock(fd, mode if wait else mode | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing the file releases the lock


@contextlib.contextmanager
def reading(data_dir: Path) -> Iterator[None]:
    """Keep compactions from deleting files while a reader lists or reads them."""
    with contextlib.ExitStack() as stack:
        # No data dir yet, or one we cannot write: nothing can be compacted from here.
        with contextlib.suppress(OSError):
            stack.enter_context(flocked(data_dir / READERS_LOCK, shared=True))
        yield


class FileLock:
    """An exclusive lock held across calls (a run's): taken without waiting, removed on release.

    Dropping the object without ``release`` still lets go of the lock (but leaves the file).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._close: weakref.finalize[[int], FileLock] | None = None
        self.held = False

    def acquire(self, tries: int = 5) -> bool:
        """Take the lock; False when another process holds it (after a few short retries,
        since ``is_held`` in yet another process may hold it for a moment).
        """
        if self.held:
            return True
        if not HAVE_FLOCK:  # pragma: no cover - Windows
            self.held = True
            return True
        private_mkdir(self.path.parent)
        for attempt in range(tries):
            if attempt:
                time.sleep(0.01)
            fd = self._try_lock()
            if fd is not None:
                self._close = weakref.finalize(self, os.close, fd)
                self.held = True
                return True
        return False

    def _try_lock(self) -> int | None:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if _same_file(fd, self.path):
                    return fd
            except BlockingIOError:
                os.close(fd)
                return None
            except BaseException:
                os.close(fd)
                raise
            # The last holder removed the file after we opened it: lock the current one.
            os.close(fd)

    def release(self) -> None:
        """Remove the lock file and let go of the lock; a no-op when not held."""
        if not self.held:
            return
        self.held = False
        close, self._close = self._close, None
        if close is not None:
            # Removed while still held, so nobody can lock a file that is about to go.
            self.path.unlink(missing_ok=True)
            close()


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def is_held(path: Path) -> bool:
    """Whether some open file (another process, usually) holds ``path``'s lock now."""
    if not HAVE_FLOCK:  # pragma: no cover - Windows
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def run_lock(data_dir: Path, run_id: str) -> Path:
    """The lock file of ``run_id``: held by the process executing the run."""
    return data_dir / "runs" / f".{run_id}.lock"
