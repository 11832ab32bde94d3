"""Picking up a run that stopped: which runs are unfinished, and their plan and progress.

Which statuses may be continued is ``dca.status``'s one rule: ``paused``,
``interrupted`` (Ctrl-C, a closed pipe, a killed process: a ``running`` row no
process holds), ``failed`` (the plan is still good and every tranche bought is
recorded, so the rest is worth buying once the cause is fixed). ``cancelled``,
``incomplete`` and ``finished`` runs are over.

A run that another process is executing (it holds the run's lock) is not offered.
Everything needed to continue a run is in its runs row (every ``Plan`` field and
the origin) and its tranche rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

import polars as pl

from dca.events import Summary
from dca.executor import ResumeState
from dca.plan import Plan
from dca.routing import Mode
from dca.slots import Missed as StandingMissed
from dca.slots import Standing, parse_at, parse_every
from dca.status import INTERRUPTED, RESUMABLE, RunStatus, current_status
from storage.history.queries import History, latest_runs, summary_of
from storage.history.schema import plain
from storage.runs.locks import FileLock, is_held, run_lock

# Stored statuses a resumable run's last row may have (``cancelled`` only with the
# detail ``interrupted``, as earlier versions stored an interruption).
_STORED_RESUMABLE = tuple(s.value for s in RESUMABLE)


class Missed(StrEnum):
    """What to do with tranches whose time passed while the app was stopped."""

    CATCH_UP = "catch-up"
    SKIP = "skip"


class ResumeError(Exception):
    """The run cannot be resumed; the message says why."""


@dataclass(frozen=True, slots=True)
class Resumable:
    """A stopped run, ready to hand to an ``Executor`` (``resume=state``)."""

    plan: Plan
    state: ResumeState
    status: RunStatus
    source: str
    speed: float | None
    # Its recorded tranches in schedule order (a resumed run's table shows them).
    tranches: pl.DataFrame
    # True for a run of real orders: it resumes with real orders, never on paper.
    live: bool = False

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.state.run_id

    @property
    def before(self) -> Summary:
        """The totals of the tranches it recorded before it stopped."""
        assert self.state.before is not None  # load_resumable always sets them
        return self.state.before


def unfinished_runs(
    data_dir: Path, history: History | None = None, *, standing: bool = False
) -> list[str]:
    """Ids of the unfinished runs, newest first; ``standing``: only standing plans."""
    h = history or History(data_dir)
    kind = pl.col("every").is_not_null() if standing else pl.lit(True)
    df = h.runs.collect(
        lambda runs: (
            latest_runs(runs)
            .filter(
                pl.col("status").is_in(_STORED_RESUMABLE)
                | ((pl.col("status") == RunStatus.CANCELLED) & (pl.col("detail") == INTERRUPTED))
            )
            .filter(kind)
            .sort("created_at", "run_id", descending=True)
            .select("run_id")
        )
    )
    return [str(r) for r in df["run_id"].to_list()]


def plan_from_row(row: dict[str, object]) -> Plan:
    """The ``Plan`` stored in a runs row, field for field."""

    def dec(key: str) -> Decimal:
        value = row[key]
        assert isinstance(value, Decimal), key
        return plain(value)

    max_price = row["max_price"]
    spend = row.get("spend")
    extra = json.loads(str(row["plan_extra"] or "{}"))
    return Plan(
        amount=dec("amount_btc"),
        duration_s=float(row["duration_s"]),  # type: ignore[arg-type]
        tranches=int(row["tranches"]),  # type: ignore[call-overload]
        quote=str(row["quote"]),
        venues=tuple(str(row["venues"]).split(",")),
        mode=Mode(str(row["mode"])),
        max_price=plain(max_price) if isinstance(max_price, Decimal) else None,
        jitter=bool(row["jitter"]),
        seed=int(row["seed"]),  # type: ignore[call-overload]
        tranches_defaulted=bool(row["tranches_defaulted"]),
        default_reason=str(row["default_reason"] or ""),
        lot_btc=dec("lot_btc"),
        min_order_btc=dec("min_order_btc"),
        extra={str(k): str(v) for k, v in extra.items()},
        spend=plain(spend) if isinstance(spend, Decimal) else None,
        standing=standing_from_row(row),
    )


def standing_from_row(row: dict[str, object]) -> Standing | None:
    """A standing plan's calendar from its runs row (None for a plan over a window)."""
    every = row.get("every")
    if not every:
        return None
    period = parse_every(str(every))
    at, until, budget = row.get("at"), row.get("until"), row.get("budget")
    return Standing(
        every=period,
        tz=str(row["tz"]),
        at=parse_at(str(at), period) if at else None,
        until=until.timestamp() if isinstance(until, datetime) else None,
        budget=plain(budget) if isinstance(budget, Decimal) else None,
        missed=StandingMissed(str(row.get("missed") or StandingMissed.SKIP.value)),
    )


