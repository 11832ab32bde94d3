"""Seeing and steering a run that another process executes, through small files (no server).

The process executing a run (a dashboard, ``run --headless`` or a detached run) keeps
three files per run in ``<data dir>/live/``:

- ``<run_id>.state.json``: where the run is (running/paused, tranches done of total,
  bought, spent, next tranche), rewritten atomically at every event of the run;
- ``<run_id>.tranches.jsonl``: one line per tranche handled in this process, appended,
  so a dashboard opened later draws the run's table;
- ``<run_id>.control.json``: written by ``btc-dca pause/unpause/cancel``; the executing
  process reads it every ``POLL_S`` seconds, calls the executor's ``pause``, ``resume``
  or ``cancel`` and writes the command's id into the state file as done (``acked``).

A state file says a run is *in progress* only while the run's lock
(``runs/.<run_id>.lock``, see ``locks.py``) is held: a process that died leaves its
state file behind but not its lock, so a crashed run shows as resumable, never as in
progress. The lock is taken by the Parquet journal when the run starts, so
``LiveRun`` is fanned out after that journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

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
from dca.lines import TrancheLine, decimal_or_none, text_or_none
from dca.status import RunStatus
from storage.paths import (
    UnsafeFileError,
    private_mkdir,
    private_open,
    read_checked,
    tighten,
    write_private,
)
from storage.runs.locks import is_held, run_lock

if TYPE_CHECKING:
    from dca.session import Steerable
    from dca.slots import Standing

log = logging.getLogger(__name__)

LIVE_DIR = "live"
# How often the executing process looks at its control file, seconds (commands act within
# this plus one state write; the commands promise 2 s).
POLL_S = 0.5


class Command(StrEnum):
    """What ``btc-dca pause/unpause/cancel`` ask of a run in another process."""

    PAUSE = "pause"
    UNPAUSE = "unpause"
    CANCEL = "cancel"


def live_dir(data_dir: Path) -> Path:
    """The folder of the state, tranche and control files."""
    return data_dir / LIVE_DIR


def state_path(data_dir: Path, run_id: str) -> Path:
    """The state file of ``run_id`` (written by the process executing it)."""
    return live_dir(data_dir) / f"{run_id}.state.json"


def control_path(data_dir: Path, run_id: str) -> Path:
    """The control file of ``run_id`` (written by the steering commands)."""
    return live_dir(data_dir) / f"{run_id}.control.json"


def lines_path(data_dir: Path, run_id: str) -> Path:
    """The tranche lines of ``run_id`` handled by the process executing it now."""
    return live_dir(data_dir) / f"{run_id}.tranches.jsonl"


@dataclass(frozen=True, slots=True)
class RunState:
    """A run in progress as its executing process last described it."""

    run_id: str
    pid: int
    where: str  # dashboard, headless, detached
    state: RunStatus  # running or paused
    done: int  # tranches handled (filled or skipped), this process's and earlier ones
    of: int
    filled: int
    skipped: int
    bought: Decimal
    target: Decimal
    spent: Decimal
    avg_price: Decimal | None
    saved_vs_worst: Decimal
    quote: str
    venues: tuple[str, ...]
    mode: str
    next_at: float | None  # the run's clock, epoch seconds
    speed: float  # clock seconds per real second
    clock_at: float  # the run's clock when written
    wall_at: float  # wall clock when written
    started_at: float  # wall clock when this process started (or resumed) it
    last_venue: str | None = None
    acked: str | None = None
    down: tuple[str, ...] = ()
    notional: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    # A budget run's money to spend (then ``target`` is 0); None for an amount of BTC.
    budget: Decimal | None = None
    # A standing plan (``run --every``; then ``of`` is 0): its calendar in words
    # (``every week at mon 09:00``) and the time zone its next buy is shown in.
    standing: str | None = None
    tz: str | None = None
    # Whether it buys with real orders (then every view of it says LIVE).
    live: bool = False

    def summary(self) -> Summary:
        """The run's totals as the executor counts them (for the dashboard's run area)."""
        return Summary(
            target=self.target,
            qty=self.bought,
            notional=self.notional,
            fee=self.fee,
            total=self.spent,
            filled=self.filled,
            skipped=self.skipped,
            saved_vs_worst=self.saved_vs_worst,
            budget=self.budget,
        )

    def clock_now(self, wall_now: float) -> float:
        """The run's clock now, from the time the state was written (a demo's runs ahead)."""
        if self.speed == float("inf"):
            return self.clock_at
        return self.clock_at + (wall_now - self.wall_at) * self.speed

    def next_in_s(self, wall_now: float) -> float | None:
        """Real seconds until the next tranche, from the time the state was written."""
        if self.next_at is None or self.state != RunStatus.RUNNING:
            return None
        if self.speed == float("inf"):
            return 0.0
        left = (self.next_at - self.clock_at) / self.speed - (wall_now - self.wall_at)
        return max(0.0, left)

    def to_json(self) -> str:
        """The state file's text (money as exact decimal strings)."""
        obj = asdict(self)
        for key in (
            "bought",
            "target",
            "spent",
            "avg_price",
            "saved_vs_worst",
            "notional",
            "fee",
            "budget",
        ):
            obj[key] = text_or_none(getattr(self, key))
        obj["venues"] = list(self.venues)
        obj["down"] = list(self.down)
        obj["speed"] = None if self.speed == float("inf") else self.speed
        return json.dumps(obj, indent=1)

    @classmethod
    def from_json(cls, text: str) -> RunState:
        """Parse a state file; ValueError/KeyError/TypeError if it is not one."""
        o = json.loads(text)
        bought, target, spent = (
            decimal_or_none(o["bought"]),
            decimal_or_none(o["target"]),
            decimal_or_none(o["spent"]),
        )
        saved = decimal_or_none(o["saved_vs_worst"])
        assert bought is not None and target is not None and spent is not None
        assert saved is not None
        return cls(
            run_id=str(o["run_id"]),
            pid=int(o["pid"]),
            where=str(o["where"]),
            state=RunStatus(o["state"]),
            done=int(o["done"]),
            of=int(o["of"]),
            filled=int(o["filled"]),
            skipped=int(o["skipped"]),
            bought=bought,
            target=target,
            spent=spent,
            avg_price=decimal_or_none(o["avg_price"]),
            saved_vs_worst=saved,
            quote=str(o["quote"]),
            venues=tuple(o["venues"]),
            mode=str(o["mode"]),
            next_at=None if o["next_at"] is None else float(o["next_at"]),
            speed=float("inf") if o["speed"] is None else float(o["speed"]),
            clock_at=float(o["clock_at"]),
            wall_at=float(o["wall_at"]),
            started_at=float(o["started_at"]),
            last_venue=o.get("last_venue"),
            acked=o.get("acked"),
            down=tuple(o.get("down") or ()),
            notional=Decimal(o.get("notional") or 0),
            fee=Decimal(o.get("fee") or 0),
            budget=decimal_or_none(o.get("budget")),
            standing=o.get("standing"),
            tz=o.get("tz"),
            live=o.get("live") is True,
        )


