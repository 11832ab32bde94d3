"""The dashboard and runs in other processes: it shows them live, steers them, starts
runs in the background and hands its own run over to one when quitting."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from dca.execution import Execution, PaperExecution
from dca.executor import Executor
from dca.journal import FanOut, Journal
from dca.plan import Plan
from dca.status import RunStatus
from exchanges.clock import ScaledClock
from exchanges.simulated import SimulatedMarket
from storage.history.journal import ParquetJournal
from storage.runs.control import LiveRun, in_progress, runs_in_progress
from tests.storage.helpers import plan
from tests.tui.helpers import WAIT_S, confirm, leave_field, make_app, messages, wait_for
from tui import following as following_module
from tui.cli import detach
from tui.cli import status as status_cmd
from tui.elsewhere import Elsewhere, Started
from tui.screens.quit import QuitScreen
from tui.widgets.plan_form import FormDefaults
from tui.widgets.run_panel import RunPanel
from tui.widgets.tranche_table import TrancheTable
from tui.widgets.venue_panel import VenuePanel
from tui.wiring import Options

DEMO = FormDefaults(amount="0.5", duration="6h", tranches="6")
OTHER_PID = 4_000_001  # a pid that is not this process's: the run "executes elsewhere"


class OtherProcess:
    """A run executed beside the app as another process would: Parquet journal (its lock)
    and live files under another pid, on a clock 120x faster than life."""

    def __init__(self, data_dir: Path, p: Plan, execution: Execution | None = None) -> None:
        clock = ScaledClock(120.0)
        self.data_dir = data_dir
        self.parquet = ParquetJournal(data_dir, source="demo")
        self.live = LiveRun(data_dir, where="detached", pid=OTHER_PID, poll_s=0.05)
        journals: list[Journal] = [self.parquet, self.live]
        market = SimulatedMarket(clock, venues=p.venues)
        self.executor = Executor(p, market, FanOut(*journals), clock, execution=execution)
        self.live.bind(self.executor)
        self.task = asyncio.create_task(self.executor.run())

    async def started(self) -> None:
        """Wait until the run shows as in progress (its lock held, its state file written)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        run_id = self.executor.run_id
        while await asyncio.to_thread(in_progress, self.data_dir, run_id) is None:
            assert loop.time() < deadline, "the run never showed as in progress"
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if not self.task.done():
            self.executor.cancel()
        await asyncio.wait_for(self.task, 20)
        await self.live.aclose()
        self.parquet.close()


