"""``btc-dca abandon RUN_ID``: give up a stopped run for good instead of resuming it.

A paused, interrupted or failed run is offered for resuming until it is resumed or
abandoned. Abandoning records it as ``abandoned`` with what it bought (those tranches
stay); a run in progress in a process is cancelled there instead (``btc-dca cancel``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from tui.cli import exits
from tui.cli.options import prepare_storage
from tui.fmt import bought_of
from tui.wiring import Options


def command(ns: argparse.Namespace, options: Options, out: TextIO) -> int:
    """Abandon ``ns.run_id``; 0 once recorded, 2 when it is not a stopped run."""
    from storage.history.resume import ResumeError, abandon_run

    paths = prepare_storage(options, compact=False)
    try:
        s = abandon_run(paths.data_dir, ns.run_id)
    except ResumeError as exc:
        print(f"btc-dca: abandon: {exc}", file=sys.stderr)
        return exits.EXIT_INVALID
    quote = _quote(paths.data_dir, ns.run_id)
    kept = bought_of(s.qty, s.target, s.total, s.budget, quote, spent=True, tranches=s.filled)
    print(f"Run {ns.run_id} abandoned ({kept}); it is no longer offered for resuming.", file=out)
    return exits.EXIT_OK


def _quote(data_dir: Path, run_id: str) -> str:
    from storage.history.queries import History

    row = History(data_dir).run(run_id)
    return str(row["quote"]) if row is not None and row["quote"] else ""
