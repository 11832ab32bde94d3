"""``btc-dca serve --demo`` in a real browser: Debian's chromium, driven headless by Playwright.

The page draws the terminal on a canvas, so the test reads what the dashboard sends
down the page's WebSocket (the terminal's own bytes, escape codes stripped): the venue
panels, then, after ``s`` is pressed in the page, the run's first tranche.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason="needs Debian's chromium (apt-get install chromium; ./check installs it as root)",
)

# Escape sequences (CSI, OSC, charset selection) and other control bytes of the terminal stream.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "BTC_DCA_DATA_DIR": str(tmp_path / "data"),
        "BTC_DCA_CONFIG": str(tmp_path / "config.toml"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "serve", "--demo", "--speed", "600", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().decode()
        assert first.startswith(f"Serving the dashboard at http://127.0.0.1:{port}/"), first
        yield f"http://127.0.0.1:{port}/"
    finally:
        # The server and the dashboards it started for the page: the whole session.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()


def test_the_dashboard_in_a_browser_starts_a_demo_run(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import WebSocket, sync_playwright

    screen: list[str] = []

    def frames(ws: WebSocket) -> None:
        def received(payload: str | bytes) -> None:
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
            screen.append(_ANSI.sub("", text))

        ws.on("framereceived", received)

    def wait_for(pattern: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not re.search(pattern, "".join(screen)):
            assert time.monotonic() < deadline, f"{pattern!r} never appeared on the page"
            page.wait_for_timeout(100)

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 950})
            page.on("websocket", frames)
            page.goto(server)
            # The venue panels, each with its name.
            for name in ("Binance.US", "Coinbase", "Kraken", "Bitstamp", "OKX"):
                wait_for(re.escape(name), 60)
            # Keys go to the terminal's input (a click could land in a form field instead).
            page.locator(".xterm-helper-textarea").focus()
            page.keyboard.press("s")
            try:
                # The first tranche's row: "1/24" in the run's table (the demo's 24 tranches).
                wait_for(r"1/24", 60)
            finally:
                page.screenshot(path=str(tmp_path / "served.png"))
        finally:
            browser.close()