def _read_state(path: Path) -> RunState | None:
    try:
        return RunState.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AssertionError) as exc:
        log.warning("unreadable run state %s: %s", path, exc)
        return None


def in_progress(data_dir: Path, run_id: str) -> RunState | None:
    """``run_id``'s state if a live process executes it now (it holds the run's lock)."""
    if not is_held(run_lock(data_dir, run_id)):
        return None
    state = _read_state(state_path(data_dir, run_id))
    # The lock may be held a moment before the state file is written, or after it is gone.
    return state if state is not None and is_held(run_lock(data_dir, run_id)) else None


def runs_in_progress(data_dir: Path) -> list[RunState]:
    """Every run a live process executes now in ``data_dir``, oldest start first."""
    folder = live_dir(data_dir)
    try:
        names = sorted(p.name for p in folder.iterdir())
    except FileNotFoundError:
        return []
    found: list[RunState] = []
    for name in names:
        if name.startswith(".") or not name.endswith(".state.json"):
            continue
        state = in_progress(data_dir, name.removesuffix(".state.json"))
        if state is not None:
            found.append(state)
    return sorted(found, key=lambda s: (s.started_at, s.run_id))


def read_lines(data_dir: Path, run_id: str, offset: int = 0) -> tuple[list[TrancheLine], int]:
    """The tranche lines written from byte ``offset`` on, and the offset after the last whole one.

    A line still being written (no newline yet) is left for the next read.
    """
    try:
        with lines_path(data_dir, run_id).open("rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], 0
    lines: list[TrancheLine] = []
    end = data.rfind(b"\n") + 1
    for raw in data[:end].splitlines():
        try:
            lines.append(TrancheLine.from_json(raw.decode("utf-8")))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("run %s: unreadable tranche line skipped: %s", run_id, exc)
    return lines, offset + end


@dataclass(frozen=True, slots=True)
class ControlRequest:
    """A command written to a run's control file."""

    id: str
    command: Command
    at: float


def write_command(data_dir: Path, run_id: str, command: Command) -> ControlRequest:
    """Ask the process executing ``run_id`` to pause, unpause or cancel it; the request."""
    request = ControlRequest(uuid.uuid4().hex, command, time.time())
    text = json.dumps({"id": request.id, "command": command.value, "at": request.at})
    write_private(control_path(data_dir, run_id), text)
    return request


def read_command(data_dir: Path, run_id: str) -> ControlRequest | None:
    """The latest command in ``run_id``'s control file (None if none or unreadable).

    Raises ``UnsafeFileError`` when another account could have written the file: its
    command is not obeyed.
    """
    path = control_path(data_dir, run_id)
    try:
        o = json.loads(read_checked(path))
        return ControlRequest(str(o["id"]), Command(o["command"]), float(o["at"]))
    except FileNotFoundError:
        return None
    except UnsafeFileError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("unreadable control file %s: %s", path, exc)
        return None


class LiveRun:
    """A journal that keeps a run's state and tranche files and obeys its control file.

    ``bind`` it to the executor before the run starts; fan it out after the Parquet
    journal (which takes the run's lock). It reads the control file every ``poll_s``
    seconds from the run's start to its end, and removes its files when the run ends
    or ``close`` is called.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        where: str,
        poll_s: float = POLL_S,
        pid: int | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.data_dir = data_dir
        self.where = where
        self.poll_s = poll_s
        self.pid = os.getpid() if pid is None else pid
        self.wall = wall
        self.run_id: str | None = None
        self._executor: Steerable | None = None
        self._plan_tranches = 0
        self._standing: Standing | None = None
        self._quote = ""
        self._venues: tuple[str, ...] = ()
        self._mode = ""
        self._schedule: tuple[float, ...] = ()
        self._done: set[int] = set()
        self._started_at = 0.0
        self._last_venue: str | None = None
        self._acked: str | None = None
        self._down: set[str] = set()
        self._write_lock = asyncio.Lock()
        self._watcher: asyncio.Task[None] | None = None

    def bind(self, executor: Steerable) -> None:
        """The executor whose state is reported and whose control entry points are called."""
        self._executor = executor

    # -- the journal -----------------------------------------------------------------------

    async def record(self, event: Event) -> None:
        """Update the run's files for ``event``; start watching the control file at the start."""
        if isinstance(event, RunStarted):
            await self._started(event)
            return
        if self.run_id is None or event.run_id != self.run_id:
            return
        line: TrancheLine | None = None
        if isinstance(event, TrancheFilled | TrancheSkipped):
            self._done.add(event.index)
            line = TrancheLine.of_event(event)
            if isinstance(event, TrancheFilled):
                self._last_venue = event.route.venue
        elif isinstance(event, RunFinished | RunCancelled):
            await self._stop()
            return
        elif isinstance(event, VenueDegraded):
            self._down.add(event.venue)
        elif isinstance(event, VenueRecovered):
            self._down.discard(event.venue)
        await self._write(line)

    async def _started(self, event: RunStarted) -> None:
        await self._stop()
        self.run_id = event.run_id
        self._plan_tranches = event.plan.tranches
        self._standing = event.plan.standing
        self._quote = event.plan.quote
        self._venues = event.plan.venues
        self._mode = event.plan.mode.value
        self._schedule = event.schedule
        # A resumed run's earlier tranches: the first ``done`` of the schedule (in order).
        self._done = set(range(event.done))
        self._started_at = self.wall()
        self._last_venue = None
        self._down = set()
        # A command left from an earlier process is not for this one.
        self._acked = None
        await asyncio.to_thread(self._reset_files, event.run_id)
        await self._write(None)
        self._watcher = asyncio.create_task(self._watch(), name=f"control {event.run_id}")

    def _reset_files(self, run_id: str) -> None:
        folder = private_mkdir(live_dir(self.data_dir))
        tighten(folder)  # made under the umask by an earlier version
        control_path(self.data_dir, run_id).unlink(missing_ok=True)
        with private_open(lines_path(self.data_dir, run_id), "w", encoding="utf-8"):
            pass

    def snapshot(self) -> RunState:
        """The run's state now."""
        ex = self._executor
        assert ex is not None and self.run_id is not None, "bind the executor, then start"
        s = ex.summary
        pending = [i for i in range(self._plan_tranches) if i not in self._done]
        next_at = self._schedule[pending[0]] if pending and self._schedule else None
        st = self._standing
        if st is not None:
            # No fixed schedule: the executor knows its next slot (set before each event).
            next_at = ex.next_at
        return RunState(
            run_id=self.run_id,
            pid=self.pid,
            where=self.where,
            state=RunStatus.PAUSED if ex.state is RunStatus.PAUSED else RunStatus.RUNNING,
            done=len(self._done),
            of=self._plan_tranches,
            filled=s.filled,
            skipped=s.skipped,
            bought=s.qty,
            target=s.target,
            spent=s.total,
            avg_price=s.avg_price,
            saved_vs_worst=s.saved_vs_worst,
            quote=self._quote,
            venues=self._venues,
            mode=self._mode,
            next_at=next_at,
            speed=ex.clock.speed,
            clock_at=ex.clock.now(),
            wall_at=self.wall(),
            started_at=self._started_at,
            last_venue=self._last_venue,
            acked=self._acked,
            down=tuple(sorted(self._down)),
            notional=s.notional,
            fee=s.fee,
            budget=s.budget,
            standing=f"{st.every.words()}" + (f" at {st.at.text}" if st.at else "")
            if st is not None
            else None,
            tz=st.tz if st is not None else None,
            live=ex.execution.live,
        )

    async def _write(self, line: TrancheLine | None) -> None:
        if self.run_id is None:
            return
        run_id = self.run_id
        async with self._write_lock:
            state = self.snapshot()
            try:
                await asyncio.to_thread(self._write_files, run_id, state, line)
            except OSError as exc:
                # Only the view from other processes suffers; the run and its history go on.
                log.warning("run %s: cannot write its live state: %s", run_id, exc)

    def _write_files(self, run_id: str, state: RunState, line: TrancheLine | None) -> None:
        if line is not None:
            with private_open(lines_path(self.data_dir, run_id), "a", encoding="utf-8") as f:
                f.write(line.to_json() + "\n")
        write_private(state_path(self.data_dir, run_id), state.to_json())

    # -- the control file ------------------------------------------------------------------

    async def _watch(self) -> None:
        assert self.run_id is not None
        run_id = self.run_id
        refused = ""
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                try:
                    request = await asyncio.to_thread(read_command, self.data_dir, run_id)
                except UnsafeFileError as exc:
                    if str(exc) != refused:  # said once, not every poll
                        log.error("run %s: control file refused: %s", run_id, exc)
                    refused = str(exc)
                    continue
                refused = ""
                if request is None or request.id == self._acked:
                    continue
                self.apply(request)
                await self._write(None)
            except Exception:  # steering from outside must never stop the run itself
                log.exception("run %s: control file not handled", run_id)

    def apply(self, request: ControlRequest) -> None:
        """Carry out ``request`` through the executor's own entry points."""
        ex = self._executor
        assert ex is not None
        log.info("run %s: %s asked from another process", self.run_id, request.command.value)
        if request.command is Command.PAUSE:
            ex.pause()
        elif request.command is Command.UNPAUSE:
            ex.resume()
        else:
            ex.cancel()
        self._acked = request.id

    async def _stop(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if self.run_id is not None:
            async with self._write_lock:
                await asyncio.to_thread(self._remove_files, self.run_id)

    def _remove_files(self, run_id: str) -> None:
        for path in (
            state_path(self.data_dir, run_id),
            control_path(self.data_dir, run_id),
            lines_path(self.data_dir, run_id),
        ):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)

    async def aclose(self) -> None:
        """Stop watching and remove the run's files (the run ended, failed or was dropped)."""
        await self._stop()


@dataclass(frozen=True, slots=True)
class Followed:
    """One look at a run in another process: its state, and its tranche lines new since then."""

    state: RunState | None  # None once the run is no longer in progress
    lines: list[TrancheLine]
    offset: int  # where the next look reads the lines file from
    restarted: bool  # the lines file began again (the run was resumed by another process)


def follow(data_dir: Path, run_id: str, offset: int = 0) -> Followed:
    """Look at ``run_id`` again: its state and the tranche lines written from ``offset`` on."""
    state = in_progress(data_dir, run_id)
    try:
        size = lines_path(data_dir, run_id).stat().st_size
    except FileNotFoundError:
        size = 0
    restarted = size < offset
    lines, end = read_lines(data_dir, run_id, 0 if restarted else offset)
    return Followed(state, lines, end, restarted)


class NotInProgress(Exception):
    """The run is not executed by any live process; the message says what it is instead."""


class NotAcknowledged(Exception):
    """The executing process did not carry out the command in time."""


def not_in_progress_reason(data_dir: Path, run_id: str, cli: str = "btc-dca") -> str:
    """Why ``run_id`` cannot be steered: unknown, over, or stopped (resumable); ``cli`` is
    ``btc-dca`` as the hint to resume it spells it (``storage.paths.cli_prefix``)."""
    from dca.status import RESUMABLE, current_status
    from storage.history.queries import History  # polars: only when the answer is no

    row = History(data_dir).run(run_id)
    if row is None:
        return f"no run {run_id} in {data_dir}"
    detail = row["detail"]
    # No live process executes it, so a "running" row was left by one that died.
    status = current_status(
        str(row["status"]), detail if isinstance(detail, str) else None, held=False
    )
    if status in RESUMABLE:
        return (
            f"run {run_id} is not in progress: it stopped ({status}"
            + (f", {detail}" if isinstance(detail, str) and detail else "")
            + f"); continue it with: {cli} resume {run_id}, or give it up with: "
            + f"{cli} abandon {run_id}"
        )
    return f"run {run_id} is {status}; it is not in progress"


@dataclass(frozen=True, slots=True)
class Steered:
    """What a steering command did: the run's state after it (None: the run ended)."""

    run_id: str
    command: Command
    state: RunState | None
    already: bool = False  # nothing to do (pausing a paused run)


def steer(
    data_dir: Path,
    run_id: str,
    command: Command,
    *,
    timeout_s: float = 5.0,
    poll_s: float = 0.05,
    cli: str = "btc-dca",
) -> Steered:
    """Ask the process executing ``run_id`` to pause, unpause or cancel it and wait until done.

    Raises ``NotInProgress`` (nothing written) when no live process executes the run, and
    ``NotAcknowledged`` when the process did not act within ``timeout_s``. A cancel waits
    until the run has ended (its state file and lock are gone).
    """
    state = in_progress(data_dir, run_id)
    if state is None:
        raise NotInProgress(not_in_progress_reason(data_dir, run_id, cli))
    if (command is Command.PAUSE and state.state == RunStatus.PAUSED) or (
        command is Command.UNPAUSE and state.state == RunStatus.RUNNING
    ):
        return Steered(run_id, command, state, already=True)
    request = write_command(data_dir, run_id, command)
    deadline = time.monotonic() + timeout_s
    acked = False
    while time.monotonic() < deadline:
        now = in_progress(data_dir, run_id)
        if now is None:
            return Steered(run_id, command, None)
        acked = acked or now.acked == request.id
        if acked and command is not Command.CANCEL:
            return Steered(run_id, command, now)
        time.sleep(poll_s)
    if acked:
        raise NotAcknowledged(
            f"run {run_id} took the cancel but has not stopped within {timeout_s:g} s "
            "(a venue request may be under way); it stops at the next safe point"
        )
    raise NotAcknowledged(
        f"run {run_id} (pid {state.pid}) did not answer within {timeout_s:g} s; "
        "the request stays in its control file"
    )
