"""The browser view lets in only its own page with its secret: a client without the secret,
with a wrong one, from another origin or through a foreign host name gets a 403, no frame,
and starts no dashboard (so no run)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp
import pytest

from tests.tui.cli.helpers import run
from tests.tui.cli.served import Served, serving
from tui.cli.web import Guard, host_name, make_server, new_token, token_problem

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/task").is_dir(), reason="counts the server's children in /proc"
)


async def _socket(
    served: Served, *, query: str = "", headers: dict[str, str] | None = None, cookie: bool = False
) -> tuple[int, int]:
    """Open the page's socket as a client would: the HTTP status and the frames received
    (101 and frames when let in: it waits up to 60 s for the dashboard's first ones, as a
    loaded machine starts it slowly, then 1 s more)."""
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for an IP address, like a browser's
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        if cookie:  # as after a visit to the printed address
            async with http.get(served.address, allow_redirects=False) as r:
                assert r.status == 302
        try:
            async with http.ws_connect(
                f"{served.base}/ws?width=80&height=24{query}", headers=headers or {}
            ) as ws:
                frames = 0
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 60
                while (left := deadline - loop.time()) > 0:
                    try:
                        msg = await ws.receive(timeout=left)
                    except TimeoutError:
                        break
                    if msg.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
                        frames += 1
                        deadline = min(deadline, loop.time() + 1)
                    else:
                        break
                return 101, frames
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status, 0


async def _get(served: Served, path: str, headers: dict[str, str] | None = None) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.get(served.base + path, headers=headers or {}, allow_redirects=False) as r,
    ):
        return r.status


def _no_runs(tmp_path: Path) -> bool:
    return not (tmp_path / "data" / "runs").exists()


def test_every_refusal_gets_403_no_frames_and_starts_nothing(tmp_path: Path) -> None:
    with serving(tmp_path) as served:
        own = f"http://127.0.0.1:{served.port}"

        async def scenario() -> None:
            # The page and its files without the secret, or with a wrong one.
            assert await _get(served, "/") == 403
            assert await _get(served, "/static/js/textual.js") == 403
            assert await _get(served, "/?token=" + "x" * 43) == 403
            assert await _get(served, f"/?token={served.token}") == 302
            # DNS rebinding: a foreign name pointing at 127.0.0.1, even with the secret.
            rebound = {"Host": f"evil.example:{served.port}"}
            assert await _get(served, f"/?token={served.token}", rebound) == 403
            # The socket: no secret, a wrong one, a foreign origin (with the user's cookie,
            # as a page on another local port would have it), a foreign host.
            assert await _socket(served, headers={"Origin": own}) == (403, 0)
            assert await _socket(served, query="&token=wrong", headers={"Origin": own}) == (403, 0)
            for origin in ("http://evil.example", f"http://127.0.0.1:{served.port + 1}", "null"):
                got = await _socket(served, headers={"Origin": origin}, cookie=True)
                assert got == (403, 0), origin
            got = await _socket(
                served,
                query=f"&token={served.token}",
                headers={"Host": f"evil.example:{served.port}", "Origin": "http://evil.example"},
            )
            assert got == (403, 0)

        asyncio.run(scenario())
        assert served.children() == []  # no dashboard was started for any of them
        assert _no_runs(tmp_path)

        async def let_in() -> tuple[int, int]:
            # The control: the page's own origin with the cookie gets the dashboard.
            return await _socket(served, headers={"Origin": own}, cookie=True)

        status, frames = asyncio.run(let_in())
        assert status == 101 and frames > 0


def test_a_token_from_the_environment_is_used_and_a_weak_one_refused(tmp_path: Path) -> None:
    token = new_token()
    with serving(tmp_path, env={"BTC_DCA_SERVE_TOKEN": token}) as served:
        assert served.token == token
        assert "warning" not in served.printed
        assert asyncio.run(_get(served, f"/?token={token}")) == 302
    with serving(tmp_path, "--token", token) as served:  # never starts with "-"
        assert served.token == token
        assert "--token is visible to every account on this machine" in served.printed


def test_a_new_token_never_reads_as_an_option() -> None:
    """One in 64 URL-safe tokens would start with '-', which ``--token`` cannot take."""
    tokens = {new_token() for _ in range(2000)}
    assert len(tokens) == 2000 and not any(t.startswith("-") for t in tokens)


def test_a_weak_token_is_refused_with_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("serve", "--token", "hunter2") == (2, "")
    assert "--token: at least 16 characters" in capsys.readouterr().err
    monkeypatch.setenv("BTC_DCA_SERVE_TOKEN", "with spaces, long enough")
    assert run("serve") == (2, "")
    assert "BTC_DCA_SERVE_TOKEN: letters, digits and - _ . ~ only" in capsys.readouterr().err


def test_the_guard_reads_hosts_origins_and_tokens() -> None:
    assert host_name("127.0.0.1:8000") == "127.0.0.1"
    assert host_name("[::1]:8000") == "::1"
    assert host_name("Example.COM") == "example.com"
    assert host_name("") is None and host_name("[bad") is None
    g = Guard.for_address("t" * 20, "127.0.0.1", 8000)
    assert g.host_ok("127.0.0.1:8000") and g.host_ok("localhost:8000") and g.host_ok("[::1]:8000")
    assert not g.host_ok("evil.example:8000") and not g.host_ok("")
    assert g.origin_ok(None, "127.0.0.1:8000")  # not a browser: the secret decides
    assert g.origin_ok("http://127.0.0.1:8000", "127.0.0.1:8000")
    assert not g.origin_ok("http://127.0.0.1:8001", "127.0.0.1:8000")
    assert not g.origin_ok("null", "127.0.0.1:8000")
    assert not g.origin_ok("http://[bad", "127.0.0.1:8000")
    assert g.token_ok("t" * 20) and not g.token_ok("t" * 19) and not g.token_ok(None)
    assert g.cookie == "btc-dca-token-8000"
    # Every address: any Host (a remote browser's name for this machine), same checks else.
    anywhere = Guard.for_address("t" * 20, "0.0.0.0", 8000)
    assert anywhere.host_ok("dca.lan:8000") and anywhere.host_ok("192.168.1.5:8000")
    proxied = Guard.for_address("t" * 20, "127.0.0.1", 8000, ["dca.example.org"])
    assert proxied.host_ok("dca.example.org") and not proxied.host_ok("other.example.org")
    lan = Guard.for_address("t" * 20, "192.168.1.5", 8000)
    assert lan.host_ok("192.168.1.5:8000") and not lan.host_ok("dca.lan:8000")
    assert token_problem("short") is not None
    assert token_problem("has spaces in it, sixteen+") is not None
    assert token_problem(new_token()) is None
    assert len(new_token()) >= 43  # 256 bits, URL-safe


def test_env_token_is_not_in_the_dashboards_environment(tmp_path: Path) -> None:
    token = new_token()
    with serving(tmp_path, env={"BTC_DCA_SERVE_TOKEN": token}) as served:

        async def visit() -> tuple[int, int]:
            own = f"http://127.0.0.1:{served.port}"
            return await _socket(served, headers={"Origin": own}, cookie=True)

        assert asyncio.run(visit())[0] == 101
        for pid in served.children():
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            assert token.encode() not in environ
            assert b"BTC_DCA_SERVE_TOKEN" not in environ
    assert os.environ.get("BTC_DCA_SERVE_TOKEN") != token


async def test_the_page_itself_in_process() -> None:
    from aiohttp.test_utils import TestClient, TestServer

    token = new_token()
    guard = Guard.for_address(token, "127.0.0.1", 8000)
    server = make_server("true", "127.0.0.1", 8000, guard, "btc-dca <test>")
    app = await server._make_app()
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        r = await client.get("/")
        assert r.status == 403 and "open the address btc-dca serve printed" in await r.text()
        r = await client.get(f"/?token={token}&fontsize=99", allow_redirects=False)
        assert r.status == 302 and r.headers["Location"] == "/?fontsize=99"
        assert r.headers["X-Frame-Options"] == "DENY"
        morsel = r.cookies[guard.cookie]
        assert morsel.value == token and morsel["httponly"] and morsel["samesite"] == "Strict"
        client.session.cookie_jar.update_cookies({guard.cookie: token})
        r = await client.get("/?fontsize=x")
        page = await r.text()
        assert r.status == 200 and "btc-dca &lt;test&gt;" in page
        assert "googleapis" not in page and "http://" not in page and token not in page
        assert 'data-font-size="16"' in page
        assert r.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
        r = await client.get("/static/fonts/RobotoMono-VariableFont_wght.ttf")
        assert r.status == 200
        r = await client.get("/", headers={"Host": "evil.example:8000"})
        assert r.status == 403
        r = await client.get("/ws", headers={"Origin": "http://evil.example"})
        assert r.status == 403
