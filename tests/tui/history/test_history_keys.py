"""History reads like the rest of the app: separators, BTC to 8 decimals, skipped tranches in
words; both tables reachable by keyboard; ``e`` exports the one in focus, exactly."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

from dca.executor import Executor
from dca.plan import build_plan
from exchanges.clock import SimClock
from exchanges.simulated import SimulatedMarket
from exchanges.venues import DEFAULT_SPECS
from storage.history.journal import ParquetJournal
from tests.tui.helpers import START, make_app, messages, wait_for
from tui.history.cache import read_runs
from tui.history.parquet import ParquetHistory
from tui.history.screen import HistoryScreen


def _runs(data: Path, max_prices: tuple[str | None, ...] = ("1", None)) -> None:
    """A run that skipped every tranche above the max price, then one that bought."""
    clock = SimClock(START)
    for max_price in max_prices:
        plan = build_plan(
            amount="0.5", duration="4h", tranches=4, max_price=max_price, specs=DEFAULT_SPECS
        )
        journal = ParquetJournal(data, source="demo")
        asyncio.run(Executor(plan, SimulatedMarket(clock), journal, clock).run())


async def test_history_tables_read_like_the_panels_and_show_skips_in_words(
    tmp_path: Path,
) -> None:
    await asyncio.to_thread(_runs, tmp_path)
    source = ParquetHistory(tmp_path)
    runs = await asyncio.to_thread(read_runs, source)
    assert runs.shown is not None
    rows = [runs.shown.get_row_at(i) for i in range(2)]
    statuses = sorted(str(r[1]) for r in rows)
    assert statuses == ["finished", "incomplete"]
    short = next(r for r in rows if r[1] == "incomplete")
    # Bought to the satoshi (never 0E-8) of the amount as asked; the total in its currency.
    assert short[2:4] == ["0.00000000", "0.50"]
    done = next(r for r in rows if r[1] == "finished")
    assert "," in str(done[4]) and "," in str(done[5])  # 89,240.14, not 89240.14
    assert str(done[5]).endswith(" USD") and len(done) == 6  # no quote column of its own

    # The dashboard on a history of the incomplete run alone (its tranches shown at once).
    only = tmp_path / "only"
    await asyncio.to_thread(_runs, only, ("1",))
    app = make_app(tmp_path, history=ParquetHistory(only))
    async with app.run_test(size=(120, 40)) as pilot:
        app.action_history()
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await wait_for(pilot, lambda: bool(screen.query("#tranches-table")))
        await wait_for(pilot, lambda: app.focused is not None)
        assert app.focused is not None and app.focused.id == "runs-table"
        await wait_for(pilot, lambda: screen.tranches is not None)
        assert screen.tranches is not None
        venues = screen.tranches["venue"].to_pylist()
        assert venues == ["skipped: above max"] * 4
        # Let the read-ahead finish (it reads nothing again when History has read it).
        await wait_for(pilot, lambda: app.background_started and app.history_cache.view is not None)
        await pilot.pause(0.5)
        await pilot.press("tab")
        await wait_for(
            pilot, lambda: app.focused is not None and app.focused.id == "tranches-table"
        )
        await pilot.press("e")
        await wait_for(pilot, lambda: any(m.startswith("Exported") for m in messages(app)))
        assert screen.last_export is not None and "tranches" in screen.last_export.name
        rows_out = list(csv.DictReader(io.StringIO(screen.last_export.read_text(encoding="utf-8"))))
        assert [r["qty BTC"] for r in rows_out] == ["0"] * 4
        assert {r["status"] for r in rows_out} == {"skipped"}
        await pilot.press("shift+tab")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "runs-table")
        await pilot.press("e")
        await wait_for(pilot, lambda: sum(m.startswith("Exported") for m in messages(app)) == 2)
        assert screen.last_export is not None and screen.last_export.name == "btc-dca-runs.csv"
        exported = list(csv.DictReader(io.StringIO(screen.last_export.read_text(encoding="utf-8"))))
        assert "Exported: 1 row → " in messages(app)[-1]
        assert all("E-" not in value for row in exported for value in row.values())
        assert [(r["status"], r["bought BTC"]) for r in exported] == [("incomplete", "0")]