class _RealOrders(PaperExecution):
    """Paper fills reported as real orders: what the other process says it is."""

    live = True


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_a_run_with_real_orders_in_another_process_is_marked_live(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    other = OtherProcess(tmp_path, plan(amount="0.4", tranches=40, duration="40m"), _RealOrders())
    app = make_app(tmp_path, elsewhere=Elsewhere(tmp_path), defaults=DEMO)
    try:
        async with app.run_test(size=size) as pilot:
            main = app.main
            await wait_for(pilot, lambda: app.following == other.executor.run_id)
            await wait_for(pilot, lambda: main.live_run)
            status = str(main.query_one(RunPanel).query_one("#run-status").render())
            assert status.startswith("LIVE RUNNING pid")
            assert "LIVE" in str(main.query_one(RunPanel).border_title)
            assert "LIVE: REAL ORDERS" in app.title
            await wait_for(pilot, lambda: main.run_state == "running")
            other.executor.cancel()
            await wait_for(pilot, lambda: main.run_state == "cancelled")
            assert "LIVE" not in app.title  # the header's mark ends with the run
    finally:
        await other.stop()


async def test_a_run_in_another_process_shows_live_and_obeys_pause_resume_cancel(
    tmp_path: Path,
) -> None:
    other = OtherProcess(tmp_path, plan(amount="0.4", tranches=40, duration="40m"))
    # A complete plan in the form: the focus is on Start, so p and c reach the screen.
    app = make_app(tmp_path, elsewhere=Elsewhere(tmp_path), defaults=DEMO)
    try:
        async with app.run_test(size=(130, 42)) as pilot:
            main = app.main
            await wait_for(pilot, lambda: app.following == other.executor.run_id)
            await wait_for(pilot, lambda: bool(main.query(TrancheTable)))
            table = main.query_one(TrancheTable)
            await wait_for(pilot, lambda: table.row_count >= 2)
            assert main.run_state == "running"
            status = str(main.query_one(RunPanel).query_one("#run-status").render())
            assert status.startswith(f"RUNNING pid {OTHER_PID} (detached)  ")
            assert any(m.startswith("Run in progress elsewhere: Run ") for m in messages(app))
            # The venue that took the latest tranche lights up, as for a run of this process.
            # (No run ever ran in this dashboard: a fill shown came from the other process.)
            assert any(p.fill is not None for p in main.query(VenuePanel))

            await leave_field(pilot)

            await pilot.press("p")
            await wait_for(pilot, lambda: other.executor.state is RunStatus.PAUSED)
            await wait_for(pilot, lambda: main.run_state == "paused")
            # The same paused run, the same count as `btc-dca status`: tranches done of all.
            [state] = runs_in_progress(tmp_path)
            status_table = status_cmd.status_table([state], 0.0)

            def line() -> str:
                return str(main.query_one(RunPanel).query_one("#run-status").render())

            await wait_for(pilot, lambda: f"{state.done}/{state.of} done" in line())
            assert f" {state.done}/{state.of} " in status_table.splitlines()[2]
            assert status_table.splitlines()[0].split()[4] == "done"
            await pilot.press("p")
            await wait_for(pilot, lambda: other.executor.state is RunStatus.RUNNING)
            await wait_for(pilot, lambda: main.run_state == "running")
            await pilot.click("#cancel")
            await confirm(pilot)
            await wait_for(pilot, lambda: other.task.done())
            await wait_for(pilot, lambda: main.run_state == "cancelled")
            assert app.following is None
            assert any("Run in another process: Run " in m for m in messages(app))
            # The app itself runs nothing: q quits at once, no dialog.
            await pilot.press("q")
    finally:
        await other.stop()


async def test_steering_a_run_that_ended_meanwhile_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The dashboard looks once when it starts, then not again on its own: the run can end
    # unseen, as between two looks. (Looking every second, it could notice the end while
    # the run stops and then have nothing to steer.)
    monkeypatch.setattr(following_module, "ELSEWHERE_S", 3600.0)
    other = OtherProcess(tmp_path, plan(amount="0.4", tranches=40, duration="40m"))
    await other.started()  # in progress before that one look
    app = make_app(tmp_path, elsewhere=Elsewhere(tmp_path))
    async with app.run_test(size=(130, 42)) as pilot:
        await wait_for(pilot, lambda: app.following == other.executor.run_id)
        await other.stop()  # it ends in its process before the dashboard looks again
        app.action_cancel_run()
        await confirm(pilot)
        await wait_for(pilot, lambda: any(m.startswith("Could not cancel") for m in messages(app)))
        # The why: the run is named and said to be no longer in progress.
        (note,) = [m for m in messages(app) if m.startswith("Could not cancel")]
        assert note.startswith(f"Could not cancel: run {other.executor.run_id} is ")
        assert "not in progress" in note


@pytest.fixture
def background(tmp_path: Path) -> Iterator[tuple[Elsewhere, Path]]:
    """The launcher's real way to start background runs (demo market), over ``tmp_path``."""
    data, config, logs = tmp_path / "data", tmp_path / "config.toml", tmp_path / "logs"
    # 10 s a tranche: a 6-tranche plan is still going when the test steers it.
    options = Options(demo=True, speed=360.0)

    def start(p: Plan) -> Started:
        d = detach.detach_plan(p, options, data, config, logs)
        return Started(d.run_id, d.pid)

    def hand_over(run_id: str) -> Started:
        d = detach.hand_over(run_id, options, data, config, logs)
        return Started(d.run_id, d.pid, d.log_file)

    yield Elsewhere(data, start, hand_over), data
    for state in runs_in_progress(data):
        os.kill(state.pid, signal.SIGTERM)
    detach.reap()


async def test_b_starts_the_plan_in_a_background_process_and_shows_it(
    tmp_path: Path, background: tuple[Elsewhere, Path]
) -> None:
    elsewhere, data = background
    app = make_app(tmp_path, elsewhere=elsewhere, defaults=DEMO)
    async with app.run_test(size=(130, 42)) as pilot:
        await leave_field(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: app.following is not None)
        [state] = runs_in_progress(data)
        assert state.run_id == app.following and state.pid != os.getpid()
        assert state.where == "detached" and state.of == 6
        await wait_for(pilot, lambda: app.main.run_state == "running")
        assert app.executor is None  # nothing runs in the dashboard's own process
        await pilot.press("c")
        await confirm(pilot)
        await wait_for(pilot, lambda: app.main.run_state == "cancelled")
    assert runs_in_progress(data) == []


async def test_quitting_while_a_background_run_is_shown_says_where_it_goes_on(
    tmp_path: Path, background: tuple[Elsewhere, Path]
) -> None:
    elsewhere, data = background
    app = make_app(tmp_path, elsewhere=elsewhere, defaults=DEMO)
    async with app.run_test(size=(130, 42)) as pilot:
        await leave_field(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: app.main.run_state == "running")
        run_id = app.following
        await pilot.press("q")  # nothing runs in this process: no question, it quits
        await wait_for(pilot, lambda: not app.is_running)
    assert [s.run_id for s in runs_in_progress(data)] == [run_id]
    assert app.farewell == (
        f"Run {run_id} goes on in another process: btc-dca status shows it, "
        f"btc-dca pause|unpause|cancel {run_id} steers it."
    )


async def test_quitting_during_a_run_can_keep_it_running_in_the_background(
    tmp_path: Path, background: tuple[Elsewhere, Path]
) -> None:
    elsewhere, data = background
    # 10 s a tranche here: the run is still going when the quit dialog is answered.
    clock = ScaledClock(360.0)
    market = SimulatedMarket(clock, seed=7)
    app = make_app(
        tmp_path,
        elsewhere=elsewhere,
        defaults=DEMO,
        clock=None,
        journal_factory=lambda: ParquetJournal(data, source="demo", speed=3600.0),
    )
    app.market, app.clock = market, clock
    async with app.run_test(size=(130, 42)) as pilot:
        await leave_field(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.executor is not None)
        assert app.executor is not None
        run_id = app.executor.run_id
        await wait_for(pilot, lambda: [s.where for s in runs_in_progress(data)] == ["dashboard"])
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen))
        await pilot.click("#background")
        await wait_for(pilot, lambda: not app.is_running)
    [state] = runs_in_progress(data)
    assert (state.run_id, state.where) == (run_id, "detached")
    assert state.pid != os.getpid()
    # The terminal, once the dashboard is gone: where the run went and how to reach it.
    assert app.farewell.splitlines() == [
        f"Run {run_id} keeps running in the background (pid {state.pid}); it goes on after "
        "this terminal closes.",
        "  see it:    btc-dca status",
        f"  steer it:  btc-dca pause|unpause|cancel {run_id}",
        f"  its output: {tmp_path / 'logs' / f'run-{run_id}.log'}",
    ]


