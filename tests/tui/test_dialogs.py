"""Dialogs a user must be able to read whole before choosing, and irreversible actions that
ask first: the quit dialog at 80x24, cancelling a run with c (or its button) and backing out."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button

from tests.tui.helpers import SteppedClock, make_app, wait_for
from tests.tui.test_snapshots import screen_text
from tui.elsewhere import Elsewhere, Started
from tui.screens.confirm import ConfirmScreen
from tui.screens.quit import QuitScreen
from tui.widgets.plan_form import FormDefaults
from tui.widgets.tranche_table import TrancheTable

DAY = FormDefaults(amount="0.5", duration="1d", tranches="24")
SIZES = [(80, 24), (120, 40)]


def _never(run_id: str) -> Started:
    raise AssertionError("the test does not hand the run over")


def _shown_whole(app_screen_text: str, labels: list[str]) -> list[str]:
    """The labels that do not appear whole on the screen."""
    flat = app_screen_text.replace("\xa0", " ")
    return [label for label in labels if label not in flat]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_quit_dialog_shows_every_choice_whole(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    clock = SteppedClock()
    # With a launcher the dialog offers all four choices (the background one is the longest).
    elsewhere = Elsewhere(tmp_path / "data", hand_over=_never)
    app = make_app(tmp_path, clock=clock, defaults=DAY, elsewhere=elsewhere)
    async with app.run_test(size=size) as pilot:
        await pilot.click("#start")
        await wait_for(pilot, lambda: bool(app.main.query(TrancheTable)))
        app.main.query_one(TrancheTable).focus()
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen))
        await pilot.pause()
        screen = app.screen
        labels = [str(b.label) for b in screen.query(Button)]
        assert "Cancel the run" in labels and "Stay" in labels and len(labels) == 4
        cut = _shown_whole(screen_text(app.export_screenshot()), labels)
        assert cut == [], f"cut at {size}: {cut}"
        for button in screen.query(Button):
            region = button.region
            assert region.right <= size[0] and region.bottom <= size[1], button.label
        # Escape stays (the run goes on).
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        assert app.main.run_state == "running"
        clock.step(1000)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_c_asks_before_cancelling_and_escape_or_n_backs_out(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    clock = SteppedClock()
    app = make_app(tmp_path, clock=clock, defaults=DAY)
    async with app.run_test(size=size) as pilot:
        await pilot.click("#start")
        await wait_for(pilot, lambda: bool(app.main.query(TrancheTable)))
        app.main.query_one(TrancheTable).focus()
        for back_out in ("escape", "n"):
            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.pause()
            dialog = app.screen
            labels = [str(b.label) for b in dialog.query(Button)]
            cut = _shown_whole(screen_text(app.export_screenshot()), labels)
            assert cut == [], f"cut at {size}: {cut}"
            # The safe choice has the focus: enter alone does not cancel.
            assert app.focused is not None and app.focused.id == "no"
            await pilot.press(back_out)
            await wait_for(pilot, lambda: app.screen is app.main)
            clock.step(1)
            await pilot.pause(0.05)
            assert app.main.run_state == "running", back_out
        # y cancels.
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        clock.step(2)
        await wait_for(pilot, lambda: app.main.run_state == "cancelled")


async def test_the_cancel_button_asks_too(tmp_path: Path) -> None:
    clock = SteppedClock()
    app = make_app(tmp_path, clock=clock, defaults=DAY)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.click("#start")
        await wait_for(pilot, lambda: app.main.run_state == "running")
        await pilot.click("#cancel")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#no")
        await wait_for(pilot, lambda: app.screen is app.main)
        clock.step(1)
        await pilot.pause(0.05)
        assert app.main.run_state == "running"
        await pilot.click("#cancel")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#yes")
        clock.step(2)
        await wait_for(pilot, lambda: app.main.run_state == "cancelled")


async def test_the_help_has_the_legend_of_saved_and_the_tranche_numbers(tmp_path: Path) -> None:
    from textual.widgets import Markdown

    from tui.screens.help import HelpScreen

    app = make_app(tmp_path, defaults=DAY)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = app.screen.query_one(Markdown).source
        assert "saved vs worst" in text and "dearest venue" in text
        assert "numbered from 1" in text and "3/24 done" in text
        assert "skipped tranche bought nothing" in text
