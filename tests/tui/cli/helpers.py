"""What the command-line tests share: ``btc-dca`` run in this process."""

from __future__ import annotations

import io

from tui.cli.main import main


def run(*argv: str) -> tuple[int, str]:
    """``btc-dca *argv`` in-process: its exit code and what it printed to stdout."""
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()
