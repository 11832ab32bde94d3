"""The form's Budget field: money instead of BTC, never both, run to the cent on screen."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from textual.widgets import Button, Input, Static

from tests.tui.helpers import make_app, messages, wait_for
from tui.history.memory import MemoryHistory
from tui.widgets.plan_form import FormDefaults
from tui.widgets.text_line import TextLines


def error_of(app: object, name: str) -> str:
    return str(app.screen.query_one(f"#{name}-error", Static).render())  # type: ignore[attr-defined]


async def test_a_budget_in_the_form_previews_money_per_tranche_and_refuses_an_amount_too(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        start = app.screen.query_one("#start", Button)
        await pilot.click("#spend")
        await pilot.press(*"600")
        await pilot.click("#duration")
        await pilot.press(*"6h")
        await pilot.pause(0.3)
        assert not start.disabled
        preview = str(app.screen.query_one("#preview", TextLines).render())
        assert "6 tranches of 100.00 USD every 1h" in preview
        assert "BTC for 600.00 USD at current prices" in preview

        await pilot.click("#amount")
        await pilot.press(*"0.5")
        await pilot.pause()
        assert "not both" in error_of(app, "amount") and "not both" in error_of(app, "spend")
        assert start.disabled

        app.screen.query_one("#amount", Input).value = ""
        app.screen.query_one("#spend", Input).value = "6"
        await pilot.pause()
        start.press()  # checked against the minimum orders at today's prices
        await pilot.pause()
        assert "below" in error_of(app, "spend") and "minimum order" in error_of(app, "spend")
        assert app.executor is None


async def test_a_budget_run_from_the_form_spends_it_and_history_shows_the_budget(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path, defaults=FormDefaults(spend="1200", duration="2h", tranches="12"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.click("#start")
        await wait_for(pilot, lambda: app.main.run_state == "finished")
        assert app.executor is not None
        s = app.executor.summary
        assert s.filled == 12 and s.total.quantize(Decimal("0.01")) == Decimal("1200.00")
        assert any(" BTC for 1,200.00 of 1,200.00 USD" in m for m in messages(app))
        summary_line = str(app.main.query_one("#summary", Static).render())
        assert "BTC of a 1,200.00 USD budget" in summary_line
        history = app.history
        assert isinstance(history, MemoryHistory)
        runs = history.runs()
        assert runs["budget"].to_pylist() == [Decimal("1200")]
