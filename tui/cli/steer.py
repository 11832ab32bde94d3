"""``btc-dca pause|unpause|cancel [RUN_ID]``: steer a run that another process executes.

The command goes through the run's control file; the executing process acts on it
within a second and says so in its state file (``storage.runs.control``). A run that no
live process executes (unknown, over, or stopped and resumable) exits 2 with the
reason and nothing is written. Without RUN_ID it steers the one run in progress; with
none or several in progress it exits 2 and lists them.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from dca.status import RunStatus
from storage.runs.control import Command, NotAcknowledged, NotInProgress, runs_in_progress, steer
from tui.cli import exits
from tui.cli.options import prepare_storage
from tui.fmt import bought_of, done_of
from tui.wiring import Options

_COMMANDS = {"pause": Command.PAUSE, "unpause": Command.UNPAUSE, "cancel": Command.CANCEL}
_DONE = {Command.PAUSE: "paused", Command.UNPAUSE: "running again", Command.CANCEL: "cancelled"}


# The state a run must be in for the command to change it (cancel: any).
_FROM = {Command.PAUSE: RunStatus.RUNNING, Command.UNPAUSE: RunStatus.PAUSED}


def only_run(data_dir: Path, what: Command, verb: str, cli: str = "btc-dca") -> str | None:
    """The run ``verb`` means when none is named: the one run in progress it can change
    (or else the one run in progress). None, after saying why, when that is not one run."""
    states = runs_in_progress(data_dir)
    fitting = [s for s in states if _FROM.get(what, s.state) == s.state]
    # With one run in progress, that run (it says if it is already so); with several, only
    # those the command can change are candidates.
    candidates = fitting or (states if len(states) == 1 else [])
    if len(candidates) == 1:
        return candidates[0].run_id
    if not states:
        print(f"btc-dca: {verb}: no run is in progress", file=sys.stderr)
        return None
    if not candidates:
        listed = "".join(f"\n  {s.run_id}  ({s.state})" for s in states)
        print(
            f"btc-dca: {verb}: no run is {_FROM[what]}; {len(states)} runs are in progress, "
            f"none of them {_FROM[what]}:{listed}",
            file=sys.stderr,
        )
        return None
    names = "".join(f"\n  {cli} {verb} {s.run_id}  ({s.state})" for s in candidates)
    print(
        f"btc-dca: {verb}: {len(candidates)} runs are in progress; name one:{names}",
        file=sys.stderr,
    )
    return None


def command(ns: argparse.Namespace, options: Options, out: TextIO) -> int:
    """Pause, unpause or cancel ``ns.run_id``; 0 once done, 2 if it is not in progress."""
    paths = prepare_storage(options, compact=False)
    what = _COMMANDS[ns.command]
    if ns.run_id is None:
        ns.run_id = only_run(paths.data_dir, what, ns.command, paths.cli)
        if ns.run_id is None:
            return exits.EXIT_INVALID
    try:
        result = steer(paths.data_dir, ns.run_id, what, cli=paths.cli)
    except NotInProgress as exc:
        print(f"btc-dca: {ns.command}: {exc}", file=sys.stderr)
        return exits.EXIT_INVALID
    except NotAcknowledged as exc:
        print(f"btc-dca: {ns.command}: {exc}", file=sys.stderr)
        return exits.EXIT_FAILED
    s = result.state
    if result.already:
        assert s is not None
        print(f"Run {ns.run_id} is already {s.state}.", file=out)
        return exits.EXIT_OK
    line = f"Run {ns.run_id} {_DONE[what]}"
    if s is None and what is Command.CANCEL:
        line += bought_so_far(paths.data_dir, ns.run_id)
    elif s is not None:
        line += f": {done_of(s.done, s.of)} tranches done, " + bought_of(
            s.bought, s.target, s.spent, s.budget, s.quote, spent=True
        )
    if what is Command.PAUSE:
        line += f". Continue it with: {paths.cli} unpause {ns.run_id}"
    print(line + ".", file=out)
    return exits.EXIT_OK


def bought_so_far(data_dir: Path, run_id: str) -> str:
    """``: bought 0.20 of 0.60 BTC in 2 tranches for 18,093.40 USD`` from a run's history
    (what a cancelled run keeps); "" when it cannot be read."""
    from storage.history.queries import History  # polars: only once the run has ended

    row = History(data_dir).run(run_id)
    if row is None:
        return ""
    from storage.history.resume import plan_from_row

    qty, target, total = row["qty_btc"], row["amount_btc"], row["total"]
    if not isinstance(target, Decimal):
        return ""
    qty = qty if isinstance(qty, Decimal) else Decimal(0)
    total = total if isinstance(total, Decimal) else Decimal(0)
    filled = row["filled"]
    many = int(filled) if isinstance(filled, int) else 0
    budget = plan_from_row(row).budget_total
    quote = str(row["quote"])
    return ": " + bought_of(qty, target, total, budget, quote, spent=True, tranches=many)
