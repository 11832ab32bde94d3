"""The history screen: runs (newest first) → a run's tranches, totals, venue share and chart."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, Static
from textual_fastdatatable import DataTable

from exchanges.venues import display_name
from tui import fmt
from tui.history_source import HistorySource, RunDetail
from tui.history_tables import run_detail
from tui.palette import venue_colour
from tui.widgets.arrow_table import SizedArrowBackend
from tui.widgets.price_chart import PriceChart

log = logging.getLogger(__name__)

# The runs list shows the newest this many (a page read from storage, not every run ever).
RUNS_PAGE = 500
RUNS_SHOWN = ["started", "status", "bought BTC", "avg price", "total", "quote"]


@dataclass
class RunsLoaded(Message):
    """The runs table arrived from the source, with the backend that shows it."""

    table: pa.Table
    shown: SizedArrowBackend | None


@dataclass
class RunLoaded(Message):
    """One run's tranches and totals arrived from the source."""

    run_id: str
    quote: str
    table: pa.Table
    detail: RunDetail
    shown: SizedArrowBackend


def detail_text(run_id: str, quote: str, d: RunDetail) -> Text:
    """The run's totals and each venue's share of the BTC bought."""
    text = Text.assemble(
        (f"{run_id}  ", "bold"),
        ("bought ", "dim"),
        (f"{fmt.btc(d.qty)} BTC", "bold"),
        ("  total ", "dim"),
        (f"{fmt.money(d.total)} {quote}", "bold"),
        ("  avg ", "dim"),
        fmt.money(d.avg_price),
        ("  fees ", "dim"),
        fmt.money(d.fees),
        ("  saved vs worst ", "dim"),
        (fmt.money(d.saved), "green"),
    )
    if d.venue_share:
        text.append("\nshare ", "dim")
        for i, (venue, share) in enumerate(d.venue_share.items()):
            if i:
                text.append("  ")
            name = "+".join(display_name(v) for v in venue.split("+"))
            text.append(name, venue_colour(venue))
            text.append(f" {share * 100:.0f}%")
    return text


