"""``btc-dca quote``: the cost of the whole amount on every venue, and the best."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import TextIO

from dca.plan import Plan, build_plan
from dca.quote import quote
from exchanges.market import MarketData
from exchanges.venues import VenueSpec
from tui.cli import exits
from tui.cli.options import load_specs
from tui.cli.printers import quote_json, quote_text
from tui.wiring import Options, make_clock, make_market


def command(ns: argparse.Namespace, options: Options, out: TextIO) -> int:
    """Price ``--amount`` on the chosen venues and print it (exit 3 when none answered, 4
    when it cannot be filled in this mode)."""
    specs = load_specs(options)
    below_min = below_minimum(ns.amount, options.venues, specs)
    # A quote is a one-tranche plan: the same validation names the same fields. Venues
    # whose minimum order is above the amount are marked, the others quoted; only when
    # that leaves none does the plan's own message (the minimum) say why.
    kept = [v for v in (options.venues or enabled(specs)) if v not in below_min]
    plan = build_plan(
        amount=ns.amount,
        duration="1s",
        tranches=1,
        quote=options.quote or "USD",
        venues=kept if below_min and kept else options.venues,
        mode=options.mode or "single",
        max_price=options.max_price,
        specs=specs,
    )
    clock = make_clock(options)
    market = make_market(options, specs, clock, plan.quote, plan.venues)
    return asyncio.run(quote_command(market, plan, ns.json, out, below_min))


def enabled(specs: Mapping[str, VenueSpec]) -> list[str]:
    """The venues a plan takes when none are named."""
    return [v for v in specs if specs[v].enabled]


def below_minimum(
    amount: str, venues: Sequence[str] | None, specs: Mapping[str, VenueSpec]
) -> dict[str, Decimal]:
    """The chosen venues whose minimum order is above ``amount`` (venue -> minimum, BTC);
    none when the amount is not a number yet (the plan says what is wrong with it)."""
    try:
        qty = Decimal(amount.strip())
    except (InvalidOperation, AttributeError):
        return {}
    if not qty.is_finite() or qty <= 0:
        return {}
    chosen = [v.strip().lower() for v in (venues or enabled(specs))]
    return {
        v: specs[v].min_order_btc for v in chosen if v in specs and specs[v].min_order_btc > qty
    }


async def quote_command(
    market: MarketData,
    plan: Plan,
    as_json: bool,
    out: TextIO,
    below_min: Mapping[str, Decimal] | None = None,
) -> int:
    """Price the plan's amount on every venue once and print it.

    Exit 3 when no venue answered, 4 when no venue (in this mode) can fill the whole amount.
    """
    try:
        results = await market.fresh_books(plan.venues, min_btc=plan.amount)
    finally:
        await market.close()
    q = quote(results, market.specs, plan.amount, plan.mode, split_if_unfilled=True)
    cur = market.quote
    text = (
        json.dumps(quote_json(q, cur, below_min))
        if as_json
        else quote_text(q, cur, plan.max_price, below_min)
    )
    print(text, file=out)
    if not q.reached:
        return exits.EXIT_NO_VENUE
    return exits.EXIT_OK if q.filled else exits.EXIT_INCOMPLETE
