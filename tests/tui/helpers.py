"""Shared pieces of the dashboard tests: a clock the test steps by hand, waiting helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from exchanges.clock import SimClock
from exchanges.simulated import Fault, SimulatedMarket
from tui.app import DcaApp, build_app
from tui.widgets.plan_form import FormDefaults

START = 1_767_225_600.0  # 2026-01-01T00:00Z


class SteppedClock(SimClock):
    """A SimClock whose sleeps wait for the test to ``step()``: the run advances on demand."""

    def __init__(self, start: float = START) -> None:
        super().__init__(start)
        self._steps = asyncio.Semaphore(0)

    def step(self, n: int = 1) -> None:
        """Let ``n`` sleeps through."""
        for _ in range(n):
            self._steps.release()

    async def sleep(self, seconds: float) -> None:
        """Wait for a step, then jump."""
        await self._steps.acquire()
        await super().sleep(seconds)


async def wait_for(pilot: Pilot[Any], done: Callable[[], bool], limit_s: float = 10.0) -> None:
    """Let the app run until ``done()`` (fail after ``limit_s`` real seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not done():
        assert loop.time() < deadline, "timed out waiting for the app"
        await pilot.pause(0.01)


def make_app(
    tmp_path: Path,
    *,
    clock: SimClock | None = None,
    faults: Sequence[Fault] = (),
    defaults: FormDefaults | None = None,
    **kwargs: Any,
) -> DcaApp:
    """The dashboard over the simulated market on a virtual clock."""
    clock = clock or SimClock(START)
    market = SimulatedMarket(clock, faults=faults, seed=7)
    return build_app(
        market,
        clock,
        defaults=defaults or FormDefaults(),
        export_dir=tmp_path,
        cursor_blink=False,
        **kwargs,
    )


def messages(app: DcaApp) -> list[str]:
    """The notifications shown so far (title: message)."""
    return [f"{n.title}: {n.message}" for n in app._notifications]
