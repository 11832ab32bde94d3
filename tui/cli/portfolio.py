"""``btc-dca portfolio``: BTC accumulated across runs, what it cost, what it is worth now."""

from __future__ import annotations

import argparse
import asyncio
import json
from decimal import Decimal
from typing import TextIO

from exchanges.book import OrderBook
from exchanges.market import MarketData
from tui.cli import exits
from tui.cli.options import load_specs, prepare_storage
from tui.fmt import btc, derived, exact, money, plural
from tui.wiring import Options, make_clock, make_market


def command(ns: argparse.Namespace, options: Options, out: TextIO) -> int:
    """Sum the runs (paper or real apart, never backtests) and value them at the best bid."""
    from storage.history.portfolio import Scope, portfolio

    paths = prepare_storage(options, compact=False)
    scope = Scope.LIVE if ns.live else Scope.PAPER if ns.paper else None
    p = portfolio(paths.data_dir, scope, options.quote)
    bid: Decimal | None = None
    bid_venue: str | None = None
    if p.total.btc:
        specs = load_specs(options)
        venues = options.venues or tuple(v for v in specs if specs[v].enabled)
        market = make_market(options, specs, make_clock(options), p.quote, venues)
        bid, bid_venue = asyncio.run(best_bid(market, venues))
    if ns.json:
        print(json.dumps(portfolio_json(p, bid, bid_venue)), file=out)
    else:
        print(portfolio_text(p, bid, bid_venue), file=out)
    return exits.EXIT_OK


async def best_bid(
    market: MarketData, venues: tuple[str, ...]
) -> tuple[Decimal | None, str | None]:
    """The highest bid among the venues now (what the BTC would sell for), and where."""
    try:
        books = await market.fresh_books(venues)
    finally:
        await market.close()
    bids = [(b.best_bid, v) for v, b in books.items() if isinstance(b, OrderBook) and b.best_bid]
    if not bids:
        return None, None
    bid, venue = max(bids, key=lambda p: p[0])
    return bid, venue


def _bucket(b: object) -> dict[str, object]:
    from storage.history.portfolio import Bucket

    assert isinstance(b, Bucket)
    return {
        "btc": exact(b.btc),
        "cost": exact(b.cost),
        "fees": exact(b.fees),
        "avg_cost": derived(b.avg_cost),  # a division: 8 places (docs/output.md)
        "tranches": b.tranches,
    }


def portfolio_json(p: object, bid: Decimal | None, venue: str | None) -> dict[str, object]:
    """One object: totals as decimal strings, ``runs`` a count, breakdowns per venue/month."""
    from storage.history.portfolio import Portfolio

    assert isinstance(p, Portfolio)
    return {
        "scope": p.scope.value,
        "quote": p.quote,
        "runs": p.runs,
        **_bucket(p.total),
        "bid": exact(bid),
        "bid_venue": venue,
        "value": exact(p.value(bid)),
        "pnl": exact(p.pnl(bid)),
        "venues": {v: _bucket(b) for v, b in p.venues.items()},
        "months": {m: _bucket(b) for m, b in p.months.items()},
        "other_quotes": p.other_quotes,
    }


def portfolio_text(p: object, bid: Decimal | None, venue: str | None) -> str:
    """The portfolio for people: totals, then per venue and per month."""
    from storage.history.portfolio import Portfolio

    assert isinstance(p, Portfolio)
    q = p.quote
    kind = "real" if p.scope.value == "live" else "paper"
    others = ", ".join(f"{n} in {c}" for c, n in p.other_quotes.items())
    note = f"\nNot summed here: {others} (see --quote)." if others else ""
    if not p.runs:
        return f"No {kind} runs in {q} yet (backtests never count).{note}"
    t = p.total
    lines = [
        f"Portfolio of {plural(p.runs, kind + ' run')} in {q} (backtests never count):",
        f"  BTC        {btc(t.btc)}",
        f"  cost       {money(t.cost)} {q} (fees in: {money(t.fees)})",
        f"  avg cost   {money(t.avg_cost)} {q}/BTC",
    ]
    if bid is not None:
        pnl = p.pnl(bid)
        assert pnl is not None
        lines += [
            f"  value      {money(p.value(bid))} {q} at the best bid {money(bid)} ({venue})",
            f"  P/L        {'+' if pnl >= 0 else '-'}{money(abs(pnl))} {q}",
        ]
    elif t.btc:
        lines.append("  value      - (no venue answered for a bid)")
    for title, rows in (("venue", p.venues), ("month", p.months)):
        if not rows:
            continue
        lines.append(f"\n{'per ' + title:<12}{'BTC':>14}{'cost':>16}{'fees':>12}{'avg cost':>14}")
        for key, b in rows.items():
            lines.append(
                f"{key:<12}{btc(b.btc):>14}{money(b.cost):>16}{money(b.fees):>12}"
                f"{money(b.avg_cost):>14}"
            )
    return "\n".join(lines) + note
