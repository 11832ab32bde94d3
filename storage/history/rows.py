"""Engine events as table rows: one function per table, no I/O."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from dca.events import (
    QuoteSeen,
    RunCancelled,
    RunFinished,
    RunPaused,
    RunResumed,
    RunStarted,
    Summary,
    TrancheFilled,
    TrancheSkipped,
)
from dca.orders import OrderRecord
from dca.plan import Plan
from dca.pricing import Cost, InsufficientDepth
from dca.status import RunStatus
from dca.tca import best_mid
from exchanges.errors import VenueError
from exchanges.redact import redact
from storage.history.schema import SCHEMA_VERSION, money, utc

Row = dict[str, object]
RunEvent = RunStarted | RunPaused | RunResumed | RunFinished | RunCancelled


def plan_columns(plan: Plan) -> Row:
    """Every ``Plan`` field, so a resumed run rebuilds the very same plan."""
    return {
        "amount_btc": money(plan.amount),
        "duration_s": plan.duration_s,
        "tranches": plan.tranches,
        "quote": plan.quote,
        "venues": ",".join(plan.venues),
        "mode": plan.mode.value,
        "max_price": money(plan.max_price),
        "jitter": plan.jitter,
        "seed": plan.seed,
        "tranches_defaulted": plan.tranches_defaulted,
        "default_reason": plan.default_reason,
        "lot_btc": money(plan.lot_btc),
        "min_order_btc": money(plan.min_order_btc),
        "plan_extra": json.dumps(plan.extra, sort_keys=True),
        "spend": money(plan.spend),
        **standing_columns(plan),
    }


def standing_columns(plan: Plan) -> Row:
    """A standing plan's calendar and end (all null for a plan over a window)."""
    st = plan.standing
    if st is None:
        return dict.fromkeys(("every", "at", "tz", "until", "budget", "missed"))
    return {
        "every": st.every.text,
        "at": st.at.text if st.at is not None else None,
        "tz": st.tz,
        "until": utc(st.until),
        "budget": money(st.budget),
        "missed": st.missed.value,
    }


def summary_columns(summary: Summary) -> Row:
    """A run's totals."""
    return {
        "qty_btc": money(summary.qty),
        "notional": money(summary.notional),
        "fee": money(summary.fee),
        "total": money(summary.total),
        "avg_price": money(summary.avg_price),
        "filled": summary.filled,
        "skipped": summary.skipped,
        "saved_vs_worst": money(summary.saved_vs_worst),
        "saved_vs_median": money(summary.saved_vs_median),
        **quality_columns(summary),
    }


def _float(value: Decimal | None) -> float | None:
    """A ratio (bps, share) for a Float64 column: it is for reading, not for sums of money."""
    return None if value is None else float(value)


def quality_columns(summary: Summary) -> Row:
    """A run's execution quality (``dca.tca``): amounts exact, ratios as floats."""
    q = summary.quality
    return {
        "tca_arrival_mid": money(q.arrival_mid),
        "tca_twap_mid": money(q.twap_mid),
        "tca_lump_total": money(q.lump_total),
        "tca_shortfall": money(q.shortfall),
        "tca_shortfall_bps": _float(q.shortfall_bps),
        "tca_vs_twap": money(q.vs_twap),
        "tca_vs_twap_bps": _float(q.vs_twap_bps),
        "tca_vs_lump": money(q.vs_lump),
        "tca_vs_lump_bps": _float(q.vs_lump_bps),
        "tca_vs_worst_bps": _float(q.vs_worst_bps),
        "tca_vs_median_bps": _float(q.vs_median_bps),
        "tca_fee_share": _float(q.fee_share),
    }


_STATUS = {
    RunStarted: RunStatus.RUNNING,
    RunResumed: RunStatus.RUNNING,
    RunPaused: RunStatus.PAUSED,
}


