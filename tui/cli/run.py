"""``btc-dca run``: a plan executed headless (``--headless``), or handed to the dashboard.

Each tranche prints a line (or a JSON object per line); Ctrl-C or a closed pipe stop
the run cleanly and leave it resumable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from typing import TextIO

from dca.executor import Executor, ResumeState
from dca.journal import FanOut, Journal, RecordsFailures
from dca.plan import Plan, build_plan
from exchanges.book import OrderBook
from exchanges.clock import Clock
from exchanges.market import MarketData
from storage.journal import RunConflict
from tui.cli import exits
from tui.cli.options import OpenDashboard, journal_for, load_specs, prepare_storage
from tui.cli.printers import Printer
from tui.wiring import Options, make_clock, make_market

log = logging.getLogger(__name__)


def command(ns: argparse.Namespace, options: Options, out: TextIO) -> int | OpenDashboard:
    """Validate the plan, then run it headless, or open the dashboard on it."""
    specs = load_specs(options)
    plan = build_plan(
        amount=ns.amount,
        duration=ns.duration,
        tranches=ns.tranches,
        quote=options.quote or "USD",
        venues=options.venues,
        mode=options.mode or "single",
        max_price=options.max_price,
        jitter=ns.jitter,
        seed=options.seed,
        specs=specs,
    )
    if not ns.headless:
        return OpenDashboard(plan=plan)
    paths = prepare_storage(options)
    clock = make_clock(options)
    market = make_market(options, specs, clock, plan.quote, plan.venues)
    journal = journal_for(options, paths)
    return asyncio.run(run_command(plan, market, clock, out, as_json=ns.json, journal=journal))


async def run_command(
    plan: Plan,
    market: MarketData,
    clock: Clock,
    out: TextIO,
    *,
    as_json: bool = False,
    journal: Journal | None = None,
    resume: ResumeState | None = None,
    catch_up: bool = True,
    handle_signals: bool = True,
) -> int:
    """Execute ``plan`` headless, printing every tranche; 130 when interrupted, 3 when no venue."""
    printer = Printer(out, as_json, plan.quote)
    try:
        probe = await market.fresh_books(plan.venues)
        if not any(isinstance(r, OrderBook) for r in probe.values()):
            for venue, r in probe.items():
                print(f"{venue}: {r}", file=sys.stderr)
            print("No venue could be reached.", file=sys.stderr)
            return exits.EXIT_NO_VENUE
        sink: Journal = FanOut(journal, printer) if journal is not None else printer
        executor = Executor(plan, market, sink, clock, resume=resume, catch_up=catch_up)
        interrupted = False

        def interrupt() -> None:
            nonlocal interrupted
            interrupted = True
            executor.cancel("interrupted")

        printer.on_closed = interrupt

        loop = asyncio.get_running_loop()
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, interrupt)
        try:
            await executor.run()
        except RunConflict as exc:
            # Another process has this run: nothing was executed here.
            print(f"btc-dca: {exc}", file=sys.stderr)
            return exits.EXIT_INVALID
        except Exception as exc:
            # The run cannot go on (e.g. its history cannot be written): say so, mark it.
            log.exception("run %s failed", executor.run_id)
            print(f"btc-dca: run {executor.run_id} failed: {exc}", file=sys.stderr)
            if isinstance(journal, RecordsFailures):
                with contextlib.suppress(Exception):
                    await journal.fail(executor.run_id, str(exc))
            return exits.EXIT_FAILED
        finally:
            if handle_signals:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    with contextlib.suppress(Exception):
                        loop.remove_signal_handler(sig)
        return exits.EXIT_INTERRUPTED if interrupted else exits.EXIT_OK
    finally:
        await market.close()
