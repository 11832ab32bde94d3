"""``notify --test`` reports each URL; ``serve`` refuses what is unsafe or impossible."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.storage.alerts.alert_server import AlertServer, refused_url
from tests.tui.cli.helpers import run
from tui.cli.serve import dashboard_command, is_loopback, port_problem
from tui.wiring import Options


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The test's config file (conftest.py points the commands at it)."""
    return tmp_path / "config.toml"


def test_notify_test_sends_to_every_url_and_reports_each(config: Path) -> None:
    with AlertServer() as srv:
        refused = refused_url()
        config.write_text(f'[notify]\nurls = ["{srv.url}", "{refused}"]\n', encoding="utf-8")
        code, out = run("notify", "--test")
        assert srv.received[0]["title"] == "btc-dca: test alert"
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"sent    {srv.url}  (")
    assert lines[1].startswith(f"FAILED  {refused}  (")
    assert lines[2] == (
        "1 of 2 URLs took the test alert. Alerts on: cancelled, failed, finished, live."
    )
    with AlertServer() as srv:
        config.write_text(f'[notify]\nurls = ["{srv.url}"]\n', encoding="utf-8")
        assert run("notify", "--test")[0] == 0
        assert [a["title"] for a in srv.received] == ["btc-dca: test alert"]


def test_notify_without_urls_or_with_a_malformed_one_exits_2(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("notify", "--test")[0] == 2
    assert "no URL in [notify] urls of" in capsys.readouterr().err
    config.write_text('[notify]\nurls = ["nonsense"]\n', encoding="utf-8")
    # A run reads the same config, so a broken [notify] stops it too, before it starts.
    for argv in (("notify", "--test"), ("run", "--detach", "--amount", "1", "--duration", "1h")):
        assert run(*argv)[0] == 2
        assert "notify.urls: 'nonsense' is not a notification URL" in capsys.readouterr().err


def test_serve_refuses_a_public_host_without_public(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("serve", "--host", "0.0.0.0")[0] == 2
    err = capsys.readouterr().err
    assert "--host: 0.0.0.0 is not loopback: anyone who reaches it can try the page" in err
    assert "ssh -L 8000:127.0.0.1:8000" in err
    assert run("serve", "--port", "70000")[0] == 2
    assert "--port: 70000 is not a port number (1-65535)" in capsys.readouterr().err


def test_serve_on_a_port_in_use_exits_3_with_the_reason(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert run("serve", "--port", str(port))[0] == 3
        assert f"port {port} on 127.0.0.1 is in use" in capsys.readouterr().err
        # --public warns first, then meets the same busy port.
        assert run("serve", "--host", "0.0.0.0", "--public", "--port", str(port))[0] == 3
        err = capsys.readouterr().err
        assert "warning: serving on 0.0.0.0" in err and "Put TLS in front" in err


def test_loopback_and_bind_checks() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.8.0.1") and is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.com")
    assert port_problem("127.0.0.1", 0) is None
    problem = port_problem("192.0.2.1", 8000)  # TEST-NET: not an address of this machine
    assert problem is not None and problem.startswith("cannot listen on 192.0.2.1:8000")
    cmd = dashboard_command(Options(), ["--data-dir", "/tmp/a b"])
    assert cmd.endswith("-m tui.cli --data-dir '/tmp/a b'")
