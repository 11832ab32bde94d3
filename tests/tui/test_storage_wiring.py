"""The dashboard over real Parquet history: runs written by the journal show in History,
unfinished runs are offered for resume, and the command line's launch builds it all."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from rich.text import Text

from dca.events import TrancheFilled
from dca.execution import PaperExecution
from dca.executor import Executor
from dca.journal import FanOut
from dca.plan import build_plan
from exchanges.clock import SimClock
from exchanges.simulated import SimulatedMarket
from exchanges.venues import DEFAULT_SPECS
from storage.config import load_config
from storage.history.journal import ParquetJournal
from storage.history.queries import History
from tests.tui.helpers import START, SteppedClock, make_app, messages, wait_for
from tui import launch as launch_mod
from tui.app import DcaApp
from tui.history.parquet import ParquetHistory
from tui.history.screen import HistoryScreen
from tui.history.tables import run_detail
from tui.widgets.plan_form import FormDefaults
from tui.widgets.tranche_table import TrancheTable
from tui.wiring import LiveUnavailable, Options


async def test_a_dashboard_run_is_written_to_parquet_and_read_back_in_history(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    app = make_app(
        tmp_path,
        defaults=FormDefaults(amount="0.5", duration="1d", tranches="24"),
        journal_factory=lambda: ParquetJournal(data, source="demo", speed=None),
        history=ParquetHistory(data),
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        await pilot.click("#start")
        await wait_for(pilot, lambda: app.main.run_state == "finished")
        assert app.executor is not None
        summary = app.executor.summary
        app.action_history()
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await wait_for(
            pilot,
            lambda: screen.tranches is not None and screen.tranches.num_rows == 24,
            limit_s=20,
        )
        assert screen.runs is not None
        assert screen.runs["total"][0].as_py() == summary.total.quantize(Decimal("0.01"))
        assert screen.tranches is not None
        assert sum(screen.tranches["qty BTC"].to_pylist()) == Decimal("0.5")


class _RecordedAsLive(PaperExecution):
    """Paper fills recorded as real orders: only the run's recorded ``execution`` matters
    to what the dashboard offers."""

    live = True


async def _paused_run(data: Path, *, live: bool = False) -> str:
    """A run that bought 2 of 24 tranches, then was paused and the app killed."""
    clock = SteppedClock()
    plan = build_plan(amount="0.5", duration="1d", tranches=24, specs=DEFAULT_SPECS)
    executor = Executor(
        plan,
        SimulatedMarket(clock),
        ParquetJournal(data, source="demo"),
        clock,
        execution=_RecordedAsLive() if live else None,
    )
    task = asyncio.create_task(executor.run())
    clock.step(1)
    while executor.summary.filled < 2:  # noqa: ASYNC110 - polling the run under test
        await asyncio.sleep(0.01)
    executor.pause()
    clock.step(1)
    while executor.state.value != "paused" or executor._pending:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return executor.run_id


async def _eur_run(data: Path) -> str:
    """A EUR run interrupted (Ctrl-C) after its first tranche."""
    clock = SimClock(START)
    plan = build_plan(amount="0.5", duration="1d", tranches=24, quote="EUR", specs=DEFAULT_SPECS)
    journal = ParquetJournal(data, source="demo")
    executor = Executor(plan, SimulatedMarket(clock, quote="EUR"), journal, clock)

    class StopAfterFirst:
        async def record(self, event: object) -> None:
            if isinstance(event, TrancheFilled):
                executor.cancel("interrupted")

    executor.journal = FanOut(journal, StopAfterFirst())
    await executor.run()
    return executor.run_id


async def test_every_resumable_run_is_offered_whatever_its_quote(tmp_path: Path) -> None:
    run_id = await _paused_run(tmp_path)
    eur = await _eur_run(tmp_path)
    offers = await asyncio.to_thread(launch_mod.resume_offers, tmp_path)
    assert sorted(o.state.run_id for o in offers) == sorted([run_id, eur])
    labels = {o.state.run_id: o.label for o in offers}
    assert "paused" in labels[run_id] and "in USD, 2/24 tranches" in labels[run_id]
    assert "interrupted" in labels[eur] and "in EUR, 1/24 tranches" in labels[eur]
    # `btc-dca resume RUN_ID` narrows the offer to that run; an unknown id offers nothing.
    only = await asyncio.to_thread(launch_mod.resume_offers, tmp_path, run_id)
    assert [o.state.run_id for o in only] == [run_id]
    assert await asyncio.to_thread(launch_mod.resume_offers, tmp_path, "nope") == []


def test_an_unknown_theme_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[ui]\ntheme = "nope"\n')
    config.chmod(0o600)  # readable by others, it would be warned about first
    options = Options(demo=True, data_dir=tmp_path / "d", config=config)
    assert launch_mod.launch(options) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"btc-dca: {config}: ui.theme: 'nope' is not a theme (known: ")
    assert "textual-dark" in err and "Traceback" not in err


def test_resuming_an_unknown_run_in_the_dashboard_says_so_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options = Options(demo=True, data_dir=tmp_path / "d", config=tmp_path / "c.toml")
    assert launch_mod.launch(options, run_id="20260101-000000-nope00") == 2
    assert capsys.readouterr().err.startswith("btc-dca: resume: ")


def test_parquet_history_matches_the_executor_to_the_cent(tmp_path: Path) -> None:
    clock = SimClock(START)
    plan = build_plan(amount="0.25", duration="6h", tranches=6, specs=DEFAULT_SPECS)
    journal = ParquetJournal(tmp_path, source="demo")
    summary = asyncio.run(Executor(plan, SimulatedMarket(clock), journal, clock).run())
    history = ParquetHistory(tmp_path)
    runs = history.runs()
    assert runs["bought BTC"][0].as_py() == Decimal("0.25")
    assert runs["fees"][0].as_py() == summary.fee.quantize(Decimal("0.01"))
    detail = run_detail(history.tranches(runs["run"][0].as_py()))
    assert detail.qty == Decimal("0.25")
    assert sum(detail.venue_share.values()) == 1
    assert len(detail.prices) == 6 and all(
        w >= p for w, p in zip(detail.worst, detail.prices, strict=True)
    )


def test_launch_builds_the_demo_and_returns_the_apps_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[DcaApp] = []

    def fake_run(self: DcaApp) -> int:
        seen.append(self)
        self.farewell = "Run 20260101-000000-abcdef paused (bought 0.1 of 0.5 BTC)."
        return 0

    monkeypatch.setattr(DcaApp, "run", fake_run)
    options = Options(demo=True, data_dir=tmp_path, config=tmp_path / "config.toml")
    assert launch_mod.launch(options) == 0
    # What became of the run is printed once the full screen is gone.
    assert capsys.readouterr().out == "Run 20260101-000000-abcdef paused (bought 0.1 of 0.5 BTC).\n"
    app = seen[0]
    assert app.defaults.amount == "0.5" and app.defaults.tranches == "24"
    assert isinstance(app.history, ParquetHistory)
    assert app.export_dir == tmp_path / "exports"
    assert app.on_theme_change is not None
    app.on_theme_change("nord")
    assert load_config(tmp_path / "config.toml").theme == "nord"
    # Compaction is handed to the app, which runs it in a thread after its first frame.
    compacted: list[Path] = []
    monkeypatch.setattr("storage.history.compaction.compact_logged", compacted.append)
    (compact_after_first_frame,) = app.background
    compact_after_first_frame()
    assert compacted == [tmp_path]
    # When no live market can be built, the exit code says no venue could be reached.

    def no_market(*_: object) -> None:
        raise LiveUnavailable("no venue")

    monkeypatch.setattr(launch_mod, "make_market", no_market)
    assert launch_mod.launch(Options(data_dir=tmp_path, config=tmp_path / "c.toml")) == 3


START_UP = """
import sys, tempfile
from textual.app import App
App.run = lambda self, *a, **k: 0
import tui.cli.main
tui.cli.main.is_terminal = lambda: True  # stdout is this test's pipe
from tui.cli.main import main
assert main(["--demo", "--data-dir", tempfile.mkdtemp()]) == 0
print(",".join(m for m in ("polars", "pyarrow", "tomlkit", "aiohttp") if m in sys.modules))
"""


def test_the_dashboard_starts_without_loading_polars_arrow_or_tomlkit() -> None:
    # They cost a good part of a second; the app loads them in threads after its first frame.
    out = subprocess.run(
        [sys.executable, "-c", START_UP], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""


def test_a_plan_from_the_command_line_fills_the_form(tmp_path: Path) -> None:
    plan = build_plan(
        amount="0.3", duration="2h", tranches=4, max_price="95000", specs=DEFAULT_SPECS
    )
    config = load_config(None)
    d = launch_mod.form_defaults(Options(demo=True), config, plan)
    assert (d.amount, d.tranches, d.max_price) == ("0.3", "4", "95000")
    d = launch_mod.form_defaults(Options(quote="EUR"), config, None)
    assert d.quote == "EUR" and d.amount == config.plan.amount


async def test_a_resumed_run_shows_its_earlier_tranches_and_goes_on_from_its_clock(
    tmp_path: Path,
) -> None:
    run_id = await _paused_run(tmp_path)
    [offer] = await asyncio.to_thread(launch_mod.resume_offers, tmp_path)
    assert [t.index for t in offer.earlier] == [0, 1]
    # The demo clock had got to its second tranche (an hour in): the schedule goes on there.
    assert offer.clock_at == offer.earlier[-1].at
    clock = SimClock(START - 3600)  # a clock restarted behind the schedule
    app = make_app(tmp_path, clock=clock, offers=lambda: [offer])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.executor is None and len(app.screen_stack) > 1)
        await pilot.pause()
        await pilot.click("#resume")
        await wait_for(pilot, lambda: app.main.run_state == "finished")
        table = app.main.query_one(TrancheTable)
        assert table.row_count == 24  # the 2 recorded before, then the 22 of this session
        # The tranches recorded before the stop are drawn dim, this session's are not.
        dims = [
            all(isinstance(c, Text) and "dim" in str(c.spans or c.style) for c in row)
            for row in (table.get_row_at(i) for i in range(table.row_count))
        ]
        assert dims == [True, True] + [False] * 22
        assert app.executor is not None and app.executor.run_id == run_id
        fills = app.executor.summary.filled
        assert fills == 24 and app.executor.summary.qty == Decimal("0.5")
        assert offer.clock_at is not None and clock.now() >= offer.clock_at


async def test_a_stopped_run_can_be_abandoned_from_the_offer_at_start(tmp_path: Path) -> None:
    """The offer at every start can give the run up for good (asked twice); it is then
    recorded as abandoned, keeps what it bought, and is offered no more."""
    from tui.elsewhere import Elsewhere

    run_id = await _paused_run(tmp_path)
    offers = lambda: launch_mod.resume_offers(tmp_path)  # noqa: E731
    app = make_app(tmp_path, offers=offers, elsewhere=Elsewhere(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.screen_stack) > 1)
        await pilot.pause()
        await pilot.click("#abandon")
        await pilot.pause()
        # The first press only asks.
        assert len(app.screen_stack) > 1
        assert History(tmp_path).run(run_id)["status"] == "paused"  # type: ignore[index]
        await pilot.pause(0.3)
        await pilot.click("#abandon")
        await wait_for(pilot, lambda: any("abandoned" in m for m in messages(app)), 5)
        assert len(app.screen_stack) == 1
    row = History(tmp_path).run(run_id)
    assert row is not None and row["status"] == "abandoned"
    bought = History(tmp_path).run_tranches(run_id)["qty_btc"].sum()
    assert row["qty_btc"] == bought > 0
    assert launch_mod.resume_offers(tmp_path) == []


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_resume_run_id_goes_straight_on_with_the_named_run(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    """``btc-dca resume RUN_ID`` opens the dashboard already running that run: no dialog
    asks again which run to resume."""
    run_id = await _paused_run(tmp_path)
    await _paused_run(tmp_path)  # another stopped run, not named: not offered
    offers = lambda: launch_mod.resume_offers(tmp_path, only=run_id)  # noqa: E731
    app = make_app(tmp_path, offers=offers, resume_at_once=True)
    dialogs: list[str] = []
    async with app.run_test(size=size) as pilot:

        def running() -> bool:
            dialogs.extend(type(s).__name__ for s in app.screen_stack[1:])
            return app.executor is not None and app.main.run_state == "finished"

        await wait_for(pilot, running, 10)
        assert app.executor is not None and app.executor.run_id == run_id
        assert app.executor.summary.filled == 24
        assert app.executor.summary.qty == Decimal("0.5")
    assert dialogs == []


async def test_a_run_with_real_orders_is_not_continued_as_paper_in_the_dashboard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The dashboard runs paper: naming a run with real orders refuses with the command
    that continues it; offered at start, it is marked and choosing it says the same."""
    run_id = await _paused_run(tmp_path, live=True)
    code = await asyncio.to_thread(
        launch_mod.launch, Options(data_dir=tmp_path, demo=True), None, run_id
    )
    assert code == 2
    err = capsys.readouterr().err
    assert f"run {run_id} places real orders" in err
    assert f"resume {run_id} --detach" in err and f"--data-dir {tmp_path}" in err
    [offer] = await asyncio.to_thread(launch_mod.resume_offers, tmp_path)
    assert offer.live and offer.label.startswith("LIVE (real orders)")
    app = make_app(tmp_path, offers=lambda: [offer])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.screen_stack) > 1)
        await pilot.pause()
        await pilot.click("#resume")
        await wait_for(pilot, lambda: any("places real orders" in m for m in messages(app)))
        assert app.executor is None
    assert History(tmp_path).run(run_id)["status"] == "paused"  # type: ignore[index]


def test_resume_run_id_of_a_demo_run_opens_on_the_demo_market_at_its_speed() -> None:
    """``btc-dca resume RUN_ID`` of a demo run: the demo market at the run's speed (unless
    told another), as ``resume --headless`` does; a live run as given."""
    demo = launch_mod.run_options(Options(), "demo", 600.0)
    assert (demo.demo, demo.speed) == (True, 600.0)
    assert launch_mod.run_options(Options(speed=50.0), "demo", 600.0).speed == 50.0
    assert launch_mod.run_options(Options(), "live", None) == Options()
