"""The Portfolio screen (o): the runs' totals, their value at the bid on screen, over time."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from textual.widgets import Input, Label, Sparkline, Static

from storage.history.portfolio import portfolio
from tests.tui.helpers import make_app, wait_for
from tui.cli.main import main
from tui.screens.portfolio import PortfolioScreen


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir with one paper run of 0.02 BTC in two tranches (run before the app)."""
    monkeypatch.setenv("BTC_DCA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BTC_DCA_CONFIG", str(tmp_path / "config.toml"))
    run = ["run", "--demo", "--speed", "10000", "--headless", "--amount", "0.02"]
    assert main([*run, "--duration", "2h", "--tranches", "2"], out=io.StringIO()) == 0
    return tmp_path / "data"


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
async def test_o_shows_the_portfolio_of_the_runs_with_its_value_now(
    tmp_path: Path, data: Path, size: tuple[int, int]
) -> None:
    expected = portfolio(data)
    app = make_app(tmp_path, portfolio_source=lambda: portfolio(data))
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: bool(app.main.latest))
        amount = app.screen.query_one("#amount", Input)
        await wait_for(pilot, lambda: app.focused is amount)
        # In the first field (where the form starts) o is a letter, as every key there is.
        before = amount.value
        await pilot.press("o")
        await pilot.pause()
        assert amount.value == before + "o" and app.screen is app.main
        await pilot.press("backspace")
        # As a user does: escape leaves the field, then o is the key.
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.focused is None)
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, PortfolioScreen))
        screen = app.screen
        assert isinstance(screen, PortfolioScreen)
        await wait_for(pilot, lambda: screen.portfolio is not None)
        text = str(screen.query_one("#portfolio-summary", Static).render())
        assert "1 paper run in USD" in text and "BTC 0.02" in text
        assert f"cost {expected.total.cost.quantize(Decimal('0.01')):,} USD" in text
        assert "value at the best bid" in text and "P/L" in text
        assert "per venue" in text and "per month" in text
        # From nothing held, then after each of the two tranches.
        held = list(screen.query_one("#portfolio-btc", Sparkline).data or [])
        assert held == [0.0, float(expected.series[0].btc), float(expected.total.btc)]
        cost = list(screen.query_one("#portfolio-cost", Sparkline).data or [])
        assert cost == [0.0, float(expected.series[0].cost), float(expected.total.cost)]
        caption = str(screen.query_one("#portfolio-btc-caption", Label).render())
        assert caption.startswith("0 to 0.02 BTC over 2 filled tranches, ")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, PortfolioScreen))
