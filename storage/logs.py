"""The log file: rotating, in the user log dir; venue failures, skips and errors go there.

Records name their run and venue in the message (``run <id> venue <v> ...``), so a
grep for a run id finds its whole story.
"""

from __future__ import annotations

import logging
import os
from io import TextIOWrapper
from pathlib import Path
from typing import cast

from exchanges import redact
from storage.paths import private_mkdir, private_open

LOG_FILE = "btc-dca.log"
MAX_BYTES = 2_000_000
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_HANDLER_NAME = "btc-dca-file"


def _private_file_handler(path: Path) -> logging.Handler:
    """A rotating handler whose files (the log and each rotated copy) are 0600."""
    from logging.handlers import RotatingFileHandler  # only for the commands that log to a file

    class PrivateRotatingFileHandler(RotatingFileHandler):
        def _open(self) -> TextIOWrapper:
            # The handler opens text with an encoding, which is what ``open`` returns then.
            return cast(
                TextIOWrapper,
                private_open(
                    Path(self.baseFilename), self.mode, encoding=self.encoding, errors=self.errors
                ),
            )

    return PrivateRotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
    )


def setup_logging(log_dir: Path, *, verbose: bool = False) -> Path | None:
    """Send the app's logs to a rotating file (debug with ``verbose``); the file, or None if the
    folder cannot be written (logging is never a reason not to run).
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
            handler.close()
    path = log_dir / LOG_FILE
    try:
        private_mkdir(log_dir)
        handler = _private_file_handler(path)
    except OSError:
        return None
    handler.set_name(_HANDLER_NAME)
    # API keys in the environment are known before any line is written; the config's
    # secrets are registered as it is read.
    redact.register_env(os.environ)
    redact.install([handler])
    handler.setFormatter(logging.Formatter(FORMAT))
    level = logging.DEBUG if verbose else logging.INFO
    handler.setLevel(level)
    root.addHandler(handler)
    root.setLevel(level)
    # Third-party chatter stays out of the file unless debugging.
    for noisy in ("asyncio", "aiohttp"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
    return path
