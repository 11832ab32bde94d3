"""``btc-dca live check``: can each venue take real orders? Places nothing.

Per venue: the key authenticates; free balances in BTC and the quote currency; the
account's taker fee beside the configured one; a warning when the key may withdraw (a
DCA key should not); an order validated without trading (Binance ``order/test``).
Exit 0 when every venue checked can trade, 3 otherwise, each with its reason.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TextIO

from exchanges.book import OrderBook
from exchanges.errors import VenueError
from exchanges.market import MarketData
from exchanges.venues import VenueSpec, display_name
from tui.cli import exits
from tui.cli.options import UsageError, load_app_config
from tui.cli.real_orders import Accounts, live_venues, open_accounts
from tui.fmt import exact
from tui.wiring import Options, make_clock, make_market


@dataclass
class VenueCheck:
    """One venue's answer to the pre-flight."""

    venue: str
    ok: bool
    reason: str | None = None
    key_source: str | None = None
    free: dict[str, Decimal] = field(default_factory=dict)
    taker_fee: Decimal | None = None
    config_fee: Decimal | None = None
    can_withdraw: bool | None = None
    validated: bool = False
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        """The JSON object (money as decimal strings)."""
        return {
            "venue": self.venue,
            "ok": self.ok,
            "reason": self.reason,
            "key_source": self.key_source,
            "free": {k: exact(v) for k, v in self.free.items()},
            "taker_fee": exact(self.taker_fee),
            "config_fee": exact(self.config_fee),
            "can_withdraw": self.can_withdraw,
            "validated": self.validated,
            "warnings": self.warnings,
        }


def command(ns: argparse.Namespace, options: Options, out: TextIO) -> int:
    """``live check``: exit 0 when every venue can trade, else 3."""
    if options.demo:
        raise UsageError("--demo: live check talks to the real venues; leave --demo out")
    if ns.live_command != "check":
        raise UsageError("live: the only subcommand is check")
    config = load_app_config(options)
    specs = dict(config.specs)
    quote = options.quote or "USD"
    venues = live_venues(options.venues, specs)
    checks = asyncio.run(check_all(venues, specs, quote, options))
    if ns.json:
        ok = all(c.ok for c in checks)
        print(
            json.dumps({"ok": ok, "quote": quote, "venues": [c.as_json() for c in checks]}),
            file=out,
        )
    else:
        for c in checks:
            print(_line(c, quote), file=out)
    return exits.EXIT_OK if checks and all(c.ok for c in checks) else exits.EXIT_NO_VENUE


async def check_all(
    venues: Sequence[str], specs: Mapping[str, VenueSpec], quote: str, options: Options
) -> list[VenueCheck]:
    """Check every venue at once."""
    accounts = await open_accounts(venues, specs, quote)
    market: MarketData | None = None
    try:
        if accounts.open:
            market = make_market(options, specs, make_clock(options), quote, list(accounts.open))
        found = await asyncio.gather(
            *(_check(v, specs[v], quote, accounts, market) for v in venues)
        )
        return list(found)
    finally:
        await accounts.close()
        if market is not None:
            await market.close()


async def _check(
    venue: str, spec: VenueSpec, quote: str, accounts: Accounts, market: MarketData | None
) -> VenueCheck:
    if venue in accounts.refused:
        return VenueCheck(venue, False, str(accounts.refused[venue]))
    assert market is not None
    account = accounts.open[venue]
    result = VenueCheck(venue, False, key_source=accounts.key_source.get(venue))
    result.config_fee = spec.taker_fee
    book = (await market.fresh_books([venue])).get(venue)
    if not isinstance(book, OrderBook) or book.best_ask is None:
        result.reason = f"{spec.name}: no book to price a test order ({book})"
        return result
    try:
        rules = await account.rules(quote, spec.symbols[quote])
        found = await account.check(quote, rules, book.best_ask)
    except VenueError as exc:
        result.reason = str(exc)
        return result
    result.ok = True
    result.free = {c: found.free.get(c, Decimal(0)) for c in ("BTC", quote)}
    result.taker_fee = found.taker_fee
    result.can_withdraw = found.can_withdraw
    result.validated = found.validated
    result.warnings = list(found.notes)
    if found.can_withdraw:
        result.warnings.append("this key may withdraw: a key for buying should not")
    if found.taker_fee is not None and found.taker_fee != spec.taker_fee:
        result.warnings.append(
            f"the account's taker fee {_pct(found.taker_fee)} differs from the configured "
            f"{_pct(spec.taker_fee)} (taker_fee in [venues.{venue}])"
        )
    return result


def _pct(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f} %"


def _line(c: VenueCheck, quote: str) -> str:
    name = display_name(c.venue)
    if not c.ok:
        return f"{name}: cannot trade: {c.reason}"
    free = ", ".join(f"{v:,.8f}".rstrip("0").rstrip(".") + f" {k}" for k, v in c.free.items())
    fee = _pct(c.taker_fee) if c.taker_fee is not None else "not reported"
    withdraw = {True: "allowed", False: "off", None: "unknown"}[c.can_withdraw]
    parts = [
        f"{name}: ready (key from {c.key_source})",
        f"free {free}",
        f"taker fee {fee} (config {_pct(c.config_fee or Decimal(0))})",
        f"withdrawals {withdraw}",
        "test order accepted, nothing placed" if c.validated else "no test order",
    ]
    text = "; ".join(parts)
    return text + "".join(f"\n  warning: {w}" for w in c.warnings)
