"""History reads like the rest of the app: separators, BTC to 8 decimals, skipped tranches in
words; both tables reachable by keyboard; ``e`` exports the one in focus, exactly."""

from __future__ import annotations

import asyncio
import csv
from decimal import Decimal
from pathlib import Path

from dca.executor import Executor
from dca.plan import build_plan
from exchanges.clock import SimClock
from exchanges.simulated import SimulatedMarket
from exchanges.venues import DEFAULT_SPECS
from storage.journal import ParquetJournal
from tests.tui.helpers import START, make_app, messages, wait_for
from tui.history.cache import read_runs
from tui.history.parquet import ParquetHistory
from tui.history.screen import HistoryScreen


def _runs(data: Path) -> None:
    """A run that skipped its first tranche above the max price, then bought."""
    clock = SimClock(START)
    for max_price in ("1", None):
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
    assert short[2:4] == ["0.00000000", "0.50000000"]  # bought of target, never 0E-8
    done = next(r for r in rows if r[1] == "finished")
    assert "," in str(done[4]) and "," in str(done[5])  # 89,240.14, not 89240.14

    app = make_app(tmp_path, history=source)
    async with app.run_test(size=(120, 40)) as pilot:
        app.action_history()
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await wait_for(pilot, lambda: bool(screen.query("#runs-table")))
        await wait_for(pilot, lambda: app.focused is not None)
        assert app.focused is not None and app.focused.id == "runs-table"
        # Show the incomplete run and reach its tranches by Tab.
        assert screen.runs is not None
        row = screen.runs["status"].to_pylist().index("incomplete")
        short_id = screen.runs["run"][row].as_py()
        await wait_for(pilot, lambda: screen.run_id is not None)
        await pilot.pause(0.3)  # the runs table has laid out its rows
        for _ in range(50):
            if screen.run_id == short_id:
                break
            await pilot.press("down" if row == 1 else "up")
            await pilot.pause(0.1)
        await wait_for(
            pilot,
            lambda: (
                screen.run_id == short_id
                and screen.tranches is not None
                and screen.tranches["status"][0].as_py() == "skipped"
            ),
        )
        assert screen.tranches is not None
        venues = screen.tranches["venue"].to_pylist()
        assert venues == ["skipped: above max"] * 4
        await pilot.pause(0.2)  # the run's table is mounted in place of the newest run's
        await pilot.press("tab")
        await wait_for(
            pilot, lambda: app.focused is not None and app.focused.id == "tranches-table"
        )
        await pilot.press("e")
        await wait_for(pilot, lambda: any(m.startswith("Exported") for m in messages(app)))
        assert screen.last_export is not None and "tranches" in screen.last_export.name
        rows_out = list(csv.DictReader(screen.last_export.open(encoding="utf-8")))
        assert [r["qty BTC"] for r in rows_out] == ["0"] * 4
        assert {r["status"] for r in rows_out} == {"skipped"}
        await pilot.press("shift+tab")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "runs-table")
        await pilot.press("e")
        await wait_for(pilot, lambda: sum(m.startswith("Exported") for m in messages(app)) == 2)
        assert screen.last_export is not None and screen.last_export.name == "btc-dca-runs.csv"
        exported = list(csv.DictReader(screen.last_export.open(encoding="utf-8")))
        assert "Exported: 2 rows → " in messages(app)[-1]
        assert all("E-" not in value for row in exported for value in row.values())
        assert sum(Decimal(r["bought BTC"]) for r in exported) == Decimal("0.5")
