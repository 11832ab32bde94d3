"""A run in progress can be seen and steered through its files, by any process."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from dca.events import Event, RunPaused, RunStarted, TrancheFilled, TrancheSkipped
from dca.executor import Executor
from dca.journal import FanOut, MemoryJournal
from dca.lines import TrancheLine
from dca.status import RunStatus
from exchanges.clock import ScaledClock, SimClock
from exchanges.simulated import SimulatedMarket
from storage.history.journal import ParquetJournal
from storage.runs.control import (
    Command,
    LiveRun,
    NotAcknowledged,
    NotInProgress,
    RunState,
    control_path,
    follow,
    in_progress,
    lines_path,
    read_command,
    read_lines,
    runs_in_progress,
    state_path,
    steer,
)
from storage.runs.locks import FileLock, run_lock
from tests.storage.helpers import plan, run

# Generous on purpose: a loaded machine is slow to get there; a passing test never waits.
WAIT_S = 60.0


class HoldAtStart:
    """A journal that holds the run once its start is recorded, until ``go`` is set."""

    def __init__(self) -> None:
        self.go = asyncio.Event()

    async def record(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            await self.go.wait()


class Running:
    """A 6-tranche run on a clock 60x faster than life: a tranche every 0.5 s.

    With ``hold_at_start`` the run waits after its start is recorded (and its state file
    written) until ``hold.go`` is set: its first tranche, due at once, cannot land first.
    """

    def __init__(
        self, data_dir: Path, tranches: int = 6, poll_s: float = 0.05, hold_at_start: bool = False
    ) -> None:
        clock = ScaledClock(60.0)
        self.plan = plan(amount="0.6", tranches=tranches, duration=f"{tranches * 30}s")
        market = SimulatedMarket(clock, venues=self.plan.venues)
        self.parquet = ParquetJournal(data_dir, source="demo")
        self.memory = MemoryJournal()
        self.live = LiveRun(data_dir, where="headless", poll_s=poll_s)
        self.hold = HoldAtStart()
        if not hold_at_start:
            self.hold.go.set()
        self.executor = Executor(
            self.plan, market, FanOut(self.parquet, self.live, self.memory, self.hold), clock
        )
        self.live.bind(self.executor)
        self.task = asyncio.create_task(self.executor.run())

    async def started(self, data_dir: Path) -> RunState:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while loop.time() < deadline:
            state = await asyncio.to_thread(in_progress, data_dir, self.executor.run_id)
            if state is not None:
                return state
            await asyncio.sleep(0.01)
        raise AssertionError("the run never showed as in progress")

    async def done(self) -> None:
        try:
            await asyncio.wait_for(self.task, 20)
        finally:
            await self.live.aclose()
            self.parquet.close()

    async def holding(self) -> None:
        """Wait until the run holds for its pause (its ``RunPaused`` is journaled)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while not any(isinstance(e, RunPaused) for e in self.memory.events):
            assert loop.time() < deadline, "the run never held for its pause"
            await asyncio.sleep(0.01)

    def filled(self) -> int:
        return sum(isinstance(e, TrancheFilled) for e in self.memory.events)


async def test_a_run_in_progress_shows_its_state_until_it_ends(tmp_path: Path) -> None:
    r = Running(tmp_path, hold_at_start=True)
    state = await r.started(tmp_path)
    assert state.run_id == r.executor.run_id
    assert state.state == "running"
    assert (state.done, state.of) == (0, 6)
    assert state.bought == 0 and state.target == Decimal("0.6")
    assert state.where == "headless" and state.quote == "USD"
    # The first tranche falls due at once or within its first slot: never later than 30 s.
    left = state.next_in_s(time.time())
    assert left is not None and 0 <= left <= 0.5
    assert [s.run_id for s in await asyncio.to_thread(runs_in_progress, tmp_path)] == [
        r.executor.run_id
    ]
    r.hold.go.set()
    await r.done()
    assert await asyncio.to_thread(runs_in_progress, tmp_path) == []
    assert not state_path(tmp_path, r.executor.run_id).exists()
    assert not lines_path(tmp_path, r.executor.run_id).exists()


