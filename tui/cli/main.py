"""Entry point of ``btc-dca``: parse, run the one command asked for, turn errors into exit codes.

Commands are found through ``COMMANDS``, a registry of module names imported only when
their command runs, so ``--help`` and ``quote`` pay for nothing else, and only the
dashboard (``tui.launch``) loads Textual. Each command module has
``command(ns, options, out) -> int | OpenDashboard``.

Exit codes: see ``tui.cli.exits``.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import Protocol, TextIO

from dca.plan import PlanInvalid
from storage.config import ConfigError
from storage.paths import DataDirError
from tui import startup
from tui.cli import exits
from tui.cli.exits import quiet_stdout
from tui.cli.options import OpenDashboard, UsageError, parse_options, prepare_storage
from tui.cli.parser import build_parser, join_relative_times
from tui.wiring import LiveUnavailable, Options

# Command name -> module with ``command(ns, options, out)``; no command: the dashboard.
COMMANDS = {
    "quote": "tui.cli.quote",
    "run": "tui.cli.run",
    "resume": "tui.cli.resume",
    "history": "tui.cli.history",
    "status": "tui.cli.status",
    "pause": "tui.cli.steer",
    "unpause": "tui.cli.steer",
    "cancel": "tui.cli.steer",
    "abandon": "tui.cli.abandon",
    "notify": "tui.cli.notify",
    "service": "tui.cli.service",
    "serve": "tui.cli.serve",
    "record": "tui.cli.record",
    "backtest": "tui.cli.backtest",
    "portfolio": "tui.cli.portfolio",
    "live": "tui.cli.live_check",
    "keys": "tui.cli.keys",
}
# The dashboard's launcher, imported by name: the command line itself never loads Textual.
DASHBOARD = "tui.launch"


class _Launcher(Protocol):
    def __call__(self, options: Options, plan: object = None, run_id: str | None = None) -> int: ...


def is_terminal() -> bool:
    """Whether the dashboard can draw here: stdout is a terminal, or Textual has a driver
    of its own (``serve``'s web driver)."""
    return sys.stdout.isatty() or bool(os.environ.get("TEXTUAL_DRIVER"))


def _dashboard(options: Options, request: OpenDashboard, command: str | None = None) -> int:
    """The dashboard, its form filled from the request's plan (or resuming its run)."""
    if not is_terminal():
        # A full-screen app drawn into a pipe never ends: say what works there instead.
        hint = (
            f"use btc-dca {command} --headless for a line per tranche"
            if command in ("run", "resume")
            else "use a command with --headless (run, resume), quote or history"
        )
        raise UsageError(f"the dashboard needs a terminal and stdout is not one; {hint}")
    # Until the app has settled the collector runs rarely: start-up objects live for good.
    startup.hold()
    try:
        # The app compacts in the background once its first frame is up (polars loads then).
        prepare_storage(options, compact=False)
        launch: _Launcher = importlib.import_module(DASHBOARD).launch
        return launch(options, request.plan, request.run_id)
    finally:
        startup.release()  # the app released it once settled, unless it never got there


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of ``btc-dca``; returns the exit code."""
    out = out or sys.stdout
    args = list(sys.argv[1:] if argv is None else argv)
    ns = build_parser().parse_args(join_relative_times(args))
    try:
        options = parse_options(ns, os.environ)
        if ns.command is None:
            return _dashboard(options, OpenDashboard())
        result = importlib.import_module(COMMANDS[ns.command]).command(ns, options, out)
        if isinstance(result, OpenDashboard):
            return _dashboard(options, result, ns.command)
        return int(result)
    except PlanInvalid as exc:
        for error in exc.errors:
            print(f"btc-dca: --{error.field.replace('_', '-')}: {error.message}", file=sys.stderr)
        return exits.EXIT_INVALID
    except (UsageError, ConfigError, DataDirError) as exc:
        print(f"btc-dca: {exc}", file=sys.stderr)
        return exits.EXIT_INVALID
    except LiveUnavailable as exc:
        print(f"btc-dca: {exc}", file=sys.stderr)
        return exits.EXIT_NO_VENUE
    except KeyboardInterrupt:
        return exits.EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`btc-dca history --json | head -1`): stop quietly.
        quiet_stdout(out)
        return exits.EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
