"""Real orders in a background process: confirmed here, then executed there with --yes;
resuming a live run asks again (or takes --yes), and without a terminal it needs --yes."""

from __future__ import annotations

import io
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from storage.history.queries import History
from storage.runs.control import runs_in_progress
from tests.standins.binance import BinanceStandIn
from tests.standins.serve import serving_in_thread
from tests.tui.cli.helpers import run
from tui.cli import detach
from tui.cli.real_orders import confirm_resume

SECRET = "bgSECRETnotInAnyLogOrFile0123456789"


@pytest.fixture
def binance(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[BinanceStandIn]:
    standin = BinanceStandIn(secret=SECRET)
    with serving_in_thread(standin.app()) as url:
        monkeypatch.setenv("BTC_DCA_BINANCE_REST_URL", url)
        monkeypatch.setenv("BTC_DCA_BINANCE_API_KEY", standin.key)
        monkeypatch.setenv("BTC_DCA_BINANCE_API_SECRET", SECRET)
        monkeypatch.setenv("BTC_DCA_LOG_DIR", str(tmp_path / "logs"))
        yield standin
    for state in runs_in_progress(tmp_path / "data"):
        os.kill(state.pid, signal.SIGTERM)
    detach.reap()


def _wait(check: Callable[[], bool], timeout_s: float = 40.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_detached_live_run_is_confirmed_here_and_buys_in_the_background(
    binance: BinanceStandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(
        "run", "--live", "--yes", "--detach", "--json", "--rest",
        "--venues", "binance", "--quote", "USDT",
        "--amount", "0.02", "--duration", "2s", "--tranches", "2",
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, out + err
    assert "REAL ORDERS" in err  # the pre-flight was shown here, before anything was sent
    run_id = json.loads(out)["run_id"]
    data = tmp_path / "data"
    # While it runs, whoever looks (status, the dashboard) is told it buys for real.
    [state] = [s for s in runs_in_progress(data) if s.run_id == run_id]
    assert state.live
    code, status = run("status", "--json")
    assert code == 0 and json.loads(status.splitlines()[0])["live"] is True

    def done() -> bool:
        row = History(data).run(run_id)
        return row is not None and row["status"] == "finished"

    _wait(done)
    assert len(binance.orders) == 2
    assert History(data).run(run_id)["execution"] == "live"  # type: ignore[index]
    written = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert SECRET.encode() not in written


def test_a_detached_live_run_without_a_terminal_or_yes_sends_nothing(
    binance: BinanceStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run(
        "run", "--live", "--detach", "--venues", "binance", "--quote", "USDT",
        "--amount", "0.02", "--duration", "2s",
    )  # fmt: skip
    assert code == 2 and "--yes" in capsys.readouterr().err
    assert binance.requests == []


def test_live_needs_headless_or_detach_and_never_the_demo(
    binance: BinanceStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = ("--amount", "0.01", "--duration", "2s")
    assert run("run", "--live", "--yes", *plan)[0] == 2
    assert "--headless or --detach" in capsys.readouterr().err
    assert run("run", "--live", "--yes", "--headless", "--demo", *plan)[0] == 2
    assert "never sent on the demo market" in capsys.readouterr().err
    assert run("run", "--live", "--yes", "--headless", "--venues", "coinbase", *plan)[0] == 2
    assert "real orders are not offered on coinbase" in capsys.readouterr().err
    assert binance.requests == []


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_resuming_a_live_run_asks_for_the_word_at_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert confirm_resume("r1", yes=False, ask=lambda _: "BUY", stdin=Tty())
    assert not confirm_resume("r1", yes=False, ask=lambda _: "buy", stdin=Tty())
    assert "Not confirmed: nothing was sent." in capsys.readouterr().err

    def closed(prompt: str) -> str:
        raise EOFError

    assert not confirm_resume("r1", yes=False, ask=closed, stdin=Tty())
    assert confirm_resume("r1", yes=True, stdin=io.StringIO())
    with pytest.raises(Exception, match="--yes"):
        confirm_resume("r1", yes=False, stdin=io.StringIO())
