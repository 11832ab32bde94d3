"""``run --detach`` and ``resume --detach``: a run in a background process of its own.

The plan is checked here first (an invalid one exits 2 and starts nothing). Then the
same command runs headless in a new session (no controlling terminal, so closing the
terminal or killing its tmux session sends it no hang-up), stdin from /dev/null and
its output to a log file of its own. This command returns once the run is recorded
as started: the process holds the run's lock and has written its state file.
(``subprocess`` starts this very program again, with an argument list, no shell.)
"""

from __future__ import annotations

import argparse
import json
import subprocess  # nosec B404
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from dca.executor import new_run_id
from dca.plan import Plan
from dca.slots import Standing
from storage.paths import Paths, private_mkdir, private_open
from storage.runs.control import RunState, in_progress
from tui.cli import exits
from tui.cli.options import prepare_storage
from tui.elsewhere import how_to_reach
from tui.fmt import bought_of, exact, plural
from tui.wiring import Options

# The background processes this process started. Kept so they are reaped (``poll``) once
# they end, and never dropped while running (which Python reports as a leak).
_children: list[subprocess.Popen[bytes]] = []

# How long to wait for the background process to record its run as started, seconds
# (a live market's first books can take a venue's whole timeout).
START_WAIT_S = 20.0


@dataclass(frozen=True, slots=True)
class Ended:
    """A background run that ended before this command saw it running (a plan of one
    tranche, a fast demo): what became of it, from its history, and its process's exit code."""

    status: str
    code: int
    bought: Decimal
    target: Decimal
    total: Decimal
    quote: str
    budget: Decimal | None = None

    def describe(self) -> str:
        """``finished: bought 0.01 of 0.01 BTC for 905.46 USD`` (``fmt.bought_of``)."""
        what = bought_of(self.bought, self.target, self.total, self.budget, self.quote, spent=True)
        return f"{self.status}: {what}"


@dataclass(frozen=True, slots=True)
class Detached:
    """A run started in the background: running (``state``), or already over (``ended``)."""

    run_id: str
    pid: int
    log_file: Path
    state: RunState | None
    ended: Ended | None = None


