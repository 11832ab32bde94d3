"""A progress line for long replays on a terminal: days replayed, tranches, rate, time left.

Drawn on stderr, in place (``\\r`` and erase to the end of the line), once the work has
run ``delay`` seconds, and redrawn at most ``interval`` apart. Lines the run prints go
above it: ``Narrated`` erases the bar before a line is printed and draws it again after,
so the bar always sits at the bottom. The command draws it only when both stdout and
stderr are terminals and the output is not ``--json``: piped or machine-read output gets
nothing extra.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import TextIO

from dca.events import Event, RunCancelled, RunFinished, RunStarted, TrancheFilled, TrancheSkipped
from dca.journal import Journal

DAY = 86400.0
_FULL, _EMPTY = "█", "░"


def _duration(seconds: float) -> str:
    """``0:07``, ``12:40``, ``1:02:03``."""
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class Progress:
    """The state of one replay and its progress line (``line``), drawn on ``stream``."""

    def __init__(
        self,
        stream: TextIO,
        start: float,
        end: float,
        *,
        label: str = "Replaying",
        delay: float = 1.0,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        columns: Callable[[], int] | None = None,
    ) -> None:
        self.stream = stream
        self.start = start
        self.end = end
        self.label = label
        self.delay = delay
        self.interval = interval
        self.clock = clock
        self.columns = columns or (lambda: shutil.get_terminal_size((80, 24)).columns)
        self.began = clock()
        self.done = 0
        self.of = 0
        self.at = start
        self.shown = False
        self._drawn_at = float("-inf")
        self._text = ""

    def see(self, event: Event) -> None:
        """Count ``event``: a new run restarts the count, a tranche moves it on."""
        if isinstance(event, RunStarted):
            self.began = self.clock()
            self.done, self.of, self.at = 0, event.plan.tranches, self.start
        elif isinstance(event, TrancheFilled | TrancheSkipped):
            self.done, self.of, self.at = event.index + 1, event.of, event.at

    def line(self, width: int) -> str:
        """The progress line, at most ``width`` characters (the bar shrinks, then goes)."""
        elapsed = max(self.clock() - self.began, 1e-9)
        rate = self.done / elapsed
        total_days = (self.end - self.start) / DAY
        days = min(max(self.at - self.start, 0.0) / DAY, total_days)
        left = (self.of - self.done) / rate if rate > 0 else None
        figures = (
            f"{days:,.1f}/{total_days:,.1f} days  {self.done:,}/{self.of:,} tranches  "
            f"{rate:,.0f}/s  ETA {_duration(left) if left is not None else '?'}"
        )
        share = self.done / self.of if self.of else 0.0
        tail = f" {share:4.0%}  {figures}"
        room = min(width - len(self.label) - 1 - len(tail), 40)
        if room >= 10:
            full = round(share * room)
            return f"{self.label} {_FULL * full}{_EMPTY * (room - full)}{tail}"
        return f"{self.label} {share:.0%}  {figures}"[:width]

    def tick(self, *, now: bool = False) -> None:
        """Draw the line if the work has run ``delay`` s and the last draw is ``interval``
        old (``now``: draw at once, as it was, after a printed line)."""
        t = self.clock()
        if t - self.began < self.delay:
            return
        if t - self._drawn_at >= self.interval:
            self._text = self.line(max(self.columns() - 1, 20))
            self._drawn_at = t
        elif not now:
            return
        self.stream.write(f"\r{self._text}\x1b[K")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        """Erase the line (before something else is printed, and at the end)."""
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


class Narrated:
    """A journal that passes events to ``inner`` (the printer) under a progress line."""

    def __init__(self, inner: Journal | None, progress: Progress) -> None:
        self.inner = inner
        self.progress = progress

    async def record(self, event: Event) -> None:
        """Erase the line, let ``inner`` print, count the event, draw the line again (not
        after the run's last event: what follows it is printed without a line under it)."""
        shown = self.progress.shown
        if self.inner is not None or isinstance(event, RunFinished | RunCancelled):
            self.progress.clear()
        if self.inner is not None:
            await self.inner.record(event)
        if isinstance(event, RunFinished | RunCancelled):
            return
        self.progress.see(event)
        self.progress.tick(now=shown)
