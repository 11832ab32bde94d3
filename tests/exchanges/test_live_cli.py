"""``btc-dca quote`` on the live venues: with no network, and against local venue servers."""

from __future__ import annotations

import asyncio
import io
import json
import time
from decimal import Decimal
from pathlib import Path

import pytest

from exchanges.venues import VENUE_IDS
from tests.exchanges.servers import Reply, VenueServer
from tests.exchanges.test_live import binance_book, bitstamp_book
from tui.cli.main import main


def test_quote_with_no_network_fails_fast_with_one_line_per_venue(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for venue in VENUE_IDS:
        # .invalid names never resolve: exactly what a machine without network sees.
        monkeypatch.setenv(f"BTC_DCA_{venue.upper()}_REST_URL", f"https://{venue}.invalid")
    out = io.StringIO()
    started = time.perf_counter()
    code = main(["quote", "--amount", "1"], out=out)
    elapsed = time.perf_counter() - started
    text = out.getvalue()
    assert code == 3
    assert elapsed < 4.0  # the per-venue timeout is 3 s, and they run at once
    for venue in VENUE_IDS:
        lines = [ln for ln in text.splitlines() if ln.startswith(venue + " ")]
        assert len(lines) == 1, text
        assert "error" in lines[0]


async def test_quote_json_against_local_servers_in_the_venues_formats(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with VenueServer() as srv:
        srv.rest("/api/v3/depth", Reply(binance_book()))
        srv.rest("/api/v2/order_book/btcusd/", Reply(bitstamp_book()))
        ticker = {"error": [], "result": {"USDTZUSD": {"a": ["1.0010", "1", "1.0"], "b": ["1.0"]}}}
        srv.rest("/0/public/Ticker", Reply(json.dumps(ticker)))
        for venue in ("binance", "binanceus", "bitstamp", "kraken"):
            monkeypatch.setenv(f"BTC_DCA_{venue.upper()}_REST_URL", srv.url)
        out = io.StringIO()
        args = ["quote", "--amount", "0.2", "--venues", "binance,binanceus,bitstamp", "--json"]
        code = await asyncio.to_thread(main, args, out)
    assert code == 0, out.getvalue()
    result = json.loads(out.getvalue())
    venues = {v["venue"]: v for v in result["venues"]}
    assert venues["binanceus"]["status"] == "ok", venues
    # binance.com has no BTC/USD: its USDT book at the live USDT→USD ask (Kraken USDTZUSD).
    assert venues["binance"]["status"] == "ok"
    assert Decimal(venues["binance"]["avg_price"]) == Decimal("91000.00") * Decimal("1.0010")
    assert result["best"]["venue"] == "binanceus"
    assert {p for p, _, _ in srv.requests} == {
        "/api/v3/depth",
        "/api/v2/order_book/btcusd/",
        "/0/public/Ticker",
    }