async def test_pause_unpause_and_cancel_from_another_thread_act_through_the_files(
    tmp_path: Path,
) -> None:
    r = Running(tmp_path, tranches=40)
    run_id = (await r.started(tmp_path)).run_id
    paused = await asyncio.to_thread(steer, tmp_path, run_id, Command.PAUSE, timeout_s=2)
    assert paused.state is not None and paused.state.state == "paused"
    assert not paused.already
    # A tranche already being priced when the pause came still lands; the pause is
    # journaled once the run holds, after that tranche.
    await r.holding()
    held = r.filled()
    await asyncio.sleep(1.2)  # more than two tranche slots
    assert r.filled() == held  # nothing bought while paused
    again = await asyncio.to_thread(steer, tmp_path, run_id, Command.PAUSE)
    assert again.already
    unpaused = await asyncio.to_thread(steer, tmp_path, run_id, Command.UNPAUSE, timeout_s=2)
    assert unpaused.state is not None and unpaused.state.state == "running"
    deadline = time.monotonic() + WAIT_S
    while r.filled() <= held:  # buying again: a tranche every 0.5 s
        assert time.monotonic() < deadline, "no tranche was bought after the unpause"
        await asyncio.sleep(0.01)
    began = time.monotonic()
    cancelled = await asyncio.to_thread(steer, tmp_path, run_id, Command.CANCEL, timeout_s=2)
    assert time.monotonic() - began < 2
    assert cancelled.state is None
    await r.done()
    assert r.executor.state.value == "cancelled"
    assert r.executor.cancel_reason == "cancelled"
    assert await asyncio.to_thread(runs_in_progress, tmp_path) == []


async def test_the_tranche_lines_follow_the_run(tmp_path: Path) -> None:
    r = Running(tmp_path, tranches=4)
    run_id = (await r.started(tmp_path)).run_id
    seen: list[TrancheLine] = []
    offset = 0
    last_state: RunState | None = None
    while not r.task.done():
        look = await asyncio.to_thread(follow, tmp_path, run_id, offset)
        seen += look.lines
        offset = look.offset
        last_state = look.state or last_state
        await asyncio.sleep(0.05)
    await r.done()
    fills = [e for e in r.memory.events if isinstance(e, TrancheFilled)]
    # Every tranche drawn before the run ended came with its venue and exact numbers.
    assert seen, "no tranche line was seen while the run went on"
    for line in seen:
        event = fills[line.index]
        assert line.venue == event.route.venue
        assert line.total == event.route.total
    assert last_state is not None and last_state.last_venue in {f.route.venue for f in fills}


async def test_steering_a_run_nobody_executes_says_why_and_writes_nothing(
    tmp_path: Path,
) -> None:
    with pytest.raises(NotInProgress, match="no run nope"):
        steer(tmp_path, "nope", Command.PAUSE)
    _, _, finished = await run(tmp_path, plan(tranches=3))
    with pytest.raises(NotInProgress, match=f"run {finished} is finished"):
        steer(tmp_path, finished, Command.CANCEL)
    assert not control_path(tmp_path, finished).exists()


async def test_a_crashed_run_left_its_state_file_but_is_not_in_progress(tmp_path: Path) -> None:
    p = plan(tranches=3)
    parquet = ParquetJournal(tmp_path, source="demo")
    live = LiveRun(tmp_path, where="detached")
    clock = SimClock()
    executor = Executor(p, SimulatedMarket(clock, venues=p.venues), FanOut(parquet, live), clock)
    live.bind(executor)
    executor.pause()  # not running yet: no effect
    # Start it, then "die": the lock goes with the process, the files stay behind.
    task = asyncio.create_task(executor.run())
    await asyncio.sleep(0)
    deadline = time.monotonic() + WAIT_S
    while not state_path(tmp_path, executor.run_id).exists():
        assert time.monotonic() < deadline, "the run never wrote its state file"
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    parquet.close()
    run_id = executor.run_id
    assert state_path(tmp_path, run_id).exists()
    assert in_progress(tmp_path, run_id) is None
    assert runs_in_progress(tmp_path) == []
    with pytest.raises(NotInProgress, match="resume"):
        steer(tmp_path, run_id, Command.CANCEL)
    assert not control_path(tmp_path, run_id).exists()
    await live.aclose()


def test_a_process_that_does_not_answer_is_reported(tmp_path: Path) -> None:
    run_id = "20261202-000000-abcdef"
    lock = FileLock(run_lock(tmp_path, run_id))
    assert lock.acquire()
    try:
        state = _state(run_id)
        state_path(tmp_path, run_id).parent.mkdir(parents=True)
        state_path(tmp_path, run_id).write_text(state.to_json(), encoding="utf-8")
        assert in_progress(tmp_path, run_id) == state
        with pytest.raises(NotAcknowledged, match=r"did not answer within 0\.2 s"):
            steer(tmp_path, run_id, Command.PAUSE, timeout_s=0.2)
        request = read_command(tmp_path, run_id)
        assert request is not None and request.command is Command.PAUSE
        # A cancel taken but not carried out in time (a venue request under way) says so.
        stop = threading.Event()

        def answer() -> None:
            while not stop.is_set():
                request = read_command(tmp_path, run_id)
                if request is not None and request.command is Command.CANCEL:
                    acked = replace(state, acked=request.id)
                    state_path(tmp_path, run_id).write_text(acked.to_json(), encoding="utf-8")
                    return
                time.sleep(0.01)

        helper = threading.Thread(target=answer)
        helper.start()
        try:
            with pytest.raises(NotAcknowledged, match="took the cancel but has not stopped"):
                steer(tmp_path, run_id, Command.CANCEL, timeout_s=0.5)
        finally:
            stop.set()
            helper.join()
    finally:
        lock.release()


