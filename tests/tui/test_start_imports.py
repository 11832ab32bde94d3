"""What the dashboard loads before its first frame: the form, the panels, the market.

The run's engine (executor, journals, events), the history screen's sources and cache,
and the dialogs load when first used, so the first frame does not wait for them.
"""

from __future__ import annotations

import subprocess
import sys

FIRST_FRAME = """
import asyncio, sys, tempfile
from textual.app import App

def first_frame(self, *a, **k):
    async def go():
        async with self.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert self.first_frame_at is not None
            print("loaded:" + ",".join(m for m in sys.argv[1:] if m in sys.modules))
    asyncio.run(go())
    return 0

App.run = first_frame
from tui.app import DcaApp
DcaApp._start_background = lambda self: None  # what loads after the first frame, on purpose
import tui.cli.main
tui.cli.main.is_terminal = lambda: True  # stdout is this test's pipe
from tui.cli.main import main
d = tempfile.mkdtemp()
assert main(["--demo", "--data-dir", d, "--config", d + "/c.toml"]) == 0
"""
NOT_BEFORE_FIRST_FRAME = (
    "polars",
    "pyarrow",
    "tomlkit",
    "aiohttp",
    "dca.events",
    "dca.executor",
    "dca.journal",
    "storage.journal",
    "storage.notify",
    "tui.history.cache",
    "tui.history.memory",
    "tui.history.screen",
    "tui.screens.resume",
    "tui.screens.quit",
    "tui.ui_journal",
    "tui.widgets.tranche_table",
)


def test_the_dashboard_draws_its_first_frame_without_the_engine_or_history() -> None:
    out = subprocess.run(
        [sys.executable, "-c", FIRST_FRAME, *NOT_BEFORE_FIRST_FRAME],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip().splitlines()[-1] == "loaded:", out.stdout + out.stderr