class DetachFailed(Exception):
    """The background process did not start the run; the message says why."""

    def __init__(self, message: str, code: int = exits.EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def reap(timeout_s: float = 10.0) -> None:
    """Wait (at most ``timeout_s`` each) for the background processes this process started
    and already told to stop (a test's clean-up); the ones still running are left as they are.
    """
    for proc in list(_children):
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            continue
        _children.remove(proc)


def common_args(options: Options, data_dir: Path, config_file: Path) -> list[str]:
    """The options every command takes, spelled out (absolute paths: the child's cwd is /).

    A config file not written yet is left to the child's environment (it inherits this
    one's): ``--config`` must name a file that exists.
    """
    args = ["--data-dir", str(data_dir.resolve())]
    if config_file.exists():
        args += ["--config", str(config_file.resolve())]
    if options.demo:
        args += ["--demo", "--speed", repr(options.demo_speed)]
    if options.quote:
        args += ["--quote", options.quote]
    if options.venues:
        args += ["--venues", ",".join(options.venues)]
    if options.mode:
        args += ["--mode", options.mode]
    if options.max_price:
        args += ["--max-price", options.max_price]
    args += ["--seed", str(options.seed)]
    if options.verbose:
        args.append("--verbose")
    return args


def plan_args(plan: Plan) -> list[str]:
    """A plan as the ``run`` flags that build it again."""
    goal = (
        ["--spend", str(plan.spend)] if plan.spend is not None else ["--amount", str(plan.amount)]
    )
    st = plan.standing
    if st is not None:
        args = [*goal, *standing_args(st)]
    else:
        args = [*goal, "--duration", f"{plan.duration_s:.0f}s"]
    if not plan.tranches_defaulted and st is None:
        args += ["--tranches", str(plan.tranches)]
    args += ["--quote", plan.quote, "--venues", ",".join(plan.venues), "--mode", plan.mode.value]
    if plan.max_price is not None:
        args += ["--max-price", str(plan.max_price)]
    if plan.jitter:
        args.append("--jitter")
    return [*args, "--seed", str(plan.seed)]


def standing_args(st: Standing) -> list[str]:
    """A standing plan's calendar and end as the ``run`` flags that give them again."""
    args = ["--every", st.every.text, "--tz", st.tz, "--missed", st.missed.value]
    if st.at is not None:
        args += ["--at", st.at.text]
    if st.until is not None:
        args += ["--until", datetime.fromtimestamp(st.until, UTC).isoformat()]
    if st.budget is not None:
        args += ["--budget", str(st.budget)]
    return args


def start(
    args: Sequence[str],
    run_id: str,
    data_dir: Path,
    log_dir: Path,
    *,
    wait_s: float = START_WAIT_S,
) -> Detached:
    """Start ``btc-dca ARGS`` in the background and wait until it executes ``run_id``.

    Raises ``DetachFailed`` if the process ends first (its exit code and the end of its
    log) or does not start the run within ``wait_s`` (it is then stopped).
    """
    _children[:] = [p for p in _children if p.poll() is None]
    private_mkdir(log_dir)
    log_file = log_dir / f"run-{run_id}.log"
    with private_open(log_file, "ab") as log:
        # Our own interpreter and module, an argument list, no shell.
        proc = subprocess.Popen(  # noqa: S603  # nosec B603
            [sys.executable, "-m", "tui.cli", *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            cwd="/",
        )
    _children.append(proc)
    deadline = time.monotonic() + wait_s
    while True:
        state = in_progress(data_dir, run_id)
        if state is not None:
            return Detached(run_id, proc.pid, log_file, state)
        code = proc.poll()
        if code is not None:
            # Its history says whether it ran: a short plan can start and end in between
            # two looks at its state file.
            ended = _ended(data_dir, run_id, code)
            if ended is not None:
                return Detached(run_id, proc.pid, log_file, None, ended)
            tail = _tail(log_file)
            raise DetachFailed(
                f"the background run stopped before it started (exit {code})"
                + (f":\n{tail}" if tail else ""),
                code if code in (exits.EXIT_INVALID, exits.EXIT_NO_VENUE) else exits.EXIT_FAILED,
            )
        if time.monotonic() >= deadline:
            proc.terminate()
            proc.wait(5)
            raise DetachFailed(
                f"the background run did not start within {wait_s:g} s and was stopped; "
                f"see {log_file}"
            )
        time.sleep(0.05)


def _ended(data_dir: Path, run_id: str, code: int) -> Ended | None:
    """What became of ``run_id`` by its history (None: it never started)."""
    from storage.history.queries import History
    from storage.history.resume import plan_from_row

    history = History(data_dir)
    row = history.run(run_id)
    if row is None:
        return None
    plan = plan_from_row(row)
    tranches = history.run_tranches(run_id).filter(status="filled")

    def total(column: str) -> Decimal:
        return sum((Decimal(v) for v in tranches[column].to_list() if v is not None), Decimal(0))

    target = row["amount_btc"]
    return Ended(
        status=history.run_status(row).value,
        code=code,
        bought=total("qty_btc"),
        target=target if isinstance(target, Decimal) else Decimal(0),
        total=total("total"),
        quote=str(row["quote"]),
        budget=plan.budget_total,
    )


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def report(
    d: Detached, as_json: bool, out: TextIO, verb: str = "Started", cli: str = "btc-dca"
) -> int:
    """Print the run id (or the ``detached`` JSON event); the exit code to return: 0 while
    it runs, else its process's (0 finished, 4 incomplete, ...)."""
    e = d.ended
    if as_json:
        obj: dict[str, object] = {"event": "detached", "run_id": d.run_id, "pid": d.pid}
        if e is None:
            obj["status"] = "running"
        else:
            obj |= {
                "status": e.status,
                "exit": e.code,
                "qty": exact(e.bought),
                "target": exact(e.target),
                "total": exact(e.total),
                "quote": e.quote,
            }
        print(json.dumps(obj), file=out)
        return exits.EXIT_OK if e is None else e.code
    if e is not None:
        print(
            f"{verb} run {d.run_id} in the background (pid {d.pid}); it has already ended, "
            f"{e.describe()}.\n  see it:    {cli} history --run {d.run_id}\n"
            f"  its output: {d.log_file}",
            file=out,
        )
        return e.code
    print(
        f"{verb} run {d.run_id} in the background (pid {d.pid}); it keeps running after "
        f"this terminal closes.\n{how_to_reach(d.run_id, d.log_file, cli)}",
        file=out,
    )
    return exits.EXIT_OK


def detach_plan(
    plan: Plan, options: Options, data_dir: Path, config: Path, log_dir: Path
) -> Detached:
    """Start ``plan`` in a background process (the dashboard's "Run in background")."""
    run_id = new_run_id(time.time())
    # The plan's own fields win over the options it was built from.
    base = replace(options, quote=None, venues=None, mode=None, max_price=None)
    args = ["run", "--headless", "--detached-child", "--run-id", run_id]
    args += common_args(base, data_dir, config) + plan_args(plan)
    return start(args, run_id, data_dir, log_dir)


def hand_over(
    run_id: str, options: Options, data_dir: Path, config: Path, log_dir: Path
) -> Detached:
    """Continue the stopped run ``run_id`` in a background process (quitting the dashboard)."""
    args = ["resume", run_id, "--headless", "--detached-child"]
    args += common_args(options, data_dir, config)
    return start(args, run_id, data_dir, log_dir)


def detach_run(
    ns: argparse.Namespace,
    plan: Plan,
    options: Options,
    out: TextIO,
    extra: Sequence[str] = (),
) -> int:
    """``run --detach``: the plan (already checked) executed by a background process.

    ``extra``: more flags for it (``--live --yes`` once real orders were confirmed here).
    """
    paths = prepare_storage(options, compact=False)
    run_id = new_run_id(time.time())
    args = ["run", "--headless", "--detached-child", "--run-id", run_id]
    if getattr(ns, "rest", False):
        args.append("--rest")
    # The plan's own fields win over the options it was built from.
    base = replace(options, quote=None, venues=None, mode=None, max_price=None)
    args += [*extra, *common_args(base, paths.data_dir, paths.config_file), *plan_args(plan)]
    return _start(args, run_id, paths, ns.json, out, "Started")


def detach_resume(ns: argparse.Namespace, options: Options, out: TextIO) -> int:
    """``resume --detach``: an unfinished run continued by a background process."""
    from storage.history.resume import ResumeError, load_resumable

    paths = prepare_storage(options, compact=False)
    try:
        run = load_resumable(paths.data_dir, ns.run_id)
    except ResumeError as exc:
        print(f"btc-dca: resume: {exc}", file=sys.stderr)
        return exits.EXIT_INVALID
    args = ["resume", run.run_id, "--headless", "--detached-child", "--missed", ns.missed]
    if getattr(ns, "rest", False):
        args.append("--rest")
    if run.live:
        # Real orders: confirmed here (--yes or typed), never silently in the background.
        from tui.cli.real_orders import confirm_resume

        if not confirm_resume(run.run_id, yes=bool(getattr(ns, "yes", False))):
            return exits.EXIT_INVALID
        args.append("--yes")
    args += common_args(options, paths.data_dir, paths.config_file)
    return _start(args, run.run_id, paths, ns.json, out, "Resumed")


def resume_standing(ns: argparse.Namespace, options: Options, out: TextIO) -> int:
    """``resume --standing``: every stopped standing plan continued in a background process
    of its own (at boot, by ``btc-dca service install``'s unit). A plan a process runs
    already is left to it. Exit 0 when every one
    found was resumed (or none was found), else the first failure's code."""
    from storage.history.resume import ResumeError, load_resumable, unfinished_runs
    from storage.runs.locks import is_held, run_lock

    paths = prepare_storage(options, compact=False)
    found = unfinished_runs(paths.data_dir, standing=True)
    # A plan whose process holds it is running, not stopped: it is left alone.
    ids = [i for i in found if not is_held(run_lock(paths.data_dir, i))]
    if not ids and not ns.json:
        running = len(found) - len(ids)
        print(
            "no stopped standing plan to resume"
            + (f" ({plural(running, 'standing plan')} running)" if running else ""),
            file=out,
        )
    code = exits.EXIT_OK
    for run_id in reversed(ids):  # oldest first
        try:
            run = load_resumable(paths.data_dir, run_id)
        except ResumeError as exc:
            print(f"btc-dca: resume: {exc}", file=sys.stderr)
            continue
        if run.live:  # pragma: no cover - run --live refuses --every (docs/schedules.md)
            print(f"btc-dca: resume: {run_id} places real orders; not resumed", file=sys.stderr)
            continue
        args = ["resume", run_id, "--headless", "--detached-child"]
        args += common_args(options, paths.data_dir, paths.config_file)
        done = _start(args, run_id, paths, ns.json, out, "Resumed")
        code = code or done
    return code


def _start(
    args: list[str], run_id: str, paths: Paths, as_json: bool, out: TextIO, verb: str
) -> int:
    try:
        detached = start(args, run_id, paths.data_dir, paths.log_dir)
    except DetachFailed as exc:
        print(f"btc-dca: {exc}", file=sys.stderr)
        return exc.code
    return report(detached, as_json, out, verb, paths.cli)
