"""What the plain commands print: the quote table, and a line per run event.

Text output is for people (rounded for display); ``--json`` output is for scripts,
with every money value as an exact decimal string (docs/commands.md).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, TextIO

from dca.plan import each_tranche, format_duration
from dca.pricing import InsufficientDepth
from dca.quote import Quote
from dca.routing import Route, venue_order
from dca.status import RunStatus
from exchanges.errors import VenueError
from exchanges.venues import display_name
from tui.fmt import (
    btc,
    clock_time,
    derived,
    exact,
    iso,
    money,
    pct,
    plural,
    signed_money,
    skip_words,
    tranche_no,
)

if TYPE_CHECKING:
    from dca.events import Event, QuoteSeen, RunCancelled, RunFinished, RunStarted
    from dca.orders import OrderRecord
    from dca.slots import Standing
    from dca.tca import RunReport, TrancheTca

log = logging.getLogger(__name__)


_WIDTHS = (-11, -20, 12, 7, 10, 14, 10)


def _row(*cells: str) -> str:
    """One line of the quote table; negative widths align left."""
    return " ".join(
        f"{c:<{-w}}" if w < 0 else f"{c:>{w}}" for c, w in zip(cells, _WIDTHS, strict=True)
    )


def books_json(quotes: tuple[QuoteSeen, ...]) -> dict[str, dict[str, object]]:
    """Per venue of a decision: its book's source and age (s), or why it has no total."""
    out: dict[str, dict[str, object]] = {}
    for q in quotes:
        entry: dict[str, object] = {"source": q.source}
        if q.best_ask is not None and q.book_age_s is not None:
            entry["age_s"] = round(q.book_age_s, 3)
        if q.book_changed_s is not None:
            entry["changed_s"] = round(q.book_changed_s, 3)
        if q.reason is not None:
            entry["reason"] = q.reason
        out[q.venue] = entry
    return out


# -- quote ---------------------------------------------------------------------------------


def _legs(r: Route) -> list[dict[str, object]]:
    return [
        {"venue": leg.venue, "qty": exact(leg.qty), "total": exact(leg.total)} for leg in r.legs
    ]


def quote_json(
    q: Quote, currency: str, below_min: Mapping[str, Decimal] | None = None
) -> dict[str, object]:
    """The ``quote --json`` object (docs/commands.md) for ``q`` priced in ``currency`` (fee rates as
    configured, e.g. "0.0040"); ``below_min``: venues left out because the amount is below
    their minimum order (venue -> minimum, BTC), listed with status ``below_minimum``."""
    rows: list[dict[str, object]] = [
        {"venue": v, "status": "below_minimum", "min_order_btc": exact(m)}
        for v, m in sorted((below_min or {}).items(), key=lambda item: venue_order(item[0]))
    ]
    for venue in sorted(q.results, key=venue_order):
        result = q.results[venue]
        fee_rate = str(q.specs[venue].taker_fee)
        if isinstance(result, VenueError):
            rows.append({"venue": venue, "status": "error", "error": str(result)})
            continue
        cost = q.costs[venue]
        if isinstance(cost, InsufficientDepth):
            rows.append(
                {
                    "venue": venue,
                    "status": "insufficient_depth",
                    "available_btc": exact(cost.available),
                    "fee_rate": fee_rate,
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
                "avg_price": derived(cost.avg_price),
                "levels_used": cost.levels_used,
                "fee_rate": fee_rate,
            }
        )
    out: dict[str, object] = {
        "amount_btc": exact(q.amount),
        "quote_currency": currency,
        "mode": q.mode.value,
        "best": _route_json(q.best),
        "venues": rows,
    }
    if q.split is not None:
        # No single venue can fill it; --mode split can (additive key).
        out["split"] = _route_json(q.split)
    return out


def _route_json(r: Route | None) -> dict[str, object] | None:
    if r is None:
        return None
    obj: dict[str, object] = {
        "venue": r.venue,
        "notional": exact(r.notional),
        "fee": exact(r.fee),
        "total": exact(r.total),
        "avg_price": derived(r.avg_price),
    }
    if len(r.legs) > 1:
        obj["legs"] = _legs(r)
    return obj


