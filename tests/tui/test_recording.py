"""Recording the market from the dashboard: m starts and stops it, the header says so."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from exchanges.clock import RealClock
from exchanges.market import MarketData
from storage.market.recorder import Recorder
from tests.tui.helpers import make_app, messages, wait_for


def factory(data: Path) -> Callable[[MarketData], Recorder]:
    def make(market: MarketData) -> Recorder:
        # Real time, a look every 50 ms, written every 200 ms (the simulated books are at a
        # frozen clock here: the keepalive writes them anyway).
        return Recorder(
            market,
            list(market.specs),
            data,
            RealClock(),
            interval_s=0.05,
            flush_s=0.2,
            keepalive_s=0.0,
        )

    return make


async def test_m_records_every_venue_while_the_dashboard_is_open(tmp_path: Path) -> None:
    data = tmp_path / "data"
    app = make_app(tmp_path, recorder_factory=factory(data))
    async with app.run_test(size=(120, 40)) as pilot:
        app.main.query_one("#jitter").focus()
        assert app.sub_title == app.SUB_TITLE
        await pilot.press("m")
        await wait_for(
            pilot, lambda: app.recorder is not None and app.recorder.stats.snapshots >= 12
        )
        await wait_for(pilot, lambda: app.sub_title.startswith("● recording 6 venues: "))
        await pilot.press("m")
        await wait_for(pilot, lambda: app.recorder is None)
        assert app.sub_title == app.SUB_TITLE
        assert any(m.startswith("Recording stopped: Recorded ") for m in messages(app))
    books = pl.read_parquet(data / "market" / "*" / "*" / "*.parquet")
    assert books.height >= 12 and books["venue"].n_unique() == 6


async def test_quitting_while_recording_writes_what_was_taken(tmp_path: Path) -> None:
    data = tmp_path / "data"
    app = make_app(tmp_path, recorder_factory=factory(data))
    async with app.run_test(size=(120, 40)) as pilot:
        app.main.query_one("#jitter").focus()
        await pilot.press("m")
        await wait_for(
            pilot, lambda: app.recorder is not None and app.recorder.stats.snapshots >= 6
        )
        recorder = app.recorder
        app.exit()
    assert recorder is not None
    books = pl.read_parquet(data / "market" / "*" / "*" / "*.parquet")
    assert books.height == recorder.stats.snapshots


async def test_without_a_data_dir_recording_says_why_not(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        app.main.query_one("#jitter").focus()
        await pilot.press("m")
        await wait_for(
            pilot, lambda: any("Recording needs the data dir" in m for m in messages(app))
        )
        assert app.recorder is None


async def test_a_recording_that_cannot_write_stops_and_says_why(tmp_path: Path) -> None:
    blocked = tmp_path / "data"
    blocked.write_text("a file where the data dir should be")
    app = make_app(tmp_path, recorder_factory=factory(blocked))
    async with app.run_test(size=(120, 40)) as pilot:
        app.main.query_one("#jitter").focus()
        await pilot.press("m")
        await wait_for(
            pilot, lambda: any(m.startswith("Recording stopped: ") for m in messages(app))
        )
        assert app.recorder is None and app.sub_title == app.SUB_TITLE
