"""``btc-dca resume``: continue an unfinished run, headless or in the dashboard.

Headless, it prints like ``run --headless``; a demo run continues on the demo market
at its speed, its clock picking up where its last tranche left it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TextIO

from exchanges.clock import Clock, ScaledClock
from exchanges.venues import VenueSpec
from storage.history.journal import ParquetJournal
from storage.history.queries import History
from storage.history.resume import Missed, Resumable, ResumeError, load_resumable
from storage.runs.attach import attach
from tui.cli import exits
from tui.cli.options import (
    OpenDashboard,
    UsageError,
    load_app_config,
    load_specs,
    prepare_storage,
)
from tui.cli.run import run_command, streams, where
from tui.fmt import bought_of, btc
from tui.wiring import Options, make_clock, make_market


def command(ns: argparse.Namespace, options: Options, out: TextIO) -> int | OpenDashboard:
    """Resume ``RUN_ID`` (or the newest unfinished run) headless, or in the dashboard."""
    specs = load_specs(options)
    if getattr(ns, "standing", False):
        from tui.cli.detach import resume_standing

        if ns.run_id is not None:
            raise UsageError("--standing: resumes every standing plan; leave RUN_ID out")
        return resume_standing(ns, options, out)
    if ns.detach:
        from tui.cli.detach import detach_resume

        return detach_resume(ns, options, out)
    if not ns.headless:
        return OpenDashboard(run_id=ns.run_id)
    paths = prepare_storage(options)
    return resume_command(ns, options, specs, paths.data_dir, out, paths.cli)


def resume_clock(options: Options, run: Resumable, data_dir: Path) -> Clock:
    """The clock to continue on: a demo run's clock picks up where its last tranche left it."""
    if not options.demo:
        return make_clock(options)
    tranches = History(data_dir).run_tranches(run.run_id)
    last = tranches["executed_at"].max() if tranches.height else None
    start = max(time.time(), last.timestamp() if isinstance(last, datetime) else 0.0)
    return ScaledClock(options.demo_speed, start=start)


def resume_command(
    ns: argparse.Namespace,
    options: Options,
    specs: Mapping[str, VenueSpec],
    data_dir: Path,
    out: TextIO,
    cli: str = "btc-dca",
) -> int:
    """Continue the given (or newest) unfinished run headless; exit 2 if there is none."""
    try:
        run = load_resumable(data_dir, ns.run_id)
    except ResumeError as exc:
        print(f"btc-dca: resume: {exc}", file=sys.stderr)
        return exits.EXIT_INVALID
    # A demo run continues on the demo market at its speed unless told otherwise.
    if run.source == "demo":
        options = replace(options, demo=True, speed=options.speed or run.speed)
    clock = resume_clock(options, run, data_dir)
    market = make_market(options, specs, clock, run.plan.quote, run.plan.venues)
    done = len(run.state.done)
    said = (
        f"Resuming standing plan {run.run_id}: {done} buys recorded, "
        f"{btc(run.before.qty)} BTC bought."
        if run.plan.standing is not None
        else f"Resuming run {run.run_id}: {done} of {run.plan.tranches} tranches recorded, "
        + bought_of(
            run.before.qty, run.before.target, run.before.total, run.before.budget, run.plan.quote
        )
        + "."
    )
    print(said, file=sys.stderr if ns.json else out)
    journal = ParquetJournal(
        data_dir, source="demo" if options.demo else "live", speed=options.speed
    )
    config = load_app_config(options)
    attached = attach(
        data_dir,
        config.notify,
        market,
        where=where(bool(getattr(ns, "detached_child", False))),
        cli=cli,
    )
    if run.live:
        # A live run stays live: real orders, confirmed again (--yes or typed).
        from tui.cli.live_run import run_live
        from tui.cli.real_orders import require_confirmation_channel

        try:
            require_confirmation_channel(bool(ns.yes))
            return asyncio.run(
                run_live(
                    run.plan,
                    market,
                    clock,
                    out,
                    config=config,
                    journal=journal,
                    data_dir=data_dir,
                    yes=bool(ns.yes),
                    as_json=ns.json,
                    resume=run.state,
                    catch_up=ns.missed == Missed.CATCH_UP.value,
                    attached=attached,
                    stream=streams(ns, options),
                )
            )
        finally:
            journal.close()
    try:
        return asyncio.run(
            run_command(
                run.plan,
                market,
                clock,
                out,
                as_json=ns.json,
                journal=journal,
                resume=run.state,
                catch_up=ns.missed == Missed.CATCH_UP.value,
                attached=attached,
                stream=streams(ns, options),
                cli=cli,
            )
        )
    finally:
        journal.close()  # lets go of the run if it did not end (a failure)