def run_row(event: RunEvent, base: Row, rev: int, recorded_at: datetime) -> Row:
    """A runs row for a change in the run's life; ``base`` holds its plan and origin."""
    row: Row = dict(base)
    row.update(
        schema_version=SCHEMA_VERSION,
        run_id=event.run_id,
        rev=rev,
        event=type(event).__name__.removeprefix("Run").lower(),
        status=(
            event.status.value
            if isinstance(event, RunFinished | RunCancelled)
            else _STATUS[type(event)].value
        ),
        recorded_at=recorded_at,
    )
    if isinstance(event, RunStarted) and event.resumed:
        row["event"] = "resumed"
    if isinstance(event, RunFinished | RunCancelled):
        row["finished_at"] = utc(event.at)
        row.update(summary_columns(event.summary))
    if isinstance(event, RunCancelled):
        row["detail"] = event.reason
    return row


def failed_row(base: Row, run_id: str, rev: int, recorded_at: datetime, message: str) -> Row:
    """A runs row for a run that stopped on an error."""
    row: Row = dict(base)
    row.update(
        schema_version=SCHEMA_VERSION,
        run_id=run_id,
        rev=rev,
        event="failed",
        status=RunStatus.FAILED.value,
        recorded_at=recorded_at,
        finished_at=recorded_at,
        # An exception's text can quote a URL with its key: never into the history.
        detail=redact(message),
    )
    return row


def _leg(cost: Cost) -> Row:
    return {
        "venue": cost.venue,
        "qty_btc": money(cost.qty),
        "avg_price": money(cost.avg_price),
        "notional": money(cost.notional),
        "fee": money(cost.fee),
        "total": money(cost.total),
        "fee_rate": money(cost.fee_rate),
        "levels_used": cost.levels_used,
    }


def order_column(order: OrderRecord) -> Row:
    """A real order of a tranche: ids, state, cap and what the venue charged."""
    return {
        "venue": order.venue,
        "client_order_id": order.client_order_id,
        "venue_order_id": order.venue_order_id,
        "state": order.state.value,
        "qty_btc": money(order.qty),
        "limit_price": money(order.limit_price),
        "fills": [
            {
                "price": money(f.price),
                "qty_btc": money(f.qty),
                "fee": money(f.fee),
                "fee_currency": f.fee_currency,
            }
            for f in order.fills
        ],
        "error": order.error,
    }


def _alternatives(alts: dict[str, Decimal | None]) -> list[Row]:
    return [{"venue": v, "total": money(t)} for v, t in alts.items()]


# -- Book freshness (added columns) ----------------------------------------------------------


def books_column(quotes: tuple[QuoteSeen, ...]) -> list[Row]:
    """Per venue of a decision: its book's source and age, or why it has no total."""
    return [
        {
            "venue": q.venue,
            "source": q.source,
            "age_s": q.book_age_s if q.best_ask is not None else None,
            "changed_s": q.book_changed_s,
            "reason": q.reason,
        }
        for q in quotes
    ]


def freshness_quote_columns(q: QuoteSeen) -> Row:
    """A quotes row's book source and time since the book last changed."""
    return {"book_source": q.source, "book_changed_s": q.book_changed_s}


