"""Where the keys go: the first field has the focus at start (the README says so), and
escape leaves a field, so the run keys (s, c, p) act instead of being typed into it."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from tests.tui.helpers import SteppedClock, make_app, messages, settle, wait_for
from tests.tui.test_snapshots import screen_text
from tui.widgets.plan_form import FormDefaults

DAY = FormDefaults(amount="0.5", duration="1d", tranches="24")
SIZES = [(80, 24), (120, 40)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("defaults", [DAY, FormDefaults()], ids=["ready", "empty"])
async def test_the_first_field_has_the_focus_at_start(
    tmp_path: Path, size: tuple[int, int], defaults: FormDefaults
) -> None:
    app = make_app(tmp_path, defaults=defaults)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.focused is not None)
        assert app.focused is app.main.query_one("#amount")
        # A key typed from habit adds to the amount, it does not replace it.
        amount = app.main.query_one("#amount", Input)
        await wait_for(pilot, lambda: amount.selection.is_empty)
        assert amount.cursor_position == len(amount.value)
        # The footer says how to get the run keys back (in the field they are letters).
        await settle(pilot)
        footer = screen_text(app.export_screenshot()).splitlines()[-1]
        assert "esc Leave field" in footer.replace("\xa0", " ")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_escape_leaves_a_field_so_s_and_c_are_keys_again(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    clock = SteppedClock()
    app = make_app(tmp_path, clock=clock, defaults=DAY)
    async with app.run_test(size=size) as pilot:
        amount = app.main.query_one("#amount", Input)
        amount.focus()
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.focused, Input)
        await pilot.press("c")
        await wait_for(pilot, lambda: ": No run in progress to cancel" in messages(app))
        await pilot.press("s")
        await wait_for(pilot, lambda: app.main.run_state == "running")
        assert amount.value == "0.5"
        # Enter in the first field starts a ready plan too (one key, as before).
        clock.step(1000)


async def test_enter_in_the_first_field_starts_a_ready_plan(tmp_path: Path) -> None:
    clock = SteppedClock()
    app = make_app(tmp_path, clock=clock, defaults=DAY)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.focused is app.main.query_one("#amount"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.main.run_state == "running")
        clock.step(1000)
