"""The run session with the real parts attached: the Parquet history, the run's live files
(other processes see and steer it) and its alerts to a local server; one lifecycle for the
command line, the dashboard, background runs and backtests."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import pytest

from dca.events import Event, RunStarted, TrancheFilled
from dca.execution import Executed, Execution, ExecutionResult
from dca.journal import MemoryJournal
from dca.orders import OrderRecord, OrderState
from dca.routing import Route
from dca.session import RunSession, StillRunning
from dca.status import RunStatus
from exchanges.clock import SimClock
from exchanges.errors import VenueError
from exchanges.simulated import SimulatedMarket
from storage.alerts.config import NotifyConfig
from storage.history.journal import ParquetJournal, RunConflict
from storage.history.queries import History
from storage.runs.attach import attach
from storage.runs.control import RunState, in_progress, live_dir
from tests.storage.alerts.alert_server import AlertServer
from tests.storage.helpers import Crash, plan


class Look:
    """A view that looks at the run from outside (as ``btc-dca status`` does) at tranche 2."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.seen: RunState | None = None

    async def record(self, event: Event) -> None:
        if isinstance(event, TrancheFilled) and event.index == 1:
            self.seen = await asyncio.to_thread(in_progress, self.data_dir, event.run_id)


class ByOrder:
    """The other side of the execution seam: each tranche bought by an order (filled)."""

    live = True
    left_out: Mapping[str, VenueError] = MappingProxyType({})  # no venue refused

    async def execute(self, run_id: str, index: int, route: Route) -> ExecutionResult:
        leg = route.legs[0]
        order = OrderRecord(
            leg.venue, f"c{index}", f"v{index}", OrderState.FILLED, leg.qty, leg.worst_price
        )
        return Executed(route, (order,), decision=route)


def _session(
    tmp_path: Path,
    url: str,
    *views: object,
    tranches: int = 4,
    execution: Execution | None = None,
) -> tuple[RunSession, ParquetJournal]:
    p = plan(amount="0.4", tranches=tranches)
    clock = SimClock()
    market = SimulatedMarket(clock, venues=p.venues)
    history = ParquetJournal(tmp_path, source="demo")
    attached = attach(tmp_path, NotifyConfig((url,)), market, where="headless")
    session = RunSession(
        p,
        market,
        clock,
        history=history,
        live=attached.live,
        alerts=attached.alerts,
        views=list(views),  # type: ignore[arg-type]
        execution=execution,
    )
    return session, history


@pytest.mark.parametrize("execution", [None, ByOrder()], ids=["paper", "orders"])
async def test_a_run_is_recorded_seen_from_outside_while_it_runs_and_alerted_when_it_ends(
    tmp_path: Path, execution: Execution | None
) -> None:
    look, shown = Look(tmp_path), MemoryJournal()
    with AlertServer() as srv:
        session, history = _session(tmp_path, srv.url, look, shown, execution=execution)
        before = session.state
        assert before is RunStatus.PENDING and session.active
        summary = await session.run()
        history.close()
    assert session.state is RunStatus.FINISHED and not session.active
    assert summary.qty == session.summary.qty == plan(amount="0.4").amount
    # The views got every event, after the history had it (a fill is durable when shown).
    assert isinstance(shown.events[0], RunStarted) and shown.events[0].run_id == session.run_id
    # Each tranche was carried out by the execution given (paper when none).
    fills = [e for e in shown.events if isinstance(e, TrancheFilled)]
    assert len(fills) == 4
    by_order = execution is not None
    assert [(f.live, len(f.orders)) for f in fills] == [(by_order, int(by_order))] * 4
    row = History(tmp_path).run(session.run_id)
    assert row is not None and row["status"] == "finished"
    # While it ran, another process saw it in progress, bound to this executor.
    assert look.seen is not None
    assert (look.seen.run_id, look.seen.where, look.seen.state) == (
        session.run_id,
        "headless",
        RunStatus.RUNNING,
    )
    assert look.seen.done == 2 and look.seen.of == 4
    # At its end its live files are gone and its alert went out.
    assert in_progress(tmp_path, session.run_id) is None
    assert not [p for p in live_dir(tmp_path).iterdir() if session.run_id in p.name]
    assert [a["title"] for a in srv.received] == [f"btc-dca: run {session.run_id} finished"]