def test_the_files_round_trip_and_bad_ones_are_skipped(tmp_path: Path) -> None:
    state = _state("r1")
    assert RunState.from_json(state.to_json()) == state
    sim = RunState.from_json(_state("r2", speed=float("inf")).to_json())
    assert sim.speed == float("inf") and sim.next_in_s(0) == 0.0
    assert _state("r3", state=RunStatus.PAUSED).next_in_s(0) is None
    line = TrancheLine(2, 6, 1.5, Decimal("0.1"), reason="above_max_price")
    assert TrancheLine.from_json(line.to_json()) == line
    run_id = "r1"
    lines_path(tmp_path, run_id).parent.mkdir(parents=True)
    lines_path(tmp_path, run_id).write_text(
        line.to_json() + "\nnot json\n" + line.to_json()[:10], encoding="utf-8"
    )
    got, offset = read_lines(tmp_path, run_id)
    assert got == [line]  # the bad line is skipped; the half-written one waits
    assert offset == len(line.to_json()) + 1 + len("not json\n")
    assert read_lines(tmp_path, "other") == ([], 0)
    state_path(tmp_path, run_id).write_text("{", encoding="utf-8")
    lock = FileLock(run_lock(tmp_path, run_id))
    assert lock.acquire()
    try:
        assert in_progress(tmp_path, run_id) is None
    finally:
        lock.release()
    control_path(tmp_path, run_id).write_text('{"id": 1}', encoding="utf-8")
    assert read_command(tmp_path, run_id) is None
    assert read_command(tmp_path, "other") is None
    assert runs_in_progress(tmp_path / "nothing-here") == []
    # A lines file that got shorter was started again by a resumed run: read from its start.
    look = follow(tmp_path, run_id, offset=10_000)
    assert look.restarted and look.lines == [line]


def _state(run_id: str, **kw: object) -> RunState:
    base: dict[str, object] = {
        "run_id": run_id,
        "pid": 123,
        "where": "detached",
        "state": RunStatus.RUNNING,
        "done": 2,
        "of": 6,
        "filled": 2,
        "skipped": 0,
        "bought": Decimal("0.2"),
        "target": Decimal("0.6"),
        "spent": Decimal("18000.5"),
        "avg_price": Decimal("90000.25"),
        "saved_vs_worst": Decimal("3.5"),
        "quote": "USD",
        "venues": ("kraken", "okx"),
        "mode": "single",
        "next_at": 100.0,
        "speed": 60.0,
        "clock_at": 40.0,
        "wall_at": 10.0,
        "started_at": 5.0,
    }
    base.update(kw)
    return RunState(**base)  # type: ignore[arg-type]


def test_next_tranche_time_counts_down_in_real_seconds() -> None:
    state = _state("r")
    assert state.next_in_s(10.0) == pytest.approx(1.0)  # 60 clock s at 60x
    assert state.next_in_s(10.5) == pytest.approx(0.5)
    assert state.next_in_s(20.0) == 0.0


async def test_skips_are_lines_too(tmp_path: Path) -> None:
    p = plan(tranches=3, max_price="1")
    parquet = ParquetJournal(tmp_path, source="demo")
    live = LiveRun(tmp_path, where="headless")
    memory = MemoryJournal()

    class Keep:
        def __init__(self) -> None:
            self.lines: list[str] = []

        async def record(self, event: object) -> None:
            if isinstance(event, TrancheSkipped):
                path = lines_path(tmp_path, event.run_id)
                self.lines.append(path.read_text(encoding="utf-8"))

    keep = Keep()
    clock = SimClock()
    executor = Executor(
        p, SimulatedMarket(clock, venues=p.venues), FanOut(parquet, live, memory, keep), clock
    )
    live.bind(executor)
    await executor.run()
    parquet.close()
    first = TrancheLine.from_json(keep.lines[0].splitlines()[0])
    assert first.reason == "above_max_price" and first.venue is None
