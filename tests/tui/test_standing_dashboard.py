"""A standing plan started from the command line, seen from the dashboard at 80x24: its
buys, what it bought and its next buy in its own zone, paused, resumed and cancelled from
here like any background run."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

from dca.journal import FanOut
from dca.plan import StandingInput, build_plan
from dca.standing import StandingExecutor
from dca.status import RunStatus
from exchanges.clock import ScaledClock
from exchanges.simulated import SimulatedMarket
from exchanges.venues import DEFAULT_SPECS
from storage.history.journal import ParquetJournal
from storage.runs.control import LiveRun, in_progress
from tests.tui.helpers import WAIT_S, confirm, make_app, wait_for
from tui.elsewhere import Elsewhere
from tui.widgets.plan_form import FormDefaults
from tui.widgets.run_panel import RunPanel
from tui.widgets.tranche_table import TrancheTable

DEMO = FormDefaults(amount="0.5", duration="6h", tranches="6")
OTHER_PID = 4_000_002


async def test_a_standing_plan_elsewhere_shows_its_next_buy_and_is_steered_from_here(
    tmp_path: Path,
) -> None:
    # 50 USD every minute, Paris time, on a clock 120x faster than life: a buy every 0.5 s.
    p = build_plan(
        spend="50",
        venues=["kraken", "okx"],
        specs=DEFAULT_SPECS,
        schedule=StandingInput(every="1m", tz="Europe/Paris", now=time.time()),
    )
    clock = ScaledClock(120.0)
    parquet = ParquetJournal(tmp_path, source="demo")
    live = LiveRun(tmp_path, where="detached", pid=OTHER_PID, poll_s=0.05)
    executor = StandingExecutor(
        p, SimulatedMarket(clock, venues=p.venues), FanOut(parquet, live), clock
    )
    live.bind(executor)
    task = asyncio.create_task(executor.run())
    app = make_app(tmp_path, elsewhere=Elsewhere(tmp_path), defaults=DEMO)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while await asyncio.to_thread(in_progress, tmp_path, executor.run_id) is None:
            assert loop.time() < deadline
            await asyncio.sleep(0.01)
        async with app.run_test(size=(80, 24)) as pilot:
            main = app.main
            await wait_for(pilot, lambda: app.following == executor.run_id)
            await wait_for(pilot, lambda: bool(main.query(TrancheTable)))
            table = main.query_one(TrancheTable)
            await wait_for(pilot, lambda: table.row_count >= 2)
            panel = main.query_one(RunPanel)

            def line() -> str:
                return str(panel.query_one("#run-status").render())

            # "RUNNING pid 4000002  3 bought  next 09:23 CET  in 0:00", beside the buttons.
            pattern = rf"^RUNNING pid {OTHER_PID}  \d+ bought  next \d\d:\d\d CES?T  in \d:\d\d$"
            await wait_for(pilot, lambda: re.match(pattern, line()) is not None)
            summary = str(panel.query_one("#summary").render())
            assert summary.startswith("bought ") and " BTC, every 1m  spent " in summary
            assert not panel.query_one("#progress").display  # no end to show progress towards
            # Its buys are numbered #1, #2 ... (no count to reach).
            first = table.get_row_at(0)
            assert str(first[1]) == "#1"

            # At 80x24 the form is folded away and nothing may hold the focus; a field that
            # does is left first (in it, p would be typed).
            if app.focused is not None:
                await pilot.press("escape")
            await wait_for(pilot, lambda: app.focused is None)
            await pilot.press("p")
            await wait_for(pilot, lambda: executor.state is RunStatus.PAUSED)
            await wait_for(pilot, lambda: line().startswith(f"PAUSED pid {OTHER_PID}  "))
            await pilot.press("p")
            await wait_for(pilot, lambda: executor.state is RunStatus.RUNNING)
            await pilot.click("#cancel")
            await confirm(pilot)
            await wait_for(pilot, lambda: task.done())
            await wait_for(pilot, lambda: main.run_state == "cancelled")
            assert executor.state is RunStatus.CANCELLED
            await pilot.press("q")
    finally:
        if not task.done():
            executor.cancel()
        await asyncio.wait_for(task, 20)
        await live.aclose()
        parquet.close()
