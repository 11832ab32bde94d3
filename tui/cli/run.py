"""``btc-dca run``: a plan executed headless (``--headless``), or handed to the dashboard.

Each tranche prints a line (or a JSON object per line); Ctrl-C or a closed pipe stop
the run cleanly and leave it resumable. Headless runs on live venues stream every
venue like the dashboard (REST snapshot for a tranche whose stream cannot vouch for
its book); ``--rest`` fetches every book over REST at each tranche instead.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TextIO

from dca.execution import Execution
from dca.executor import ResumeState
from dca.journal import Journal, RunRefused
from dca.plan import Plan, best_asks, fit_budget
from dca.session import RunSession
from dca.status import INTERRUPTED, RunStatus
from exchanges.book import OrderBook
from exchanges.clock import Clock
from exchanges.market import Health, MarketData
from exchanges.venues import VenueSpec
from storage.runs.attach import Attached, attach
from tui.cli import exits
from tui.cli.options import (
    OpenDashboard,
    UsageError,
    journal_for,
    load_app_config,
    named,
    plan_from_args,
    prepare_storage,
)
from tui.cli.printers import Printer
from tui.wiring import Options, make_clock, make_market

log = logging.getLogger(__name__)


def command(ns: argparse.Namespace, options: Options, out: TextIO) -> int | OpenDashboard:
    """Validate the plan, then run it headless, detached, or open the dashboard on it."""
    config = load_app_config(options)
    specs = dict(config.specs)
    preset = named(ns, config)
    # A standing plan: --every, or a named plan's every when no window flag replaces it.
    standing = ns.every is not None or (
        preset is not None
        and preset.every is not None
        and ns.duration is None
        and ns.tranches is None
    )
    if ns.duration is None and not standing and (preset is None or preset.duration is None):
        raise UsageError(
            "--duration: required (a time window like 90s, 30m, 6h, 2d), or --every for a "
            "standing plan"
        )
    if ns.live:
        if standing:
            raise UsageError(
                "--every: a standing plan runs on paper only for now (a run of real orders "
                "has a fixed amount and window: --duration)"
            )
        options = live_options(ns, options, specs)
    plan = plan_from_args(ns, options, specs, duration=ns.duration, preset=preset)
    if ns.live:
        from tui.cli.live_run import live_command

        return live_command(ns, options, config, plan, out)
    if ns.detach:
        from tui.cli.detach import detach_run

        return detach_run(ns, plan, options, out)
    if not ns.headless:
        if plan.standing is not None:
            raise UsageError(
                "--every: a standing plan runs in the background (--detach) or --headless; "
                "the dashboard then shows it and steers it (p pauses, c cancels)"
            )
        return OpenDashboard(plan=plan)
    paths = prepare_storage(options)
    clock = make_clock(options)
    market = make_market(options, specs, clock, plan.quote, plan.venues)
    journal = journal_for(options, paths)
    attached = attach(
        paths.data_dir, config.notify, market, where=where(ns.detached_child), cli=paths.cli
    )
    return asyncio.run(
        run_command(
            plan,
            market,
            clock,
            out,
            as_json=ns.json,
            journal=journal,
            run_id=ns.run_id,
            attached=attached,
            stream=streams(ns, options),
            cli=paths.cli,
        )
    )


def live_options(ns: argparse.Namespace, options: Options, specs: dict[str, VenueSpec]) -> Options:
    """Checks before anything is sent: no demo, venues that take real orders, a way to confirm.

    Without ``--venues`` a live run uses every enabled venue that takes real orders.
    """
    from tui.cli.real_orders import (
        check_venues_offered,
        live_venues,
        require_confirmation_channel,
    )

    if options.demo:
        raise UsageError("--live: real orders are never sent on the demo market; leave --demo out")
    if not ns.headless and not ns.detach:
        raise UsageError(
            "--live: use it with --headless or --detach (in the dashboard, choose LIVE "
            "beside Start)"
        )
    venues = live_venues(options.venues, specs)
    check_venues_offered(venues)
    require_confirmation_channel(ns.yes)
    return replace(options, venues=tuple(venues))


def where(detached: bool) -> str:
    """Where a headless run says it executes (``btc-dca status`` shows it)."""
    return "detached" if detached else "headless"


def streams(ns: argparse.Namespace, options: Options) -> bool:
    """Whether a headless run streams its venues: live ones unless ``--rest`` says not to."""
    return not options.demo and not getattr(ns, "rest", False)


# Real seconds a headless run waits for its streams to sync before the first tranche
# (a venue still syncing then is priced from a REST snapshot, as always).
WARM_UP_S = 5.0


async def warm_up(market: MarketData, venues: Sequence[str], within: float = WARM_UP_S) -> None:
    """Start the market's streams and wait until no venue is still connecting (or ``within``)."""
    await market.start()
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if all(market.status(v).health is not Health.CONNECTING for v in venues):
            return
        await asyncio.sleep(0.05)