class CrashAtSecondFill:
    """A view whose write fails at tranche 2 (a full disk): the run cannot go on."""

    async def record(self, event: Event) -> None:
        if isinstance(event, TrancheFilled) and event.index == 1:
            raise Crash("disk full")


async def test_a_run_that_fails_is_marked_failed_alerted_and_the_error_reaches_the_caller(
    tmp_path: Path,
) -> None:
    with AlertServer() as srv:
        session, history = _session(tmp_path, srv.url, CrashAtSecondFill())
        with pytest.raises(Crash, match="disk full"):
            await session.run()
        history.close()
    row = History(tmp_path).run(session.run_id)
    assert row is not None
    assert (row["status"], row["detail"]) == ("failed", "disk full")
    [alert] = srv.received
    assert alert["title"] == f"btc-dca: run {session.run_id} failed"
    assert alert["message"].startswith("Failed: disk full. Bought 0.20 of 0.40 BTC")
    assert in_progress(tmp_path, session.run_id) is None


async def test_a_run_another_process_has_is_refused_and_nothing_is_marked_or_alerted(
    tmp_path: Path,
) -> None:
    class Held:
        async def record(self, event: Event) -> None:
            if isinstance(event, RunStarted):
                raise RunConflict(f"run {event.run_id} is being executed by another process")

    p = plan(amount="0.4", tranches=4)
    clock = SimClock()
    market = SimulatedMarket(clock, venues=p.venues)
    shown = MemoryJournal()
    with AlertServer() as srv:
        attached = attach(tmp_path, NotifyConfig((srv.url,)), market, where="headless")
        session = RunSession(
            p, market, clock, history=Held(), alerts=attached.alerts, views=[shown]
        )
        with pytest.raises(RunConflict, match="another process"):
            await session.run()
    assert srv.received == [] and shown.events == []
    assert History(tmp_path).run(session.run_id) is None


async def test_handing_over_stops_the_run_here_resumable_then_starts_the_other(
    tmp_path: Path,
) -> None:
    handed: list[tuple[str, RunState | None, object]] = []
    session: RunSession

    def start(run_id: str) -> str:
        # Called in a thread once the run has ended here: its lock is free for the other.
        row = History(tmp_path).run(run_id)
        handed.append((run_id, in_progress(tmp_path, run_id), row and row["status"]))
        return f"pid of {run_id}"

    class HandOverAtSecondFill:
        def __init__(self) -> None:
            self.task: asyncio.Task[str] | None = None

        async def record(self, event: Event) -> None:
            if isinstance(event, TrancheFilled) and event.index == 1:
                self.task = asyncio.create_task(session.hand_over(start, wait_s=5))

    view = HandOverAtSecondFill()
    with AlertServer() as srv:
        session, history = _session(tmp_path, srv.url, view, tranches=8)
        summary = await session.run()
        assert view.task is not None
        assert await view.task == f"pid of {session.run_id}"
        history.close()
    assert session.state is RunStatus.INTERRUPTED
    assert summary.filled == 2
    assert handed == [(session.run_id, None, "interrupted")]
    assert srv.received == []  # an interruption alerts no one: the run goes on elsewhere


async def test_a_hand_over_that_cannot_stop_the_run_in_time_says_so_and_starts_nothing(
    tmp_path: Path,
) -> None:
    release, writing = asyncio.Event(), asyncio.Event()
    started: list[str] = []

    class SlowWrite:
        async def record(self, event: Event) -> None:
            if isinstance(event, TrancheFilled) and event.index == 0:
                writing.set()
                await release.wait()  # the tranche's write takes its time

    session, history = _session(tmp_path, "json://127.0.0.1:9/", SlowWrite(), tranches=8)
    task = asyncio.create_task(session.run())
    await asyncio.wait_for(writing.wait(), 5)
    with pytest.raises(StillRunning, match=f"run {session.run_id} did not stop within 0.05 s"):
        await session.hand_over(started.append, wait_s=0.05)
    assert started == []
    release.set()
    await task
    history.close()
    assert session.state is RunStatus.INTERRUPTED
