"""What History shows, read ahead: the cache and its versions, the Parquet source's rounding,
the time format, and the screen painting from the cache at once."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pytest
from textual.app import ComposeResult
from textual.pilot import Pilot

from dca.executor import Executor
from dca.journal import Journal
from dca.plan import build_plan
from exchanges.clock import SimClock
from exchanges.simulated import SimulatedMarket
from exchanges.venues import DEFAULT_SPECS
from storage.history.journal import ParquetJournal
from tests.tui.helpers import START, make_app, wait_for
from tui import fmt
from tui.app import DcaApp
from tui.history.cache import (
    TRANCHE_MINUTE,
    TRANCHE_TIME,
    HistoryCache,
    HistoryView,
    tranche_time_format,
    venue_names,
)
from tui.history.memory import MemoryHistory
from tui.history.parquet import ParquetHistory, conform
from tui.history.screen import HistoryScreen
from tui.widgets.arrow_table import SizedArrowBackend
from tui.widgets.pair_lines import PairLines, pack
from tui.widgets.plan_form import FormDefaults

D = Decimal
CENT = D("0.01")


async def _run(journal: Journal, tranches: int = 6, start: float = START) -> str:
    clock = SimClock(start)
    plan = build_plan(amount="0.3", duration="1h", tranches=tranches, specs=DEFAULT_SPECS)
    executor = Executor(plan, SimulatedMarket(clock, seed=3), journal, clock)
    await executor.run()
    return executor.run_id


async def _open_history(app: DcaApp, pilot: Pilot[Any]) -> HistoryScreen:
    """History opened with its key, as a user does (from a field that is not text)."""
    app.main.query_one("#jitter").focus()  # keys go to the screen, not a text field
    await pilot.press("h")
    await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
    screen = app.screen
    assert isinstance(screen, HistoryScreen)
    return screen


def test_money_is_rounded_half_even_on_the_exact_decimal_and_times_to_seconds() -> None:
    money = pa.decimal128(20, 2)
    schema = pa.schema([("p", money), ("t", pa.timestamp("s", tz="UTC")), ("v", pa.string())])
    df = pl.DataFrame(
        {
            "p": pl.Series(
                [D("1.005"), D("1.015"), D("2.675"), D("-1.005"), None], dtype=pl.Decimal(38, 24)
            ),
            "t": [datetime(2026, 1, 1, 0, 0, 1, 999_000, tzinfo=UTC)] * 5,
            "v": ["kraken"] * 5,
        }
    )
    table = conform(df, schema)
    assert table.schema == schema
    # Half-even on the decimal itself (2.675 is not 2.67499… as a float would make it).
    assert table["p"].to_pylist() == [D("1.00"), D("1.02"), D("2.68"), D("-1.00"), None]
    assert table["t"][0].as_py() == datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)


async def test_the_cache_reads_ahead_and_knows_when_the_history_changed() -> None:
    history = MemoryHistory()
    cache = HistoryCache(history)
    heard: list[HistoryView] = []
    cache.subscribe(heard.append)
    assert cache.view is None  # nothing read yet
    empty = cache.load()
    assert empty is not None and empty.newest is None and empty.runs.shown is None
    assert cache.load(only_if_changed=True) is None  # unchanged: nothing read

    first = await _run(history)
    view = cache.load(only_if_changed=True)
    assert view is not None and view.newest is not None and view.newest.run_id == first
    assert view.newest.table.num_rows == 6
    assert view.runs.table["run"].to_pylist() == [first]
    assert cache.load(only_if_changed=True) is None
    assert heard == [empty, view]

    second = await _run(history, tranches=3, start=START + 7200)
    view = cache.load(only_if_changed=True)
    assert view is not None and view.newest is not None and view.newest.run_id == second
    assert view.runs.table.num_rows == 2
    assert cache.view is view


async def test_the_parquet_historys_version_changes_with_each_write(tmp_path: Path) -> None:
    history = ParquetHistory(tmp_path)
    nothing = history.version()
    assert nothing == ()
    await _run(ParquetJournal(tmp_path, source="demo"))
    one = history.version()
    assert one != nothing and history.version() == one
    await _run(ParquetJournal(tmp_path, source="demo"))
    assert history.version() not in (one, nothing)


def test_times_show_in_utc_to_the_second_and_venues_by_name() -> None:
    at = datetime(2026, 1, 1, 13, 45, 38, tzinfo=UTC)
    table = pa.table(
        {
            "time": pa.array([at, at], pa.timestamp("s", tz="UTC")),
            "venue": ["okx", "binanceus+kraken"],
            "qty": pa.array([D("0.1"), D("0.25")]),
        }
    )
    shown = SizedArrowBackend(table, formats={"venue": venue_names})
    assert shown.get_row_at(0) == ["2026-01-01 13:45:38", "OKX", D("0.1")]
    assert shown.get_cell_at(1, 1) == "BUS+KRK"  # a split too long for a column: short names
    assert shown.column_content_widths[:2] == [len("2026-01-01 13:45:38"), len("BUS+KRK")]


def test_tranche_times_drop_the_seconds_when_each_has_its_own_minute_and_a_lone_day() -> None:
    def times(*seconds: int) -> pa.ChunkedArray:
        at = [datetime.fromtimestamp(START + s, tz=UTC) for s in seconds]
        return pa.chunked_array([pa.array(at, pa.timestamp("s", tz="UTC"))])

    day = 86_400
    assert tranche_time_format(times(41, day + 41)) == TRANCHE_MINUTE  # daily, at :41
    assert tranche_time_format(times(0, 30, day)) == TRANCHE_TIME  # two in the first minute
    assert datetime(2026, 1, 1, 13, 45, 38).strftime(TRANCHE_MINUTE) == "01-01 13:45"
    # All on one day: the date is the runs list's, not repeated on every row.
    assert tranche_time_format(times(41, 3641, 7241)) == "%H:%M"
    assert tranche_time_format(times(0, 30, 60)) == "%H:%M:%S"


async def test_history_paints_from_what_was_read_ahead_and_rereads_what_changed(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path, defaults=FormDefaults(amount="0.3", duration="1h", tranches="6"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.click("#start")
        await wait_for(pilot, lambda: app.main.run_state == "finished")
        assert app.executor is not None
        first = app.executor.run_id
        # After the run the app reads History ahead, in a thread.
        await wait_for(
            pilot,
            lambda: (
                app.history_cache.view is not None
                and app.history_cache.view.version == app.history.version()
            ),
        )
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        # Composed with its tables: no read between the key and the paint.
        assert screen.query("#tranches-table") and screen.run_id == first
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)

        # A second run; History is the same screen and shows it once re-read.
        await pilot.click("#start")
        await wait_for(pilot, lambda: app.executor is not None and app.executor.run_id != first)
        await wait_for(pilot, lambda: app.main.run_state == "finished")
        await pilot.press("h")
        await wait_for(pilot, lambda: app.screen is screen)
        await wait_for(pilot, lambda: screen.runs is not None and screen.runs.num_rows == 2)
        assert app.executor is not None
        await wait_for(pilot, lambda: screen.run_id == app.executor.run_id)  # type: ignore[union-attr]


async def test_the_runs_list_shows_every_column_at_80_columns(tmp_path: Path) -> None:
    await _run(ParquetJournal(tmp_path, source="demo"))
    app = make_app(tmp_path, history=ParquetHistory(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_history(app, pilot)

        def laid_out() -> bool:
            # The table on screen now, measured and laid out (in either order when busy).
            tables = screen.query("#runs-table")
            return (
                bool(tables)
                and min(
                    tables.first().scrollable_content_region.width,
                    tables.first().virtual_size.width,
                )
                > 0
            )

        await wait_for(pilot, laid_out)
        await pilot.pause()
        table = screen.query_one("#runs-table")
        assert table.virtual_size.width <= table.scrollable_content_region.width


async def _backtest(data: Path) -> str:
    """A backtest over a demo lake of two hours, saved in ``data``."""
    from storage.backtest import replay as bt
    from storage.market.recorder import record_simulated

    market = SimulatedMarket(SimClock(START), seed=3)
    record_simulated(market, list(DEFAULT_SPECS), data, START - 60, START + 7200, interval_s=30)
    plan = build_plan(amount="0.3", duration="2h", tranches=4, specs=DEFAULT_SPECS)
    prepared = bt.prepare(data, plan, START, max_age_s=60)
    outcome = await bt.replay(prepared, DEFAULT_SPECS, bt.BatchJournal(data))
    return outcome.run_id


async def test_history_lists_backtests_apart_with_their_execution_quality(tmp_path: Path) -> None:
    from textual.widgets import Label

    from tui.history.screen import quality_pairs

    data = tmp_path / "data"
    run_id = await _run(ParquetJournal(data))
    backtest_id = await _backtest(data)
    app = make_app(tmp_path, history=ParquetHistory(data))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_history(app, pilot)
        await wait_for(pilot, lambda: screen.runs is not None and screen.run_id == run_id)
        assert screen.runs is not None and screen.runs["run"].to_pylist() == [run_id]
        title = screen.query_one("#runs-title", Label)
        assert str(title.render()) == "Runs, newest first · b: backtests"

        await pilot.press("b")
        await wait_for(pilot, lambda: screen.run_id == backtest_id and screen.tranches is not None)
        assert screen.runs is not None and screen.runs["run"].to_pylist() == [backtest_id]
        assert (
            str(title.render())
            == "Backtests (replayed over recorded books), newest first · b: runs"
        )
        summary = str(screen.query_one("#run-summary", PairLines).render())
        assert backtest_id in summary and "bps vs arrival " in summary and "  lump " in summary
        assert screen.tranches is not None and screen.tranches.num_rows == 4
        assert all(v is not None for v in screen.tranches["best mid"].to_pylist())

        await pilot.press("b")
        await wait_for(pilot, lambda: screen.run_id == run_id)
        assert str(title.render()) == "Runs, newest first · b: backtests"
    # No figures at all (a run before execution quality was recorded): no line.
    from tui.history.source import RunDetail

    empty = RunDetail(D(0), D(0), D(0), D(0), None, None, {})
    assert quality_pairs(empty) == []


async def test_the_backtests_list_says_when_there_are_none(tmp_path: Path) -> None:

    data = tmp_path / "data"
    await _run(ParquetJournal(data))
    app = make_app(tmp_path, history=ParquetHistory(data))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_history(app, pilot)
        await wait_for(pilot, lambda: screen.run_id is not None)
        chart = screen.query_one("#chart")
        await wait_for(pilot, lambda: chart.display)  # the run's prices, plotted
        await pilot.press("b")
        await wait_for(pilot, lambda: screen.tranches is None)
        summary = str(screen.query_one("#run-summary", PairLines).render())
        assert summary.startswith("No backtests yet: btc-dca backtest")
        assert not screen.query("#tranches-table") and not screen.query("#runs-table")
        assert not chart.display  # nothing to plot: no empty box


class _ReadAfterCompose(HistoryScreen):
    """The read-ahead thread finishing between the screen's compose and its mount."""

    def compose(self) -> ComposeResult:
        yield from super().compose()
        self.cache.load()


