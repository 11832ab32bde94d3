"""The history screen: runs (newest first) → a run's tranches, totals, venue share and chart."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.csv as pacsv
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical
from textual.events import Click, Resize
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, Label
from textual_fastdatatable import DataTable

from tui import fmt
from tui.files import write_file
from tui.history.cache import (
    RUNS_PAGE,
    HistoryCache,
    HistoryView,
    RunData,
    RunsData,
    read_run,
)
from tui.history.source import RunDetail
from tui.palette import venue_label
from tui.widgets.arrow_table import SizedArrowBackend
from tui.widgets.pair_lines import Lines, Pair, PairLines
from tui.widgets.price_chart import PriceChart

# Below this width the runs list goes above the run (side by side, the tranche table's
# total and saved columns would be cut).
STACK_BELOW = 160
# Below this height the chart is hidden unless asked for (``g``): the tranches need the rows.
CHART_FROM_ROWS = 32


def plain_decimals(table: pa.Table) -> pa.Table:
    """``table`` with its decimal columns as exact text (``0``, never Arrow's ``0E-8``)."""
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_decimal(field.type):
            text = [None if v is None else fmt.exact(v) for v in column.to_pylist()]
            column = pa.chunked_array([pa.array(text, pa.string())])
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def write_plain_csv(table: pa.Table, to: Path) -> None:
    """Write ``table`` as CSV with exact decimals (in the export thread: a million rows)."""
    pacsv.write_csv(plain_decimals(table), to)


@dataclass
class RunsLoaded(Message):
    """The runs table arrived from the source, with the backend that shows it."""

    data: RunsData


@dataclass
class RunLoaded(Message):
    """One run's tranches and totals arrived from the source."""

    data: RunData


def runs_title(runs: RunsData | None, kind: str = "run") -> str:
    """The list's title (runs or backtests), saying when only the latest page is listed."""
    what = "Runs" if kind == "run" else "Backtests (replayed over recorded books)"
    key = "b: backtests" if kind == "run" else "b: runs"
    listed = runs.table.num_rows if runs is not None else 0
    if runs is not None and runs.backtests is not None:
        listed += runs.backtests.table.num_rows
    if listed >= RUNS_PAGE:
        return f"{what}, newest first (the latest {RUNS_PAGE}; `btc-dca history` lists all) · {key}"
    return f"{what}, newest first · {key}"


def listed(runs: RunsData | None, kind: str) -> RunsData | None:
    """The list shown for ``kind``: the runs, or the backtests."""
    if runs is None or kind == "run":
        return runs
    return runs.backtests


def summary_lines(runs: RunsData | None, newest: RunData | None) -> Lines:
    """The summary before a run is shown: loading, no runs, or the run's totals."""
    if runs is None:
        return [[("", Text("Loading…", "dim"))]]
    if newest is None:
        return [[("", Text("No runs yet. Start one from the main screen.", "dim"))]]
    return detail_lines(newest.run_id, newest.quote, newest.detail)


def runs_table(shown: SizedArrowBackend) -> DataTable:
    """The runs list's table."""
    return DataTable(
        backend=shown, id="runs-table", cursor_type="row", show_row_labels=False, zebra_stripes=True
    )


def tranches_table(shown: SizedArrowBackend) -> DataTable:
    """A run's tranches' table."""
    return DataTable(backend=shown, id="tranches-table", cursor_type="row", show_row_labels=False)


def quality_pairs(d: RunDetail) -> list[Pair]:
    """Execution quality in bps (+ is dearer): vs the arrival mid, the TWAP of the best
    mid, buying it all at once; the median tranche's slippage; fees' share. Empty when
    none was measured."""
    q = d.quality
    parts = [
        ("vs arrival ", q.get("vs arrival bps")),
        ("TWAP ", q.get("vs TWAP bps")),
        ("lump ", q.get("vs all at once bps")),
        ("slip ", d.slippage_bps),
    ]
    pairs: list[Pair] = []
    for label, value in parts:
        if value is None:
            continue
        shown = round(value, 1) or 0.0  # never "-0.0"
        figure = Text(f"{shown:+.1f}", "red" if shown > 0 else "green")
        pairs.append((label if pairs else f"bps {label}", figure))
    if not pairs:
        return []
    share = q.get("fee share")
    if share is not None:
        pairs.append(("fees ", Text(f"{share * 100:.2f}%")))
    return pairs


def fill_pairs(d: RunDetail) -> list[Pair]:
    """Real orders: the fills above their paper decisions in bps (+ is dearer), weighted by
    the BTC filled, fees out and in."""
    pairs: list[Pair] = []
    for label, value in (
        ("LIVE fills vs decisions bps ", d.vs_decision_bps),
        ("with fees ", d.vs_decision_fee_bps),
    ):
        if value is not None:
            shown = round(value, 1) or 0.0
            pairs.append((label, Text(f"{shown:+.1f}", "red" if shown > 0 else "green")))
    return pairs


def detail_lines(run_id: str, quote: str, d: RunDetail) -> Lines:
    """The run's totals, its execution quality and each venue's share of the BTC bought."""
    lines: list[list[Pair]] = [
        [
            ("", Text(run_id, "bold")),
            ("bought ", Text(f"{fmt.btc(d.qty)} BTC", "bold")),
            ("total ", Text(f"{fmt.money(d.total)} {quote}", "bold")),
            ("fees ", Text(fmt.money(d.fees))),
        ],
        [
            ("avg price ", Text(fmt.money(d.avg_price))),
            ("with fees ", Text(fmt.money(d.avg_cost))),
            ("saved vs worst ", Text(fmt.money(d.saved), "green")),
        ],
    ]
    quality = quality_pairs(d)
    if quality:
        lines.append(quality)
    if d.vs_decision_bps is not None:
        lines.append(fill_pairs(d))
    if d.venue_share:
        lines.append(
            [
                ("" if i else "share ", venue_label(venue) + f" {share * 100:.0f}%")
                for i, (venue, share) in enumerate(d.venue_share.items())
            ]
        )
    return lines


class HistoryScreen(Screen[None]):
    """Past runs from a ``HistoryCache``; ``e`` exports the table shown to CSV.

    The app keeps one of these: it paints from the cache's view (read ahead of time),
    then re-reads in a worker only when the source's version changed.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,h", "app.pop_screen", "Back"),
        # Not in the footer (80 columns are full): the list's title names the key.
        Binding("b", "toggle_backtests", "Runs/Backtests", show=False),
        Binding("g", "toggle_chart", "Chart on/off", show=False),
        Binding("e", "export", "Export CSV"),
        Binding("r", "reload", "Reload"),
        # The tables keep tab to themselves: here it moves between the runs and the tranches.
        Binding("tab", "other_table", "Other table", priority=True),
        Binding("shift+tab", "other_table", "Other table", show=False, priority=True),
    ]

    def __init__(self, cache: HistoryCache, export_dir: Path) -> None:
        super().__init__(id="history")
        self.cache = cache
        self.export_dir = export_dir
        self.runs: pa.Table | None = None
        self.run_id: str | None = None
        self.tranches: pa.Table | None = None
        self.last_export: Path | None = None
        # The newest run when the runs were last read (a re-read follows it if it was shown).
        self._newest: str | None = None
        # The table the user put the focus on; a table mounted again gets it back.
        self._want = "runs-table"
        # Which list is shown: "run" (runs) or "backtest" (backtests), kept apart.
        self.kind = "run"
        self._all_runs: RunsData | None = None
        self._composed: HistoryView | None = None
        # The chart as the user last asked for it with g (None: by the screen's height).
        self.chart_wanted: bool | None = None

    def compose(self) -> ComposeResult:
        """Runs on the left (or on top when narrow), the selected run on the right; filled
        at once from the cache's view when there is one."""
        # The view painted now: the cache may read a newer one before on_mount runs.
        view = self._composed = self.cache.view
        runs = view.runs if view is not None else None
        newest = view.newest if view is not None else None
        yield Header()
        with Horizontal(id="history-body"):
            with Vertical(id="runs-pane"):
                yield Label(runs_title(runs, self.kind), classes="pane-title", id="runs-title")
                with Container(id="runs-holder"):
                    if runs is not None and runs.shown is not None:
                        yield runs_table(runs.shown)
            with Vertical(id="detail-pane"):
                yield PairLines(summary_lines(runs, newest), id="run-summary")
                yield PriceChart(id="chart")
                with Container(id="tranches-holder"):
                    if newest is not None:
                        yield tranches_table(newest.shown)
        yield Footer()

    def on_mount(self) -> None:
        """Show the cache's view, if any, and every view read later."""
        self.cache.subscribe(self._view_read)
        view = self._composed
        newer = self.cache.view
        if newer is not None and newer is not view:
            # Read (by the read-ahead thread) after compose but before the subscription:
            # painted as any later read is, or History would show it only after a change.
            self._view_read(newer)
            return
        if view is not None:
            self.runs = view.runs.table
            if view.newest is not None:
                self._newest = view.newest.run_id
                self._show_run(view.newest)
            if view.runs.shown is not None:
                self.query_one("#runs-table").focus()

    def on_screen_resume(self) -> None:
        """Each time History opens: re-read if the history changed since the view was read."""
        self._refresh(force=False)

    def on_resize(self, event: Resize) -> None:
        """Stack the panes unless both tables fit side by side with every column; on a
        short terminal give the chart's rows to the tranches (unless ``g`` asked for it)."""
        self.set_class(event.size.width < STACK_BELOW, "-narrow")
        self.set_class(event.size.height < CHART_FROM_ROWS, "-short")
        self._show_chart()

    def action_toggle_chart(self) -> None:
        """Show or hide the price chart (it stays so until asked again)."""
        self.chart_wanted = not self._chart_preferred()
        self._show_chart()

    def _chart_preferred(self) -> bool:
        wanted = self.chart_wanted
        return not self.has_class("-short") if wanted is None else wanted

    def _show_chart(self) -> None:
        """The chart where it is wanted and has prices to plot (never an empty box)."""
        chart = self.query_one(PriceChart)
        chart.display = self._chart_preferred() and bool(chart.prices)

    def action_reload(self) -> None:
        """Read the runs again."""
        self._refresh(force=True)

    @work(thread=True, exclusive=True, group="history-runs", exit_on_error=False)
    def _refresh(self, force: bool) -> None:
        self.cache.load(only_if_changed=not force)  # a view read comes back via ``_view_read``

    def _view_read(self, view: HistoryView) -> None:
        # Called in the reading thread (this screen's worker, or the app's after a run).
        self.post_message(RunsLoaded(view.runs))
        if view.newest is not None:
            self.post_message(RunLoaded(view.newest))

    @on(RunsLoaded)
    async def _runs_loaded(self, message: RunsLoaded) -> None:
        self._all_runs = message.data
        await self._show_list(message.data)

    async def _show_list(self, every: RunsData, *, toggled: bool = False) -> None:
        """Show the runs or the backtests of ``every`` (kept apart; ``toggled``: the user
        switched lists, so the newest of the other list is shown)."""
        runs = listed(every, self.kind)
        self.query_one("#runs-title", Label).update(runs_title(every, self.kind))
        holder = self.query_one("#runs-holder", Container)
        if runs is None or runs.shown is None:
            await holder.remove_children()
            self.runs = runs.table if runs is not None else None
            if self.kind == "run":
                self.query_one("#run-summary", PairLines).set(summary_lines(every, None))
                return
            self.query_one("#run-summary", PairLines).set(
                [[("", Text("No backtests yet: btc-dca backtest --from -24h --amount 1", "dim"))]]
            )
            self.run_id = None
            self.tranches = None
            self.query_one(PriceChart).set_data([], [], None)
            self._show_chart()
            await self.query_one("#tranches-holder").remove_children()
            return
        self.runs = runs.table
        # A re-read keeps what the user is looking at: the run chosen, and the focus.
        ids = [str(r) for r in runs.table["run"].to_pylist()]
        # Following the newest run, the newest it stays; another run chosen, that one.
        follow = toggled or self.run_id is None or self.run_id == self._newest
        chosen = 0 if follow or self.run_id not in ids else ids.index(self.run_id)
        self._newest = ids[0] if ids else None
        table = runs_table(runs.shown)
        # The newest run's tranches come in the same view (see ``_view_read``); a backtest's,
        # or another run chosen before, are read here.
        self.run_id = ids[chosen]
        await self._remount(holder, table)
        if chosen:
            table.move_cursor(row=chosen)
        if chosen or toggled or self.kind != "run":
            self._load_run(ids[chosen], runs.table.slice(chosen, 1).to_pylist()[0])

    async def action_toggle_backtests(self) -> None:
        """Switch the list between runs and backtests (kept apart)."""
        view = self.cache.view
        every = self._all_runs or (view.runs if view is not None else None)
        if every is None:
            return
        self.kind = "backtest" if self.kind == "run" else "run"
        await self._show_list(every, toggled=True)

    async def _remount(self, holder: Container, table: DataTable) -> None:
        """Put ``table`` in ``holder`` in place of the one there; the focus stays where the
        user put it (Textual would move it on while the old table goes)."""
        await holder.remove_children()
        await holder.mount(table)
        wanted = self.query(f"#{self._want}")
        if wanted:
            wanted.first().focus()

    def on_click(self, event: Click) -> None:
        """A click on a table puts the focus there for good (as Tab does)."""
        node = event.widget
        while node is not None:
            if node.id in ("runs-table", "tranches-table"):
                self._want = node.id
                return
            node = node.parent if isinstance(node.parent, Widget) else None

    def action_other_table(self) -> None:
        """Move the focus to the other table (runs <-> the run's tranches)."""
        other = "tranches-table" if self._want == "runs-table" else "runs-table"
        found = self.query(f"#{other}")
        if found:
            self._want = other
            found.first().focus()

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
        self.post_message(RunLoaded(read_run(self.cache.source, run_id, row)))

    @on(RunLoaded)
    async def _run_loaded(self, message: RunLoaded) -> None:
        if message.data.run_id != self.run_id:
            return
        self._show_run(message.data)
        holder = self.query_one("#tranches-holder", Container)
        await self._remount(holder, tranches_table(message.data.shown))

    def _show_run(self, run: RunData) -> None:
        """The run's summary and chart (its table is mounted by the caller)."""
        self.run_id = run.run_id
        self.tranches = run.table
        d = run.detail
        self.query_one("#run-summary", PairLines).set(detail_lines(run.run_id, run.quote, d))
        self.query_one(PriceChart).set_data(
            d.prices, d.worst, float(d.avg_price) if d.avg_price is not None else None, d.mids
        )
        self._show_chart()

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
        if await write_file(self, path, partial(write_plain_csv, table), "Export"):
            self.last_export = path
            n = table.num_rows
            self.notify(f"{fmt.plural(n, 'row')} → {path.resolve()}", title="Exported")