async def test_without_a_launcher_background_runs_are_not_offered(tmp_path: Path) -> None:
    app = make_app(tmp_path, defaults=DEMO)
    async with app.run_test(size=(130, 42)) as pilot:
        await leave_field(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: any("Run in background" in m for m in messages(app)))
        assert "cannot start background processes" in messages(app)[-1]


async def test_one_action_one_toast_for_a_background_run(
    tmp_path: Path, background: tuple[Elsewhere, Path]
) -> None:
    # b: one toast says where the run went (not a second one saying it is in progress
    # elsewhere); c, y: one toast says it was cancelled (not a second when it is seen ended).
    elsewhere, data = background
    app = make_app(tmp_path, elsewhere=elsewhere, defaults=DEMO)
    async with app.run_test(size=(130, 42)) as pilot:
        await leave_field(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: app.main.run_state == "running")
        run_id = app.following
        assert run_id is not None
        await pilot.pause(0.5)
        started = [m for m in messages(app) if run_id in m]
        assert len(started) == 1, started
        assert started[0].startswith(f"Run in background: Run {run_id} runs in process ")
        await pilot.press("c")
        await confirm(pilot)
        await wait_for(pilot, lambda: app.main.run_state == "cancelled")
        await pilot.pause(0.5)
        ended = [m for m in messages(app) if run_id in m and "cancel" in m]
        assert ended == [f"Run in another process: Run {run_id} cancelled"]
    assert runs_in_progress(data) == []