def quote_text(
    q: Quote,
    currency: str,
    max_price: Decimal | None = None,
    below_min: Mapping[str, Decimal] | None = None,
) -> str:
    """A readable table: venue, status, avg price, fee, total, difference to the best;
    ``below_min`` venues (the amount is below their minimum order) are marked, not priced."""
    ranked = q.ranked
    chosen = q.best
    best_total = chosen.total if chosen else None
    cur = currency
    lines = [
        f"Cost to buy {btc(q.amount)} BTC in {cur}, "
        "walking each order book and adding the taker fee:",
        "",
    ]
    header = _row("venue", "status", "avg price", "fee", "fee amt", "total", "vs best")
    lines += [header, "-" * len(header)]
    ranked_venues = [c.venue for c in ranked]
    others = sorted((v for v in q.results if v not in ranked_venues), key=venue_order)
    for venue in ranked_venues + others:
        result = q.results[venue]
        if isinstance(result, VenueError):
            lines.append(f"{venue:<11} error: {result}")
            continue
        cost = q.costs[venue]
        if isinstance(cost, InsufficientDepth):
            lines.append(f"{venue:<11} {'thin book':<20} book holds only {btc(cost.available)} BTC")
            continue
        diff = "" if best_total is None else f"+{money(cost.total - best_total)}"
        if cost.total == best_total:
            diff = "best"
        fee = pct(q.specs[venue].taker_fee)
        cells = (money(cost.avg_price), fee, money(cost.fee), money(cost.total), diff)
        lines.append(_row(venue, "ok", *cells))
    for venue, minimum in sorted((below_min or {}).items(), key=lambda i: venue_order(i[0])):
        lines.append(f"{venue:<11} {'below minimum':<20} its minimum order is {btc(minimum)} BTC")
    lines.append("")
    if not q.reached:
        lines.append("No venue could be reached (no network? --demo runs on the simulated market).")
    elif chosen is None and q.split is not None:
        lines.append(
            f"No single venue can fill {btc(q.amount)} BTC right now; --mode split can: "
            f"{money(q.split.total)} {cur} across {len(q.split.legs)} venues."
        )
    elif chosen is None:
        lines.append(
            f"No venue can fill {btc(q.amount)} BTC right now, even split across venues "
            f"(their books hold {btc(q.depth)} BTC together)."
        )
    elif len(chosen.legs) > 1:
        legs = ", ".join(f"{btc(leg.qty)} on {display_name(leg.venue)}" for leg in chosen.legs)
        saving = (
            f" ({money(ranked[0].total - chosen.total)} {cur} less than the best single venue)"
            if ranked
            else " (no single venue could fill it)"
        )
        lines.append(f"Best: split {legs} — {money(chosen.total)} {cur} total{saving}")
    else:
        leg = chosen.legs[0]
        lines.append(
            f"Best: {display_name(leg.venue)} — {money(leg.total)} {cur} total "
            f"({money(leg.avg_price)} {cur}/BTC over {leg.levels_used} levels "
            f"+ {money(leg.fee)} fee)"
        )
        if len(ranked) > 1:
            worst = ranked[-1]
            lines.append(
                f"      {money(worst.total - leg.total)} {cur} less than the dearest venue "
                f"({display_name(worst.venue)})."
            )
    if chosen is not None and max_price is not None and chosen.effective_price > max_price:
        lines.append(
            f"Above your maximum price: {money(chosen.effective_price)} {cur}/BTC with fees "
            f"> {money(max_price)}; a run would skip this tranche."
        )
    return "\n".join(lines)


# -- run -----------------------------------------------------------------------------------


