"""Known secrets (an alert URL's password, a venue's API key, secret and passphrase, the
browser view's token) reach no file the app writes, no line it prints, no alert body and
no page: a user's whole session is run with them configured, then everything is grepped."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from exchanges import redact
from tests.storage.alerts.alert_server import AlertServer, refused_url
from tests.tui.cli.served import ANSI, serving
from tests.tui.cli.session import Session, use_the_app

PASSWORD = "Pw-alert-7f3c9e1a"  # the secret the test hunts for
REFUSED_PASSWORD = "Pw-refused-2b8d4f60"
PROXY_PASSWORD = "Pw-proxy-51ae0c3d"
API = {
    "BTC_DCA_KRAKEN_API_KEY": "Key-kraken-9d2e4b7c",
    "BTC_DCA_KRAKEN_API_SECRET": "Secret-kraken-0a6f3e18",
    "BTC_DCA_OKX_API_PASSPHRASE": "Pass-okx-c41b97d2",
}
SECRETS = (PASSWORD, REFUSED_PASSWORD, PROXY_PASSWORD, *API.values())


@pytest.fixture(autouse=True)
def _fresh_registry() -> None:
    # The in-process commands register what they read; start each test knowing nothing.
    redact.forget_all()


def _config(srv: AlertServer) -> str:
    with_password = srv.url.replace("json://", f"json://alerts:{PASSWORD}@")
    refused = refused_url().replace("json://", f"json://alerts:{REFUSED_PASSWORD}@")
    return (
        "[notify]\n"
        f'urls = ["{with_password}", "{refused}"]\n'
        'events = ["finished", "failed", "cancelled", "skipped", "venue_down"]\n'
        "[venues.kraken]\n"
        f'rest_url = "https://proxy:{PROXY_PASSWORD}@127.0.0.1:9/"\n'
    )


def _leaks(texts: dict[str, str]) -> list[str]:
    return [f"{where}: {s}" for where, text in texts.items() for s in SECRETS if s in text]


def test_a_session_with_secrets_configured_writes_and_prints_none_of_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    session = Session(tmp_path / "data", tmp_path / "conf" / "config.toml", tmp_path / "logs")
    monkeypatch.setenv("BTC_DCA_DATA_DIR", str(session.data_dir))
    monkeypatch.setenv("BTC_DCA_CONFIG", str(session.config))
    monkeypatch.setenv("BTC_DCA_LOG_DIR", str(session.log_dir))
    for name, value in API.items():
        monkeypatch.setenv(name, value)
    session.config.parent.mkdir(mode=0o700)
    with AlertServer() as srv:
        session.config.write_text(_config(srv))
        session.config.chmod(0o600)
        use_the_app(session, capsys)
        alerts = [f"{a.get('title')} {a.get('message')}" for a in srv.received]
    # The alerts went out (the run's end, the cancel, the test) and the refused URL failed.
    assert len(alerts) >= 3
    printed = "\n".join(session.printed)
    assert "FAILED  json://alerts:***@127.0.0.1:" in printed

    texts = {"printed": printed, "alerts": "\n".join(alerts)}
    for path in session.files():
        if path.is_file() and path != session.config:
            texts[str(path)] = path.read_bytes().decode("utf-8", "replace")
    assert any(p.endswith(".parquet") for p in texts) and any(p.endswith(".log") for p in texts)
    assert _leaks(texts) == []


def test_the_browser_view_shows_no_secret_and_logs_not_its_own(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(_config_without_server())
    (tmp_path / "config.toml").chmod(0o600)
    with serving(tmp_path, env=API) as served:

        async def visit() -> str:
            got: list[str] = []
            jar = aiohttp.CookieJar(unsafe=True)
            async with aiohttp.ClientSession(cookie_jar=jar) as http:
                async with http.get(served.address) as page:
                    got.append(await page.text())
                origin = {"Origin": served.base}
                async with http.ws_connect(
                    f"{served.base}/ws?width=120&height=40", headers=origin
                ) as ws:
                    # Until the dashboard has drawn its venues (slow on a loaded machine),
                    # then 3 s more of its frames.
                    loop = asyncio.get_running_loop()
                    deadline = loop.time() + 60
                    while (left := deadline - loop.time()) > 0:
                        try:
                            msg = await ws.receive(timeout=left)
                        except TimeoutError:
                            break
                        if msg.type is aiohttp.WSMsgType.BINARY:
                            got.append(msg.data.decode("utf-8", "replace"))
                        elif msg.type is aiohttp.WSMsgType.TEXT:
                            got.append(msg.data)
                        else:
                            break
                        if "Kraken" in ANSI.sub("", "".join(got[-2:])):
                            deadline = min(deadline, loop.time() + 3)
            return "".join(got)

        shown = asyncio.run(visit())
        token = served.token
    assert "Kraken" in ANSI.sub("", shown)  # the dashboard did draw
    texts = {"page": shown, "printed": served.printed}
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            texts[str(path)] = path.read_bytes().decode("utf-8", "replace")
    assert _leaks(texts) == []
    # Its own secret is printed once, for the user, and written nowhere.
    assert [w for w, t in texts.items() if token in t] == ["printed"]


def _config_without_server() -> str:
    refused = refused_url().replace("json://", f"json://alerts:{PASSWORD}@")
    return (
        f'[notify]\nurls = ["{refused}"]\n'
        f'[venues.kraken]\nrest_url = "https://proxy:{PROXY_PASSWORD}@127.0.0.1:9/"\n'
    )
