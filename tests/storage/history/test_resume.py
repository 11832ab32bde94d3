"""A run that dies mid-way resumes: recorded tranches never run again, the amount is exact."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from dca.events import Event, TrancheFilled, TrancheSkipped
from dca.executor import Executor
from dca.journal import FanOut
from exchanges.clock import SimClock
from exchanges.simulated import SimulatedMarket
from storage.history.dataset import table_files
from storage.history.journal import ParquetJournal, RunConflict
from storage.history.queries import History
from storage.history.resume import ResumeError, load_resumable, unfinished_runs
from storage.history.schema import money
from tests.storage.helpers import Crash, CrashAfter, plan, run

ROOT = Path(__file__).resolve().parents[3]


async def _crashed(tmp_path: Path, after: int = 4, **kw: object) -> SimClock:
    clock = SimClock()
    with pytest.raises(Crash):
        await run(tmp_path, plan(**kw), clock=clock, extra=CrashAfter(after))  # type: ignore[arg-type]
    return clock


async def test_a_crashed_run_resumes_and_buys_exactly_the_amount(tmp_path: Path) -> None:
    clock = await _crashed(tmp_path, jitter=True, seed=3)
    [run_id] = unfinished_runs(tmp_path)
    r = load_resumable(tmp_path, run_id)
    assert sorted(r.state.done) == [0, 1, 2, 3]
    assert r.plan == plan(jitter=True, seed=3)
    summary, memory, _ = await run(tmp_path, r.plan, clock=clock, resume=r.state)
    new = [e.index for e in memory.events if isinstance(e, TrancheFilled)]
    assert new == list(range(4, 12))
    h = History(tmp_path)
    tranches = h.run_tranches(run_id)
    assert tranches["index"].to_list() == list(range(12))
    assert sum(tranches["qty_btc"].to_list()) == r.plan.amount
    assert summary.qty == r.plan.amount  # the summary covers the whole run, not this session
    row = h.run(run_id)
    assert row is not None
    assert row["status"] == "finished"
    assert row["total"] == sum(tranches["total"].to_list())
    assert unfinished_runs(tmp_path) == []


async def test_missed_tranches_can_be_skipped_and_the_last_one_buys_the_rest(
    tmp_path: Path,
) -> None:
    clock = await _crashed(tmp_path)
    clock.advance(4 * 3600)  # down for 4 of the 6 hours
    r = load_resumable(tmp_path)
    _, memory, _ = await run(tmp_path, r.plan, clock=clock, resume=r.state, catch_up=False)
    skipped = [e for e in memory.events if isinstance(e, TrancheSkipped)]
    assert skipped
    assert {e.reason.value for e in skipped} == {"missed_while_stopped"}
    tranches = History(tmp_path).run_tranches(r.run_id)
    assert tranches["index"].to_list() == list(range(12))
    assert sum(tranches["qty_btc"].to_list()) == r.plan.amount


class DiskFull(Exception):
    """Stands for the history becoming unwritable mid-run."""


async def test_a_run_that_failed_mid_way_is_offered_and_resumes_to_the_exact_amount(
    tmp_path: Path,
) -> None:
    clock = SimClock()
    p = plan(tranches=6, amount="0.6")
    journal = ParquetJournal(tmp_path, source="demo")

    class FailAfter(CrashAfter):
        async def record(self, event: Event) -> None:
            try:
                await super().record(event)
            except Crash:
                raise DiskFull("No space left on device") from None

    executor = Executor(p, SimulatedMarket(clock), FanOut(journal, FailAfter(2)), clock)
    with pytest.raises(DiskFull):
        await executor.run()
    await journal.fail(executor.run_id, "No space left on device")  # what the CLI does

    h = History(tmp_path)
    [row] = h.run_summaries().to_dicts()
    assert (row["status"], row["filled"]) == ("failed", 2)
    assert row["qty_btc"] == sum(h.run_tranches(executor.run_id)["qty_btc"].to_list())
    assert unfinished_runs(tmp_path) == [executor.run_id]
    r = load_resumable(tmp_path)
    assert (r.status, sorted(r.state.done), r.before.filled) == ("failed", [0, 1], 2)
    summary, _, _ = await run(tmp_path, r.plan, clock=clock, resume=r.state)
    assert summary.qty == Decimal("0.6")
    assert History(tmp_path).run(executor.run_id)["status"] == "finished"  # type: ignore[index]


async def test_only_unfinished_runs_resume(tmp_path: Path) -> None:
    with pytest.raises(ResumeError, match="no unfinished run"):
        load_resumable(tmp_path)
    _, _, run_id = await run(tmp_path, plan(tranches=2))
    with pytest.raises(ResumeError, match="is finished"):
        load_resumable(tmp_path, run_id)
    with pytest.raises(ResumeError, match="no run 'nope'"):
        load_resumable(tmp_path, "nope")


def _cli(data: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tui.cli", *args, "--data-dir", str(data)]


def test_a_process_killed_with_sigkill_resumes_every_tranche_exactly_once(tmp_path: Path) -> None:
    env = {**os.environ, "BTC_DCA_CONFIG": str(tmp_path / "config.toml")}
    data = tmp_path / "data"
    run_args = _cli(data, "run", "--headless", "--demo", "--speed", "600", "--json")
    run_args += ["--amount", "0.77777777", "--duration", "1h", "--tranches", "30"]
    proc = subprocess.Popen(run_args, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while len(table_files(data, "tranches")) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    killed_at = len(table_files(data, "tranches"))
    assert 5 <= killed_at < 30

    [run_id] = unfinished_runs(data)
    out = subprocess.run(
        [*_cli(data, "resume", run_id, "--headless", "--json")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    resumed = [x["index"] for x in lines if x["event"] in ("tranche", "skipped")]
    assert resumed == list(range(killed_at + 1, 31))  # printed 1-based, like "[6/30]"
    assert lines[-1]["event"] == "summary"
    assert lines[-1]["qty"] == "0.77777777"

    tranches = History(data).run_tranches(run_id)
    assert tranches["index"].to_list() == list(range(30))
    assert sum(tranches["qty_btc"].to_list()) == History(data).run(run_id)["amount_btc"]  # type: ignore[index]
    assert unfinished_runs(data) == []


async def test_an_unfinished_run_shows_its_totals_so_far_and_venue_shares(tmp_path: Path) -> None:
    await _crashed(tmp_path, after=3)
    h = History(tmp_path)
    [row] = h.run_summaries().to_dicts()
    tranches = h.run_tranches(row["run_id"])
    # Its row says running but no process holds it: it was interrupted, and resumable.
    assert (row["status"], row["filled"], row["skipped"]) == ("interrupted", 3, 0)
    assert row["resumable"]
    assert row["total"] == sum(tranches["total"].to_list())
    assert row["avg_price"] == money(row["notional"] / row["qty_btc"])
    share = h.venue_share()
    assert share["tranches"].sum() == 3
    assert abs(float(share["share"].sum()) - 1.0) < 1e-9
    first = tranches["executed_at"].min()
    assert isinstance(first, datetime)
    assert h.venue_share(since=first, until=first).height == 0


HOLD = """
import asyncio, sys, time
from pathlib import Path
from dca.events import RunStarted
from storage.history.journal import ParquetJournal
from storage.history.resume import load_resumable