def tranche_row(event: TrancheFilled | TrancheSkipped, recorded_at: datetime) -> Row:
    """The tranches row of a filled or skipped tranche."""
    row: Row = {
        "schema_version": SCHEMA_VERSION,
        "run_id": event.run_id,
        "index": event.index,
        "of": event.of,
        "recorded_at": recorded_at,
        "scheduled_at": utc(event.scheduled),
        "executed_at": utc(event.at),
        "tca_mid_best": money(best_mid(event.quotes)),
        "tca_lump_total": money(event.lump_total),
        "tca_lump_amount": money(event.lump_amount),
    }
    if isinstance(event, TrancheSkipped):
        alts = {q.venue: q.total for q in event.quotes}
        if event.orders:
            row.update(live=True, orders=[order_column(o) for o in event.orders])
        row.update(
            status="skipped",
            reason=event.reason.value,
            detail=redact(event.detail),
            requested_btc=money(event.qty),
            qty_btc=money(Decimal(0)),
            carried_btc=money(event.carried),
            spend=money(event.spend),
            spend_carried=money(event.spend_carried) if event.spend is not None else None,
            legs=[],
            alternatives=_alternatives(alts),
            books=books_column(event.quotes),
        )
        return row
    r = event.route
    chosen = {leg.venue for leg in r.legs}
    ages = [q.book_age_s for q in event.quotes if q.venue in chosen and q.book_age_s is not None]
    row.update(
        status="filled",
        mode=r.mode.value,
        venue=r.venue,
        legs=[_leg(leg) for leg in r.legs],
        requested_btc=money(r.qty + event.carried),
        qty_btc=money(r.qty),
        carried_btc=money(event.carried),
        spend=money(event.spend),
        avg_price=money(r.avg_price),
        notional=money(r.notional),
        fee=money(r.fee),
        total=money(r.total),
        saved_vs_worst=money(r.saved_vs_worst),
        saved_vs_median=money(r.saved_vs_median),
        alternatives=_alternatives(r.alternatives),
        book_age_s=max(ages) if ages else None,
        books=books_column(event.quotes),
    )
    if event.live:
        d = event.decision
        row.update(
            live=True,
            orders=[order_column(o) for o in event.orders],
            decision_qty_btc=money(d.qty) if d else None,
            decision_total=money(d.total) if d else None,
            decision_avg_price=money(d.avg_price) if d else None,
        )
        if d is not None:
            row["requested_btc"] = money(d.qty)
        if event.carried_why:
            # Why a partial fill's remainder rides on the next tranche.
            row["detail"] = redact(event.carried_why)
    tca = event.tca
    row.update(
        tca_mid_chosen=money(tca.mid_chosen),
        tca_slippage_bps=_float(tca.slippage_bps),
        tca_slippage_fee_bps=_float(tca.slippage_fee_bps),
        tca_improvement=money(tca.improvement),
        tca_improvement_bps=_float(tca.improvement_bps),
    )
    return row


def quote_rows(event: TrancheFilled | TrancheSkipped, recorded_at: datetime) -> list[Row]:
    """One quotes row per venue the tranche decision looked at."""
    chosen = {leg.venue for leg in event.route.legs} if isinstance(event, TrancheFilled) else set()
    return [_quote(event, q, q.venue in chosen, recorded_at) for q in event.quotes]


def _quote(
    event: TrancheFilled | TrancheSkipped, q: QuoteSeen, chosen: bool, recorded_at: datetime
) -> Row:
    row: Row = {
        "schema_version": SCHEMA_VERSION,
        "run_id": event.run_id,
        "index": event.index,
        "venue": q.venue,
        "recorded_at": recorded_at,
        "at": utc(event.at),
        "chosen": chosen,
        "best_bid": money(q.best_bid),
        "best_ask": money(q.best_ask),
        "health": q.health,
        "latency_ms": q.latency_ms,
        "book_age_s": q.book_age_s,
        **freshness_quote_columns(q),
    }
    out = q.outcome
    if isinstance(out, Cost):
        row.update(
            status="ok",
            qty_btc=money(out.qty),
            available_btc=money(out.qty),
            notional=money(out.notional),
            fee=money(out.fee),
            total=money(out.total),
            avg_price=money(out.avg_price),
            levels_used=out.levels_used,
            fee_rate=money(out.fee_rate),
        )
    elif isinstance(out, InsufficientDepth):
        row.update(
            status="insufficient_depth",
            qty_btc=money(out.qty),
            available_btc=money(out.available),
            error=str(out),
        )
    else:
        err: VenueError = out
        row.update(status="error", error_kind=err.kind.value, error=str(err))
    return row
