"""One vocabulary of run statuses and one rule for which runs may be continued."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dca.events import Summary
from dca.status import RESUMABLE, RunStatus, current_status, end_status, is_resumable, stop_status

D = Decimal


def test_a_run_ends_finished_only_with_its_whole_amount() -> None:
    assert end_status(Summary(D("0.5"), qty=D("0.5"))) is RunStatus.FINISHED
    assert end_status(Summary(D("0.5"), qty=D("0.49999999"))) is RunStatus.INCOMPLETE
    assert end_status(Summary(D("0.5"))) is RunStatus.INCOMPLETE


def test_a_budget_run_ends_finished_once_its_last_tranche_spent_what_was_left() -> None:
    assert end_status(Summary(D(0), budget=D(100), spent_out=True)) is RunStatus.FINISHED
    assert end_status(Summary(D(0), budget=D(100), total=D(99))) is RunStatus.INCOMPLETE


def test_only_an_interruption_leaves_a_stopped_run_resumable() -> None:
    assert stop_status("interrupted") is RunStatus.INTERRUPTED
    assert stop_status("cancelled") is RunStatus.CANCELLED
    assert stop_status("anything else") is RunStatus.CANCELLED


@pytest.mark.parametrize(
    ("stored", "detail", "held", "shown"),
    [
        ("running", None, True, "running"),  # a process executes it now
        ("running", None, False, "interrupted"),  # kill -9: nobody holds it
        ("paused", None, False, "paused"),
        ("cancelled", "interrupted", True, "interrupted"),  # how earlier versions stored it
        ("cancelled", "cancelled", True, "cancelled"),
        ("interrupted", "interrupted", True, "interrupted"),
        ("failed", "disk full", False, "failed"),
        ("incomplete", None, False, "incomplete"),
        ("finished", None, False, "finished"),
    ],
)
def test_the_status_shown_for_a_stored_row(
    stored: str, detail: str | None, held: bool, shown: str
) -> None:
    assert current_status(stored, detail, held) == shown


def test_paused_interrupted_and_failed_runs_resume_and_no_others() -> None:
    assert {s.value for s in RESUMABLE} == {"running", "paused", "interrupted", "failed"}
    assert is_resumable("cancelled", "interrupted")
    assert not is_resumable("cancelled", "cancelled")
    assert not is_resumable("incomplete")
    assert not is_resumable("finished")
