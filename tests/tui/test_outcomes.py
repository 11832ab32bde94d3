"""Honest outcomes in the dashboard: only ticked venues count, no run without a venue,
a pause never bunches purchases, and the end of a run says how it ended."""

from __future__ import annotations

import asyncio
import itertools
import re
from decimal import Decimal
from pathlib import Path

from textual.widgets import Select, Static

from dca.events import TrancheFilled, TrancheSkipped
from dca.journal import FanOut, MemoryJournal
from exchanges.errors import ErrorKind
from exchanges.market import Health
from exchanges.simulated import Fault
from exchanges.venues import DEFAULT_SPECS, display_name
from tests.tui.helpers import START, SteppedClock, make_app, messages, wait_for
from tui.history.memory import MemoryHistory
from tui.widgets.plan_form import FormDefaults
from tui.widgets.tranche_table import TrancheTable
from tui.widgets.venue_panel import VenuePanel

DNS = "DNS lookup failed"


def _kraken_down() -> list[Fault]:
    return [Fault("kraken", START - 1, START + 86400 * 30, Health.DOWN, ErrorKind.NETWORK, DNS)]


def _estimate(app: object) -> str:
    preview = app.main.query_one("#preview")  # type: ignore[attr-defined]
    return str(preview.render())


async def test_with_only_a_down_venue_ticked_nothing_is_best_and_start_is_refused(
    tmp_path: Path,
) -> None:
    defaults = FormDefaults(amount="0.5", duration="2h", tranches="24", venues=("kraken",))
    app = make_app(tmp_path, defaults=defaults, faults=_kraken_down())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "no ticked venue is reachable" in _estimate(app))
        assert "Kraken down" in _estimate(app) and "est." not in _estimate(app)
        # OKX may be the cheapest of all, but the plan cannot buy there: no panel is best.
        assert not any(p.has_class("-best") for p in app.main.query(VenuePanel))
        await pilot.click("#start")
        await wait_for(pilot, lambda: any("not starting" in m for m in messages(app)))
        assert app.executor is None
        assert f"Start: No ticked venue is reachable (Kraken: {DNS}): not starting" in messages(app)


async def test_the_best_marker_and_the_estimate_follow_the_ticked_venues(tmp_path: Path) -> None:
    defaults = FormDefaults(amount="0.5", duration="2h", tranches="24", venues=("coinbase",))
    app = make_app(tmp_path, defaults=defaults)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "est." in _estimate(app))
        best = [p.venue for p in app.main.query(VenuePanel) if p.has_class("-best")]
        assert best == ["coinbase"]
        assert "best Coinbase" in _estimate(app)


async def test_a_max_price_below_every_ticked_venue_is_warned_about(tmp_path: Path) -> None:
    defaults = FormDefaults(amount="0.5", duration="2h", tranches="24", max_price="80000")
    app = make_app(tmp_path, defaults=defaults)
    async with app.run_test(size=(120, 40)) as pilot:
        warning = "#max_price-warning"
        await wait_for(pilot, lambda: bool(app.main.query(warning)))
        shown = str(app.main.query_one(warning, Static).render())
        assert shown.startswith("below every ticked venue (best ")
        assert shown.endswith("tranches would be skipped")