async def test_a_view_read_between_compose_and_mount_is_shown_not_a_crash(
    tmp_path: Path,
) -> None:
    history = MemoryHistory()
    run_id = await _run(history)
    app = make_app(tmp_path, history=history)
    async with app.run_test(size=(120, 40)) as pilot:
        cache = HistoryCache(history)
        assert cache.view is None  # composed without tables
        app.push_screen(_ReadAfterCompose(cache, tmp_path))
        await wait_for(pilot, lambda: bool(app.screen.query("#runs-table")))
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await wait_for(pilot, lambda: screen.run_id == run_id)


async def test_avg_cost_with_fees_is_the_exact_total_per_btc_rounded_once(tmp_path: Path) -> None:
    """As `run` prints it: not the total rounded to the cent and then divided (dividing by
    0.3 BTC makes a rounded cent 3.3 cents)."""
    from dca.events import RunFinished
    from dca.journal import FanOut, MemoryJournal
    from tui.history.screen import detail_lines

    data = tmp_path / "data"
    memory, events = MemoryHistory(), MemoryJournal()
    run_id = await _run(FanOut(ParquetJournal(data), memory, events), tranches=5)
    summary = next(e.summary for e in events.events if isinstance(e, RunFinished))
    exact = (summary.total / summary.qty).quantize(CENT)
    rounded_first = (summary.total.quantize(CENT) / summary.qty).quantize(CENT)
    assert rounded_first != exact  # this run's total is not a whole number of cents
    for source in (ParquetHistory(data), memory):
        view = HistoryCache(source).load()
        assert view is not None and view.newest is not None
        assert view.newest.detail.avg_cost == exact
        assert (
            f"with fees {fmt.money(exact)}"
            in pack(detail_lines(run_id, "USD", view.newest.detail)).plain
        )


