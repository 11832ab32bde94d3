"""Messages that carry run events and the form's plan up to the screens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from dca.plan import Plan
from storage.config import NamedPlan

if TYPE_CHECKING:
    from dca.events import Event
    from dca.status import RunStatus
    from storage.runs.control import Followed


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
class SavePlanRequested(Message):
    """The user asked to save the form as a named plan (``plan``: its fields, name blank)."""

    plan: NamedPlan


@dataclass
class StartRequested(Message):
    """The user asked to start ``plan`` (``live``: with real orders, once confirmed)."""

    plan: Plan
    live: bool = False


class RunFailed(Message):
    """The run's worker died; posted behind the run's events so it is drawn after them."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class ElsewhereSeen(Message):
    """A look at a run another process executes: its state and its tranche lines new since."""

    def __init__(self, look: Followed, first: bool) -> None:
        super().__init__()
        self.look = look
        self.first = first


class ElsewhereEnded(Message):
    """The run followed in another process is no longer in progress; ``status`` from history
    (None: history has no record of it)."""

    def __init__(self, run_id: str, status: RunStatus | None) -> None:
        super().__init__()
        self.run_id = run_id
        self.status = status