class Printer:
    """A journal that prints each event as a line (or a JSON object per line)."""

    def __init__(
        self,
        out: TextIO,
        as_json: bool,
        quote: str,
        *,
        resumable: bool = True,
        live: bool = False,
        cli: str = "btc-dca",
    ) -> None:
        self.out = out
        # Real orders: every line says so ("live": true; LIVE in the text).
        self.live = live
        # ``btc-dca`` as the hints spell it (with the data dir and config in use).
        self.cli = cli
        # A backtest cannot be resumed: its interrupted summary says nothing of resuming.
        self.resumable = resumable
        self.as_json = as_json
        self.quote = quote
        # Called once when the reader goes away (``btc-dca run ... | head -3``).
        self.on_closed: Callable[[], None] | None = None
        self.closed = False

    async def record(self, event: Event) -> None:
        """Print ``event`` if it is one that people or scripts follow."""
        line = self.json_line(event) if self.as_json else self.text_line(event)
        if line is None or self.closed:
            return
        try:
            print(line, file=self.out, flush=True)
        except BrokenPipeError:
            self.closed = True
            if self.out is sys.stdout:
                # Point stdout at /dev/null so the interpreter's final flush stays quiet.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            if self.on_closed is not None:
                self.on_closed()

    def json_line(self, event: Event) -> str | None:
        """The JSON line for ``event`` (docs/commands.md); None for events not printed."""
        # Here, not at the top: ``quote`` uses this module and never sees a run's events.
        from dca.events import (
            RunCancelled,
            RunFinished,
            RunStarted,
            TrancheFilled,
            TrancheSkipped,
            VenueDegraded,
            VenueRecovered,
        )

        obj: dict[str, object]
        if isinstance(event, RunStarted):
            plan = event.plan
            obj = {
                "event": "started",
                "run_id": event.run_id,
                "at": iso(event.at),
                "plan": {
                    "amount": exact(plan.amount),
                    "duration_s": plan.duration_s,
                    "tranches": plan.tranches,
                    "interval_s": plan.interval_s,
                    "quote": plan.quote,
                    "venues": list(plan.venues),
                    "mode": plan.mode.value,
                    "max_price": exact(plan.max_price),
                    "jitter": plan.jitter,
                    # A budget (each buy's money for a standing plan) and a standing
                    # plan's calendar (null for a plan over a window).
                    "spend": exact(plan.spend),
                    "standing": standing_json(plan.standing) if plan.standing else None,
                },
                "sizes": [exact(q) for q in event.sizes],
                # A resumed run: how many tranches were recorded before (numbered from 1,
                # the next one is ``done + 1``).
                "resumed": event.resumed,
                "done": event.done,
            }
        elif isinstance(event, TrancheFilled):
            r = event.route
            obj = {
                "event": "tranche",
                "run_id": event.run_id,
                "index": event.index + 1,
                "of": event.of,
                "at": iso(event.at),
                "venue": r.venue,
                "qty": exact(r.qty),
                "avg_price": derived(r.avg_price),
                "notional": exact(r.notional),
                "fee": exact(r.fee),
                "total": exact(r.total),
                "alternatives": {v: exact(t) for v, t in r.alternatives.items()},
            }
            if len(r.legs) > 1:
                obj["legs"] = _legs(r)
            if event.spend is not None:
                obj["spend"] = exact(event.spend)
                obj["change"] = exact(event.change)
            obj["books"] = books_json(event.quotes)
            obj["quality"] = tranche_quality_json(event.tca)
            if event.live:
                obj["orders"] = [orders_json(o) for o in event.orders]
                if event.carried:
                    obj["carried"] = exact(event.carried)
                if event.carried_why:
                    obj["carried_why"] = event.carried_why
                d = event.decision
                if d is not None:
                    obj["decision"] = {
                        "venue": d.venue,
                        "qty": exact(d.qty),
                        "avg_price": exact(d.avg_price),
                        "total": exact(d.total),
                    }
                fill = event.fill_tca
                if fill is not None:
                    obj["fill_quality"] = {
                        "vs_decision_bps": _bps(fill.vs_decision_bps),
                        "vs_decision_fee_bps": _bps(fill.vs_decision_fee_bps),
                        "decision_vs_mid_bps": _bps(fill.decision_vs_mid_bps),
                        "fill_vs_mid_bps": _bps(fill.fill_vs_mid_bps),
                    }
        elif isinstance(event, TrancheSkipped):
            obj = {
                "event": "skipped",
                "run_id": event.run_id,
                "index": event.index + 1,
                "of": event.of,
                "at": iso(event.at),
                # BTC bought, as in every other event (none); what it asked for apart.
                "qty": "0",
                "requested": exact(event.qty),
                "reason": event.reason.value,
                "detail": event.detail,
                "carried": exact(event.carried),
                "books": books_json(event.quotes),
            }
            if event.spend is not None:
                obj["spend"] = exact(event.spend)
                obj["spend_carried"] = exact(event.spend_carried)
            if event.orders:
                obj["orders"] = [orders_json(o) for o in event.orders]
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
                "status": event.status.value,
                "qty": exact(s.qty),
                "target": exact(s.target),
                "notional": exact(s.notional),
                "fee": exact(s.fee),
                "total": exact(s.total),
                "avg_price": derived(s.avg_price),
                "tranches": s.filled,
                "skipped": s.skipped,
                "saved_vs_worst": exact(s.saved_vs_worst),
                "saved_vs_median": exact(s.saved_vs_median),
                "quality": run_quality_json(s.quality),
            }
            if s.budget is not None:
                obj["budget"] = exact(s.budget)
                obj["left"] = exact(s.left)
        else:
            return None
        if self.live:
            obj["live"] = True
        return json.dumps(obj)

    def text_line(self, event: Event) -> str | None:
        """The readable line for ``event``; None for events not printed."""
        from dca.events import (
            RunCancelled,
            RunFinished,
            RunStarted,
            TrancheFilled,
            TrancheSkipped,
            VenueDegraded,
            VenueRecovered,
        )

        q = self.quote
        if isinstance(event, RunStarted):
            plan = event.plan
            if plan.standing is not None:
                return self.standing_line(event)
            how = f"{plural(plan.tranches, 'tranche')} of {each_tranche(plan)}" + (
                f" ({plan.default_reason})" if plan.tranches_defaulted else ""
            )
            # A resumed run: ``resume`` has said what was recorded; this line says the plan.
            verb = (
                ("LIVE (real orders) run " if self.live else "Run ")
                + f"{event.run_id}"
                + (f", from tranche {event.done + 1}" if event.resumed else "")
            )
            goal = (
                f"spend {money(plan.spend)} {q} (fees in)"
                if plan.spend is not None
                else f"buy {btc(plan.amount)} BTC in {q}"
            )
            return (
                f"{verb}: {goal} "
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
            # Against the next-best venue: "saved" is kept for the worst venue (one meaning).
            vs = ""
            if runner:
                gap = signed_money(runner[1] - r.total)
                vs = f"  vs next best {runner[0]} {money(runner[1])} ({gap})"
            line = (
                f"[{tranche_no(event.index, event.of)}] {clock_time(event.at, True)}  {where:<10} "
                f"{btc(r.qty)} BTC @ {money(r.avg_price)}"
                f"  fee {money(r.fee)}  total {money(r.total)} {q}{vs}"
            )
            if event.live:
                ids = ", ".join(
                    f"{o.venue} order {o.venue_order_id or '-'} ({o.client_order_id}) {o.state}"
                    for o in event.orders
                )
                line = f"LIVE {line}\n      {ids}"
                if event.carried_why:
                    line += (
                        f"\n      {btc(event.carried)} BTC carried to the next tranche: "
                        f"{event.carried_why}"
                    )
            return line
        if isinstance(event, TrancheSkipped):
            carried = (
                f"; {btc(event.carried)} BTC carried to the next tranche" if event.carried else ""
            )
            if event.spend_carried:
                carried = f"; {money(event.spend_carried)} {q} carried to the next tranche"
            reason = skip_words(event.reason.value)
            return ("LIVE " if self.live else "") + (
                f"[{tranche_no(event.index, event.of)}] {clock_time(event.at, True)}  "
                f"skipped ({reason}): {event.detail}{carried}"
            )
        if isinstance(event, VenueDegraded):
            return f"  ! {display_name(event.venue)} unavailable: {event.error}"
        if isinstance(event, VenueRecovered):
            return f"  ✓ {display_name(event.venue)} is back"
        if isinstance(event, RunFinished | RunCancelled):
            return summary_text(event, q, resumable=self.resumable, cli=self.cli)
        return None

    def standing_line(self, event: RunStarted) -> str:
        """A standing plan's first line: what each buy spends, its calendar and its end."""
        plan, q = event.plan, self.quote
        st = plan.standing
        assert st is not None
        each = (
            f"spend {money(plan.spend)} {q} (fees in)"
            if plan.spend is not None
            else f"buy {btc(plan.amount)} BTC in {q}"
        )
        verb = ("LIVE (real orders) standing plan " if self.live else "Standing plan ") + (
            f"{event.run_id}" + (f", after {plural(event.done, 'slot')}" if event.resumed else "")
        )
        first = "" if event.resumed else f"; first buy {st.when(st.slot(event.at, 0))}"
        return (
            f"{verb}: {each} {st.describe(q)}, mode {plan.mode.value}"
            + (f", max price {money(plan.max_price)}" if plan.max_price else "")
            + first
        )


def standing_json(st: Standing) -> dict[str, object]:
    """A standing plan's calendar and end for JSON (``until`` ISO UTC, money as text)."""
    return {
        "every": st.every.text,
        "at": st.at.text if st.at is not None else None,
        "tz": st.tz,
        "until": iso(st.until) if st.until is not None else None,
        "budget": exact(st.budget),
        "missed": st.missed.value,
    }


def orders_json(order: OrderRecord) -> dict[str, object]:
    """A real order for JSON: ids, state, cap and each fill as charged (decimal strings)."""
    return {
        "venue": order.venue,
        "client_order_id": order.client_order_id,
        "venue_order_id": order.venue_order_id,
        "state": order.state.value,
        "qty": exact(order.qty),
        "limit_price": exact(order.limit_price),
        "fills": [
            {
                "price": exact(f.price),
                "qty": exact(f.qty),
                "fee": exact(f.fee),
                "fee_currency": f.fee_currency,
            }
            for f in order.fills
        ],
        "error": order.error,
    }


def summary_text(
    event: RunFinished | RunCancelled, q: str, *, resumable: bool = True, cli: str = "btc-dca"
) -> str:
    """The last line of a run: its status, bought of target, and what it cost.

    ``avg price`` is the order books' price per BTC (before fees); ``avg cost`` is what
    each BTC cost with the fees in (total / BTC), so both are named.
    """
    s = event.summary
    status = event.status
    head = status.value.capitalize()
    tail = ""
    if status is RunStatus.INTERRUPTED and resumable:
        tail = f"\nResume it with: {cli} resume {event.run_id} --headless"
    goal = f"{btc(s.target)} BTC" if s.budget is None else f"a budget of {money(s.budget)} {q}"
    # A standing plan without a budget has no amount to reach: what it bought is all.
    open_ended = s.budget is None and not s.target
    if not s.qty:
        skipped = f" ({plural(s.skipped, 'tranche')} skipped)" if s.skipped else ""
        return f"{head}: bought nothing{'' if open_ended else f' of {goal}'}{skipped}.{tail}"
    skipped = f" ({s.skipped:,} skipped)" if s.skipped else ""
    if open_ended:
        bought = f"bought {btc(s.qty)} BTC"
    elif s.budget is None:
        bought = f"bought {btc(s.qty)} of {goal}"
    else:
        bought = f"bought {btc(s.qty)} BTC with {goal}, {money(s.left)} {q} left,"
    return (
        f"{head}: {bought} in {plural(s.filled, 'tranche')}"
        f"{skipped} for {money(s.total)} {q}: avg price {money(s.avg_price)} {q}/BTC, "
        f"avg cost with fees {money(s.effective_price)} {q}/BTC, fees {money(s.fee)}; "
        f"saved {money(s.saved_vs_worst)} vs the worst venue, "
        f"{money(s.saved_vs_median)} vs the median."
        f"\n{quality_text(s.quality, q)}{tail}"
    )


def _bps(value: Decimal | None) -> str | None:
    """Basis points for JSON: a decimal string to 0.0001 bps."""
    return None if value is None else exact(value.quantize(Decimal("0.0001")))


def tranche_quality_json(t: TrancheTca) -> dict[str, object]:
    """A tranche's execution quality for ``--json`` (dca/tca.py)."""
    return {
        "mid_chosen": derived(t.mid_chosen),
        "mid_best": exact(t.mid_best),
        "slippage_bps": _bps(t.slippage_bps),
        "slippage_fee_bps": _bps(t.slippage_fee_bps),
        "improvement": exact(t.improvement),
        "improvement_bps": _bps(t.improvement_bps),
    }


def run_quality_json(r: RunReport) -> dict[str, object]:
    """A run's execution quality for ``--json`` (dca/tca.py)."""
    return {
        "arrival_mid": exact(r.arrival_mid),
        "twap_mid": derived(r.twap_mid),
        "lump_total": exact(r.lump_total),
        "shortfall": exact(r.shortfall),
        "shortfall_bps": _bps(r.shortfall_bps),
        "vs_twap": derived(r.vs_twap),
        "vs_twap_bps": _bps(r.vs_twap_bps),
        "vs_lump": derived(r.vs_lump),
        "vs_lump_bps": _bps(r.vs_lump_bps),
        "vs_worst_bps": _bps(r.vs_worst_bps),
        "vs_median_bps": _bps(r.vs_median_bps),
        "fee_share": derived(r.fee_share),
    }


def signed_bps(value: Decimal | None) -> str:
    """``+12.3 bps`` / ``-0.4 bps``; ``-`` when there is no figure."""
    if value is None:
        return "-"
    rounded = value.quantize(Decimal("0.1"))
    return f"{abs(rounded) if rounded == 0 else rounded:+} bps"


def quality_text(r: RunReport, quote: str) -> str:
    """The run's execution quality in one line: cost above each benchmark (+ is dearer)."""
    if r.shortfall is None:
        return "Execution quality: nothing bought, nothing to measure."
    parts = [
        f"vs arrival mid {money(r.arrival_mid)} {signed_bps(r.shortfall_bps)} "
        f"({r.shortfall:+,.2f} {quote})",
        f"vs TWAP of the best mid {signed_bps(r.vs_twap_bps)}",
    ]
    if r.vs_lump is not None:
        parts.append(f"vs all at the start {signed_bps(r.vs_lump_bps)}")
    fees = f"fees {r.fee_share * 100:.2f}% of cost" if r.fee_share is not None else ""
    return "Execution quality (+ costs more): " + ", ".join(parts) + (f"; {fees}." if fees else ".")