async def test_a_run_that_buys_nothing_ends_incomplete_not_finished(tmp_path: Path) -> None:
    defaults = FormDefaults(amount="0.5", duration="2h", tranches="4", max_price="1000")
    app = make_app(tmp_path, defaults=defaults)
    async with app.run_test(size=(120, 40)) as pilot:
        # The form warns under Max price first (the layout settles before the click).
        await wait_for(pilot, lambda: bool(app.main.query("#max_price-warning")))
        await pilot.pause()
        await pilot.click("#start")
        await wait_for(pilot, lambda: app.main.run_state == "incomplete")
        status = str(app.main.query_one("#run-status", Static).render())
        assert status.startswith("RUN INCOMPLETE: bought 0.00 of 0.50 BTC (4 tranches skipped)")
        history = app.history
        assert isinstance(history, MemoryHistory)
        assert history.runs()["status"].to_pylist() == ["incomplete"]
        # The run's table and History count what was bought: nothing, in every row.
        table = app.main.query_one(TrancheTable)
        btc = [str(table.get_row_at(i)[3]) for i in range(table.row_count)]
        assert btc == ["0.00000000"] * 4
        run_id = history.runs()["run"][0].as_py()
        assert history.tranches(run_id)["qty BTC"].to_pylist() == [0, 0, 0, 0]
        # What each one moved on is told (the toast), labelled.
        skips = [m for m in messages(app) if m.startswith("Tranche skipped: ")]
        assert len(skips) == 4
        assert skips[0].endswith("; 0.125 BTC carried to the next tranche"), skips[0]
        assert skips[-1].endswith("; 0.50 BTC not bought"), skips[-1]


async def test_pausing_in_the_dashboard_skips_missed_slots_and_says_so(tmp_path: Path) -> None:
    clock = SteppedClock()
    defaults = FormDefaults(amount="1", duration="10h", tranches="10")
    app = make_app(tmp_path, defaults=defaults, clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.click("#start")
        await wait_for(pilot, lambda: app.executor is not None and app.main.run_state == "running")
        executor = app.executor
        assert executor is not None
        seen = MemoryJournal()
        executor.journal = FanOut(executor.journal, seen)
        clock.step(1)
        await wait_for(pilot, lambda: executor.summary.filled == 1)
        await pilot.press("p")
        clock.step(1)  # the executor notices the pause when its sleep ends
        await wait_for(pilot, lambda: app.main.run_state == "paused")
        app.main.tick_countdown()
        status = str(app.main.query_one("#run-status", Static).render())
        assert "PAUSED" in status and "missed slots are skipped" in status
        clock.advance(3.5 * 3600)  # away for three and a half hours
        await pilot.press("p")
        for _ in range(40):
            clock.step(1)
            await asyncio.sleep(0)
        await wait_for(pilot, lambda: app.main.run_state == "finished")
        skipped = [e for e in seen.events if isinstance(e, TrancheSkipped)]
        assert skipped and {e.reason.value for e in skipped} == {"missed_while_stopped"}
        times = [e.at for e in seen.events if isinstance(e, TrancheFilled)]
        # Never two purchases back to back: at least half a slot apart.
        assert all(b - a >= 1800 for a, b in itertools.pairwise(times))
        assert executor.summary.qty == 1


NAMES = {display_name(v) for v in DEFAULT_SPECS}


def _estimated_total(text: str) -> Decimal:
    match = re.search(r"est\. ([\d,.]+) USD at current prices, (best|split) ", text)
    assert match is not None, text
    return Decimal(match.group(1).replace(",", ""))


async def test_a_split_plan_is_estimated_as_the_router_would_split_it(tmp_path: Path) -> None:
    # 2.5 BTC a tranche: deeper than the best venue's cheap levels, so a split is cheaper.
    app = make_app(tmp_path, defaults=FormDefaults(amount="5", duration="2h", tranches="2"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "at current prices, best " in _estimate(app))
        single = _estimated_total(_estimate(app))
        best = next(p.venue for p in app.main.query(VenuePanel) if p.has_class("-best"))
        app.main.query_one("#mode", Select).value = "split"
        await wait_for(pilot, lambda: "at current prices, split " in _estimate(app))
        text = _estimate(app)
        assert _estimated_total(text) < single
        legs = text.split("at current prices, split ", 1)[1].split("\n")[0].split("+")
        assert len(legs) > 1 and all(leg in NAMES for leg in legs)
        # The panels still mark the cheapest single venue.
        assert next(p.venue for p in app.main.query(VenuePanel) if p.has_class("-best")) == best
