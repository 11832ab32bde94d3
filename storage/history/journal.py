"""``ParquetJournal``: the engine's journal, written to the Parquet tables.

Every ``record`` turns the event into rows and writes them (in a thread) before
it returns: a tranche (filled or skipped) is one quotes file and one tranches
file, a change of a run's status one runs file. So a run killed right after a
tranche resumes without repeating it. A tranche already on disk is never written
again: the journal knows each run's recorded indexes. Compaction later merges a
day's small files.

One process executes a run at a time: ``RunStarted`` (new or resumed) takes the
run's lock file (``runs/.<run_id>.lock``, see ``locks.py``) and the run ends
(``RunFinished``, ``RunCancelled``, ``fail``) or ``close`` lets it go. A resume
that finds the lock taken, or finds the run moved on since it was loaded, raises
``RunConflict`` before any tranche is executed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from btc_dca import __version__
from dca.events import (
    Event,
    RunCancelled,
    RunFinished,
    RunStarted,
    Summary,
    TrancheFilled,
    TrancheSkipped,
    VenueDegraded,
    VenueRecovered,
)
from dca.journal import RunRefused
from dca.schedule import tranche_times
from dca.status import is_resumable
from storage.history import rows as R
from storage.history.dataset import partition_of, scan, table_dir, write_atomic
from storage.history.queries import History, summary_of
from storage.history.schema import frame, utc
from storage.runs.locks import FileLock, run_lock

log = logging.getLogger(__name__)


class JournalError(Exception):
    """The history could not be written: the run must stop rather than go on unrecorded."""


class RunConflict(JournalError, RunRefused):
    """The run cannot be executed here: another process has it, or it moved on since loaded."""


def write_batch(data_dir: Path, batch: dict[str, list[R.Row]], now: datetime) -> list[Path]:
    """Write each table's rows as one new file in today's partition (quotes before tranches)."""
    written: list[Path] = []
    for table in ("quotes", "tranches", "runs"):
        rows = batch.get(table)
        if rows:
            folder = table_dir(data_dir, table) / partition_of(now)
            written.append(write_atomic(frame(table, rows), folder))
    return written


def recorded_state(data_dir: Path, run_id: str) -> tuple[R.Row | None, int, set[int]]:
    """A run's last runs row, its highest rev and its recorded tranche indexes (from disk)."""
    last = (
        scan(data_dir, "runs")
        .collect(lambda runs: runs.sort("rev").tail(1), where=pl.col("run_id") == run_id)
        .to_dicts()
    )
    done = (
        scan(data_dir, "tranches")
        .collect(lambda tranches: tranches.select("index"), where=pl.col("run_id") == run_id)[
            "index"
        ]
        .to_list()
    )
    if not last:
        return None, -1, set(done)
    row = last[0]
    return row, int(row["rev"]), set(done)


