"""The plain commands for scripts: ``quote`` and ``run --headless``.

Text output is for people (rounded for display); ``--json`` output is for scripts,
with every money value as an exact decimal string (see DESIGN.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TextIO

from dca.events import (
    Event,
    RunCancelled,
    RunFinished,
    RunStarted,
    TrancheFilled,
    TrancheSkipped,
    VenueDegraded,
    VenueRecovered,
)
from dca.executor import Executor, ResumeState
from dca.journal import FanOut, Journal
from dca.plan import Plan, format_duration
from dca.pricing import InsufficientDepth
from dca.routing import Mode, price_all, rank_costs, route, venue_order
from exchanges.book import OrderBook
from exchanges.clock import Clock
from exchanges.errors import VenueError
from exchanges.market import MarketData
from exchanges.venues import display_name
from tui.fmt import btc, clock_time, exact, iso, money, pct

EXIT_OK = 0
EXIT_INVALID = 2
EXIT_NO_VENUE = 3
EXIT_INTERRUPTED = 130


_WIDTHS = (-11, -20, 12, 7, 10, 14, 10)


def _row(*cells: str) -> str:
    """One line of the quote table; negative widths align left."""
    return " ".join(
        f"{c:<{-w}}" if w < 0 else f"{c:>{w}}" for c, w in zip(cells, _WIDTHS, strict=True)
    )


# -- quote ---------------------------------------------------------------------------------


def quote_json(
    amount: Decimal,
    quote: str,
    mode: Mode,
    results: Mapping[str, OrderBook | VenueError],
    market: MarketData,
) -> dict[str, object]:
    """The ``quote --json`` object of DESIGN.md."""
    books = {v: r for v, r in results.items() if isinstance(r, OrderBook)}
    costs = price_all(books, market.specs, amount)
    chosen = route(books, market.specs, amount, mode, costs=costs)
    rows: list[dict[str, object]] = []
    for venue in sorted(results, key=venue_order):
        result = results[venue]
        fee_rate = market.specs[venue].taker_fee
        if isinstance(result, VenueError):
            rows.append({"venue": venue, "status": "error", "error": str(result)})
            continue
        cost = costs[venue]
        if isinstance(cost, InsufficientDepth):
            rows.append(
                {
                    "venue": venue,
                    "status": "insufficient_depth",
                    "available_btc": exact(cost.available),
                    "fee_rate": exact(fee_rate),
                }
            )
            continue
        rows.append(
            {
                "venue": venue,
                "status": "ok",
                "notional": exact(cost.notional),
                "fee": exact(cost.fee),
                "total": exact(cost.total),
                "avg_price": exact(cost.avg_price),
                "levels_used": cost.levels_used,
                "fee_rate": exact(fee_rate),
            }
        )
    best: dict[str, object] | None = None
    if chosen is not None:
        best = {
            "venue": chosen.venue,
            "notional": exact(chosen.notional),
            "fee": exact(chosen.fee),
            "total": exact(chosen.total),
            "avg_price": exact(chosen.avg_price),
        }
        if chosen.mode is Mode.SPLIT and len(chosen.legs) > 1:
            best["legs"] = [
                {"venue": leg.venue, "qty": exact(leg.qty), "total": exact(leg.total)}
                for leg in chosen.legs
            ]
    return {
        "amount_btc": exact(amount),
        "quote_currency": quote,
        "mode": mode.value,
        "best": best,
        "venues": rows,
    }


def quote_text(
    amount: Decimal,
    quote: str,
    mode: Mode,
    results: Mapping[str, OrderBook | VenueError],
    market: MarketData,
) -> str:
    """A readable table: venue, status, avg price, fee, total, difference to the best."""
    books = {v: r for v, r in results.items() if isinstance(r, OrderBook)}
    costs = price_all(books, market.specs, amount)
    chosen = route(books, market.specs, amount, mode, costs=costs)
    ranked = rank_costs(costs)
    best_total = chosen.total if chosen else None
    lines = [
        f"Cost to buy {btc(amount)} BTC in {quote}, "
        "walking each order book and adding the taker fee:",
        "",
    ]
    header = _row("venue", "status", "avg price", "fee", "fee amt", "total", "vs best")
    lines.append(header)
    lines.append("-" * len(header))
    order = [c.venue for c in ranked] + sorted(
        (v for v in results if v not in {c.venue for c in ranked}), key=venue_order
    )
    for venue in order:
        result = results[venue]
        fee_rate = market.specs[venue].taker_fee
        if isinstance(result, VenueError):
            lines.append(f"{venue:<11} error: {result}")
            continue
        cost = costs[venue]
        if isinstance(cost, InsufficientDepth):
            lines.append(f"{venue:<11} {'thin book':<20} book holds only {btc(cost.available)} BTC")
            continue
        diff = (
            "best"
            if best_total is not None and cost.total == best_total
            else (f"+{money(cost.total - best_total)}" if best_total is not None else "")
        )
        lines.append(
            _row(
                venue,
                "ok",
                money(cost.avg_price),
                pct(fee_rate),
                money(cost.fee),
                money(cost.total),
                diff,
            )
        )
    lines.append("")
    if not books:
        lines.append("No venue could be reached (no network? --demo runs on the simulated market).")
    elif chosen is None:
        lines.append("No venue can fill this amount right now.")
    elif len(chosen.legs) > 1:
        legs = ", ".join(f"{btc(leg.qty)} on {display_name(leg.venue)}" for leg in chosen.legs)
        single = ranked[0].total if ranked else None
        saving = (
            f" ({money(single - chosen.total)} {quote} less than the best single venue)"
            if single
            else ""
        )
        lines.append(f"Best: split {legs} — {money(chosen.total)} {quote} total{saving}")
    else:
        leg = chosen.legs[0]
        lines.append(
            f"Best: {display_name(leg.venue)} — {money(leg.total)} {quote} total "
            f"({money(leg.avg_price)} {quote}/BTC over {leg.levels_used} levels "
            f"+ {money(leg.fee)} fee)"
        )
        if len(ranked) > 1:
            worst = ranked[-1]
            lines.append(
                f"      {money(worst.total - leg.total)} {quote} less than the dearest venue "
                f"({display_name(worst.venue)})."
            )
    return "\n".join(lines)


async def quote_command(
    market: MarketData,
    amount: Decimal,
    venues: Sequence[str],
    mode: Mode,
    as_json: bool,
    out: TextIO,
) -> int:
    """Price ``amount`` on every venue once and print it; exit 3 when no venue answered."""
    try:
        results = await market.fresh_books(venues, min_btc=amount)
    finally:
        await market.close()
    if as_json:
        print(json.dumps(quote_json(amount, market.quote, mode, results, market)), file=out)
    else:
        print(quote_text(amount, market.quote, mode, results, market), file=out)
    if not any(isinstance(r, OrderBook) for r in results.values()):
        return EXIT_NO_VENUE
    return EXIT_OK


# -- run -----------------------------------------------------------------------------------


class Printer:
    """A journal that prints each event as a line (or a JSON object per line)."""

    def __init__(self, out: TextIO, as_json: bool, quote: str) -> None:
        self.out = out
        self.as_json = as_json
        self.quote = quote

    async def record(self, event: Event) -> None:
        """Print ``event`` if it is one that people or scripts follow."""
        line = self.json_line(event) if self.as_json else self.text_line(event)
        if line is not None:
            print(line, file=self.out, flush=True)

    def json_line(self, event: Event) -> str | None:
        """The JSON line for ``event`` (DESIGN.md); None for events not printed."""
        obj: dict[str, object]
        if isinstance(event, TrancheFilled):
            r = event.route
            obj = {
                "event": "tranche",
                "run_id": event.run_id,
                "index": event.index + 1,
                "of": event.of,
                "at": iso(event.at),
                "venue": r.venue,
                "qty": exact(r.qty),
                "avg_price": exact(r.avg_price),
                "notional": exact(r.notional),
                "fee": exact(r.fee),
                "total": exact(r.total),
                "alternatives": {v: exact(t) for v, t in r.alternatives.items()},
            }
            if len(r.legs) > 1:
                obj["legs"] = [
                    {"venue": leg.venue, "qty": exact(leg.qty), "total": exact(leg.total)}
                    for leg in r.legs
                ]
        elif isinstance(event, TrancheSkipped):
            obj = {
                "event": "skipped",
                "run_id": event.run_id,
                "index": event.index + 1,
                "of": event.of,
                "at": iso(event.at),
                "qty": exact(event.qty),
                "reason": event.reason.value,
                "detail": event.detail,
                "carried": exact(event.carried),
            }
        elif isinstance(event, VenueDegraded):
            obj = {
                "event": "venue_down",
                "run_id": event.run_id,
                "venue": event.venue,
                "at": iso(event.at),
                "error": str(event.error),
                "kind": event.error.kind.value,
            }
        elif isinstance(event, VenueRecovered):
            obj = {
                "event": "venue_up",
                "run_id": event.run_id,
                "venue": event.venue,
                "at": iso(event.at),
            }
        elif isinstance(event, RunFinished | RunCancelled):
            s = event.summary
            obj = {
                "event": "summary",
                "run_id": event.run_id,
                "status": "finished" if isinstance(event, RunFinished) else event.reason,
                "qty": exact(s.qty),
                "target": exact(s.target),
                "notional": exact(s.notional),
                "fee": exact(s.fee),
                "total": exact(s.total),
                "avg_price": exact(s.avg_price),
                "tranches": s.filled,
                "skipped": s.skipped,
                "saved_vs_worst": exact(s.saved_vs_worst),
                "saved_vs_median": exact(s.saved_vs_median),
            }
        else:
            return None
        return json.dumps(obj)

    def text_line(self, event: Event) -> str | None:
        """The readable line for ``event``; None for events not printed."""
        q = self.quote
        if isinstance(event, RunStarted):
            plan = event.plan
            how = f"{plan.tranches} tranches" + (
                f" ({plan.default_reason})" if plan.tranches_defaulted else ""
            )
            verb = (
                f"Resuming run {event.run_id} ({event.done} tranches already done)"
                if event.resumed
                else f"Run {event.run_id}"
            )
            return (
                f"{verb}: buy {btc(plan.amount)} BTC in {q} "
                f"over {format_duration(plan.duration_s)}, "
                f"{how}, one every {format_duration(plan.interval_s)}, mode {plan.mode.value}"
                + (f", max price {money(plan.max_price)}" if plan.max_price else "")
            )
        if isinstance(event, TrancheFilled):
            r = event.route
            where = (
                r.venue
                if len(r.legs) == 1
                else " + ".join(f"{leg.venue} {btc(leg.qty)}" for leg in r.legs)
            )
            runner = r.runner_up
            vs = (
                f"  next best {runner[0]} {money(runner[1])} (saved {money(runner[1] - r.total)})"
                if runner
                else ""
            )
            return (
                f"[{event.index + 1}/{event.of}] {clock_time(event.at, True)}  {where:<10} "
                f"{btc(r.qty)} BTC @ {money(r.avg_price)}"
                f"  fee {money(r.fee)}  total {money(r.total)} {q}{vs}"
            )
        if isinstance(event, TrancheSkipped):
            carried = (
                f"; {btc(event.carried)} BTC carried to the next tranche" if event.carried else ""
            )
            reason = event.reason.value.replace("_", " ")
            return (
                f"[{event.index + 1}/{event.of}] {clock_time(event.at, True)}  "
                f"skipped ({reason}): {event.detail}{carried}"
            )
        if isinstance(event, VenueDegraded):
            return f"  ! {display_name(event.venue)} unavailable: {event.error}"
        if isinstance(event, VenueRecovered):
            return f"  ✓ {display_name(event.venue)} is back"
        if isinstance(event, RunFinished | RunCancelled):
            s = event.summary
            head = "Finished" if isinstance(event, RunFinished) else "Stopped early"
            tail = ""
            if isinstance(event, RunCancelled) and event.reason == "interrupted":
                tail = f"\nResume it with: btc-dca resume {event.run_id} --headless"
            if not s.qty:
                return f"{head}: nothing bought ({s.skipped} tranches skipped).{tail}"
            return (
                f"{head}: bought {btc(s.qty)} of {btc(s.target)} BTC in {s.filled} tranches"
                + (f" ({s.skipped} skipped)" if s.skipped else "")
                + f" for {money(s.total)} {q}: avg {money(s.avg_price)} {q}/BTC, "
                f"fees {money(s.fee)}; saved {money(s.saved_vs_worst)} vs the worst venue, "
                f"{money(s.saved_vs_median)} vs the median.{tail}"
            )
        return None


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
            return EXIT_NO_VENUE
        sink: Journal = FanOut(journal, printer) if journal is not None else printer
        executor = Executor(plan, market, sink, clock, resume=resume, catch_up=catch_up)
        interrupted = False

        def interrupt() -> None:
            nonlocal interrupted
            interrupted = True
            executor.cancel("interrupted")

        loop = asyncio.get_running_loop()
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, interrupt)
        try:
            await executor.run()
        finally:
            if handle_signals:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    with contextlib.suppress(Exception):
                        loop.remove_signal_handler(sig)
        return EXIT_INTERRUPTED if interrupted else EXIT_OK
    finally:
        await market.close()
