"""Messages that carry market ticks and run events from feeds and the worker up to the widgets."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from dca.events import Event
from dca.plan import Plan
from exchanges.market import VenueStatus


class VenueUpdated(Message):
    """A venue's status changed; a newer one for the same venue makes an unhandled one moot."""

    def __init__(self, status: VenueStatus) -> None:
        super().__init__()
        self.status = status

    def can_replace(self, message: Message) -> bool:
        """A tick replaces an older, still queued tick of the same venue."""
        return isinstance(message, VenueUpdated) and message.status.venue == self.status.venue


class RunEvent(Message):
    """Something the executor recorded (a fill, a skip, a venue down, the end)."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


@dataclass
class PlanChanged(Message):
    """The form's plan changed: a valid ``plan``, or ``errors`` per field."""

    plan: Plan | None
    errors: dict[str, str]


@dataclass
class StartRequested(Message):
    """The user asked to start ``plan``."""

    plan: Plan
