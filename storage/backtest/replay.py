"""Backtests: a plan replayed over the recorded books by the very executor of a live run.

``prepare`` checks the window and the lake (reading only capture times); ``replay`` runs
the executor on a ``ReplayMarket`` under a simulated clock that starts at the window's
start, fed a day of books at a time (``storage.market.stream``): memory does not grow
with the window. A backtest is saved like a run (``source`` = ``backtest``), but not
tranche by tranche: its tranches are written in chunks to a hidden staging folder as it
goes and moved into the table when it finishes, then its runs rows are written. A backtest
stopped before its end saves nothing. Its quotes are not archived (``market/`` is the
archive).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from btc_dca import __version__
from dca.events import (
    Event,
    RunCancelled,
    RunFinished,
    RunStarted,
    Summary,
    TrancheFilled,
    TrancheSkipped,
)
from dca.journal import Journal
from dca.plan import Plan
from dca.schedule import tranche_times
from dca.session import RunSession
from dca.status import INTERRUPTED
from exchanges.replay import ReplayClock, ReplayMarket
from exchanges.venues import VenueSpec
from storage.history import rows as R
from storage.history.batch import tranches_frame
from storage.history.dataset import (
    BadFile,
    fsync_dir,
    new_part_name,
    partition_of,
    table_dir,
    write_atomic,
)
from storage.history.journal import write_batch
from storage.history.schema import utc
from storage.market.lake import recorded
from storage.market.stream import DayStream, Window, open_window
from storage.paths import private_mkdir

log = logging.getLogger(__name__)

SOURCE = "backtest"


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """The cyclic garbage collector off inside the block (back on after, if it was on).

    A backtest builds hundreds of thousands of objects that live until its end (books,
    events): the collector would rescan them over and over, a third of the run's time.
    Nothing a backtest builds depends on it (no cycles that matter).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # What the block built is frozen out of the collector's sight: re-enabled, its first
        # full pass would otherwise scan it all (seconds for a month of tranches). It is
        # freed as usual by reference counting.
        gc.freeze()
        if collecting:
            gc.enable()


