"""``run --headless`` streams like the dashboard; ``--rest`` keeps the poll-per-tranche way."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.exchanges import test_coinbase as cb
from tests.exchanges import test_kraken as kr
from tests.exchanges.servers import Reply, VenueServer, WsScript, threaded_server
from tui.cli.main import main

RUN = ["run", "--headless", "--json", "--amount", "0.003", "--duration", "2s", "--tranches", "3"]
VENUES = ["--venues", "kraken,coinbase"]


def serve(srv: VenueServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kraken and Coinbase on one local server: a synced book, then heartbeats only."""
    srv.rest("/0/public/Depth", Reply(kr.REST_BODY))
    srv.rest("/products/BTC-USD/book", Reply(cb.REST_BODY))
    # One socket path per venue: the driver uses each venue's configured URL as given.
    srv.ws("/kraken", WsScript([kr.STATUS, kr.ACK, kr.SNAPSHOT], wait_for=1, hold=True,
                               beat=kr.HEARTBEAT, beat_every=0.2))  # fmt: skip
    srv.ws("/coinbase", WsScript([cb.subscriptions(0), cb.l2(1, "snapshot", cb.SNAP)],
                                 wait_for=2, hold=True, beat=lambda n: cb.heartbeat(2 + n),
                                 beat_every=0.2))  # fmt: skip
    for venue in ("kraken", "coinbase"):
        monkeypatch.setenv(f"BTC_DCA_{venue.upper()}_REST_URL", srv.url)
        monkeypatch.setenv(f"BTC_DCA_{venue.upper()}_WS_URL", f"{srv.ws_url}/{venue}")


def tranches(text: str) -> list[dict[str, object]]:
    """The tranche events of a ``--json`` run."""
    events = [json.loads(line) for line in text.splitlines()]
    return [e for e in events if e["event"] == "tranche"]


def test_a_headless_run_streams_every_venue_and_says_so_per_tranche(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with threaded_server() as srv:
        serve(srv, monkeypatch)
        out = io.StringIO()
        code = main([*RUN, *VENUES], out=out)
        connections = dict(srv.connections)
        rest_calls = {p for p, _, _ in srv.requests}
    assert code == 0, out.getvalue()
    events = tranches(out.getvalue())
    assert len(events) == 3
    for event in events:
        books = event["books"]
        assert isinstance(books, dict) and set(books) == {"kraken", "coinbase"}
        assert {b["source"] for b in books.values()} == {"stream"}, books
        assert all(0 <= b["age_s"] < 10 and "reason" not in b for b in books.values())
        alternatives = event["alternatives"]
        assert isinstance(alternatives, dict) and None not in alternatives.values()
    assert connections == {"/kraken": 1, "/coinbase": 1}
    assert rest_calls == set()  # every tranche was priced on the streamed books


def test_rest_fetches_every_book_at_each_tranche_and_opens_no_socket(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with threaded_server() as srv:
        serve(srv, monkeypatch)
        out = io.StringIO()
        code = main([*RUN, *VENUES, "--rest"], out=out)
        connections = dict(srv.connections)
        kraken_calls = srv.count("/0/public/Depth")
    assert code == 0, out.getvalue()
    events = tranches(out.getvalue())
    assert len(events) == 3
    for event in events:
        books = event["books"]
        assert isinstance(books, dict)
        assert {b["source"] for b in books.values()} == {"rest"}
    assert connections == {}
    assert kraken_calls == 4  # the reachability probe, then one per tranche
