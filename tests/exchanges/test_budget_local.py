"""A budget run on local venues (their real wire formats): spent to the cent."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.exchanges.servers import threaded_server
from tests.exchanges.test_headless_stream import VENUES, serve
from tui.cli.main import main

D = Decimal


@pytest.mark.parametrize("how", [[], ["--rest"]])
def test_a_budget_run_on_local_venues_spends_it_to_the_cent(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, how: list[str]
) -> None:
    args = ["run", "--headless", "--json", "--spend", "300", "--duration", "2s", "--tranches", "3"]
    with threaded_server() as srv:
        serve(srv, monkeypatch)
        out = io.StringIO()
        code = main([*args, *VENUES, *how], out=out)
    assert code == 0, out.getvalue()
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    tranches = [e for e in events if e["event"] == "tranche"]
    summary = events[-1]
    assert len(tranches) == 3 and {t["venue"] for t in tranches} <= {"kraken", "coinbase"}
    assert tranches[0]["spend"] == "100"
    assert all(D(t["total"]) <= D(t["spend"]) for t in tranches)
    assert D(summary["total"]).quantize(D("0.01")) == D("300.00")
    assert summary["status"] == "finished" and D(summary["left"]) < D("0.01")
