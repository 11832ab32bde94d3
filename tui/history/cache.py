"""What the history screen shows, read ahead of time so History paints at once.

A ``HistoryView`` is the runs list plus the newest run's tranches, totals and table
backend, all built in a thread. ``HistoryCache`` keeps the last one: the app fills it
in the background after its first frame, the screen paints from it, then asks for a
re-read that happens only if the source's ``version()`` (a cheap check) changed.

Arrow and the table backend load inside the functions, never with this module: the
app holds a cache from its start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tui.history.source import HistorySource, RunDetail
from tui.palette import venue_label

if TYPE_CHECKING:
    import pyarrow as pa

    from tui.widgets.arrow_table import SizedArrowBackend

log = logging.getLogger(__name__)

# The runs list shows the newest this many (a page read from storage, not every run ever).
RUNS_PAGE = 500
# The total is shown in its currency ("44,964.75 USD"): no quote column of its own.
RUNS_SHOWN = ["started", "status", "bought BTC", "amount BTC", "avg price", "total"]
# A run's tranches as the table shows them (the worst price is for the chart).
TRANCHES_SHOWN = ["#", "time", "venue", "qty BTC", "avg price", "fee", "total", "saved vs worst"]
# Column labels as the tables show them (times are UTC, as everywhere in the app).
SHOWN_AS = {
    "started": "started (UTC)",
    "time": "time (UTC)",
    "amount BTC": "of",  # BTC, or a budget run's money ("1,000.00 USD")
    "qty BTC": "BTC",
    "saved vs worst": "saved",  # vs the dearest venue, as the summary above says
}
# A tranche's time without the year (the run's date is in the runs list): 14 columns, not 19;
# without the seconds when no two tranches share a minute, and without the date (under the
# label "UTC") when all are on one day: the table fits 80 columns.
TRANCHE_TIME = "%m-%d %H:%M:%S"
TRANCHE_MINUTE = "%m-%d %H:%M"
# Left out of both when a run's tranches are all on one day.
DATE = "%m-%d "


@dataclass(frozen=True, slots=True)
class RunsData:
    """The runs table, and the backend that shows its chosen columns (None without runs).

    Runs and backtests are listed apart: ``table``/``shown`` hold the runs, ``backtests``
    the backtests (same shape; None when there are none).
    """

    table: pa.Table
    shown: SizedArrowBackend | None
    backtests: RunsData | None = None


@dataclass(frozen=True, slots=True)
class RunData:
    """One run's tranches, totals and the backend that shows them."""

    run_id: str
    quote: str
    table: pa.Table
    detail: RunDetail
    shown: SizedArrowBackend


@dataclass(frozen=True, slots=True)
class HistoryView:
    """The runs and the newest run, as of the source's ``version``."""

    version: object
    runs: RunsData
    newest: RunData | None


def venue_names(venue: str) -> str:
    """A venue id, or a split's ids joined by "+", as the user reads them (a skipped
    tranche's "skipped: why" as it is)."""
    if venue.startswith("skipped"):
        return venue
    return venue_label(venue, fit=True).plain


def tranche_time_format(times: pa.ChunkedArray) -> str:
    """``TRANCHE_MINUTE`` when each tranche has a minute of its own, else ``TRANCHE_TIME``;
    without the date when every tranche is on one UTC day (the runs list has it): the
    table then fits 80 columns even with six-figure totals."""
    import pyarrow.compute as pc

    minutes = pc.count_distinct(pc.floor_temporal(times, unit="minute")).as_py()
    shown = TRANCHE_MINUTE if minutes == len(times) else TRANCHE_TIME
    days = pc.count_distinct(pc.floor_temporal(times, unit="day")).as_py()
    return shown.removeprefix(DATE) if days <= 1 else shown


def _shown(table: pa.Table, time_format: str = TRANCHE_TIME) -> SizedArrowBackend:
    """The backend showing ``table``: money with thousands separators, BTC with 8 decimals
    (a column reads alike, never ``0E-8``), venues by name."""
    import pyarrow as pa

    from tui import fmt
    from tui.widgets.arrow_table import SizedArrowBackend

    shown_as = SHOWN_AS if DATE in time_format else {**SHOWN_AS, "time": "UTC"}
    labels = [shown_as.get(name, name) for name in table.column_names]
    formats: dict[str, Callable[[Any], str]] = {
        "venue": venue_names,
        shown_as["time"]: lambda t: t.strftime(time_format),
    }
    for field in table.schema:
        if pa.types.is_decimal(field.type):
            show = fmt.btc_col if field.type.scale == 8 else fmt.money
            formats[shown_as.get(field.name, field.name)] = show
    return SizedArrowBackend(table.rename_columns(labels), formats=formats)


