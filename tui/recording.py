"""Recording the books the dashboard shows to ``market/`` (key m), said in the header.

The recorder itself lives in ``storage.market.recorder`` (the launcher passes a factory
for it, so Polars loads only when recording starts); this module starts and stops it
for the app, keeps the header's subtitle up to date, and says why when it stops on
its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from textual.app import App
from textual.timer import Timer

from exchanges.market import MarketData

log = logging.getLogger(__name__)

# How long stopping waits for the recorder's last books to be written, seconds.
STOP_WAIT_S = 10.0


class Recording(Protocol):
    """A market recorder the dashboard can run (``storage.market.recorder.Recorder``)."""

    @property
    def stats(self) -> RecordingStats: ...

    def stop(self) -> None: ...

    async def run(self, duration_s: float | None = None) -> object: ...


class RecordingStats(Protocol):
    """What the header shows of a recording."""

    snapshots: int
    bytes: int
    live: tuple[str, ...]


# Builds a recorder for the market the dashboard shows (Polars loads only then).
RecorderFactory = Callable[[MarketData], Recording]


class MarketRecording:
    """Records ``market()`` (the market shown now) with recorders from ``factory``."""

    def __init__(
        self,
        app: App[Any],
        factory: RecorderFactory | None,
        market: Callable[[], MarketData],
    ) -> None:
        self.app = app
        self.factory = factory
        self.market = market
        # The recorder running now (None: not recording).
        self.recorder: Recording | None = None
        # A plain task, not a worker: closing the app awaits it (its last books get written)
        # instead of cancelling it.
        self._task: asyncio.Task[object] | None = None
        self._timer: Timer | None = None

    async def toggle(self) -> None:
        """Start or stop recording every venue's book to market/ (shown in the header)."""
        app = self.app
        if self.recorder is not None:
            stats = self.recorder.stats
            await self.stop()
            app.notify(f"Recorded {stats.snapshots:,} book snapshots", title="Recording stopped")
            return
        if self.factory is None:
            app.notify("Recording needs the data dir (not in this session)", severity="warning")
            return
        self.recorder = self.factory(self.market())
        self._task = asyncio.create_task(self.recorder.run(), name="market-recorder")
        self._task.add_done_callback(self._ended)
        self._timer = app.set_interval(1.0, self._show)
        self._show()
        app.notify("Every venue's book goes to market/ (m stops)", title="Recording")

    def _ended(self, task: asyncio.Task[object]) -> None:
        """A recording that stopped on its own (it cannot write): say why, clear the header."""
        if task is not self._task or task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        log.error("market recording stopped: %s", error)
        self.recorder = self._task = None
        self._clear()
        self.app.notify(f"{error}", title="Recording stopped", severity="error")

    def _show(self) -> None:
        """The header's subtitle says what is being recorded."""
        if self.recorder is None:
            return
        stats = self.recorder.stats
        self.app.sub_title = (
            f"● recording {len(stats.live) or len(self.market().specs)} venues: "
            f"{stats.snapshots:,} snapshots"
        )

    def _clear(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.app.sub_title = self.app.SUB_TITLE or ""

    async def stop(self) -> None:
        """End the recording, waiting for its last snapshots to be written."""
        recorder, task = self.recorder, self._task
        self.recorder = self._task = None
        self._clear()
        if recorder is None or task is None:
            return
        recorder.stop()
        try:
            await asyncio.wait_for(task, timeout=STOP_WAIT_S)
        except Exception:
            log.exception("the market recorder failed")
