"""How the screens look: main screen, the form with errors, history; at 120x40 and 80x24.

Deterministic: a fixed seed on a SimClock (books do not move), UTC times, no cursor blink,
and each screenshot is taken once the screen is drawn whole (``settle``). The SVG's id is
a hash of Textual's internal segments, which can differ between identical-looking frames
on a busy machine, so it is replaced by a constant before comparing.
Update on purpose only: ``pytest tests/tui --snapshot-update``.
"""

from __future__ import annotations

import asyncio
import html
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pytest_textual_snapshot import SVGImageExtension

from dca.executor import Executor
from dca.plan import build_plan
from exchanges.clock import SimClock
from exchanges.simulated import SimulatedMarket
from exchanges.venues import DEFAULT_SPECS
from tests.tui.helpers import START, SteppedClock, make_app, settle, wait_for
from tui.app import DcaApp
from tui.history.memory import MemoryHistory
from tui.history.screen import HistoryScreen
from tui.widgets.plan_form import FormDefaults
from tui.widgets.tranche_table import TrancheTable
from tui.widgets.venue_panel import VenuePanel

SIZES = [(120, 40), (80, 24)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_main_screen(snapshot: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = make_app(tmp_path, defaults=FormDefaults(amount="0.5", duration="1d", tranches="24"))
    assert await screenshot(app, size) == snapshot.use_extension(SVGImageExtension)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_form_with_errors(snapshot: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = make_app(tmp_path, defaults=FormDefaults(amount="abc", duration="2x", max_price="-1"))
    assert await screenshot(app, size) == snapshot.use_extension(SVGImageExtension)


async def screenshot(app: DcaApp, size: tuple[int, int]) -> str:
    """The main screen as an SVG once drawn whole, with a constant id."""
    async with app.run_test(size=size) as pilot:
        # The panels show the market's first books (the SimClock does not move).
        panels = list(app.query(VenuePanel))
        await wait_for(pilot, lambda: all(p.view and p.view.status.book for p in panels))
        await settle(pilot)
        svg = app.export_screenshot(simplify=True)
    return re.sub(r"terminal-\d+", "terminal", svg)


def _history() -> MemoryHistory:
    history = MemoryHistory()
    clock = SimClock(START)
    plan = build_plan(amount="0.5", duration="1d", tranches=24, specs=DEFAULT_SPECS)
    executor = Executor(
        plan, SimulatedMarket(clock), history, clock, run_id="20260101-000000-snap01"
    )
    asyncio.run(executor.run())
    return history


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_history_screen(snapshot: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    # The Arrow table's SVG styles vary between runs of the whole suite (class numbering), so
    # this one compares the screen's text, line by line, as it is laid out.
    app = make_app(tmp_path, history=await asyncio.to_thread(_history))
    async with app.run_test(size=size) as pilot:
        app.action_history()
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await wait_for(pilot, lambda: bool(screen.query("#tranches-table")))
        table = screen.query_one("#tranches-table")
        table.focus()
        # The Arrow table sizes itself on idle: wait until it has laid out its rows.
        await wait_for(pilot, lambda: table.virtual_size.height > 1)
        await settle(pilot)
        svg = app.export_screenshot()
    assert screen_text(svg) == snapshot


def screen_text(svg: str) -> str:
    """The characters of an SVG screenshot, one line per terminal row."""
    rows: dict[float, list[str]] = {}
    for y, text in re.findall(r'<text[^>]*y="([\d.]+)"[^>]*>(.*?)</text>', svg, re.S):
        rows.setdefault(float(y), []).append(html.unescape(re.sub(r"<[^>]+>", "", text)))
    return "\n".join("".join(parts) for _, parts in sorted(rows.items()))


RUNS = [
    ("80x24", (80, 24), FormDefaults(amount="0.5", duration="2h", tranches="24")),
    (
        "split-120x40",
        (120, 40),
        FormDefaults(amount="200", duration="2h", tranches="24", mode="split"),
    ),
]


@pytest.mark.parametrize(("name", "size", "defaults"), RUNS, ids=[r[0] for r in RUNS])
async def test_a_run_in_progress(
    snapshot: Any, tmp_path: Path, name: str, size: tuple[int, int], defaults: FormDefaults
) -> None:
    """Six tranches in: the status line (state, tranche n of m, countdown) and the buttons
    fit, and so does every column of the tranche table, to the last digit of "saved"; a
    split names its venues short enough. The prices move with the clock, so the snapshot
    holds the status line and the table's header; the rows are checked for cut cells."""
    clock = SteppedClock()
    app = make_app(tmp_path, clock=clock, defaults=defaults)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.click("#start")
        await wait_for(pilot, lambda: app.executor is not None)
        executor = app.executor
        assert executor is not None
        while executor.summary.filled + executor.summary.skipped < 6:
            clock.step(1)
            await wait_for(pilot, lambda: clock.idle)
        table = app.main.query_one(TrancheTable)
        done = executor.summary.filled + executor.summary.skipped
        await wait_for(pilot, lambda: table.row_count == done)
        app.main.tick_countdown()
        await settle(pilot)
        text = screen_text(app.export_screenshot()).replace("\xa0", " ")
        clock.step(1000)  # let the run end so the app can close
    lines = text.splitlines()
    status = next(line for line in lines if "RUNNING" in line)
    assert f"{done}/24 done" in status and "next in" in status and "Cancel" in status
    header = next(line for line in lines if " saved" in line and "total" in line)
    rows = [line for line in lines if re.search(r"\d/24 ", line) and "RUNNING" not in line]
    assert len(rows) >= min(done, 6)
    for row in rows:
        # "saved" ends in its cents, not cut (a scrollbar may follow)
        assert re.search(r"\d\.\d\d[^\d.,│]*│$", row), row
    shown = re.sub(r"\d+/24 done", "N/24 done", status[status.index("RUNNING") :])
    columns = header[header.index("time") : header.index("saved") + len("saved")]
    assert (shown.strip(), columns) == snapshot


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_live_confirmation(snapshot: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    """The dialog before a live run's first order: the most it will spend against each
    venue's balance (one short), the word to type, Cancel in focus; whole at 80x24."""
    from tui.live_orders import Preflight
    from tui.screens.live_confirm import LiveConfirmScreen

    plan = build_plan(
        amount="0.5",
        duration="1d",
        tranches=24,
        venues=["binance", "kraken"],
        quote="USD",
        specs=DEFAULT_SPECS,
    )
    pre = Preflight(
        Decimal("30012.50"),
        Decimal("30072.53"),
        {"binance": Decimal("100000"), "kraken": Decimal("12000.5")},
        {},
    )
    app = make_app(tmp_path, defaults=FormDefaults(amount="0.5", duration="1d", tranches="24"))
    async with app.run_test(size=size) as pilot:
        panels = list(app.query(VenuePanel))
        await wait_for(pilot, lambda: all(p.view and p.view.status.book for p in panels))
        await settle(pilot)
        app.push_screen(LiveConfirmScreen(plan, pre, Decimal("0.002"), Decimal("40000")))
        await wait_for(pilot, lambda: isinstance(app.screen, LiveConfirmScreen))
        # The dialog has no footer of its own: drawn whole once its focus is set.
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "cancel")
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        svg = re.sub(r"terminal-\d+", "terminal", app.export_screenshot(simplify=True))
    text = screen_text(svg).replace("\xa0", " ")
    assert "Send real orders" in text and "Cancel (esc)" in text and "SHORT" in text
    assert svg == snapshot.use_extension(SVGImageExtension)
