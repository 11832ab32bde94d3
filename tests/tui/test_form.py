"""Filling in the plan form: each field says what is wrong, Start waits for a valid plan."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button, Input, SelectionList, Static

from tests.tui.helpers import make_app, wait_for
from tests.tui.test_snapshots import screen_text
from tui.widgets.plan_form import FormDefaults
from tui.widgets.text_line import TextLines


def error_of(app: object, name: str) -> str:
    return str(app.screen.query_one(f"#{name}-error", Static).render())  # type: ignore[attr-defined]


async def test_form_tells_what_is_wrong_and_enables_start_when_valid(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        start = app.screen.query_one("#start", Button)
        assert start.disabled
        preview = app.screen.query_one("#preview", TextLines)
        assert "Fill in amount and duration" in str(preview.render())

        await pilot.click("#amount")
        await pilot.press(*"abc")
        assert "'abc' is not a number of BTC" in error_of(app, "amount")
        assert app.screen.query_one("#amount", Input).has_class("-invalid")
        assert start.disabled

        app.screen.query_one("#amount", Input).value = ""
        await pilot.press(*"0.5")
        await pilot.click("#duration")
        await pilot.press(*"2x")
        await pilot.pause()
        assert error_of(app, "amount") == ""
        assert "not a duration like 90s" in error_of(app, "duration")
        assert start.disabled

        await pilot.press("backspace", "backspace", "6", "h")
        await pilot.pause()
        assert error_of(app, "duration") == ""
        assert not start.disabled
        # The tranche count it would pick shows as the placeholder, the preview prices it.
        assert app.screen.query_one("#tranches", Input).placeholder == "default: 6"
        await pilot.pause(0.3)
        text = str(preview.render())
        assert "6 tranches of 0.08333 to 0.08334 BTC every 1h" in text
        assert "est. " in text and " USD at current prices" in text

        await pilot.click("#max_price")
        await pilot.press("-", "1")
        await pilot.pause()
        assert error_of(app, "max_price") == "must be more than 0"
        assert start.disabled
        await pilot.press("backspace", "backspace")

        app.screen.query_one("#venues", SelectionList).deselect_all()
        await pilot.pause()
        assert error_of(app, "venues") == "choose at least one venue"
        assert start.disabled


async def test_tranches_too_small_for_the_minimum_order_name_the_field(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.click("#amount")
        await pilot.press(*"0.001")
        await pilot.click("#duration")
        await pilot.press(*"1d")
        await pilot.click("#tranches")
        await pilot.press(*"100")
        await pilot.pause()
        assert "below" in error_of(app, "tranches")
        assert "minimum order" in error_of(app, "tranches")
        assert app.screen.query_one("#start", Button).disabled


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_a_max_price_below_every_ticked_venue_is_warned_about_in_view(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    # As `quote --max-price` says a run would skip: the form says so where it can be read.
    app = make_app(
        tmp_path,
        defaults=FormDefaults(amount="0.5", duration="1d", tranches="24", max_price="1000"),
    )
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.main.form_plan is not None)
        app.main.flush()

        def shown() -> str:
            """The screen's text, each line inside the form's borders, run together."""
            lines = screen_text(app.export_screenshot()).replace("\xa0", " ").splitlines()
            inside = [line.split("│")[1] for line in lines if line.count("│") >= 2]
            return " ".join(" ".join(inside).split())

        warning = "below every ticked venue (best "
        await wait_for(pilot, lambda: warning in shown())
        assert "with fees): tranches would be skipped" in shown()
        # A max price above the best venue: no warning.
        app.main.query_one("#max_price", Input).value = "1000000"
        await wait_for(pilot, lambda: warning not in shown())