async def test_on_a_short_terminal_the_tranches_get_the_chart_s_rows_until_g(
    tmp_path: Path,
) -> None:
    history = MemoryHistory()
    await _run(history, tranches=6)
    app = make_app(tmp_path, history=history)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_history(app, pilot)
        await wait_for(pilot, lambda: bool(screen.query("#tranches-table")))
        chart, table = screen.query_one("#chart"), screen.query_one("#tranches-table")
        # Every one of the six tranches in view, below the header; no chart.
        await wait_for(pilot, lambda: table.size.height >= 7 and not chart.display)
        await pilot.press("g")
        assert chart.display and chart.size.height > 0
        # The user's choice stands when the terminal changes size, both ways.
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert chart.display
        await pilot.press("g")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not chart.display


async def test_history_opened_before_the_read_ahead_is_not_read_and_redrawn_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tui.app

    monkeypatch.setattr(tui.app, "SETTLE_S", 3600.0)  # the read-ahead starts when told below
    await _run(ParquetJournal(tmp_path, source="demo"))
    app = make_app(tmp_path, history=ParquetHistory(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_history(app, pilot)
        await wait_for(pilot, lambda: bool(screen.query("#runs-table")))
        table = screen.query_one("#runs-table")
        app._start_background()  # what the app does once settled: the read-ahead among it
        [read_ahead] = [w for w in app.workers if w.group == "preload"]
        await wait_for(pilot, lambda: read_ahead.is_finished)
        await pilot.pause()
        assert screen.query_one("#runs-table") is table  # the same table, not mounted again
