"""``run --live`` and ``resume`` of a live run: the pre-flight, the confirmation, the run.

Before the first order: what the run will spend at most (its cost on the books now ×
(1 + ``max_slippage``)) against each venue's free balance, then ``--yes`` or the typed
confirmation. Nothing is sent to any venue before that. ``--detach`` confirms here and
hands the run to a background process with ``--yes``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TextIO

from dca.executor import ResumeState
from dca.plan import Plan
from exchanges.clock import Clock
from exchanges.market import MarketData
from storage.config import AppConfig
from storage.history.journal import ParquetJournal
from storage.runs.attach import Attached
from tui.cli import exits
from tui.cli.real_orders import (
    Accounts,
    confirm,
    describe,
    live_execution,
    open_accounts,
    preflight,
)
from tui.live_orders import alert_through
from tui.wiring import Options


def live_command(
    ns: argparse.Namespace, options: Options, config: AppConfig, plan: Plan, out: TextIO
) -> int:
    """``run --live`` (headless or detached): pre-flight, confirmation, then real orders."""
    from storage.runs.attach import attach
    from tui.cli.options import journal_for, prepare_storage
    from tui.cli.run import streams, where
    from tui.wiring import make_clock, make_market

    specs = dict(config.specs)
    paths = prepare_storage(options)
    clock = make_clock(options)
    market = make_market(options, specs, clock, plan.quote, plan.venues)
    if ns.detach:
        if not asyncio.run(_confirm_only(plan, market, config, yes=ns.yes)):
            return exits.EXIT_INVALID
        from tui.cli.detach import detach_run

        return detach_run(ns, plan, options, out, extra=["--live", "--yes"])
    journal = journal_for(options, paths)
    attached = attach(paths.data_dir, config.notify, market, where=where(ns.detached_child))
    try:
        return asyncio.run(
            run_live(
                plan,
                market,
                clock,
                out,
                config=config,
                journal=journal,
                data_dir=paths.data_dir,
                yes=ns.yes,
                as_json=ns.json,
                run_id=ns.run_id,
                attached=attached,
                stream=streams(ns, options),
            )
        )
    finally:
        journal.close()


async def _confirm_only(plan: Plan, market: MarketData, config: AppConfig, *, yes: bool) -> bool:
    accounts = await open_accounts(plan.venues, market.specs, plan.quote)
    try:
        if not accounts.open:
            _no_venue(accounts)
            return False
        pre = await preflight(plan, market, accounts, config.live_max_slippage)
        ok = await confirm(describe(plan, pre, accounts, config.live_max_spend), yes=yes)
        if not ok:
            print("Not confirmed: nothing was sent.", file=sys.stderr)
        return ok
    finally:
        await accounts.close()
        await market.close()


def _no_venue(accounts: Accounts) -> None:
    for error in accounts.refused.values():
        print(f"btc-dca: {error}", file=sys.stderr)
    print("btc-dca: no venue can take real orders; nothing was sent.", file=sys.stderr)


async def run_live(
    plan: Plan,
    market: MarketData,
    clock: Clock,
    out: TextIO,
    *,
    config: AppConfig,
    journal: ParquetJournal,
    data_dir: Path,
    yes: bool,
    as_json: bool = False,
    run_id: str | None = None,
    resume: ResumeState | None = None,
    catch_up: bool = False,
    attached: Attached | None = None,
    stream: bool = False,
) -> int:
    """Open the accounts, show the pre-flight, confirm, then run ``plan`` with real orders.

    Exit 3 when no venue can take orders and 2 when not confirmed: nothing is sent then.
    """
    from storage.history.orders import ParquetOrderJournal
    from tui.cli.run import run_command

    accounts = await open_accounts(plan.venues, market.specs, plan.quote)
    try:
        if not accounts.open:
            _no_venue(accounts)
            await market.close()
            return exits.EXIT_NO_VENUE
        pre = await preflight(plan, market, accounts, config.live_max_slippage)
        if not await confirm(describe(plan, pre, accounts, config.live_max_spend), yes=yes):
            print("Not confirmed: nothing was sent.", file=sys.stderr)
            await market.close()
            return exits.EXIT_INVALID
        execution = live_execution(
            accounts,
            market,
            plan,
            config,
            ParquetOrderJournal(data_dir),
            alert_through(attached.alerts if attached else None),
        )
        return await run_command(
            plan,
            market,
            clock,
            out,
            as_json=as_json,
            journal=journal,
            resume=resume,
            catch_up=catch_up,
            run_id=run_id,
            attached=attached,
            stream=stream,
            execution=execution,
        )
    finally:
        await accounts.close()
