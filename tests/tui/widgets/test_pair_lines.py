"""Summary lines that wrap between "label value" pairs, never inside one."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from tui.widgets.pair_lines import PairLines, pack

TOTALS = [
    [
        ("", Text("20261202-140520-2bd467")),
        ("bought ", Text("25.00 BTC")),
        ("total ", Text("2,239,018.83 USD")),
        ("fees ", Text("3,245.16")),
    ],
    [("avg price ", Text("89,430.95")), ("with fees ", Text("89,560.75"))],
]


def test_a_pair_that_does_not_fit_moves_whole_to_the_next_line() -> None:
    # 80 columns less the pane's border and padding: a plain word wrap would leave "fees"
    # at the end of the first line and its figure on the next.
    assert pack(TOTALS, 76).plain.splitlines() == [
        "20261202-140520-2bd467  bought 25.00 BTC  total 2,239,018.83 USD",
        "fees 3,245.16",
        "avg price 89,430.95  with fees 89,560.75",
    ]
    # Wide enough, each logical line stays one line; no width: never wrapped.
    assert pack(TOTALS, 120).plain.count("\n") == 1
    assert pack(TOTALS).plain == pack(TOTALS, 120).plain
    # A pair wider than the width stands alone (the widget then folds it).
    assert pack([[("", Text("a")), ("x ", Text("y" * 10))]], 5).plain == "a\nx yyyyyyyyyy"


async def test_the_widget_is_as_tall_as_its_lines_packed_to_its_width() -> None:
    class Show(App[None]):
        def compose(self) -> ComposeResult:
            yield PairLines(TOTALS, id="lines")

    app = Show()
    async with app.run_test(size=(78, 10)) as pilot:
        lines = app.query_one(PairLines)
        assert lines.size.height == 3
        assert str(lines.render()).splitlines()[1] == "fees 3,245.16"
        await pilot.resize_terminal(120, 10)
        await pilot.pause()
        assert lines.size.height == 2
        lines.set([[("", Text("x" * 100))]])  # one pair wider than the screen: folded, two rows
        await pilot.resize_terminal(60, 10)
        await pilot.pause()
        assert lines.size.height == 2
