"""What the dashboard loads before its first frame: the form, the panels, the market.

The run's engine (executor, journals, events), the history screen's sources and cache,
and the dialogs load when first used, so the first frame does not wait for them.
"""

from __future__ import annotations

import subprocess
import sys

FIRST_FRAME = """
import asyncio, os, sys, tempfile
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
# A config not there yet, as at first start (a --config flag must name an existing file).
os.environ["BTC_DCA_CONFIG"] = d + "/c.toml"
assert main(["--demo", "--data-dir", d]) == 0
"""
NOT_BEFORE_FIRST_FRAME = (
    "polars",
    "pyarrow",
    "tomlkit",
    "aiohttp",
    "dca.events",
    "dca.executor",
    "dca.journal",
    "storage.history.journal",
    "storage.alerts.send",
    "tui.history.cache",
    "tui.history.memory",
    "tui.history.screen",
    "tui.screens.resume",
    "tui.screens.quit",
    "tui.ui_journal",
    "tui.widgets.tranche_table",
    # Real orders' libraries load only when real orders are asked for.
    "ccxt",
    "keyring",
    "exchanges.private.account",
    "dca.live_execution",
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


COLLECTOR = """
import asyncio, gc, os, tempfile
from textual.app import App
from tui import startup

seen = []
app = []
release = startup.release

def released():
    # The threshold the app ran with until now, and whether it had drawn by then (on a
    # loaded machine the keys may come before a test could look in between).
    if app:
        seen.append(gc.get_threshold()[0])
        seen.append(app[0].first_frame_at is not None)
    release()

startup.release = released

def first_frame(self, *a, **k):
    app[:] = [self]
    async def go():
        seen.append(gc.get_threshold()[0])  # started, nothing drawn yet
        async with self.run_test(size=(120, 40)) as pilot:
            while not self.background_started:
                await pilot.pause(0.05)
            seen.append(gc.get_threshold()[0])
    asyncio.run(go())
    del app[:]
    return 0

App.run = first_frame
import tui.cli.main
tui.cli.main.is_terminal = lambda: True  # stdout is this test's pipe
default = gc.get_threshold()
d = tempfile.mkdtemp()
# A config not there yet, as at first start (a --config flag must name an existing file).
os.environ["BTC_DCA_CONFIG"] = d + "/c.toml"
assert tui.cli.main.main(["--demo", "--data-dir", d]) == 0
assert gc.get_threshold() == default, gc.get_threshold()
# A dashboard that never draws (a bad config) gives the collector back as well.
open(d + "/bad.toml", "w").write('[ui]\\ntheme = "nope"\\n')
assert tui.cli.main.main(["--demo", "--data-dir", d, "--config", d + "/bad.toml"]) == 2
assert gc.get_threshold() == default, gc.get_threshold()
print(seen, default[0], startup.START_THRESHOLD)
"""


def test_the_collector_runs_rarely_until_the_dashboard_settled_then_as_before() -> None:
    out = subprocess.run(
        [sys.executable, "-c", COLLECTOR], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout + out.stderr
    seen, default, held = out.stdout.strip().splitlines()[-1].rsplit(" ", 2)
    # Held from the start until the app released it, after its first frame; as before after.
    assert seen == f"[{held}, {held}, True, {default}]" and int(held) > int(default)
