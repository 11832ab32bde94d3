"""What the dashboard needs to reach runs in other processes (injected by the launcher).

Runs executed by another process (a background run, another dashboard) are seen and
steered through their live files in the data dir (``storage.runs.control``); starting a
run in the background, or handing this dashboard's run over to a background process,
is the command line's job, so the launcher passes those in as plain callables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dca.plan import Plan
from storage.alerts.config import NotifyConfig


@dataclass(frozen=True, slots=True)
class Started:
    """A run now executed by a background process."""

    run_id: str
    pid: int
    # Where the background process writes its output (its log file), when known.
    log_file: Path | None = None
    # Set when the run ended before it was seen running: what became of it, in words
    # ("finished: bought 0.01 of 0.01 BTC for 905.46 USD").
    ended: str | None = None


def how_to_reach(run_id: str, log_file: Path | None, cli: str = "btc-dca") -> str:
    """The lines under "... in the background (pid N)": how to see and steer the run, and
    where its output goes (said alike by ``run --detach`` and a dashboard that hands over).
    ``cli``: ``btc-dca`` with the data dir and config in use (``storage.paths.cli_prefix``)."""
    lines = [f"  see it:    {cli} status", f"  steer it:  {cli} pause|unpause|cancel {run_id}"]
    if log_file is not None:
        lines.append(f"  its output: {log_file}")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Elsewhere:
    """The data dir shared with other processes, and how to start background runs.

    ``detach(plan)`` starts ``plan`` in a background process, ``hand_over(run_id)``
    continues a stopped run there; both block until the run is recorded as started and
    raise with the reason when it is not.
    """

    data_dir: Path
    detach: Callable[[Plan], Started] | None = None
    hand_over: Callable[[str], Started] | None = None
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    # ``btc-dca`` as the hints this dashboard prints must spell it (its data dir and config).
    cli: str = "btc-dca"
