"""``btc-dca status``: the runs in progress in any process, dashboard or background.

A run is in progress while a live process holds its lock and keeps its state file
(``storage.runs.control``); a run whose process died is resumable, and not listed here.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import TextIO

from dca.plan import format_duration
from dca.status import RunStatus
from storage.runs.control import RunState, runs_in_progress
from tui.cli import exits
from tui.cli.options import prepare_storage
from tui.fmt import (
    btc,
    clock_time,
    countdown,
    derived,
    done_of,
    exact,
    iso,
    local_time,
    money,
)
from tui.wiring import Options


def command(ns: argparse.Namespace, options: Options, out: TextIO) -> int:
    """List the runs in progress (``no run in progress`` when there is none); exit 0."""
    paths = prepare_storage(options, compact=False)
    states = runs_in_progress(paths.data_dir)
    now = time.time()
    if ns.json:
        for state in states:
            print(json.dumps(state_json(state, now)), file=out)
        return exits.EXIT_OK
    if not states:
        print("no run in progress", file=out)
        return exits.EXIT_OK
    print(status_table(states, now), file=out)
    return exits.EXIT_OK


def state_json(s: RunState, now: float) -> dict[str, object]:
    """One run in progress for scripts (money as exact decimal strings)."""
    left = s.next_in_s(now)
    running = s.state == RunStatus.RUNNING
    return {
        "run_id": s.run_id,
        "pid": s.pid,
        "where": s.where,
        "live": s.live,
        "state": str(s.state),
        "done": s.done,
        "of": s.of,
        "bought": exact(s.bought),
        "target": exact(s.target),
        "spent": exact(s.spent),
        "budget": exact(s.budget),
        "avg_price": derived(s.avg_price),
        "quote": s.quote,
        "skipped": s.skipped,
        "next_at": iso(s.next_at) if s.next_at is not None and running else None,
        "next_in_s": None if left is None else round(left, 1),
        "last_venue": s.last_venue,
        # A standing plan (``of`` is 0): its calendar, and the next buy in its own zone.
        "standing": s.standing,
        "tz": s.tz,
        "next_local": next_local(s, now) if running else None,
    }


def next_local(s: RunState, now: float) -> str | None:
    """A standing plan's next buy in its time zone (``Mon 09:00 CET``); None otherwise."""
    if s.tz is None or s.next_at is None:
        return None
    # The run's clock may run ahead of the wall clock (the demo's speed).
    return local_time(s.next_at, s.tz, s.clock_now(now))


def _spent(s: RunState) -> str:
    """Spent, and of a budget run, of how much: ``120.00 of 1,000.00 USD``."""
    if s.budget is None:
        return f"{money(s.spent)} {s.quote}"
    return f"{money(s.spent)} of {money(s.budget)} {s.quote}"


def status_table(states: list[RunState], now: float) -> str:
    """A readable table: one run per line."""
    head = (
        f"{'run':<22}  {'pid':>7}  {'where':<9}  {'state':<7}  {'done':>8}  "
        f"{'bought BTC':>15}  {'spent':>16}  next tranche"
    )
    lines = [head, "-" * (len(head) + 12)]
    for s in states:
        left = s.next_in_s(now)
        if s.state != RunStatus.RUNNING or s.next_at is None:
            nxt = "-"
        elif s.tz is not None:
            nxt = f"{next_local(s, now)} (in {format_duration(left or 0.0)}), {s.standing}"
        else:
            nxt = f"{clock_time(s.next_at, True)} (in {countdown(left or 0.0)})"
        lines.append(
            f"{s.run_id:<22}  {s.pid:>7}  {s.where:<9}  "
            f"{('LIVE ' if s.live else '') + str(s.state):<7}  "
            f"{done_of(s.done, s.of):>8}  "
            f"{f'{btc(s.bought)} of {btc(s.target)}' if s.target else btc(s.bought):>15}  "
            f"{_spent(s):>16}  {nxt}"
        )
    return "\n".join(lines)