class ParquetJournal:
    """The Parquet journal for one data dir (several runs may share it)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        source: str = "live",
        speed: float | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.data_dir = data_dir
        self.source = source
        self.speed = speed
        self.wall = wall
        self._base: dict[str, R.Row] = {}
        self._rev: dict[str, int] = {}
        self._written: dict[str, set[int]] = {}
        self._resumed: set[str] = set()
        self._locks: dict[str, FileLock] = {}

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.wall(), tz=UTC)

    async def record(self, event: Event) -> None:
        """Write ``event``'s rows; they are on disk when it returns."""
        now = self._now()
        if isinstance(event, TrancheFilled | TrancheSkipped):
            if not self._claim(event.run_id, event.index):
                return
            batch = {"quotes": R.quote_rows(event, now), "tranches": [R.tranche_row(event, now)]}
            try:
                await self._write(batch)
            except JournalError:
                self._written[event.run_id].discard(event.index)  # not on disk after all
                raise
        elif isinstance(event, VenueDegraded):
            pass  # the executor logs it with the run id; the quotes rows keep the error
        elif isinstance(event, VenueRecovered):
            log.info("run %s venue %s recovered", event.run_id, event.venue)
        elif isinstance(event, RunStarted):
            try:
                await self._start(event, now)
                await self._write_run(event, now)
            except BaseException:
                self._forget(event.run_id)  # never started here: leave it as it was
                raise
        else:
            if isinstance(event, RunFinished | RunCancelled) and event.run_id in self._resumed:
                # The executor's summary counts only this session; the run's totals are all of it.
                full = await asyncio.to_thread(self._summary_on_disk, event.run_id, event.summary)
                event = replace(event, summary=full)
            try:
                await self._write_run(event, now)
            finally:
                if isinstance(event, RunFinished | RunCancelled):
                    self._forget(event.run_id)

    def close(self) -> None:
        """Let go of every run this journal still holds (the process is done with them)."""
        for run_id in list(self._locks):
            self._forget(run_id)

    async def fail(self, run_id: str, message: str) -> None:
        """Mark the run this journal executes as ``failed`` and let it go; never raises.

        Only a run whose ``RunStarted`` this journal recorded, and that has not ended,
        is marked: any other (its start failed, another process has it) is left as it
        is on disk. If the row cannot be written either, the run keeps its last status.
        """
        log.error("run %s failed: %s", run_id, message)
        if run_id not in self._locks:
            log.warning("run %s is not executed by this journal; its history is unchanged", run_id)
            return
        try:
            row = R.failed_row(
                self._base_of(run_id), run_id, self._next_rev(run_id), self._now(), message
            )
            await self._write({"runs": [row]})
        except Exception:
            log.exception("could not record that run %s failed; it stays as it was", run_id)
        finally:
            self._forget(run_id)

    async def _write_run(self, event: R.RunEvent, now: datetime) -> None:
        row = R.run_row(event, self._base_of(event.run_id), self._next_rev(event.run_id), now)
        await self._write({"runs": [row]})

    async def _write(self, batch: dict[str, list[R.Row]]) -> None:
        """Write each table's rows as one new file, in a thread."""
        try:
            await asyncio.to_thread(write_batch, self.data_dir, batch, self._now())
        except OSError as exc:
            log.error("cannot write history to %s: %s", self.data_dir, exc)
            raise JournalError(f"cannot write history to {self.data_dir}: {exc}") from exc

    def _claim(self, run_id: str, index: int) -> bool:
        done = self._written.setdefault(run_id, set())
        if index in done:
            log.error(
                "run %s tranche %d is already recorded; not writing it twice", run_id, index + 1
            )
            return False
        done.add(index)
        return True

    def _next_rev(self, run_id: str) -> int:
        rev = self._rev.get(run_id, -1) + 1
        self._rev[run_id] = rev
        return rev

    def _base_of(self, run_id: str) -> R.Row:
        return self._base.get(run_id, {})

    def _summary_on_disk(self, run_id: str, session: Summary) -> Summary:
        full = summary_of(
            History(self.data_dir).run_tranches(run_id), session.target, session.budget
        )
        # A standing plan's last buy is not the last of a count the rows could tell.
        full.spent_out = full.spent_out or session.spent_out
        return full

    def _forget(self, run_id: str) -> None:
        lock = self._locks.pop(run_id, None)
        if lock is not None:
            lock.release()
        for known in (self._base, self._rev, self._written):
            known.pop(run_id, None)
        self._resumed.discard(run_id)

    async def _lock(self, run_id: str) -> None:
        lock = FileLock(run_lock(self.data_dir, run_id))
        try:
            got = await asyncio.to_thread(lock.acquire)
        except OSError as exc:
            raise JournalError(f"cannot write history to {self.data_dir}: {exc}") from exc
        if not got:
            raise RunConflict(f"run {run_id} is being executed by another process")
        self._locks[run_id] = lock

    async def _start(self, event: RunStarted, now: datetime) -> None:
        run_id = event.run_id
        if run_id not in self._locks:
            await self._lock(run_id)
        base: R.Row = R.plan_columns(event.plan)
        base.update(
            source=self.source,
            speed=self.speed,
            app_version=__version__,
            execution=event.execution,
        )
        if event.resumed:
            self._resumed.add(run_id)
            last, rev, done = await asyncio.to_thread(recorded_state, self.data_dir, run_id)
            if last is not None:
                _check_still_resumable(run_id, last, len(done), event.done)
                for key in ("created_at", "started_at", "origin", "source", "speed"):
                    base[key] = last[key]
            self._rev[run_id] = max(rev, self._rev.get(run_id, -1))
            self._written.setdefault(run_id, set()).update(done)
        if "origin" not in base or base["origin"] is None:
            # The schedule's first time minus its jitter offset is the run's origin.
            offset = tranche_times(event.plan, 0.0)[0] if event.schedule else 0.0
            origin = (event.schedule[0] - offset) if event.schedule else event.at
            base.update(created_at=now, started_at=utc(event.at), origin=utc(origin))
        self._base[run_id] = base


def _check_still_resumable(run_id: str, last: R.Row, recorded: int, loaded: int) -> None:
    """Raise ``RunConflict`` if another process ended or advanced the run since it was loaded."""
    status, detail = str(last["status"]), last["detail"]
    if not is_resumable(status, detail if isinstance(detail, str) else None):
        raise RunConflict(f"run {run_id} is {status} already (by another process)")
    if recorded != loaded:
        raise RunConflict(
            f"run {run_id} has {recorded} tranches recorded, not {loaded} as when it was loaded: "
            "another process continued it; resume it again"
        )