def load_resumable(data_dir: Path, run_id: str | None = None) -> Resumable:
    """The given run (or the newest unfinished one) with its plan and recorded tranches.

    Raises ``ResumeError`` when there is nothing to resume or the run is already over.
    """
    h = History(data_dir)
    if run_id is None:
        ids = unfinished_runs(data_dir, h)
        if not ids:
            raise ResumeError("no unfinished run to resume")
        run_id = ids[0]
    row = h.run(run_id)
    if row is None:
        raise ResumeError(f"no run {run_id!r} in {data_dir}")
    detail = row["detail"]
    if is_held(run_lock(data_dir, run_id)):
        raise ResumeError(f"run {run_id} is being executed by another process")
    status = current_status(str(row["status"]), detail if isinstance(detail, str) else None, False)
    if status not in RESUMABLE:
        raise ResumeError(
            f"run {run_id} is {status}; only paused, interrupted and failed runs can be resumed"
        )
    plan = plan_from_row(row)
    tranches = h.run_tranches(run_id)
    done = {
        int(i): plain(q)
        for i, q in zip(tranches["index"].to_list(), tranches["qty_btc"].to_list(), strict=True)
    }
    origin = row["origin"]
    assert origin is not None
    before = summary_of(tranches, plan.amount, plan.budget_total)
    state = ResumeState(run_id, origin.timestamp(), done, before)  # type: ignore[attr-defined]
    speed = row["speed"]
    return Resumable(
        plan=plan,
        state=state,
        status=status,
        source=str(row["source"] or "live"),
        speed=float(speed) if isinstance(speed, float) else None,
        tranches=tranches,
        live=row.get("execution") == "live",
    )


def abandon_run(data_dir: Path, run_id: str, now: datetime | None = None) -> Summary:
    """Give up the stopped run ``run_id`` for good: a runs row saying ``abandoned`` with the
    totals of the tranches it bought (they stay). Returns those totals.

    Raises ``ResumeError`` when the run is unknown, over already, or executed by a process
    (steer that one with ``cancel``). The run's lock is held while the row is written, so
    no resume can start on it meanwhile.
    """
    from storage.history.journal import recorded_state, write_batch
    from storage.history.rows import summary_columns

    lock = FileLock(run_lock(data_dir, run_id))
    if not lock.acquire():
        raise ResumeError(
            f"run {run_id} is being executed by another process; cancel it there instead"
        )
    try:
        last, rev, _done = recorded_state(data_dir, run_id)
        if last is None:
            raise ResumeError(f"no run {run_id!r} in {data_dir}")
        detail = last["detail"]
        status = current_status(
            str(last["status"]), detail if isinstance(detail, str) else None, held=False
        )
        if status not in RESUMABLE:
            raise ResumeError(
                f"run {run_id} is {status}; only paused, interrupted and failed runs can be "
                "abandoned"
            )
        plan = plan_from_row(last)
        summary = summary_of(History(data_dir).run_tranches(run_id), plan.amount, plan.budget_total)
        at = now or datetime.now(UTC)
        row = dict(last)
        row.update(
            rev=rev + 1,
            event="abandoned",
            status=RunStatus.ABANDONED.value,
            recorded_at=at,
            finished_at=at,
            detail=f"abandoned while {status}",
        )
        row.update(summary_columns(summary))
        write_batch(data_dir, {"runs": [row]}, at)
        return summary
    finally:
        lock.release()
