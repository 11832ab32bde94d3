"""A venue panel says as much as its width allows: the fill, a down venue's reason, the sparkline."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from exchanges.errors import ErrorKind, VenueError
from exchanges.market import Health, VenueStatus
from tests.tui.helpers import make_app, wait_for
from tui.venue_view import VenueView
from tui.widgets.venue_panel import Fill, VenuePanel, fill_text, quote_rows, spark_rows

FILL = Fill(Decimal("0.02083"), Decimal("89634.77"), 1_767_225_600.0)


def test_a_fill_keeps_its_price_in_a_narrow_panel_and_adds_words_and_time_when_wide() -> None:
    assert fill_text(FILL, 24).plain == "✓ 0.02083 @ 89,634.77"
    assert fill_text(FILL, 26).plain == "filled 0.02083 @ 89,634.77"
    assert fill_text(FILL, 40).plain == "filled 0.02083 @ 89,634.77  00:00:00"
    assert fill_text(None, 40).plain == ""


def test_a_down_venue_shows_its_reason_wrapped_where_the_quote_was() -> None:
    error = VenueError("binance", ErrorKind.HTTP, "HTTP 451: restricted location (geo-blocked)")
    view = VenueView(
        VenueStatus("binance", Health.DOWN, error=error),
        fee_rate=Decimal("0.001"),
        qty=None,
        cost=None,
        best=False,
        distance_bps=None,
        age_s=None,
    )
    rows = [r.plain for r in quote_rows(view, 20)]
    assert len(rows) == 3
    assert all(len(r) <= 20 for r in rows)
    assert "451" in " ".join(rows) and "restricted" in " ".join(rows)


def test_the_sparkline_scales_recent_asks_to_its_rows() -> None:
    one = spark_rows([1.0, 2.0, 3.0], 5, 1, "red")
    assert [r.plain for r in one] == ["  ▁▅█"]
    three = [r.plain for r in spark_rows([1.0, 3.0], 2, 3, "red")]
    assert three == [" █", " █", "▁█"]
    assert [r.plain for r in spark_rows([5.0], 4, 1, "red")] == [""]
    assert spark_rows([1.0, 2.0], 4, 0, "red") == []


async def test_a_fill_adds_its_row_and_leaves_the_others_as_they_were(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 50)) as pilot:
        panel = app.main.query_one("#venue-kraken", VenuePanel)
        # At 160x50 the panel is tall enough for a three-row sparkline.
        await wait_for(pilot, lambda: panel.content_size.height == 10 and "ask" in panel.text())
        before = panel.text().split("\n")
        panel.show_fill(FILL.qty, FILL.price, FILL.at)
        after = panel.text().split("\n")
        assert after[:-1] == before[:-1]
        assert after[-1] == "filled 0.02083 @ 89,634.77  00:00:00"
        assert panel.has_class("-filled")
        assert len(after) == 10
