"""Runs other processes execute, as the dashboard follows, steers and starts them.

While no run of its own is going, the dashboard looks every ``ELSEWHERE_S`` for a run in
progress in another process (a background run, another dashboard) and shows the newest
one: its state and each new tranche line, read from the run's live files
(``storage.runs.control``). Pause, resume and cancel then go to that process through
the run's control file. Starting a run in a background process (key b) is here too:
once started, it is the run followed.

The file reads and the steering wait in threads; what they found comes back to the
loop (``call_from_thread``) and to the main screen as messages.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.message import Message

from dca.plan import Plan
from dca.status import RunStatus, current_status
from tui.elsewhere import Elsewhere
from tui.messages import ElsewhereEnded, ElsewhereSeen

if TYPE_CHECKING:
    from storage.runs.control import Followed
    from tui.elsewhere import Started

log = logging.getLogger(__name__)

# How often the dashboard looks for, and at, a run executed by another process, seconds.
ELSEWHERE_S = 1.0
# What a steering command did, said in the notification.
DONE = {"pause": "paused", "unpause": "running again", "cancel": "cancelled"}


class Following:
    """The run in another process that ``app`` shows (``run_id``; None: none).

    ``busy()`` says whether a run of the app's own is going (then nothing else is
    followed), ``show`` posts a message to the main screen, ``ended`` is called when
    the run followed is no longer in progress (History then reads it again).
    """

    def __init__(
        self,
        app: App[Any],
        elsewhere: Elsewhere,
        *,
        busy: Callable[[], bool],
        show: Callable[[Message], object],
        ended: Callable[[], object],
    ) -> None:
        self.app = app
        self.elsewhere = elsewhere
        self.busy = busy
        self.show = show
        self.ended = ended
        self.run_id: str | None = None
        # Where the next look reads the run's tranche lines from.
        self.offset = 0
        # (run id, what) the user was already told by a toast for their own action
        # ("started" for b, "cancelled" for c): the run seen in its process is not told twice.
        self.told: set[tuple[str, str]] = set()
        # A run being started in the background (b): its own toast says where it went.
        self.detaching = False

    def start(self) -> None:
        """Look now, then every ``ELSEWHERE_S``."""
        self.look()
        self.app.set_interval(ELSEWHERE_S, self.look, name="elsewhere")

    def forget(self) -> None:
        """Follow no run (the next look shows the newest in progress, if any)."""
        self.run_id, self.offset = None, 0

    def look(self) -> None:
        """Look for a run in progress in another process, or again at the one shown."""
        if not self.busy():
            self.app.run_worker(
                self._watch, thread=True, exclusive=True, group="elsewhere", exit_on_error=False
            )

    def _watch(self) -> None:
        from storage.runs.control import follow, runs_in_progress

        data_dir = self.elsewhere.data_dir
        run_id, offset, first = self.run_id, self.offset, False
        if run_id is None:
            others = [s for s in runs_in_progress(data_dir) if s.pid != os.getpid()]
            if not others:
                return
            run_id, offset, first = others[-1].run_id, 0, True  # the newest
        look = follow(data_dir, run_id, offset)
        if look.state is not None:
            self.app.call_from_thread(self._seen, run_id, look, first)
        elif not first:
            from storage.history.queries import History  # polars: loaded by now, in this thread

            row = History(data_dir).run(run_id)
            # No process holds it any more: a "running" row was left by one that died.
            status = None
            if row is not None:
                detail = row["detail"]
                status = current_status(
                    str(row["status"]), detail if isinstance(detail, str) else None, held=False
                )
            self.app.call_from_thread(self._ended, run_id, status)

    def _seen(self, run_id: str, look: Followed, first: bool) -> None:
        if self.busy() or (not first and self.run_id != run_id):
            return  # a run started here meanwhile, or another run is shown
        self.run_id, self.offset = run_id, look.offset
        self.show(ElsewhereSeen(look, first or look.restarted))

    def _ended(self, run_id: str, status: RunStatus | None) -> None:
        if self.run_id != run_id:
            return
        self.forget()
        self.show(ElsewhereEnded(run_id, status))
        self.ended()

    # -- steering ----------------------------------------------------------------------------

    def steer(self, name: str) -> None:
        """Ask the process executing the run shown to ``pause``, ``unpause`` or ``cancel`` it."""
        self.app.run_worker(
            partial(self._steer, name), thread=True, group="steer", exit_on_error=False
        )

    def _steer(self, name: str) -> None:
        from storage.runs.control import Command, NotAcknowledged, NotInProgress, steer

        command = Command(name)
        run_id = self.run_id
        if run_id is None:
            return
        app = self.app
        try:
            result = steer(self.elsewhere.data_dir, run_id, command)
        except (NotInProgress, NotAcknowledged) as exc:
            app.call_from_thread(
                app.notify, str(exc), title=f"Could not {command.value}", severity="error"
            )
            return
        word = f"already {result.state.state}" if result.already and result.state else None
        if command.value == "cancel":
            self.told.add((run_id, "cancelled"))
        app.call_from_thread(
            app.notify,
            f"Run {run_id} {word or DONE[command.value]}",
            title="Run in another process",
        )
        app.call_from_thread(self.look)

    # -- starting a run in the background ------------------------------------------------------

    @property
    def can_detach(self) -> bool:
        """Whether this dashboard can start runs in background processes."""
        return self.elsewhere.detach is not None

    def detach(self, plan: Plan) -> None:
        """Start ``plan`` in a background process; once it runs, it is the run followed."""
        self.detaching = True
        self.app.notify("Starting the run in a background process…", title="Run in background")
        self.app.run_worker(
            partial(self._detach, plan),
            thread=True,
            group="detach",
            exclusive=True,
            exit_on_error=False,
        )

    def _detach(self, plan: Plan) -> None:
        assert self.elsewhere.detach is not None
        app = self.app
        try:
            started = self.elsewhere.detach(plan)
        except Exception as exc:
            log.error("could not start a run in the background: %s", exc)
            self.detaching = False
            app.call_from_thread(
                app.notify, str(exc), title="Run in background failed", severity="error"
            )
            return
        app.call_from_thread(self._detached, started)

    def _detached(self, started: Started) -> None:
        self.detaching = False
        if started.ended is not None:
            self.app.notify(
                f"Run {started.run_id} ran in process {started.pid} and has already ended, "
                f"{started.ended}.",
                title="Run in background",
            )
            return
        self.told.add((started.run_id, "started"))
        self.app.notify(
            f"Run {started.run_id} runs in process {started.pid}; it goes on after you quit. "
            "p and c steer it from here.",
            title="Run in background",
        )
        # Shown already (a look found it before this answer came): keep it. Forgetting it
        # until the next look ends would leave a quit in between saying nothing of it.
        if not self.busy() and self.run_id != started.run_id:
            self.forget()
            self.look()

    def farewell(self) -> str:
        """What the terminal says after quitting while this run was shown ("" if none)."""
        if self.run_id is None:
            return ""
        cli = self.elsewhere.cli
        return (
            f"Run {self.run_id} goes on in another process: {cli} status shows "
            f"it, {cli} pause|unpause|cancel {self.run_id} steers it."
        )
