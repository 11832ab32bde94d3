"""The help screen: what the dashboard does and its keys."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# btc-dca

Buys an amount of BTC in **tranches** over a time window, each at the cheapest
venue *for that tranche*: every venue's ask side is walked for the tranche size
and its taker fee added. Paper execution: no orders are placed.

## Keys

| key | what it does |
| --- | --- |
| `s` | start the plan in the form (below 110 columns, after a run: show the form first) |
| `b` | start it in a background process instead: it goes on after you quit |
| `p` | pause / resume the run (also one running in another process) |
| `c` | cancel the run (also one elsewhere); it asks first: `y` cancels, `n` or escape backs out |
| `m` | record every venue's book to `market/` while open (again: stop); the header says so |
| `h` | history of runs (there `e` exports the table shown to CSV, `b` backtests, `g` the chart) |
| `o` | portfolio: what all the runs bought, their value at the best bid now, per venue and month |
| `ctrl+p` | command palette: start, pause, cancel, history, portfolio, export, theme, screenshot |
| `f1` | this help |
| `q` | quit (during a run: keep it running in the background, pause it, or cancel it) |
| `escape` | leave a field (the form starts in Amount, where these keys are letters; enter starts) |

A run in progress in another process (started with `b`, `btc-dca run --detach`,
or by another dashboard) shows here when nothing runs in this one.

## Panels

Each venue shows its health, best bid and ask, spread, what the **next tranche**
would cost there with the fee (and how far that is from the best venue), the fee
rate, the book's age and the recent asks. ★ marks the cheapest venue for the
next tranche on its own (a split plan's estimate, under the form, names the venues
it would split across); a panel lights up when a tranche fills there.

## Words and numbers

Tranches are numbered from 1; `3/24 done` counts the tranches done of all (as
`btc-dca status` does). **saved** (and *saved vs worst*) is always what each tranche
would have cost more at the dearest venue; a `run` line compares with the *next best*
one. A skipped tranche bought nothing: its BTC is 0 (what it carried on is in its toast
and in `btc-dca history --run`). **avg price** is the books' price per BTC before fees,
**with fees** (avg cost) the total per BTC.
"""


class HelpScreen(ModalScreen[None]):
    """Keys and a short explanation; any of escape, q or f1 closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,f1", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        """The help text in a scrollable box."""
        with VerticalScroll(id="help-box"):
            yield Markdown(HELP)
