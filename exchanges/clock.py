"""Clocks: the one thing every time-dependent part takes instead of calling time.time().

``now()`` is epoch seconds. A ``SimClock`` makes a day-long plan run in
milliseconds; a ``ScaledClock`` runs the demo ``speed`` times faster than life.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Where time comes from."""

    def now(self) -> float:
        """Current time, epoch seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...

    @property
    def speed(self) -> float:
        """Clock seconds per real second (inf for a simulated clock)."""
        ...


class RealClock:
    """Wall-clock time."""

    speed = 1.0

    def now(self) -> float:
        """Current time, epoch seconds."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of real time."""
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Time that runs ``speed`` times faster than the wall clock, from ``start``."""

    def __init__(self, speed: float, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = speed
        self._origin_real = time.monotonic()
        self._origin = time.time() if start is None else start

    def now(self) -> float:
        """Current scaled time, epoch seconds."""
        return self._origin + (time.monotonic() - self._origin_real) * self.speed

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of scaled time (``seconds / speed`` real seconds)."""
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def jump_to(self, t: float) -> None:
        """Go on from time ``t`` (a resumed demo run's clock had got there before)."""
        self._origin_real = time.monotonic()
        self._origin = t


class SimClock:
    """Virtual time that jumps forward when slept on: a day passes in a microsecond.

    Sleeping still yields to the event loop once, so other tasks (cancellation,
    pause requests) get their turn in between.
    """

    speed = float("inf")

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00Z
        self._t = start

    def now(self) -> float:
        """Current virtual time, epoch seconds."""
        return self._t

    def advance(self, seconds: float) -> None:
        """Move time forward without waiting."""
        self._t += max(0.0, seconds)

    def jump_to(self, t: float) -> None:
        """Go on from time ``t`` (as ``ScaledClock.jump_to``)."""
        self._t = t

    async def sleep(self, seconds: float) -> None:
        """Jump ``seconds`` forward, yielding to the loop once."""
        self._t += max(0.0, seconds)
        await asyncio.sleep(0)
