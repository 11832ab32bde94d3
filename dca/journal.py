"""The journal the executor writes through: a protocol here, Parquet in ``storage/``.

The executor calls ``record`` for every event in order and awaits it; after a
``TrancheFilled`` or ``TrancheSkipped`` returns, that tranche must be durable
(a resumed run never executes it again).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from dca.events import Event


class Journal(Protocol):
    """Where a run's events go."""

    async def record(self, event: Event) -> None:
        """Store ``event``; when it returns, the event survives a crash."""
        ...


class RunRefused(Exception):
    """A journal would not start the run (another process executes it): nothing ran here,
    so nothing is to be marked failed."""


@runtime_checkable
class RecordsFailures(Protocol):
    """A journal that can also mark a run as failed (the executor itself raised)."""

    async def fail(self, run_id: str, message: str) -> None:
        """Record that ``run_id`` stopped on an error."""
        ...


class MemoryJournal:
    """Keeps events in a list: for tests and for runs that need no history."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def record(self, event: Event) -> None:
        """Append ``event``."""
        self.events.append(event)


class FanOut:
    """Sends every event to several journals (storage, the dashboard, a printer), in order."""

    def __init__(self, *journals: Journal) -> None:
        self.journals = journals

    async def record(self, event: Event) -> None:
        """Record ``event`` in each journal in turn."""
        for journal in self.journals:
            await journal.record(event)