data = Path(sys.argv[1])
r = load_resumable(data)
started = RunStarted(r.run_id, r.plan, time.time(), (), (), resumed=True, done=len(r.state.done))
journal = ParquetJournal(data, source="demo")
asyncio.run(journal.record(started))
print("executing", flush=True)
sys.stdin.readline()
"""


async def test_a_run_another_process_executes_is_not_executed_here_until_that_process_dies(
    tmp_path: Path,
) -> None:
    clock = await _crashed(tmp_path, after=3, tranches=10, amount="1")
    loaded = load_resumable(tmp_path)  # loaded before the other process takes the run
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLD,
        str(tmp_path),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), 60) == b"executing\n"
        with pytest.raises(ResumeError, match="being executed by another process"):
            load_resumable(tmp_path)
        with pytest.raises(RunConflict, match="being executed by another process"):
            await run(tmp_path, loaded.plan, clock=clock, resume=loaded.state)
        assert History(tmp_path).run_tranches(loaded.run_id)["index"].to_list() == [0, 1, 2]
    finally:
        holder.kill()  # SIGKILL: the lock goes with the process
        await holder.communicate()
    again = load_resumable(tmp_path)
    summary, _, _ = await run(tmp_path, again.plan, clock=clock, resume=again.state)
    tranches = History(tmp_path).run_tranches(loaded.run_id)
    assert tranches["index"].to_list() == list(range(10))
    assert sum(tranches["qty_btc"].to_list()) == summary.qty == Decimal("1")


def test_two_resumes_of_a_killed_run_started_at_once_execute_it_once(tmp_path: Path) -> None:
    env = {**os.environ, "BTC_DCA_CONFIG": str(tmp_path / "config.toml")}
    data = tmp_path / "data"
    run_args = _cli(data, "run", "--headless", "--demo", "--speed", "600", "--json")
    run_args += ["--amount", "1", "--duration", "30m", "--tranches", "10"]
    proc = subprocess.Popen(run_args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while len(table_files(data, "tranches")) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    [run_id] = unfinished_runs(data)

    resume = _cli(data, "resume", "--headless", "--json")
    both = [
        subprocess.Popen(resume, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=60), *p.communicate()) for p in both]
    codes = sorted(code for code, _, _ in results)
    assert codes[0] == 0
    assert codes[1] != 0
    loser = next(err for code, _, err in results if code != 0)
    assert b"is being executed by another process" in loser

    tranches = History(data).run_tranches(run_id)
    assert tranches["index"].to_list() == list(range(10))
    assert len(table_files(data, "tranches")) == 10  # not one tranche written twice
    assert sum(tranches["qty_btc"].to_list()) == Decimal("1")
    assert unfinished_runs(data) == []


class StopAfter:
    """Stops the run with ``reason`` once ``n`` tranches were recorded."""

    def __init__(self, n: int, reason: str) -> None:
        self.n, self.reason, self.seen = n, reason, 0
        self.executor: Executor | None = None

    async def record(self, event: Event) -> None:
        if isinstance(event, TrancheFilled):
            self.seen += 1
            if self.seen == self.n and self.executor is not None:
                self.executor.cancel(self.reason)


async def _stopped(tmp_path: Path, reason: str) -> str:
    clock = SimClock()
    p = plan(tranches=6, amount="0.6")
    journal = ParquetJournal(tmp_path, source="demo")
    stop = StopAfter(2, reason)
    executor = Executor(p, SimulatedMarket(clock, venues=p.venues), FanOut(journal, stop), clock)
    stop.executor = executor
    await executor.run()
    journal.close()
    return executor.run_id


async def test_one_rule_for_every_status_in_the_summaries_the_offer_and_resume(
    tmp_path: Path,
) -> None:
    interrupted = await _stopped(tmp_path, "interrupted")  # Ctrl-C, a closed pipe
    cancelled = await _stopped(tmp_path, "cancelled")  # the user's Cancel
    _, _, incomplete = await run(tmp_path, plan(tranches=2, max_price="1"))
    _, _, finished = await run(tmp_path, plan(tranches=2))
    await _crashed(tmp_path, after=1)  # kill -9: its row still says running
    [killed] = [r for r in unfinished_runs(tmp_path) if r not in (interrupted,)]

    rows = {r["run_id"]: r for r in History(tmp_path).run_summaries().to_dicts()}
    shown = {run_id: (r["status"], r["resumable"]) for run_id, r in rows.items()}
    assert shown == {
        interrupted: ("interrupted", True),
        cancelled: ("cancelled", False),
        incomplete: ("incomplete", False),
        finished: ("finished", False),
        killed: ("interrupted", True),
    }
    assert rows[incomplete]["qty_btc"] == 0 and rows[incomplete]["skipped"] == 2
    assert sorted(unfinished_runs(tmp_path)) == sorted([interrupted, killed])
    assert load_resumable(tmp_path, interrupted).status == "interrupted"
    assert load_resumable(tmp_path, killed).status == "interrupted"
    for over in (cancelled, incomplete, finished):
        with pytest.raises(ResumeError, match="only paused, interrupted and failed runs"):
            load_resumable(tmp_path, over)


async def test_an_interruption_stored_by_an_earlier_version_still_resumes(tmp_path: Path) -> None:
    run_id = await _stopped(tmp_path, "interrupted")
    # Earlier versions wrote status "cancelled" with the detail "interrupted".
    folder = next((tmp_path / "runs").rglob("*.parquet")).parent
    last = max(
        (pl.read_parquet(f) for f in folder.glob("*.parquet")),
        key=lambda df: int(df["rev"].max()),  # type: ignore[arg-type]
    )
    last.with_columns(status=pl.lit("cancelled"), rev=pl.col("rev") + 1).write_parquet(
        folder / "legacy.parquet"
    )
    [row] = History(tmp_path).run_summaries().to_dicts()
    assert (row["status"], row["resumable"]) == ("interrupted", True)
    assert unfinished_runs(tmp_path) == [run_id]
