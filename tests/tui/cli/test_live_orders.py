"""Real orders from the command line, end to end on the Binance stand-in (never a venue).

``live check`` names a refused key or signature; ``run --live`` asks before it sends; a
process killed between a fill and its answer resumes without buying that tranche again;
the secret is in nothing the run wrote or printed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from dca.orders import client_order_id
from exchanges.private.kraken import wire_id as kraken_wire_id
from storage.history.queries import History
from storage.history.resume import load_resumable
from tests.standins.binance import BinanceStandIn
from tests.standins.kraken import KrakenStandIn
from tests.standins.serve import serving_in_thread
from tests.tui.cli.helpers import run

D = Decimal
SECRET = "s3cretNEVERshownANYWHERE0123456789abcdef"
KEY = "k3yForTheStandIn"
# Kraken secrets are base64: this one is as unlikely to appear by chance as SECRET.
KRAKEN_SECRET = "a3Jha2VuU0VDUkVUbmV2ZXJTSE9XTmFueXdoZXJlMDEyMzQ1Ng=="
PLAN = ("--venues", "binance", "--quote", "USDT", "--rest")


@pytest.fixture
def binance(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[BinanceStandIn]:
    standin = BinanceStandIn(key=KEY, secret=SECRET)
    with serving_in_thread(standin.app()) as url:
        monkeypatch.setenv("BTC_DCA_BINANCE_REST_URL", url)
        monkeypatch.setenv("BTC_DCA_BINANCE_API_KEY", KEY)
        monkeypatch.setenv("BTC_DCA_BINANCE_API_SECRET", SECRET)
        monkeypatch.setenv("BTC_DCA_LOG_DIR", str(tmp_path / "logs"))
        yield standin


def _wait(check: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _everything_written(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file())


def test_live_check_says_ready_and_places_nothing(binance: BinanceStandIn) -> None:
    code, out = run("live", "check", "--json", *PLAN[:-1])
    assert code == 0, out
    found = json.loads(out)
    (venue,) = found["venues"]
    assert venue["ok"] is True and venue["validated"] is True
    assert venue["free"]["USDT"] == "100000" and venue["taker_fee"] == "0.001"
    assert venue["can_withdraw"] is False and venue["key_source"] == "env"
    assert binance.orders == [] and len(binance.tested) == 1


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ("BTC_DCA_BINANCE_API_KEY", "Binance: the API key is not valid"),
        ("BTC_DCA_BINANCE_API_SECRET", "Binance: the request's signature is not valid"),
    ],
)
def test_live_check_names_a_refused_key_or_signature_and_exits_3(
    binance: BinanceStandIn, monkeypatch: pytest.MonkeyPatch, env: str, words: str
) -> None:
    monkeypatch.setenv(env, "wrong")
    code, out = run("live", "check", "--venues", "binance", "--quote", "USDT")
    assert code == 3
    assert out.startswith(f"Binance: cannot trade: {words}")


def test_live_check_names_the_quote_a_venue_does_not_trade(binance: BinanceStandIn) -> None:
    code, out = run("live", "check", "--venues", "binance", "--quote", "USD")
    assert code == 3
    assert out.startswith(
        "Binance: cannot trade: Binance: no BTC/USD market (it trades BTC against USDT, USDC, EUR)"
    )
    assert binance.tested == [] and binance.orders == []


def test_live_check_refuses_venues_without_a_stand_in_by_name(
    binance: BinanceStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run("live", "check", "--venues", "binance,okx", "--quote", "USDT")
    assert code == 3
    assert (
        "OKX: cannot trade: OKX: real orders are not offered on OKX "
        "(only on Binance, Binance.US, Kraken)"
    ) in out
    assert "Binance: ready" in out


def test_without_a_terminal_and_without_yes_nothing_is_sent(
    binance: BinanceStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("run", "--live", "--headless", "--amount", "0.02", "--duration", "4s", *PLAN)
    assert code == 2
    assert "--yes" in capsys.readouterr().err
    assert binance.orders == [] and binance.requests == []


class Venue:
    """A stand-in for one venue offered live, served on 127.0.0.1 for a test."""

    def __init__(self, venue: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.venue = venue
        self.quote = "USDT" if venue == "binance" else "USD"
        if venue == "kraken":
            self.kraken = KrakenStandIn(secret=KRAKEN_SECRET)
            self.app = self.kraken.app()
            key, secret = self.kraken.key, KRAKEN_SECRET
        else:
            self.binance = BinanceStandIn(
                key=KEY, secret=SECRET, symbol=f"BTC{self.quote}", quote=self.quote
            )
            self.binance.balances = {self.quote: D("100000"), "BTC": D(0)}
            self.app = self.binance.app()
            key, secret = KEY, SECRET
        self.secret = secret
        self.monkeypatch = monkeypatch
        self.env = {
            f"BTC_DCA_{venue.upper()}_API_KEY": key,
            f"BTC_DCA_{venue.upper()}_API_SECRET": secret,
        }

    def client_ids(self) -> set[str]:
        """Every client order id the venue accepted an order with."""
        if self.venue == "kraken":
            return {o["cl_ord_id"] for o in self.kraken.orders.values()}
        return {o["clientOrderId"] for o in self.binance.orders}

    def wire(self, client_id: str) -> str:
        return kraken_wire_id(client_id) if self.venue == "kraken" else client_id


@pytest.mark.parametrize("venue", ["binance", "binanceus", "kraken"])
def test_a_live_run_buys_on_the_stand_in_and_records_every_order(
    venue: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    v = Venue(venue, monkeypatch)
    with serving_in_thread(v.app) as url:
        monkeypatch.setenv(f"BTC_DCA_{venue.upper()}_REST_URL", url)
        monkeypatch.setenv("BTC_DCA_LOG_DIR", str(tmp_path / "logs"))
        for name, value in v.env.items():
            monkeypatch.setenv(name, value)
        code, out = run(
            "run", "--live", "--yes", "--headless", "--json", "--rest",
            "--venues", venue, "--quote", v.quote,
            "--amount", "0.02", "--duration", "2s", "--tranches", "2",
        )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, out + err
    lines = [json.loads(line) for line in out.splitlines()]
    tranches = [line for line in lines if line["event"] == "tranche"]
    assert len(tranches) == 2 and all(t["live"] is True for t in tranches)
    assert {v.wire(o["client_order_id"]) for t in tranches for o in t["orders"]} == (v.client_ids())
    assert all(D(t["qty"]) >= D("0.01") for t in tranches)  # BTC received, fee sized in
    assert lines[-1]["event"] == "summary" and lines[-1]["live"] is True
    run_id = tranches[0]["run_id"]
    rows = History(tmp_path / "data").run_tranches(run_id)
    assert rows["live"].to_list() == [True, True]
    assert "REAL ORDERS" in err and "At most:" in err
    # History says which runs and tranches were real orders.
    assert f"{run_id}  finished LIVE" in run("history")[1]
    shown = run("history", "--run", run_id)[1]
    assert shown.count("LIVE filled") == 2
    assert v.secret.encode() not in _everything_written(tmp_path)
    assert v.secret not in out + err


def test_a_kill_between_fill_and_answer_then_resume_buys_that_tranche_once(
    binance: BinanceStandIn, tmp_path: Path
) -> None:
    binance.hold_from = 2  # the second order fills, and its answer never comes
    env = dict(os.environ)
    args = [
        sys.executable, "-m", "tui.cli", "run", "--live", "--yes", "--headless", "--json",
        "--amount", "0.02", "--duration", "2s", "--tranches", "2", *PLAN,
    ]  # fmt: skip
    first = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env
    )
    try:
        _wait(lambda: len(binance.orders) == 2)
        time.sleep(0.2)
        first.send_signal(signal.SIGKILL)
        out, err = first.communicate(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    run_id = json.loads(out.splitlines()[0])["run_id"]
    held = client_order_id(run_id, 1, 0, 1)
    assert [o["clientOrderId"] for o in binance.orders][1] == held
    data = tmp_path / "data"
    assert load_resumable(data, run_id).live  # it stays a live run

    resumed = subprocess.run(
        [sys.executable, "-m", "tui.cli", "resume", run_id, "--headless", "--yes", "--json",
         "--rest"],
        capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert len(binance.orders_with(held)) == 1  # never sent again
    # ... and the venue was asked about it by its client order id.
    assert any(
        path == "/api/v3/order" and f"origClientOrderId={held}" in query
        for path, query in binance.requests
    )
    assert len(binance.orders) == 2
    lines = [json.loads(line) for line in resumed.stdout.splitlines()]
    (tranche,) = [line for line in lines if line["event"] == "tranche"]
    assert tranche["index"] == 2 and tranche["orders"][0]["client_order_id"] == held
    rows = History(data).run_tranches(run_id)
    assert rows["index"].to_list() == [0, 1] and rows["live"].to_list() == [True, True]
    written = _everything_written(tmp_path)
    assert SECRET.encode() not in written
    assert SECRET.encode() not in out + err
    assert SECRET not in resumed.stdout + resumed.stderr


def test_a_partial_fills_remainder_goes_to_the_next_venue_in_the_same_tranche(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Binance fills each order in part; the rest of the tranche is bought on Binance.US
    (its own stand-in) under the next attempt's client order id, within the tranche."""
    binance = BinanceStandIn(key=KEY, secret=SECRET)
    binance.fill_at_most = D("0.006")
    us = BinanceStandIn(key=KEY, secret=SECRET)
    us.asks = [(D("60300.00"), D("2"))]
    monkeypatch.setenv("BTC_DCA_LOG_DIR", str(tmp_path / "logs"))
    with serving_in_thread(binance.app()) as a, serving_in_thread(us.app()) as b:
        for venue, url in (("BINANCE", a), ("BINANCEUS", b)):
            monkeypatch.setenv(f"BTC_DCA_{venue}_REST_URL", url)
            monkeypatch.setenv(f"BTC_DCA_{venue}_API_KEY", KEY)
            monkeypatch.setenv(f"BTC_DCA_{venue}_API_SECRET", SECRET)
        code, out = run(
            "run", "--live", "--yes", "--headless", "--json", "--rest",
            "--venues", "binance,binanceus", "--quote", "USDT",
            "--amount", "0.02", "--duration", "2s", "--tranches", "2",
        )  # fmt: skip
    assert code == 0, out + capsys.readouterr().err
    tranches = [t for t in map(json.loads, out.splitlines()) if t["event"] == "tranche"]
    assert len(tranches) == 2
    for t in tranches:
        first, rest = t["orders"]
        assert (first["venue"], first["state"]) == ("binance", "partial")
        assert (rest["venue"], rest["state"]) == ("binanceus", "filled")
        assert first["client_order_id"].endswith("l0a1")
        assert rest["client_order_id"].endswith("l0a2")
        assert D(t["qty"]) >= D("0.01") and "carried_why" not in t
        # Execution quality: part bought dearer on Binance.US than the decision said.
        vs = D(t["fill_quality"]["vs_decision_bps"])
        expected = (D(t["avg_price"]) / D(t["decision"]["avg_price"]) - 1) * 10_000
        assert abs(vs - expected) < D("0.001") and vs > 10
        assert D(t["fill_quality"]["fill_vs_mid_bps"]) > D(t["fill_quality"]["decision_vs_mid_bps"])
    assert len(binance.orders) == 2 and len(us.orders) == 2
    # history --run: each tranche against its decision, and the run's figures under them.
    run_id = tranches[0]["run_id"]
    code, shown = run("history", "--run", run_id)
    assert code == 0 and "vs decision" in shown.splitlines()[0]
    for t in tranches:
        vs = D(t["fill_quality"]["vs_decision_bps"]).quantize(D("0.1"))
        assert f"+{vs} bps" in shown
    assert "Real fills vs their decisions: +" in shown and "over the best mid, median:" in shown
    code, as_json = run("history", "--run", run_id, "--json")
    rows = [json.loads(line) for line in as_json.splitlines()]
    for row, t in zip(rows, tranches, strict=True):
        assert abs(row["fill_vs_decision_bps"] - float(t["fill_quality"]["vs_decision_bps"])) < 1e-3


def test_a_remainder_no_venue_can_take_is_carried_with_the_reason_everywhere(
    binance: BinanceStandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binance.fill_at_most = D("0.006")
    code, out = run(
        "run", "--live", "--yes", "--headless", "--json",
        "--amount", "0.02", "--duration", "2s", "--tranches", "2", *PLAN,
    )  # fmt: skip
    assert code in (0, 4), out + capsys.readouterr().err
    first = next(t for t in map(json.loads, out.splitlines()) if t["event"] == "tranche")
    assert D(first["carried"]) > 0
    assert first["carried_why"].endswith("BTC not filled at the limit; no other venue to take it")
    rows = History(tmp_path / "data").run_tranches(first["run_id"])
    assert rows["detail"][0] == first["carried_why"]