def read_runs(source: HistorySource) -> RunsData:
    """The newest page of runs (in a worker thread)."""
    import pyarrow.compute as pc

    every = source.runs(limit=RUNS_PAGE)
    backtest = pc.equal(pc.fill_null(every["kind"], "run"), "backtest")
    runs = every.filter(pc.invert(backtest))
    backtests = every.filter(backtest)
    return RunsData(
        runs,
        _shown_runs(runs),
        RunsData(backtests, _shown_runs(backtests)) if backtests.num_rows else None,
    )


def _shown_runs(runs: pa.Table) -> SizedArrowBackend | None:
    import pyarrow.compute as pc

    if not runs.num_rows:
        return None
    import pyarrow as pa

    from tui import fmt

    started = pc.strftime(runs["started"], "%Y-%m-%d %H:%M")
    shown = runs.select(RUNS_SHOWN).set_column(0, "started", started)
    # The total in its currency ("44,964.75 USD") and the amount as it was asked for
    # ("0.5"): the list fits 80 columns with every column in view.
    totals = [
        f"{fmt.money(t)} {q}"
        for t, q in zip(runs["total"].to_pylist(), runs["quote"].to_pylist(), strict=True)
    ]
    # A standing plan's buy and period: "100.00 USD/1w".
    amounts = [
        (fmt.btc(a) if b is None else f"{fmt.money(b)} {q}") + (f"/{e}" if e else "")
        for a, b, q, e in zip(
            runs["amount BTC"].to_pylist(),
            runs["budget"].to_pylist(),
            runs["quote"].to_pylist(),
            runs["every"].to_pylist(),
            strict=True,
        )
    ]
    shown = shown.set_column(shown.column_names.index("total"), "total", pa.array(totals))
    shown = shown.set_column(
        shown.column_names.index("amount BTC"), "amount BTC", pa.array(amounts)
    )
    return _shown(shown)


def read_run(source: HistorySource, run_id: str, row: dict[str, Any]) -> RunData:
    """One run's tranches, totals and table backend (in a worker thread).

    ``row`` is the run's row of the runs table: the totals come from it (exact sums
    rounded once), the venue share and the chart from the tranches.
    """
    from tui.history.tables import QUALITY, run_detail

    table = source.tranches(run_id)
    detail = replace(
        run_detail(table),
        qty=row["bought BTC"],
        total=row["total"],
        fees=row["fees"],
        saved=row["saved vs worst"],
        avg_price=row["avg price"],
        avg_cost=row["avg cost"],
        quality={name: row.get(name) for name in QUALITY},
    )
    # Sized here, off the event loop: a million rows measured from Arrow's statistics.
    shown = _shown(table.select(TRANCHES_SHOWN), tranche_time_format(table["time"]))
    return RunData(run_id, str(row["quote"]), table, detail, shown)


class HistoryCache:
    """The last ``HistoryView`` read from ``source``; safe to use from worker threads.

    Whoever shows it subscribes to hear of every view read (from the reading thread).
    """

    def __init__(self, source: HistorySource) -> None:
        self.source = source
        self.view: HistoryView | None = None
        self._lock = threading.Lock()
        self._listeners: list[Callable[[HistoryView], None]] = []

    def subscribe(self, listener: Callable[[HistoryView], None]) -> None:
        """Call ``listener`` with each view read from now on."""
        self._listeners.append(listener)

    def load(self, *, only_if_changed: bool = False) -> HistoryView | None:
        """Read the runs and the newest run, keep them and tell the listeners (in a thread).

        With ``only_if_changed`` nothing is read, and None returned, while the source's
        version is the kept view's.
        """
        with self._lock:
            t0 = time.perf_counter()
            # The version is taken first: a change while reading shows up as stale next time.
            version = self.source.version()
            if only_if_changed and self.view is not None and self.view.version == version:
                return None
            runs = read_runs(self.source)
            newest = None
            if runs.table.num_rows:
                row = runs.table.slice(0, 1).to_pylist()[0]
                newest = read_run(self.source, str(row["run"]), row)
            view = self.view = HistoryView(version, runs, newest)
        log.info(
            "history read: %d runs, newest with %d tranches, in %.0f ms",
            runs.table.num_rows,
            newest.table.num_rows if newest is not None else 0,
            (time.perf_counter() - t0) * 1000,
        )
        for listener in self._listeners:
            listener(view)
        return view