class BacktestInvalid(ValueError):
    """A backtest that cannot run; ``option`` is the command-line option it is about."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


@dataclass
class Prepared:
    """A backtest ready to replay: the plan, and its window of the lake."""

    plan: Plan
    start: float
    end: float
    max_age_s: float
    lake: Window

    @property
    def bad(self) -> list[BadFile]:
        """Files skipped in ``market/`` (not readable, not ours)."""
        return self.lake.bad


def check_window(start: float, end: float) -> None:
    """Raise ``BacktestInvalid`` for a window that ends before it starts."""
    if start >= end:
        raise BacktestInvalid(
            "--from", f"{_when(start)} is not before --to {_when(end)} (times are UTC)"
        )


def prepare(
    data_dir: Path,
    plan: Plan,
    start: float,
    *,
    max_age_s: float,
    venues_given: bool = True,
) -> Prepared:
    """Check the window and the lake for ``plan`` starting at ``start`` (capture times only).

    Raises ``BacktestInvalid`` naming the problem: a venue never recorded (when the user
    chose the venues), or no book at all in the window.
    """
    end = start + plan.duration_s
    check_window(start, end)
    known = recorded(data_dir)
    if not known:
        raise BacktestInvalid(
            "--from",
            f"no books are recorded in {data_dir / 'market'} (record some with "
            "btc-dca record, or generate a demo lake with backtest --demo)",
        )
    venues = list(plan.venues)
    never = [v for v in venues if v not in known]
    if never and venues_given:
        raise BacktestInvalid(
            "--venues",
            f"{', '.join(never)} never recorded (recorded: {', '.join(known)})",
        )
    venues = [v for v in venues if v in known]
    if not venues:
        raise BacktestInvalid(
            "--venues", f"none of the plan's venues is recorded (recorded: {', '.join(known)})"
        )
    lake = open_window(
        data_dir, venues, plan.quote, start, end, tranche_times(plan, start), max_age_s
    )
    if not lake.files:
        by_reason: dict[str, list[str]] = {}
        for venue, reason in lake.empty.items():
            by_reason.setdefault(reason, []).append(venue)
        why = "; ".join(f"{', '.join(vs)}: {reason}" for reason, vs in by_reason.items())
        first = min(d for r in known.values() for d in r.days)
        last = max(d for r in known.values() for d in r.days)
        raise BacktestInvalid(
            "--from",
            f"no {plan.quote} books recorded between {_when(start)} and {_when(end)} "
            f"({why}; market/ holds {first} to {last})",
        )
    if venues != list(plan.venues):
        plan = replace(plan, venues=tuple(venues))
    return Prepared(plan, start, end, max_age_s, lake)


# Tranches per staged file: a few MB of events in memory at most.
CHUNK = 2048
_STAGING = ".staging-"


class BatchJournal:
    """A backtest's journal: its tranches staged in files as it goes, saved when it ends.

    Every ``chunk`` tranches are written (in a thread, while the replay goes on) to a
    hidden folder of the tranches table that no reader lists. When the backtest finishes,
    the staged files are moved into the table, then its runs rows are written. A backtest
    stopped before its end (``RunCancelled``), or one that fails, saves nothing: its staged
    files are deleted (``discard``). A folder left by a killed process is deleted by the
    next backtest.
    """

    def __init__(
        self, data_dir: Path, *, extra: Mapping[str, object] | None = None, chunk: int = CHUNK
    ) -> None:
        self.data_dir = data_dir
        self.extra = dict(extra or {})
        self.chunk = chunk
        self.tranches: list[TrancheFilled | TrancheSkipped] = []  # not staged yet
        self.runs: list[R.Row] = []
        self._base: R.Row = {}
        self._rev = -1
        self.written: list[Path] = []
        root = table_dir(data_dir, "tranches")
        _sweep(root)
        self.staging = root / f"{_STAGING}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.staged: list[Path] = []
        self._writing: asyncio.Future[None] | None = None

    def _now(self) -> datetime:
        return datetime.now(UTC)

    async def record(self, event: Event) -> None:
        """Keep ``event``'s rows; stage a chunk of tranches; save at the end, or discard."""
        if isinstance(event, TrancheFilled | TrancheSkipped):
            self.tranches.append(event)
            if len(self.tranches) >= self.chunk:
                await self._stage()
            return
        now = self._now()
        if isinstance(event, RunStarted):
            base = R.plan_columns(event.plan)
            extra = json.loads(str(base["plan_extra"]))
            extra.update({k: str(v) for k, v in self.extra.items()})
            base.update(
                source=SOURCE,
                speed=None,
                app_version=__version__,
                created_at=now,
                started_at=utc(event.at),
                origin=utc(event.schedule[0] if event.schedule else event.at),
                plan_extra=json.dumps(extra, sort_keys=True),
            )
            self._base = base
            self._add_run(event, now)
        elif isinstance(event, RunFinished):
            self._add_run(event, now)
            await self._stage()
            await self._settle()
            self.written = await asyncio.to_thread(self._commit, now)
        elif isinstance(event, RunCancelled):
            await self.discard()

    async def _stage(self) -> None:
        """Write the tranches kept so far to the staging folder, in a thread (one at a time)."""
        await self._settle()
        if not self.tranches:
            return
        events, self.tranches = self.tranches, []
        self._writing = asyncio.ensure_future(asyncio.to_thread(self._write_chunk, events))

    async def _settle(self) -> None:
        """Wait for the chunk being written (its error, if any, is raised here)."""
        writing, self._writing = self._writing, None
        if writing is not None:
            await writing

    def _write_chunk(self, events: list[TrancheFilled | TrancheSkipped]) -> None:
        frame = tranches_frame(events, self._now())
        self.staged.append(write_atomic(frame, self.staging))

    def _commit(self, now: datetime) -> list[Path]:
        """Move the staged tranches into the table, then write the runs rows."""
        written: list[Path] = []
        if self.staged:
            folder = table_dir(self.data_dir, "tranches") / partition_of(now)
            private_mkdir(folder)
            for path in self.staged:
                final = folder / new_part_name()
                os.replace(path, final)
                written.append(final)
            fsync_dir(folder)
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staged = []
        written += write_batch(self.data_dir, {"runs": self.runs}, now)
        return written

    async def discard(self) -> None:
        """Save nothing: delete the staged tranches (no-op once saved or discarded)."""
        writing, self._writing = self._writing, None
        if writing is not None:
            with contextlib.suppress(Exception):
                await writing
        self.tranches = []
        self.staged = []
        await asyncio.to_thread(shutil.rmtree, self.staging, True)

    def _add_run(self, event: R.RunEvent, now: datetime) -> None:
        self._rev += 1
        self.runs.append(R.run_row(event, self._base, self._rev, now))


