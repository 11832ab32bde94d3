"""Real orders from the command line: keys and accounts, the pre-flight, the confirmation.

Used by ``live check``, ``run --live`` and ``resume`` of a live run. Nothing here loads
ccxt until an account is opened; nothing prints a key's secret (nor the key itself).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, TextIO

from dca.live_execution import LiveExecution, LiveSettings
from dca.orders import OrderJournal
from dca.plan import Plan
from dca.routing import route
from exchanges.book import OrderBook
from exchanges.errors import ErrorKind, VenueError
from exchanges.market import MarketData
from exchanges.private.keys import KeyringUnavailable, env_name, load_keys
from exchanges.private.venues import LIVE_VENUES, not_offered, offered, open_account
from exchanges.venues import VenueSpec, display_name
from storage.config import AppConfig
from tui.cli.options import UsageError

if TYPE_CHECKING:
    from exchanges.private.account import VenueAccount

# What a user types to confirm real orders at a terminal.
CONFIRM_WORD = "BUY"


@dataclass
class Accounts:
    """Open accounts per venue, the venues that cannot trade (with why), and key sources."""

    open: dict[str, VenueAccount] = field(default_factory=dict)
    refused: dict[str, VenueError] = field(default_factory=dict)
    key_source: dict[str, str] = field(default_factory=dict)

    async def close(self) -> None:
        """Close every account's HTTP session."""
        for account in self.open.values():
            await account.close()


def no_keys(venue: str) -> VenueError:
    """The refusal for a venue without an API key, saying where keys come from."""
    return VenueError(
        venue,
        ErrorKind.NO_KEYS,
        f"{display_name(venue)}: no API key (set {env_name(venue, 'key')} and "
        f"{env_name(venue, 'secret')}, or run: btc-dca keys set {venue})",
    )


async def open_accounts(
    venues: Sequence[str],
    specs: Mapping[str, VenueSpec],
    quote: str,
    env: Mapping[str, str] | None = None,
) -> Accounts:
    """An account for every venue that offers real orders, lists ``quote`` and has a key."""
    out = Accounts()
    for venue in venues:
        spec = specs[venue]
        if not offered(venue):
            out.refused[venue] = not_offered(venue)
            continue
        if quote not in spec.symbols:
            out.refused[venue] = VenueError(
                venue, ErrorKind.UNSUPPORTED_PAIR, f"{spec.name}: no BTC/{quote} market"
            )
            continue
        try:
            keys = await asyncio.to_thread(load_keys, venue, os.environ if env is None else env)
        except KeyringUnavailable as exc:
            out.refused[venue] = VenueError(venue, ErrorKind.NO_KEYS, f"{spec.name}: {exc}")
            continue
        if keys is None:
            out.refused[venue] = no_keys(venue)
            continue
        out.open[venue] = open_account(venue, spec, keys)
        out.key_source[venue] = keys.source
    return out


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


@dataclass(frozen=True, slots=True)
class Preflight:
    """What a live run will spend at most, against what each venue holds."""

    estimate: Decimal | None
    worst: Decimal | None
    free: dict[str, Decimal]
    problems: dict[str, str]


async def preflight(
    plan: Plan,
    market: MarketData,
    accounts: Accounts,
    max_slippage: Decimal,
) -> Preflight:
    """The plan's cost on the books now × (1 + max_slippage), and each venue's free balance."""
    results = await market.fresh_books(list(accounts.open), min_btc=plan.amount)
    books = {v: r for v, r in results.items() if isinstance(r, OrderBook)}
    whole = route(books, market.specs, plan.amount, plan.mode) if books else None
    estimate = whole.total if whole else None
    worst = estimate * (1 + max_slippage) if estimate is not None else None
    free: dict[str, Decimal] = {}
    problems: dict[str, str] = {}
    for venue, account in accounts.open.items():
        try:
            free[venue] = (await account.free()).get(plan.quote, Decimal(0))
        except VenueError as exc:
            problems[venue] = str(exc)
    return Preflight(estimate, worst, free, problems)


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
    specs: Mapping[str, VenueSpec],
    plan: Plan,
    config: AppConfig,
    journal: OrderJournal,
    alert: Callable[[str, str], None] | None,
) -> LiveExecution:
    """The venue side of the seam for ``plan`` on the open accounts."""
    return LiveExecution(
        accounts.open,
        {v: specs[v].symbols[plan.quote] for v in accounts.open},
        journal,
        LiveSettings(plan.quote, config.live_max_slippage, config.live_max_spend),
        alert=alert,
        left_out=accounts.refused,
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
