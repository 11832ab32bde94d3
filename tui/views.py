"""What the dashboard opens besides its main screen: History, Help, CSV exports, SVG
screenshots, and the list of the app's commands in the command palette.

A part of the dashboard (``DcaApp`` in ``tui.app`` extends ``Views`` and sets the
attributes declared here).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App, SystemCommand
from textual.screen import Screen

if TYPE_CHECKING:
    from dca.session import RunSession
    from tui.history.cache import HistoryCache

# The name the history screen is installed under.
HISTORY = "history"

# The app's commands in the palette: title, what it does, the action it runs.
COMMANDS = (
    ("Start", "Start the plan in the form", "start"),
    (
        "Run in background",
        "Start the plan in a background process that goes on after quitting",
        "start_background",
    ),
    ("Pause", "Pause the run (resume later)", "pause"),
    ("Resume", "Resume the paused run", "resume"),
    ("Cancel run", "Stop the run; bought tranches stay", "cancel_run"),
    (
        "Record the market",
        "Start or stop writing every venue's book to market/ (key m)",
        "toggle_recording",
    ),
    ("History", "Past runs and their tranches", "history"),
    (
        "Portfolio",
        "What all the runs bought, its value at the best bid now (key o)",
        "portfolio",
    ),
    ("Export CSV", "Write the table shown to a CSV file", "export"),
    ("Help", "Keys and what the panels show", "help"),
    ("Screenshot", "Save an SVG of the screen", "screenshot_svg"),
)


class Views(App[int]):
    """History, Help, exports and screenshots; the palette's commands."""

    # Set by ``DcaApp``.
    # Where CSV exports and screenshots go (the launcher passes the data dir's exports/).
    export_dir: Path
    # This dashboard's run (None until one starts here).
    session: RunSession | None

    @property
    def history_cache(self) -> HistoryCache:
        """What History shows, read ahead (``DcaApp``'s)."""
        raise NotImplementedError

    def action_history(self) -> None:
        """Open the history screen."""
        from tui.history.screen import HistoryScreen

        if isinstance(self.screen, HistoryScreen):
            return
        # One history screen, kept between visits (it re-reads only what changed).
        if not self.is_screen_installed(HISTORY):
            self.install_screen(HistoryScreen(self.history_cache, self.export_dir), HISTORY)
        self.push_screen(HISTORY)

    def action_help(self) -> None:
        """Open the help screen (its Markdown loads on first use, not at start)."""
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_export(self) -> None:
        """Export the table shown (history), or the current run's tranches, to CSV."""
        from tui.history.screen import HistoryScreen

        if isinstance(self.screen, HistoryScreen):
            await self.screen.action_export()
            return
        if self.session is None:
            self.notify("No run to export yet: open History (h) for past runs", severity="warning")
            return
        self.action_history()
        self.notify("Press e to export the table shown", title="Export")

    async def action_screenshot_svg(self) -> None:
        """Save an SVG screenshot in the export folder and say where."""
        svg = self.export_screenshot()
        name = time.strftime("btc-dca-%Y%m%d-%H%M%S.svg")
        path = self.export_dir / name

        def write(to: Path) -> None:
            to.write_text(svg, encoding="utf-8")

        from tui.files import write_file

        if await write_file(self, path, write, "Screenshot"):
            self.notify(str(path.resolve()), title="Screenshot saved")

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The app's commands in the palette, then Textual's own (theme, quit, keys)."""
        for title, what, action in COMMANDS:
            yield SystemCommand(title, what, getattr(self, f"action_{action}"))
        for command in super().get_system_commands(screen):
            if command.title != "Screenshot":
                yield command
