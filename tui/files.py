"""The user's files (CSV exports, screenshots): written off the event loop, a failure shown.

The files follow the user's umask (they are theirs, to share or not); a folder made for
them (``exports/`` in the data dir) is private like every folder the app makes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App
from textual.widget import Widget

from storage.paths import private_mkdir

log = logging.getLogger(__name__)


async def write_file(
    owner: App[Any] | Widget, path: Path, write: Callable[[Path], None], what: str
) -> bool:
    """Make ``path``'s folder (0700) and run ``write(path)`` in a thread. A failure is logged and
    notified on ``owner`` under the title ``what`` (``Export``); False then."""

    def run() -> None:
        private_mkdir(path.parent)
        write(path)

    try:
        await asyncio.to_thread(run)
    except OSError as exc:
        log.error("%s to %s failed: %s", what.lower(), path, exc)
        owner.notify(f"Could not write {path}: {exc}", title=what, severity="error")
        return False
    return True
