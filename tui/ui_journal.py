"""A journal that hands each executor event to the app as a message (messages up)."""

from __future__ import annotations

from collections.abc import Callable

from dca.events import Event
from tui.messages import RunEvent


class UiJournal:
    """``dca.journal.Journal`` that posts ``RunEvent`` messages through ``post``."""

    def __init__(self, post: Callable[[RunEvent], object]) -> None:
        self._post = post

    async def record(self, event: Event) -> None:
        """Post ``event`` to the UI; the executor never waits on drawing."""
        self._post(RunEvent(event))