class HistoryScreen(Screen[None]):
    """Past runs from a ``HistorySource``; ``e`` exports the table shown to CSV."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,h", "app.pop_screen", "Back"),
        Binding("e", "export", "Export CSV"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self, source: HistorySource, export_dir: Path) -> None:
        super().__init__(id="history")
        self.source = source
        self.export_dir = export_dir
        self.runs: pa.Table | None = None
        self.run_id: str | None = None
        self.tranches: pa.Table | None = None
        self.last_export: Path | None = None

    def compose(self) -> ComposeResult:
        """Runs on the left (or on top when narrow), the selected run on the right."""
        yield Header()
        with Horizontal(id="history-body"):
            with Vertical(id="runs-pane"):
                yield Label("Runs, newest first", classes="pane-title", id="runs-title")
                yield Container(id="runs-holder")
            with Vertical(id="detail-pane"):
                yield Static(Text("Loading…", "dim"), id="run-summary")
                yield PriceChart(id="chart")
                yield Container(id="tranches-holder")
        yield Footer()

    def on_mount(self) -> None:
        """Load the runs off the event loop."""
        self.action_reload()

    def on_resize(self, event: Resize) -> None:
        """Stack the panes on narrow terminals."""
        self.set_class(event.size.width < 110, "-narrow")

    def action_reload(self) -> None:
        """Read the runs again."""
        self._load_runs()

    @work(thread=True, exclusive=True, group="history-runs", exit_on_error=False)
    def _load_runs(self) -> None:
        runs = self.source.runs(limit=RUNS_PAGE)
        shown = None
        if runs.num_rows:
            started = pc.strftime(runs["started"], "%Y-%m-%d %H:%M")
            columns = runs.select(RUNS_SHOWN).set_column(0, "started", started)
            shown = SizedArrowBackend(columns)
        self.post_message(RunsLoaded(runs, shown))
        if runs.num_rows:
            # The newest run is shown first: read it now, without a round trip through the UI.
            newest = runs.slice(0, 1).to_pylist()[0]
            self.post_message(self._read_run(str(newest["run"]), newest))

    @on(RunsLoaded)
    async def _runs_loaded(self, message: RunsLoaded) -> None:
        self.runs = message.table
        if message.table.num_rows >= RUNS_PAGE:
            self.query_one("#runs-title", Label).update(
                f"Runs, newest first (the latest {RUNS_PAGE}; `btc-dca history` lists all)"
            )
        holder = self.query_one("#runs-holder")
        await holder.remove_children()
        if message.shown is None:
            self.query_one("#run-summary", Static).update(
                Text("No runs yet. Start one from the main screen.", "dim")
            )
            return
        table = DataTable(
            backend=message.shown,
            id="runs-table",
            cursor_type="row",
            show_row_labels=False,
            zebra_stripes=True,
        )
        # The newest run's tranches are already on their way (see ``_load_runs``).
        self.run_id = str(message.table["run"][0].as_py())
        await holder.mount(table)
        table.focus()
        self._select(0)

    def _select(self, row: int) -> None:
        if self.runs is None or not 0 <= row < self.runs.num_rows:
            return
        run_id = str(self.runs["run"][row].as_py())
        if run_id != self.run_id:
            self.run_id = run_id
            self._load_run(run_id, self.runs.slice(row, 1).to_pylist()[0])

    @on(DataTable.RowHighlighted, "#runs-table")
    @on(DataTable.RowSelected, "#runs-table")
    def _run_highlighted(self, event: DataTable.RowHighlighted | DataTable.RowSelected) -> None:
        self._select(event.cursor_row)

    @work(thread=True, exclusive=True, group="history-run", exit_on_error=False)
    def _load_run(self, run_id: str, row: dict[str, Any]) -> None:
        self.post_message(self._read_run(run_id, row))

    def _read_run(self, run_id: str, row: dict[str, Any]) -> RunLoaded:
        """One run's tranches, totals and table backend (in a worker thread)."""
        table = self.source.tranches(run_id)
        # Totals come from the runs row (exact sums rounded once), the share from the tranches.
        detail = replace(
            run_detail(table),
            qty=row["bought BTC"],
            total=row["total"],
            fees=row["fees"],
            saved=row["saved vs worst"],
            avg_price=row["avg price"],
        )
        # Sized here, off the event loop: a million rows measured from Arrow's statistics.
        shown = SizedArrowBackend(table)
        return RunLoaded(run_id, str(row["quote"]), table, detail, shown)

    @on(RunLoaded)
    async def _run_loaded(self, message: RunLoaded) -> None:
        if message.run_id != self.run_id:
            return
        self.tranches = message.table
        d = message.detail
        self.query_one("#run-summary", Static).update(detail_text(message.run_id, message.quote, d))
        self.query_one(PriceChart).set_data(
            d.prices, d.worst, float(d.avg_price) if d.avg_price is not None else None
        )
        holder = self.query_one("#tranches-holder")
        await holder.remove_children()
        await holder.mount(
            DataTable(
                backend=message.shown,
                id="tranches-table",
                cursor_type="row",
                show_row_labels=False,
            )
        )

    def shown_table(self) -> tuple[str, pa.Table] | None:
        """The table the user is looking at: the run's tranches, or the runs list."""
        focused = self.focused
        if self.tranches is not None and (focused is None or focused.id != "runs-table"):
            return f"btc-dca-{self.run_id}-tranches", self.tranches
        if self.runs is not None:
            return "btc-dca-runs", self.runs
        return None

    async def action_export(self) -> None:
        """Write the shown table to CSV in the export folder (in a thread)."""
        shown = self.shown_table()
        if shown is None:
            self.notify("Nothing to export yet", severity="warning")
            return
        name, table = shown
        path = self.export_dir / f"{name}.csv"
        try:
            await asyncio.to_thread(_write_csv, table, path)
        except OSError as exc:
            log.error("export to %s failed: %s", path, exc)
            self.notify(f"Could not write {path}: {exc}", title="Export", severity="error")
            return
        self.last_export = path
        self.notify(f"{table.num_rows} rows → {path.resolve()}", title="Exported")


def _write_csv(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(table, path)
