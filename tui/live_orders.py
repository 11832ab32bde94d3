"""Real orders, shared by the command line and the dashboard: keys and accounts, the
pre-flight (what a live run will spend at most against each venue's balance), the
execution that sends them.

Neither Textual nor the command line is imported here: ``tui.cli.real_orders`` words it
for a terminal, ``tui.screens.live_confirm`` for the dashboard. Nothing here loads ccxt
until an account is opened; nothing shows a key's secret (nor the key itself).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

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
from storage.alerts.send import Alert as AlertMessage
from storage.alerts.send import Notifier

if TYPE_CHECKING:
    from exchanges.private.account import VenueAccount

# What a user types to confirm real orders (at a terminal and in the dashboard's dialog).
CONFIRM_WORD = "BUY"

Alert = Callable[[str, str], None]


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


def not_offered_text(venues: Sequence[str]) -> str:
    """Why ``venues`` cannot take real orders, naming them and the venues that can ("" when
    every one can)."""
    refused = [display_name(v) for v in venues if not offered(v)]
    if not refused:
        return ""
    names = ", ".join(display_name(v) for v in LIVE_VENUES)
    return f"real orders are not offered on {', '.join(refused)} (only on {names})"


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
            # Binance trades BTC against USDT, not USD: name what it does trade.
            quotes = ", ".join(spec.symbols)
            out.refused[venue] = VenueError(
                venue,
                ErrorKind.UNSUPPORTED_PAIR,
                f"{spec.name}: no BTC/{quote} market (it trades BTC against {quotes})",
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


@dataclass(frozen=True, slots=True)
class Preflight:
    """What a live run will spend at most, against what each venue holds."""

    estimate: Decimal | None
    worst: Decimal | None
    free: dict[str, Decimal]
    problems: dict[str, str]

    def short(self, venue: str) -> bool:
        """Whether ``venue``'s free balance is less than the run's most (a tranche sent
        there may then be skipped for balance)."""
        free = self.free.get(venue)
        return free is None or (self.worst is not None and free < self.worst)


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


def live_execution(
    accounts: Accounts,
    market: MarketData,
    plan: Plan,
    max_slippage: Decimal,
    max_spend: Decimal | None,
    journal: OrderJournal,
    alert: Alert | None,
) -> LiveExecution:
    """The venue side of the seam for ``plan`` on the open accounts; a partial fill's
    remainder is walked again on ``market``'s books of the other venues."""
    specs = market.specs
    return LiveExecution(
        accounts.open,
        {v: specs[v].symbols[plan.quote] for v in accounts.open},
        journal,
        LiveSettings(plan.quote, max_slippage, max_spend, plan.max_price),
        alert=alert,
        left_out=accounts.refused,
        books=market,
    )


def alert_through(notifier: Notifier | None) -> Alert | None:
    """Real orders' money-safety alerts, sent as the ``live`` event."""
    if notifier is None:
        return None

    def send(title: str, body: str) -> None:
        notifier.send(AlertMessage("live", title, body))

    return send
