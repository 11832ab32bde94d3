"""Real orders from the command line: keys and accounts, the pre-flight, the confirmation.

Used by ``live check``, ``run --live`` and ``resume`` of a live run. Nothing here loads
ccxt until an account is opened; nothing prints a key's secret (nor the key itself).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TextIO

from dca.live_execution import LiveExecution
from dca.orders import OrderJournal
from dca.plan import Plan
from exchanges.market import MarketData
from exchanges.private.venues import LIVE_VENUES, offered
from exchanges.venues import VenueSpec, display_name
from storage.config import AppConfig
from tui.cli.options import UsageError
from tui.live_orders import (
    CONFIRM_WORD,
    Accounts,
    Alert,
    Preflight,
    no_keys,
    open_accounts,
    preflight,
)
from tui.live_orders import live_execution as _live_execution

__all__ = [
    "CONFIRM_WORD",
    "Accounts",
    "Preflight",
    "confirm",
    "confirm_resume",
    "describe",
    "live_execution",
    "no_keys",
    "open_accounts",
    "preflight",
]


def live_venues(requested: Sequence[str] | None, specs: Mapping[str, VenueSpec]) -> list[str]:
    """The venues a live command uses: those named, else every enabled venue offering orders."""
    if requested:
        return list(requested)
    return [v for v in LIVE_VENUES if specs[v].enabled]


def check_venues_offered(venues: Sequence[str]) -> None:
    """UsageError (exit 2) naming any venue that does not take real orders."""
    refused = [v for v in venues if not offered(v)]
    if refused:
        names = ", ".join(display_name(v) for v in LIVE_VENUES)
        raise UsageError(
            f"--venues: real orders are not offered on {', '.join(refused)} "
            f"(only on {names}: pass --venues {','.join(LIVE_VENUES)})"
        )


def require_confirmation_channel(yes: bool, stdin: TextIO | None = None) -> None:
    """Without ``--yes`` a terminal must be there to type the confirmation (else exit 2)."""
    stdin = stdin or sys.stdin
    if not yes and not stdin.isatty():
        raise UsageError(
            "--yes: real orders need --yes when stdin is not a terminal "
            "(nothing was sent to any venue)"
        )


def describe(plan: Plan, pre: Preflight, accounts: Accounts, max_spend: Decimal | None) -> str:
    """The pre-flight as the lines shown before the confirmation."""
    q = plan.quote
    tranches = f"{plan.tranches} tranche" + ("s" if plan.tranches != 1 else "")
    lines = [
        f"REAL ORDERS: buy {plan.amount} BTC in {tranches} on "
        f"{', '.join(display_name(v) for v in accounts.open)} (quote {q}).",
    ]
    if pre.worst is not None and pre.estimate is not None:
        # Short lines: this is read at an 80-column terminal before typing the word.
        lines += [
            f"On the books now: {pre.estimate:,.2f} {q}.",
            f"At most: {pre.worst:,.2f} {q} (each order a limit at the walked price",
            "+ max_slippage, immediate-or-cancel).",
        ]
    else:
        lines.append("No book prices the whole amount now; each tranche is priced at its time.")
    for venue, amount in pre.free.items():
        enough = "" if pre.worst is None or amount >= pre.worst else "  (less than the most)"
        lines.append(f"  {display_name(venue)}: free {amount:,.2f} {q}{enough}")
    for venue, problem in pre.problems.items():
        lines.append(f"  {display_name(venue)}: {problem}")
    for venue, error in accounts.refused.items():
        lines.append(f"  {display_name(venue)} left out: {error}")
    if max_spend is not None:
        lines.append(f"The run stops spending at max_spend {max_spend:,} {q}.")
    return "\n".join(lines)


async def confirm(
    text: str,
    *,
    yes: bool,
    ask: Callable[[str], str] = input,
    err: TextIO | None = None,
) -> bool:
    """Show the pre-flight; with ``--yes`` go on, else ask for the confirmation word."""
    err = err or sys.stderr
    print(text, file=err)
    if yes:
        return True
    try:
        answer = await asyncio.to_thread(ask, f"Type {CONFIRM_WORD} to send real orders: ")
    except EOFError:
        return False
    return answer.strip() == CONFIRM_WORD


def live_execution(
    accounts: Accounts,
    market: MarketData,
    plan: Plan,
    config: AppConfig,
    journal: OrderJournal,
    alert: Alert | None,
) -> LiveExecution:
    """The venue side of the seam for ``plan`` on the open accounts, with ``[live]``."""
    return _live_execution(
        accounts,
        market,
        plan,
        config.live_max_slippage,
        config.live_max_spend,
        journal,
        alert,
    )


def confirm_resume(
    run_id: str, *, yes: bool, ask: Callable[[str], str] = input, stdin: TextIO | None = None
) -> bool:
    """Resuming a live run sends real orders: ``--yes``, or the typed word at a terminal."""
    require_confirmation_channel(yes, stdin)
    print(f"Run {run_id} buys with REAL ORDERS; resuming it sends them.", file=sys.stderr)
    if yes:
        return True
    try:
        ok = ask(f"Type {CONFIRM_WORD} to continue it with real orders: ").strip() == CONFIRM_WORD
    except EOFError:
        ok = False
    if not ok:
        print("Not confirmed: nothing was sent.", file=sys.stderr)
    return ok
