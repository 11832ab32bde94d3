"""A run from the dashboard: tranches fill and light up their venue, pause, resume, cancel,
a venue going down mid-run, quitting during a run, a failing journal."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

import pytest
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, Static

from dca.events import Event, RunStarted, TrancheFilled
from dca.executor import ResumeState
from dca.plan import build_plan
from dca.status import RunStatus
from exchanges.clock import SimClock
from exchanges.simulated import Fault, SimulatedMarket
from exchanges.venues import DEFAULT_SPECS
from tests.tui.helpers import (
    START,
    SteppedClock,
    confirm,
    leave_field,
    make_app,
    messages,
    wait_for,
)
from tui import fmt
from tui.app import DcaApp
from tui.history.memory import MemoryHistory
from tui.history.screen import HistoryScreen
from tui.screens.quit import QuitScreen
from tui.screens.resume import ResumeOffer, ResumeScreen
from tui.widgets.pair_lines import PairLines
from tui.widgets.plan_form import FormDefaults
from tui.widgets.run_panel import RunPanel
from tui.widgets.tranche_table import TrancheTable
from tui.widgets.venue_panel import VenuePanel
from tui.wiring import LiveUnavailable

DAY = FormDefaults(amount="0.5", duration="1d", tranches="24")


async def test_a_day_long_plan_runs_and_lands_in_history_with_its_totals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A slow machine must not see the 2 s highlight fade before the check.
    monkeypatch.setattr("tui.widgets.venue_panel.HIGHLIGHT_S", 60.0)
    app = make_app(tmp_path, defaults=DAY)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.click("#start")
        await wait_for(pilot, lambda: app.main.run_state == "finished")
        assert app.executor is not None
        summary = app.executor.summary
        assert summary.qty == Decimal("0.5")
        assert summary.filled == 24
        table = app.main.query_one(TrancheTable)
        assert table.row_count == 24
        # The newest row is in view.
        assert table.cursor_row == 23
        # The last tranche's venue is highlighted and shows the fill.
        history = app.history
        assert isinstance(history, MemoryHistory)
        run_id = app.executor.run_id
        last_venue = history.tranches(run_id)["venue"][-1].as_py()
        panel = app.main.query_one(f"#venue-{last_venue}", VenuePanel)
        assert panel.has_class("-filled")
        last_qty = history.tranches(run_id)["qty BTC"][-1].as_py()
        assert f"{fmt.btc(last_qty)} @ " in panel.text().splitlines()[-1]
        assert any(
            m.startswith("Run finished: bought 0.50 of 0.50 BTC for ") for m in messages(app)
        )
        # The status line leaves the figures to the summary below it, so it fits 80 columns.
        status = str(app.main.query_one("#run-status", Static).render())
        assert status == "RUN FINISHED: bought 0.50 of 0.50 BTC"
        summary_line = str(app.main.query_one("#summary", Static).render())
        assert "bought 0.50 of 0.50 BTC" in summary_line

        app.main.query_one(TrancheTable).focus()
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        # History may paint first from what it read ahead, then from the finished run.
        await wait_for(
            pilot, lambda: screen.tranches is not None and screen.tranches.num_rows == 24
        )
        text = str(screen.query_one("#run-summary", PairLines).render())
        assert run_id in text
        assert f"total {summary.total.quantize(Decimal('0.01')):,} USD" in text
        assert screen.runs is not None and screen.runs.num_rows == 1
        assert screen.runs["status"][0].as_py() == "finished"

        # Export writes the run's tranches; the CSV adds up to the run's total (to the cent).
        screen.query_one("#tranches-table").focus()
        await pilot.press("e")
        await wait_for(pilot, lambda: screen.last_export is not None)
        assert screen.last_export is not None
        with screen.last_export.open() as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == 24
        total = sum(Decimal(r["total"]) for r in rows)
        assert abs(total - summary.total) <= Decimal("0.01") * 24
        assert sum(Decimal(r["qty BTC"]) for r in rows) == Decimal("0.5")

        # The runs list exports too, from its own focus.
        screen.query_one("#runs-table").focus()
        await pilot.press("e")
        await wait_for(
            pilot, lambda: screen.last_export is not None and "runs" in screen.last_export.name
        )
        assert any(m.startswith("Exported: 1 row → ") for m in messages(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)


async def test_pause_resume_and_cancel_from_the_buttons(tmp_path: Path) -> None:
    clock = SteppedClock()
    app = make_app(tmp_path, clock=clock, defaults=DAY)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.click("#start")
        await wait_for(pilot, lambda: app.main.run_state == "running")
        # The table is mounted as the run starts: on a busy machine a frame after the state.
        await wait_for(pilot, lambda: bool(app.main.query(TrancheTable)))
        table = app.main.query_one(TrancheTable)
        await wait_for(pilot, lambda: table.row_count == 1)
        status = str(app.main.query_one("#run-status", Static).render())
        # Tranches done of all, as `btc-dca status` counts them (not the next one's number).
        assert "1/24 done" in status and "next in 1:00:00" in status

        await pilot.click("#pause")
        clock.step(3)
        await wait_for(pilot, lambda: app.main.run_state == "paused")
        assert app.main.query_one("#resume", Button).disabled is False
        assert app.main.query_one("#pause", Button).disabled is True
        await pilot.pause(0.1)
        assert table.row_count <= 2  # at most the tranche that was already due

        await pilot.click("#resume")
        await wait_for(pilot, lambda: app.main.run_state == "running")
        clock.step(3)
        await wait_for(pilot, lambda: table.row_count >= 3)

        await pilot.click("#cancel")
        await confirm(pilot)
        clock.step(1)
        await wait_for(pilot, lambda: app.main.run_state == "cancelled")
        assert any(m.startswith("Run cancelled") for m in messages(app))
        assert app.executor is not None
        assert app.executor.summary.qty < Decimal("0.5")
        # The form is usable again for the next plan.
        assert not app.main.query_one("#plan-form").disabled


async def export_from_the_palette(pilot: Pilot[int]) -> None:
    """Open the command palette, search "Export CSV" and run the first match."""
    app = pilot.app
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
    palette = app.screen
    await pilot.press(*"Export CSV")

    def first_match() -> str:
        found = palette.query_one(CommandList)
        return str(found.get_option_at_index(0).prompt) if found.option_count else ""

    await wait_for(pilot, lambda: "Export CSV" in first_match())
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.screen is not palette)


async def test_the_keys_start_pause_resume_export_and_cancel(tmp_path: Path) -> None:
    clock = SteppedClock()
    app = make_app(tmp_path, clock=clock, defaults=replace(DAY, amount=""))
    async with app.run_test(size=(120, 40)) as pilot:
        app.main.query_one("#jitter").focus()  # keys go to the screen, not a text field
        await export_from_the_palette(pilot)
        await wait_for(pilot, lambda: any("No run to export yet" in m for m in messages(app)))
        await pilot.press("s")
        await wait_for(pilot, lambda: any(m.startswith("Plan: amount:") for m in messages(app)))
        assert app.executor is None

        app.main.query_one("#amount", Input).value = "0.5"
        app.main.query_one("#jitter").focus()
        await pilot.press("s")
        await wait_for(pilot, lambda: app.main.run_state == "running")
        await pilot.press("s")
        await wait_for(pilot, lambda: any("A run is already going" in m for m in messages(app)))
        await pilot.press("p")
        clock.step(2)
        await wait_for(pilot, lambda: app.main.run_state == "paused")
        await pilot.press("p")
        await wait_for(pilot, lambda: app.main.run_state == "running")

        # Export from the main screen opens History, where e exports the table shown.
        await export_from_the_palette(pilot)
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        assert any(m.startswith("Export: Press e") for m in messages(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        app.main.query_one("#jitter").focus()
        await pilot.press("c")
        await confirm(pilot)
        clock.step(2)
        await wait_for(pilot, lambda: app.main.run_state == "cancelled")


async def test_a_venue_going_down_mid_run_is_left_out_and_the_run_carries_on(
    tmp_path: Path,
) -> None:
    # Binance is the cheapest for these tranches; it times out from hour 3 to hour 9.
    down = Fault("binance", START + 3 * 3600 - 1, START + 9 * 3600 - 1)
    app = make_app(tmp_path, faults=[down], defaults=DAY)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.click("#start")
        await wait_for(pilot, lambda: app.main.run_state == "finished")
        assert app.executor is not None
        assert app.executor.summary.filled == 24
        history = app.history
        assert isinstance(history, MemoryHistory)
        venues = history.tranches(app.executor.run_id)["venue"].to_pylist()
        assert "binance" not in venues[3:9]
        assert "binance" in venues[:3]
        notes = messages(app)
        assert any(m.startswith("Venue down: Binance: timed out") for m in notes)
        assert any(m.startswith("Venue recovered: Binance") for m in notes)


async def quit_during_a_run(pilot: Pilot[int], app: DcaApp) -> None:
    """Start the plan, wait for its first tranche, press q: the quit dialog is up."""
    await pilot.click("#start")
    # The table mounts as the run starts: on a loaded machine it may not be there yet.
    await wait_for(pilot, lambda: any(t.row_count == 1 for t in app.main.query(TrancheTable)))
    app.main.query_one(TrancheTable).focus()
    await pilot.press("q")
    await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen))


async def test_quitting_during_a_run_can_pause_it_for_later(tmp_path: Path) -> None:
    clock = SteppedClock()
    app = make_app(tmp_path, clock=clock, defaults=DAY)
    async with app.run_test(size=(120, 40)) as pilot:
        await quit_during_a_run(pilot, app)
        await pilot.click("#pause")
        clock.step(1)
        await wait_for(pilot, lambda: not app.is_running)
    history = app.history
    assert isinstance(history, MemoryHistory)
    assert history.runs()["status"][0].as_py() == "paused"
    # What the terminal says once the dashboard is gone (the launcher prints it).
    run_id = history.runs()["run"][0].as_py()
    assert app.farewell == (
        f"Run {run_id} paused (bought 0.02083 of 0.50 BTC). "
        f"Continue it with: btc-dca resume {run_id}"
    )


async def test_quitting_during_a_run_can_cancel_it_or_stay(tmp_path: Path) -> None:
    clock = SteppedClock()
    app = make_app(tmp_path, clock=clock, defaults=DAY)
    async with app.run_test(size=(120, 40)) as pilot:
        await quit_during_a_run(pilot, app)
        await pilot.click("#stay")
        await wait_for(pilot, lambda: app.screen is app.main)
        assert app.run_active
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen))
        await pilot.click("#cancel")
        clock.step(2)
        await wait_for(pilot, lambda: not app.is_running)
    history = app.history
    assert isinstance(history, MemoryHistory)
    assert history.runs()["status"][0].as_py() == "cancelled"
    run_id = history.runs()["run"][0].as_py()
    assert app.farewell == f"Run {run_id} cancelled (bought 0.02083 of 0.50 BTC)."


class BrokenJournal:
    """Storage that fails on the first tranche, as a full disk would; it is told of the failure."""

    instances: ClassVar[list[BrokenJournal]] = []

    def __init__(self) -> None:
        self.failed: list[str] = []
        BrokenJournal.instances.append(self)

    async def record(self, event: Event) -> None:
        if isinstance(event, TrancheFilled):
            raise OSError("No space left on device")

    async def fail(self, run_id: str, message: str) -> None:
        self.failed.append(message)


async def test_a_failing_run_becomes_a_notification_not_a_crash(tmp_path: Path) -> None:
    app = make_app(tmp_path, defaults=DAY, journal_factory=BrokenJournal)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.click("#start")
        await wait_for(pilot, lambda: app.main.run_state == "failed")
        assert any("No space left on device" in m for m in messages(app))
        assert "RUN FAILED" in str(app.main.query_one("#run-status", Static).render())
        assert app.is_running
    assert BrokenJournal.instances[-1].failed == ["No space left on device"]


async def test_an_unfinished_run_is_offered_at_start_and_resumes(tmp_path: Path) -> None:
    plan = build_plan(amount="0.5", duration="1d", tranches=24, specs=DEFAULT_SPECS)
    size = plan.sizes()[0]
    offer = ResumeOffer(
        plan, ResumeState("20260101-000000-abc123", START, {0: size, 1: size}), "0.5 BTC, 2/24"
    )
    app = make_app(tmp_path, offers=lambda: [offer])
    async with app.run_test(size=(120, 40)) as pilot:
        # The offer comes after the first frame; click once its dialog is mounted whole.
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, ResumeScreen) and bool(app.screen.query("Button#resume"))
            ),
        )
        await pilot.pause()
        await pilot.click("#resume")
        await wait_for(pilot, lambda: app.main.run_state == "finished")
        table = app.main.query_one(TrancheTable)
        assert table.row_count == 22
        history = app.history
        assert isinstance(history, MemoryHistory)
        started = history._runs["20260101-000000-abc123"].started
        assert isinstance(started, RunStarted) and started.resumed and started.done == 2


async def test_help_palette_commands_and_theme_are_there(tmp_path: Path) -> None:
    themes: list[str] = []
    done: list[str] = []
    app = make_app(tmp_path, on_theme_change=themes.append, background=[lambda: done.append("x")])
    async with app.run_test(size=(120, 40)) as pilot:
        app.main.query_one("#venue-grid").focus()
        await pilot.press("f1")
        await wait_for(pilot, lambda: bool(app.screen.query("#help-box")))
        await pilot.press("escape")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for wanted in (
            "Start",
            "Pause",
            "Cancel run",
            "History",
            "Export CSV",
            "Theme",
            "Screenshot",
        ):
            assert wanted in titles
        # The choice is saved off the event loop; two quick changes leave the last one saved.
        app.theme = "gruvbox"
        app.theme = "nord"
        await wait_for(pilot, lambda: themes[-1:] == ["nord"])
        assert set(themes) <= {"gruvbox", "nord"}
        # The launcher's housekeeping ran in a thread once the first frame was up.
        await wait_for(pilot, lambda: done == ["x"])
        assert app.first_frame_at is not None and app.background_started
        # The screenshot lands in the export folder and the notification gives its full path.
        await app.action_screenshot_svg()
        shots = await asyncio.to_thread(lambda: list(tmp_path.glob("*.svg")))
        assert len(shots) == 1
        assert f"Screenshot saved: {shots[0].resolve()}" in messages(app)
        # Start with an empty form says what is missing instead of starting.
        app.action_start()
        await pilot.pause()
        assert any("amount" in m for m in messages(app))
        assert app.executor is None


async def test_a_file_that_cannot_be_written_is_said_not_raised(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the export folder should be")
    app = make_app(tmp_path, export_dir=blocked)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.action_screenshot_svg()
        await pilot.pause()
        assert any(m.startswith(f"Screenshot: Could not write {blocked}/") for m in messages(app))
        assert not any(m.startswith("Screenshot saved") for m in messages(app))


async def test_narrow_terminal_puts_each_venue_on_one_line(tmp_path: Path) -> None:
    app = make_app(tmp_path, defaults=DAY)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        assert app.main.has_class("-narrow") and app.main.has_class("-short")
        panel = app.main.query_one("#venue-kraken", VenuePanel)
        assert panel.size.height == 1
        line = panel.text()
        assert "Kraken" in line and "\n" not in line
        # The tranche table (Textual's DataTable) is built when the first run starts.
        assert app.main.query_one(RunPanel).table is None
        assert app.main.query("#tranches-idle")


async def test_a_narrow_screen_keeps_an_ended_run_in_view_until_s_brings_the_form(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path, defaults=FormDefaults(amount="0.5", duration="2h", tranches="4"))
    async with app.run_test(size=(80, 24)) as pilot:
        await leave_field(pilot)
        form = app.main.query_one("#plan-form")
        await pilot.press("s")
        await wait_for(pilot, lambda: app.main.run_state == "finished")
        await pilot.pause()
        # The results keep the whole width: every column of the tranche table is in view.
        assert not form.display
        table = app.main.query_one(TrancheTable)
        assert table.virtual_size.width <= table.scrollable_content_region.width
        # s brings the form back first, with the amount to edit; enter there starts the plan.
        assert app.executor is not None
        first = app.executor.run_id
        await pilot.press("s")
        await pilot.pause()
        assert form.display and app.focused is app.main.query_one("#amount")
        assert app.main.run_state == "finished" and app.executor.run_id == first
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.executor is not None and app.executor.run_id != first)


async def test_choosing_eur_reopens_the_market_in_eur_and_the_run_buys_there(
    tmp_path: Path,
) -> None:
    clock = SimClock(START)
    markets: list[SimulatedMarket] = []

    def market(quote: str) -> SimulatedMarket:
        markets.append(SimulatedMarket(clock, quote=quote, seed=7))
        return markets[-1]

    app = make_app(tmp_path, clock=clock, defaults=DAY, market_factory=market)
    async with app.run_test(size=(120, 40)) as pilot:
        usd = app.market
        kraken = app.main.query_one("#venue-kraken", VenuePanel)
        await wait_for(pilot, lambda: bool(kraken.sparkline))  # USD asks drawn first
        app.main.query_one("#quote", Select).value = "EUR"
        await wait_for(pilot, lambda: app.market.quote == "EUR")
        assert app.market is markets[0] and usd is not app.market
        assert "Quote currency: Prices now in EUR" in messages(app)
        # The panels show the EUR books, priced for the next tranche.
        panel = app.main.query_one("#venue-kraken", VenuePanel)
        eur = app.market.status("kraken").book
        assert eur is not None
        await wait_for(pilot, lambda: f"ask    {fmt.money(eur.best_ask)}" in panel.text())
        # The sparkline started afresh: no USD asks beside the EUR ones (no cliff).
        assert panel.sparkline and all(a < float(eur.best_ask) * 1.05 for a in panel.sparkline)
        await pilot.click("#start")
        await wait_for(pilot, lambda: app.main.run_state == "finished")
        assert app.executor is not None and app.executor.plan.quote == "EUR"
        assert "EUR" in str(app.main.query_one("#summary", Static).render())


async def _choose_eur(
    tmp_path: Path, factory: Callable[[str], SimulatedMarket] | None
) -> list[str]:
    """Choose EUR in the form; the market must stay in USD. Returns the notifications."""
    app = make_app(tmp_path, defaults=DAY, market_factory=factory)
    async with app.run_test(size=(120, 40)) as pilot:
        usd = app.market
        app.main.query_one("#quote", Select).value = "EUR"
        await wait_for(pilot, lambda: any("EUR" in m for m in messages(app)))
        assert app.market is usd and usd.quote == "USD"
        return messages(app)


async def test_a_quote_currency_the_market_cannot_open_keeps_the_old_one(
    tmp_path: Path,
) -> None:
    def refuse(quote: str) -> SimulatedMarket:
        raise LiveUnavailable(f"no venue quotes BTC in {quote}")

    assert "No market in EUR: no venue quotes BTC in EUR" in await _choose_eur(tmp_path, refuse)
    # A market built for one currency only says how to start in another.
    told = await _choose_eur(tmp_path, None)
    assert any("start with --quote EUR" in m for m in told)


async def test_the_quote_currency_stays_while_a_run_is_going(tmp_path: Path) -> None:
    clock = SteppedClock()
    app = make_app(
        tmp_path,
        clock=clock,
        defaults=DAY,
        market_factory=lambda q: SimulatedMarket(clock, quote=q, seed=7),
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.click("#start")
        await wait_for(pilot, lambda: app.main.run_state == "running")
        # The form is locked during a run; a palette or script change is refused all the same.
        app.main.query_one("#quote", Select).value = "EUR"
        await wait_for(pilot, lambda: any("prices switch to EUR" in m for m in messages(app)))
        assert app.market.quote == "USD"
        # Buttons: Pause and Cancel while running, Resume only when paused.
        assert not app.main.query_one("#pause", Button).disabled
        assert app.main.query_one("#resume", Button).disabled
        await pilot.click("#cancel")
        await confirm(pilot)
        clock.step(1)
        await wait_for(pilot, lambda: app.main.run_state == "cancelled")
        # Nothing to pause, resume or cancel any more: the buttons go.
        for button in ("#pause", "#resume", "#cancel"):
            widget = app.main.query_one(button, Button)
            assert (widget.disabled and not widget.display) or not widget.is_on_screen


async def test_pause_and_cancel_with_no_run_say_there_is_none(tmp_path: Path) -> None:
    app = make_app(tmp_path, defaults=DAY)
    async with app.run_test(size=(120, 40)) as pilot:
        app.main.query_one("#jitter").focus()  # keys go to the screen, not a text field
        await pilot.press("p")
        await wait_for(pilot, lambda: ": No run in progress to pause or resume" in messages(app))
        await pilot.press("c")
        await wait_for(pilot, lambda: ": No run in progress to cancel" in messages(app))
        assert app.executor is None and app.main.run_state is RunStatus.PENDING
