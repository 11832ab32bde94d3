"""``btc-dca serve --demo`` in a real browser: Debian's chromium, driven headless by Playwright.

The page draws the terminal on a canvas, so the test reads what the dashboard sends
down the page's WebSocket (the terminal's own bytes, escape codes stripped): the venue
panels, then, after ``s`` is pressed in the page, the run's first tranche. The user's tab
goes through the address serve printed and works again after a reload; a page from
another origin, opened in the same browser after that visit, gets nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.tui.cli.served import ANSI, Served, serving

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason="needs Debian's chromium (apt-get install chromium; ./check installs it as root)",
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serving(tmp_path, "--speed", "600") as s:
        yield s


# A page on another local port, as any site the user visits could serve: it opens the
# dashboard's socket and counts what it gets.
EVIL = """<!DOCTYPE html><html><body><script>
window.frames_got = 0; window.ws_done = false;
const ws = new WebSocket("ws://127.0.0.1:PORT/ws?width=80&height=24");
ws.onmessage = () => { window.frames_got += 1; ws.send(JSON.stringify(["stdin", "s"])); };
ws.onclose = () => { window.ws_done = true; };
ws.onerror = () => { window.ws_done = true; };
</script></body></html>"""


@pytest.fixture
def evil_site(served: Served) -> Iterator[str]:
    body = EVIL.replace("PORT", str(served.port)).encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_the_dashboard_in_a_browser_starts_a_demo_run(
    served: Served, evil_site: str, tmp_path: Path
) -> None:
    from playwright.sync_api import Page, Route, WebSocket, sync_playwright

    screen: list[str] = []

    def frames(ws: WebSocket) -> None:
        def received(payload: str | bytes) -> None:
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
            screen.append(ANSI.sub("", text))

        ws.on("framereceived", received)

    def wait_for(page: Page, pattern: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not re.search(pattern, "".join(screen)):
            assert time.monotonic() < deadline, f"{pattern!r} never appeared on the page"
            page.wait_for_timeout(100)

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            context = browser.new_context(viewport={"width": 1500, "height": 950})
            # Offline but for loopback: the page must need nothing from another host.
            outside: list[str] = []

            def elsewhere(route: Route) -> None:
                outside.append(route.request.url)
                route.abort()

            context.route(
                re.compile(r"^(?!https?://127\.0\.0\.1[:/]|ws://127\.0\.0\.1[:/]).*"), elsewhere
            )
            page = context.new_page()
            page.on("websocket", frames)
            page.goto(served.address)
            # The secret went into a cookie and out of the address bar.
            assert page.url == f"{served.base}/"
            cookie = next(
                c for c in context.cookies() if c["name"] == f"btc-dca-token-{served.port}"
            )
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
            # The venue panels, each with its name.
            for name in ("Binance.US", "Coinbase", "Kraken", "Bitstamp", "OKX"):
                wait_for(page, re.escape(name), 60)
            # Keys go to the terminal's input (a click could land in a form field instead).
            page.locator(".xterm-helper-textarea").focus()
            # The form starts in Amount: escape leaves it, then s starts the plan.
            wait_for(page, r"Leave field", 60)  # the first field has the focus: escape leaves it
            seen = len(screen)
            page.keyboard.press("Escape")
            # Out of the field the footer offers the run keys again.
            deadline = time.monotonic() + 30
            while "Start" not in "".join(screen[seen:]):
                assert time.monotonic() < deadline, "escape did not leave the field"
                page.wait_for_timeout(100)
            page.keyboard.press("s")
            try:
                # The first tranche's row: "1/24" in the run's table (the demo's 24 tranches).
                wait_for(page, r"1/24", 60)
            finally:
                page.screenshot(path=str(tmp_path / "served.png"))

            # A reload: the cookie lets the page in again, and the dashboard draws anew.
            screen.clear()
            page.reload()
            assert page.url == f"{served.base}/"
            for name in ("Kraken", "OKX"):
                wait_for(page, re.escape(name), 60)
            assert outside == []
            # The net catches what it should (aborted here: nothing leaves the machine).
            page.evaluate("fetch('https://fonts.googleapis.com/css').catch(() => null)")
            page.wait_for_timeout(500)
            assert outside == ["https://fonts.googleapis.com/css"]

            # Another origin in the same browser (the cookie is there, and same-site):
            # its socket is refused, so no frame and no keystroke reaches a dashboard.
            before = set(served.children())
            evil = context.new_page()
            evil.goto(evil_site)
            evil.wait_for_function("window.ws_done === true", timeout=20_000)
            assert evil.evaluate("window.frames_got") == 0
            assert set(served.children()) <= before  # no dashboard started for it
        finally:
            browser.close()
