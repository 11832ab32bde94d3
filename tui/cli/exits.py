"""The exit codes of every command (docs/commands.md): scripts depend on them."""

import contextlib
import os
import sys
from typing import TextIO

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_NO_VENUE = 3
# The run ended short of its amount (skips: above the maximum price, no venue, thin books);
# ``quote``: no venue (in this mode) can fill the whole amount.
EXIT_INCOMPLETE = 4
EXIT_INTERRUPTED = 130


def quiet_stdout(out: TextIO) -> None:
    """Point stdout at /dev/null after its reader went away (exit 130), so the final flush
    stays quiet."""
    if out is sys.stdout:
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
