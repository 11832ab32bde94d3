"""The live table of a run's tranches, newest row kept in view."""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual.widgets import DataTable

from dca.events import TrancheFilled, TrancheSkipped
from dca.lines import TrancheLine
from tui import fmt
from tui.palette import venue_label

# Short headers fit 120 columns (the venue's colour names it too); wide tables spell them out.
COLUMNS = ("time", "#", "venue", "BTC", "avg price", "fee", "total", "saved")
WIDE_COLUMNS = ("time", "#", "venue", "qty BTC", "avg price", "fee", "total", "saved vs worst")
# Table width from which the long headers and seconds in the time fit.
WIDE_W = 100


def _dimmed(cell: str | Text) -> Text:
    """``cell`` drawn dim (its colours kept underneath)."""
    text = Text(cell) if isinstance(cell, str) else cell.copy()
    text.stylize("dim")
    return text


class TrancheTable(DataTable[str | Text]):
    """One row per tranche of the current run: fills and skips."""

    def __init__(self, width: int = 0) -> None:
        super().__init__(id="tranches", cursor_type="row", zebra_stripes=True)
        self.wide = width >= WIDE_W

    def on_mount(self) -> None:
        """Set the columns for the width the table was made for."""
        for label in WIDE_COLUMNS if self.wide else COLUMNS:
            self.add_column(label)

    def _time(self, at: float) -> str:
        return fmt.clock_time(at) if self.wide else fmt.clock_time(at)[:5]

    def add_fill(self, event: TrancheFilled) -> None:
        """Append a filled tranche and keep it in view."""
        self.add_line(TrancheLine.of_event(event))

    def add_skip(self, event: TrancheSkipped) -> None:
        """Append a skipped tranche with its reason."""
        self.add_line(TrancheLine.of_event(event))

    def add_line(self, line: TrancheLine, *, dim: bool = False) -> None:
        """Append a tranche (of this process's run, or one executed by another process);
        ``dim`` for a resumed run's tranches recorded before it stopped."""
        if line.venue is None:
            cells: tuple[str | Text, ...] = (
                self._time(line.at),
                fmt.tranche_no(line.index, line.of),
                Text("skipped", "yellow"),
                # What it bought: nothing (the column adds up to the run's BTC); what it
                # asked for and carried on is in the toast and History.
                Text(fmt.btc_col(Decimal(0)), justify="right"),
                Text(fmt.skip_words(line.reason or "", short=True), "yellow"),
                "",
                "",
                "",
            )
            key = f"t{line.index}-skip"
        else:
            cells = (
                self._time(line.at),
                fmt.tranche_no(line.index, line.of),
                venue_label(line.venue, fit=True),
                Text(fmt.btc_col(line.qty), justify="right"),
                Text(fmt.money(line.avg_price), justify="right"),
                Text(fmt.money(line.fee), justify="right"),
                Text(fmt.money(line.total), justify="right"),
                Text(fmt.money(line.saved_vs_worst), "green", justify="right"),
            )
            key = f"t{line.index}"
        if dim:
            cells = tuple(_dimmed(cell) for cell in cells)
        self.add_row(*cells, key=key)
        self._follow()

    def _follow(self) -> None:
        self.move_cursor(row=self.row_count - 1, animate=False)