def _sweep(root: Path) -> None:
    """Delete the staging folders of backtests whose process is gone (killed mid-way)."""
    if not root.is_dir():
        return
    for folder in root.glob(f"{_STAGING}*"):
        pid = folder.name.removeprefix(_STAGING).split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - another user's process
        return True
    return True


class _Keep:
    """Keeps the events of a run in memory (for the comparison table)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def record(self, event: Event) -> None:
        self.events.append(event)


@dataclass
class Outcome:
    """What a replay did."""

    plan: Plan
    run_id: str
    summary: Summary
    interrupted: bool = False
    events: list[Event] = field(default_factory=list)
    days_read: int = 0  # days of the lake read
    snapshots: int = 0  # snapshots read (on the schedule and off it)
    on_demand: int = 0  # of which read off the schedule (retries)


async def replay(
    prepared: Prepared,
    specs: Mapping[str, VenueSpec],
    journal: Journal | None,
    *,
    plan: Plan | None = None,
    run_id: str | None = None,
    stop: asyncio.Event | None = None,
    keep_events: bool = False,
) -> Outcome:
    """Run ``plan`` (default: the prepared one) over the prepared books; ``stop`` cancels.

    ``keep_events`` keeps every event in the outcome (a month of tranches: hundreds of MB).
    """
    plan = plan or prepared.plan
    clock = ReplayClock(prepared.start)
    stream = DayStream(prepared.lake, plan.venues, tranche_times(plan, prepared.start))
    market = ReplayMarket(
        clock,
        plan.quote,
        {v: specs[v] for v in plan.venues},
        stream.tapes,
        max_age_s=prepared.max_age_s,
        feed=stream,
    )
    keep = _Keep()
    # No live files, no alerts: a backtest is seen by no other process and alerts no one.
    session = RunSession(
        plan, market, clock, history=journal, views=[keep] if keep_events else (), run_id=run_id
    )
    watcher: asyncio.Task[None] | None = None
    if stop is not None:

        async def watch() -> None:
            await stop.wait()
            session.cancel(INTERRUPTED)

        watcher = asyncio.create_task(watch())
    try:
        with no_gc():
            summary = await session.run()
    finally:
        if watcher is not None:
            watcher.cancel()
        stream.close()
    interrupted = stop is not None and stop.is_set()
    on_demand = sum(t.loaded_on_demand for t in stream.tapes.values())
    return Outcome(
        plan,
        session.run_id,
        summary,
        interrupted,
        keep.events,
        stream.days_read,
        stream.snapshots,
        on_demand,
    )


@dataclass(frozen=True, slots=True)
class Alternative:
    """One line of ``--compare``: a variant of the plan and what it cost."""

    label: str
    plan: Plan
    summary: Summary


async def compare(
    prepared: Prepared,
    specs: Mapping[str, VenueSpec],
    variants: Sequence[tuple[str, Plan]],
    *,
    watch: Journal | None = None,
    stop: asyncio.Event | None = None,
) -> list[Alternative]:
    """Replay each variant (nothing saved) and return its totals, in the order given.

    ``watch`` sees each replay's events (a progress line); ``stop`` cuts the comparison
    short (the variants replayed so far are returned).
    """
    out: list[Alternative] = []
    for label, plan in variants:
        if stop is not None and stop.is_set():
            break
        outcome = await replay(
            prepared, specs, watch, plan=plan, run_id=f"compare-{label}", stop=stop
        )
        if outcome.interrupted:
            break
        out.append(Alternative(label, plan, outcome.summary))
    return out
