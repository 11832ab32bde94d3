"""A run's status: one vocabulary, and one rule for which runs may be continued.

Every place that shows or decides on a run's status (the executor, the dashboard's
run area, the state files other processes read, the History screen, the ``history``
and ``status`` commands and their JSON, the resume offer, ``resume``, the headless
summary) goes through this module, so they never disagree:

- ``pending``: not started yet (a run made but not begun; a dashboard with no run);
- ``running``: a process is executing it now;
- ``paused``: the user paused it (the process may have quit since, keeping it);
- ``interrupted``: it stopped before its end without the user deciding so: Ctrl-C,
  a closed pipe, a killed process (its row still says ``running`` but no process
  holds it), a quit that kept it;
- ``failed``: the app stopped on an error of its own (a full disk, an engine bug);
- ``cancelled``: the user stopped it for good;
- ``incomplete``: its schedule ended but it bought less than its amount (tranches
  skipped above the maximum price, no venue reachable, books too thin);
- ``finished``: its schedule ended and it bought the whole amount;
- ``abandoned``: it had stopped (paused, interrupted, failed) and the user gave it up
  instead of resuming it (``btc-dca abandon``, or the dashboard's offer at start).

Resumable: ``running`` (when no process holds it), ``paused``, ``interrupted`` and
``failed``. ``cancelled``, ``incomplete``, ``finished`` and ``abandoned`` are over.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class RunStatus(StrEnum):
    """Where a run stands, as stored, shown and printed."""

    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INCOMPLETE = "incomplete"
    FINISHED = "finished"
    ABANDONED = "abandoned"


# A run going on: started and not ended (it may be paused).
IN_PROGRESS = frozenset({RunStatus.RUNNING, RunStatus.PAUSED})
RESUMABLE = frozenset(
    {RunStatus.RUNNING, RunStatus.PAUSED, RunStatus.INTERRUPTED, RunStatus.FAILED}
)
# Statuses whose runs row carries the run's totals (written by the run's last event).
ENDED = frozenset(
    {
        RunStatus.CANCELLED,
        RunStatus.INCOMPLETE,
        RunStatus.FINISHED,
        RunStatus.INTERRUPTED,
        RunStatus.ABANDONED,
    }
)
# The reason a stop leaves the run resumable (Ctrl-C, a closed pipe, quitting and keeping it).
INTERRUPTED = "interrupted"


class Outcome(Protocol):
    """What a run's end status is decided on (``dca.events.Summary``)."""

    @property
    def complete(self) -> bool:
        """Whether the run bought its whole amount, or spent its whole budget."""
        ...


def end_status(summary: Outcome) -> RunStatus:
    """The status of a run whose schedule ended: ``finished`` when it bought its amount (or,
    with a budget, its last tranche spent what was left), else ``incomplete``."""
    return RunStatus.FINISHED if summary.complete else RunStatus.INCOMPLETE


def stop_status(reason: str) -> RunStatus:
    """The status of a run stopped before its end for ``reason``."""
    return RunStatus.INTERRUPTED if reason == INTERRUPTED else RunStatus.CANCELLED


def current_status(stored: str, detail: str | None = None, held: bool = True) -> RunStatus:
    """The status to show for a run's last stored row.

    ``held`` says whether a process holds the run's lock now: a ``running`` row
    nobody holds was left by a process that died. A ``cancelled`` row with the
    detail ``interrupted`` is how earlier versions stored an interruption.
    """
    if stored == RunStatus.CANCELLED and detail == INTERRUPTED:
        return RunStatus.INTERRUPTED
    if stored == RunStatus.RUNNING and not held:
        return RunStatus.INTERRUPTED
    try:
        return RunStatus(stored)
    except ValueError:
        return RunStatus.FAILED  # a status this version does not know: not to be trusted


def is_resumable(status: str, detail: str | None = None) -> bool:
    """Whether a run whose last stored row says ``status`` (and ``detail``) may be continued."""
    return current_status(status, detail) in RESUMABLE