async def run_command(
    plan: Plan,
    market: MarketData,
    clock: Clock,
    out: TextIO,
    *,
    as_json: bool = False,
    journal: Journal | None = None,
    resume: ResumeState | None = None,
    catch_up: bool = False,
    handle_signals: bool = True,
    run_id: str | None = None,
    attached: Attached | None = None,
    stream: bool = False,
    execution: Execution | None = None,
    cli: str = "btc-dca",
) -> int:
    """Execute ``plan`` headless, printing every tranche.

    Exit 0 when it bought the whole amount, 4 when it ended short of it, 3 when no venue
    could be reached at the start, 130 when interrupted (it stays resumable).
    ``attached``: the run's live files (other processes see and steer it) and alerts.
    ``stream``: start the market's streams first (the dashboard's live market); else each
    tranche asks every venue afresh. ``catch_up`` False (the default): a tranche whose
    slot passed while the run was paused (``btc-dca pause``) is skipped, its BTC carried
    to the next, so purchases are never bunched together. ``execution``: how each
    tranche is carried out (paper fills unless told otherwise). ``cli``: ``btc-dca`` as
    the hints spell it (with the data dir and config in use).
    """
    printer = Printer(
        out, as_json, plan.quote, live=execution is not None and execution.live, cli=cli
    )
    try:
        if stream:
            await warm_up(market, plan.venues)
        probe = await market.fresh_books(plan.venues)
        if not any(isinstance(r, OrderBook) for r in probe.values()):
            for venue, r in probe.items():
                print(f"{venue}: {r}", file=sys.stderr)
            print("No venue could be reached.", file=sys.stderr)
            return exits.EXIT_NO_VENUE
        if plan.spend is not None and resume is None:
            # A budget's share per tranche against each venue's minimum order at today's
            # prices (PlanInvalid: exit 2, nothing recorded yet).
            plan = fit_budget(plan, market.specs, best_asks(probe))
        session = RunSession(
            plan,
            market,
            clock,
            history=journal,
            live=attached.live if attached else None,
            alerts=attached.alerts if attached else None,
            views=[printer],
            run_id=run_id,
            resume=resume,
            catch_up=catch_up,
            execution=execution,
        )
        interrupted = False

        def interrupt() -> None:
            nonlocal interrupted
            interrupted = True
            session.cancel(INTERRUPTED)

        printer.on_closed = interrupt

        loop = asyncio.get_running_loop()
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, interrupt)
        try:
            await session.run()
        except RunRefused as exc:
            # Another process has this run: nothing was executed here.
            print(f"btc-dca: {exc}", file=sys.stderr)
            return exits.EXIT_INVALID
        except Exception as exc:
            # The run cannot go on (e.g. its history cannot be written); it is marked failed.
            log.exception("run %s failed", session.run_id)
            print(f"btc-dca: run {session.run_id} failed: {exc}", file=sys.stderr)
            return exits.EXIT_FAILED
        finally:
            if handle_signals:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    with contextlib.suppress(Exception):
                        loop.remove_signal_handler(sig)
        if interrupted and session.state is RunStatus.INTERRUPTED:
            return exits.EXIT_INTERRUPTED
        return exits.EXIT_INCOMPLETE if session.state is RunStatus.INCOMPLETE else exits.EXIT_OK
    finally:
        await market.close()
