"""A venue panel says as much as its width allows: the fill, a down venue's reason, the sparkline."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from textual.geometry import Size
from textual.widgets import SelectionList

from exchanges.errors import ErrorKind, VenueError
from exchanges.market import Health, VenueStatus
from tests.tui.helpers import SteppedClock, leave_field, make_app, wait_for
from tui.venue_view import VenueView
from tui.widgets.plan_form import FormDefaults
from tui.widgets.venue_panel import (
    Fill,
    VenuePanel,
    fill_text,
    head_rows,
    health_text,
    quote_rows,
    spark_rows,
)

FILL = Fill(Decimal("0.02083"), Decimal("89634.77"), 1_767_225_600.0)


def _view(status: VenueStatus, age_s: float | None) -> VenueView:
    """How a panel sees ``status`` before any tranche is priced."""
    return VenueView(
        status,
        fee_rate=Decimal("0.001"),
        qty=None,
        cost=None,
        best=False,
        distance_bps=None,
        age_s=age_s,
    )


def test_a_fill_keeps_its_price_in_a_narrow_panel_and_adds_words_and_time_when_wide() -> None:
    assert fill_text(FILL, 24).plain == "✓ 0.02083 @ 89,634.77"
    assert fill_text(FILL, 26).plain == "filled 0.02083 @ 89,634.77"
    assert fill_text(FILL, 40).plain == "filled 0.02083 @ 89,634.77  00:00:00"
    assert fill_text(None, 40).plain == ""


def test_a_down_venue_shows_its_reason_wrapped_where_the_quote_was() -> None:
    error = VenueError("binance", ErrorKind.HTTP, "HTTP 451: restricted location (geo-blocked)")
    view = _view(VenueStatus("binance", Health.DOWN, error=error), age_s=None)
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


def _live(note: str) -> VenueView:
    return _view(VenueStatus("okx", Health.LIVE, note=note), age_s=0.2)


def test_a_note_too_long_for_the_health_line_gets_lines_of_its_own() -> None:
    short = head_rows(_live("slow"), 30, 2)
    assert [r.plain for r in short] == ["● live · changed <1s ago  slow"]
    long = [r.plain for r in head_rows(_live("slow: answers in 850 ms"), 25, 2)]
    assert long == ["● live · changed <1s ago", "slow: answers in 850 ms"]
    socket = "polling REST; socket: connection refused by wss://ws.okx.com:8443/ws/v5/public"
    cut = [r.plain for r in head_rows(_live(socket), 25, 2)]
    assert len(cut) == 3 and all(len(r) <= 25 for r in cut)
    assert cut[1] == "polling REST; socket:" and cut[2].endswith("…")
    # No spare line: the note stays beside the health (the edge cuts it).
    assert [r.plain for r in head_rows(_live(socket), 25, 0)] == [
        f"● live · changed <1s ago  {socket}"
    ]


def test_the_panel_gives_a_long_note_the_sparklines_rows_while_it_lasts() -> None:
    panel = VenuePanel("okx")
    panel.view = _live("slow: answers in 850 ms")
    # 120x40: one sparkline row, which the note takes.
    rows = [r.plain for r in panel.rows(Size(25, 8))]
    assert rows[:2] == ["● live · changed <1s ago", "slow: answers in 850 ms"]
    assert len(rows) == 8
    # Once the venue answers in time again, the quote rows move back up under the health.
    panel.view = _live("")
    again = [r.plain for r in panel.rows(Size(25, 8))]
    assert again[0] == "● live · changed <1s ago" and again[1:6] == rows[2:7]


def test_a_quiet_book_on_a_live_socket_reads_live_with_the_time_since_it_changed() -> None:
    quiet = VenueStatus("kraken", Health.LIVE, received=100.0, heard=141.5, source="stream")
    assert health_text(_view(quiet, age_s=42.0)).plain == "● live · changed 42s ago"
    assert health_text(_view(quiet, age_s=600.0)).plain == "● live · changed 10m ago"


async def test_a_new_run_clears_the_fill_an_earlier_run_left_on_a_panel(tmp_path: Path) -> None:
    # The first run buys on Kraken only, the second on Coinbase only: once the second
    # starts, Kraken's panel must not still say what the first run bought there.
    clock = SteppedClock()
    defaults = FormDefaults(amount="0.5", duration="2h", tranches="4", venues=("kraken",))
    app = make_app(tmp_path, clock=clock, defaults=defaults)
    async with app.run_test(size=(120, 40)) as pilot:
        await leave_field(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.main.run_state == "running")
        clock.step(3)  # the first tranche is at the start, three more follow
        await wait_for(pilot, lambda: app.main.run_state == "finished")
        assert app.executor is not None
        first = app.executor.run_id
        kraken = app.main.query_one("#venue-kraken", VenuePanel)
        assert kraken.fill is not None
        venues = app.main.query_one("#venues", SelectionList)
        venues.deselect("kraken")
        venues.select("coinbase")
        await wait_for(
            pilot,
            lambda: app.main.form_plan is not None and app.main.form_plan.venues == ("coinbase",),
        )
        await pilot.press("s")
        await wait_for(pilot, lambda: app.executor is not None and app.executor.run_id != first)
        await wait_for(
            pilot, lambda: app.main.query_one("#venue-coinbase", VenuePanel).fill is not None
        )
        assert kraken.fill is None
        assert "filled" not in kraken.text()
        clock.step(1000)
