"""Shared pieces of the dashboard tests: a clock the test steps by hand, waiting helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from exchanges.clock import SimClock
from exchanges.simulated import Fault, SimulatedMarket
from tui.app import DcaApp
from tui.widgets.plan_form import FormDefaults

START = 1_767_225_600.0  # 2026-01-01T00:00Z


class SteppedClock(SimClock):
    """A SimClock whose sleeps wait for the test to ``step()``: the run advances on demand."""

    def __init__(self, start: float = START) -> None:
        super().__init__(start)
        self._steps = asyncio.Semaphore(0)
        self.sleepers = 0

    def step(self, n: int = 1) -> None:
        """Let ``n`` sleeps through."""
        for _ in range(n):
            self._steps.release()

    async def sleep(self, seconds: float) -> None:
        """Wait for a step, then jump."""
        self.sleepers += 1
        try:
            await self._steps.acquire()
        finally:
            self.sleepers -= 1
        await super().sleep(seconds)

    @property
    def idle(self) -> bool:
        """Whether every step was taken and a sleeper waits for the next (the run is still)."""
        return self._steps._value == 0 and self.sleepers > 0


# Generous on purpose: a loaded CI machine runs a day-long plan slowly; a passing test never waits.
WAIT_S = 60.0


async def wait_for(pilot: Pilot[Any], done: Callable[[], bool], limit_s: float = WAIT_S) -> None:
    """Let the app run until ``done()`` (fail after ``limit_s`` real seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not done():
        assert loop.time() < deadline, "timed out waiting for the app"
        await pilot.pause(0.01)


class RecordingApp(DcaApp):
    """The dashboard, remembering every notification it raised.

    Textual shows a notification a message later and drops it after its timeout (5 s),
    so a test reading the toasts races both; this list is written when ``notify`` is called.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notes: list[str] = []

    def notify(self, message: str, *, title: str = "", **kwargs: Any) -> None:
        """Remember, then show as usual."""
        self.notes.append(f"{title}: {message}")
        super().notify(message, title=title, **kwargs)


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until the screen is drawn whole: the footer shows its keys, nothing left to paint.

    The footer fills itself in after a refresh (and again when the focus changes the
    bindings), so a screenshot taken on a busy machine could catch it empty.
    """
    app = pilot.app
    await wait_for(pilot, lambda: bool(app.screen.query("FooterKey")))
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()
    await wait_for(pilot, lambda: bool(app.screen.query("FooterKey")))


async def leave_field(pilot: Pilot[Any]) -> None:
    """Wait for the start's focus on the first field, then leave it with escape (as a user
    does before pressing the run keys: in the field they would be typed)."""
    app = pilot.app
    await wait_for(pilot, lambda: app.focused is not None)
    await pilot.press("escape")
    await wait_for(pilot, lambda: app.focused is None)


async def confirm(pilot: Pilot[Any]) -> None:
    """Answer yes to the confirmation an irreversible action asks for (cancelling a run)."""
    from tui.screens.confirm import ConfirmScreen

    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
    await pilot.press("y")
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, ConfirmScreen))


def make_app(
    tmp_path: Path,
    *,
    clock: SimClock | None = None,
    faults: Sequence[Fault] = (),
    defaults: FormDefaults | None = None,
    **kwargs: Any,
) -> RecordingApp:
    """The dashboard over the simulated market on a virtual clock."""
    clock = clock or SimClock(START)
    market = SimulatedMarket(clock, faults=faults, seed=7)
    return RecordingApp(
        market,
        clock,
        defaults=defaults or FormDefaults(),
        cursor_blink=False,
        **{"export_dir": tmp_path, **kwargs},
    )


def messages(app: DcaApp) -> list[str]:
    """Every notification raised so far (title: message), expired or not."""
    assert isinstance(app, RecordingApp)
    return list(app.notes)
