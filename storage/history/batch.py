"""Many tranches as one ``tranches`` frame, built column by column (a backtest's journal).

``rows.tranche_row`` builds one dict per tranche and ``schema.frame`` turns the dicts
into a frame: right for the one tranche a live run writes at a time, but 150 µs a
tranche. A backtest writes tens of thousands at once, so this builds the same frame
(the tests compare the two) from plain columns: money goes in as decimal text that
Polars parses exactly (three times faster than handing it ``Decimal`` objects), and the
legs and alternatives are built flat and grouped into their lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import polars as pl

from dca.events import TrancheFilled, TrancheSkipped
from dca.tca import best_mid
from storage.history.schema import (
    ALTERNATIVE,
    BOOK,
    LEG,
    LIVE_TRANCHES,
    MONEY,
    SCHEMA_VERSION,
    TRANCHES,
    money_text,
    utc,
)

_MONEY_COLUMNS = [n for n, t in TRANCHES.items() if t == MONEY]
ZERO_TEXT = "0"
_LISTS = {"legs": LEG, "alternatives": ALTERNATIVE, "books": BOOK}
# The columns a skipped tranche leaves empty.
_FILLED_ONLY = (
    "mode",
    "venue",
    "avg_price",
    "notional",
    "fee",
    "total",
    "saved_vs_worst",
    "saved_vs_median",
    "book_age_s",
    "tca_mid_chosen",
    "tca_slippage_bps",
    "tca_slippage_fee_bps",
    "tca_improvement",
    "tca_improvement_bps",
)


def _ratio(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def tranches_frame(
    events: Sequence[TrancheFilled | TrancheSkipped], recorded_at: datetime
) -> pl.DataFrame:
    """The ``tranches`` frame of ``events``, equal to ``frame("tranches", [tranche_row...])``.

    Column by column: what every event has is one comprehension a column, what differs
    between filled and skipped tranches one pass; the columns the same on every row (the
    schema version, the time recorded, the real orders' columns: a batch is a backtest,
    on paper) are added whole.
    """
    text = money_text
    n = len(events)
    cols: dict[str, list[object]] = {
        "run_id": [e.run_id for e in events],
        "index": [e.index for e in events],
        "of": [e.of for e in events],
        "scheduled_at": [utc(e.scheduled) for e in events],
        "executed_at": [utc(e.at) for e in events],
        "tca_lump_total": [text(e.lump_total) for e in events],
        "tca_lump_amount": [text(e.lump_amount) for e in events],
        "spend": [text(e.spend) for e in events],  # as rows.tranche_row
        "spend_carried": [
            text(e.spend_carried) if isinstance(e, TrancheSkipped) and e.spend is not None else None
            for e in events
        ],
    }
    per_row = (
        "status", "reason", "detail", "mode", "venue", "requested_btc", "qty_btc",
        "carried_btc", "avg_price", "notional", "fee", "total", "saved_vs_worst",
        "saved_vs_median", "book_age_s", "tca_mid_best", "tca_mid_chosen", "tca_slippage_bps",
        "tca_slippage_fee_bps", "tca_improvement", "tca_improvement_bps",
    )  # fmt: skip
    for name in per_row:
        cols[name] = []
    c = cols
    status, reason, detail = c["status"].append, c["reason"].append, c["detail"].append
    mode, venue = c["mode"].append, c["venue"].append
    requested, qty_btc, carried = (
        c["requested_btc"].append,
        c["qty_btc"].append,
        c["carried_btc"].append,
    )
    avg_price, notional, fee, total = (
        c["avg_price"].append,
        c["notional"].append,
        c["fee"].append,
        c["total"].append,
    )
    worst, median, age = (
        c["saved_vs_worst"].append,
        c["saved_vs_median"].append,
        c["book_age_s"].append,
    )
    mid_best, mid_chosen = c["tca_mid_best"].append, c["tca_mid_chosen"].append
    slip, slip_fee = c["tca_slippage_bps"].append, c["tca_slippage_fee_bps"].append
    improvement, improvement_bps = c["tca_improvement"].append, c["tca_improvement_bps"].append
    legs: dict[str, list[object]] = {n: [] for n in ("row", *(f.name for f in LEG.fields))}
    alts: dict[str, list[object]] = {"row": [], "venue": [], "total": []}
    for i, e in enumerate(events):
        if isinstance(e, TrancheSkipped):
            mid_best(text(best_mid(e.quotes)))
            status("skipped")
            reason(e.reason.value)
            detail(e.detail)
            requested(text(e.qty))
            qty_btc(ZERO_TEXT)
            carried(text(e.carried))
            for name in _FILLED_ONLY:
                c[name].append(None)
            for q in e.quotes:
                alts["row"].append(i)
                alts["venue"].append(q.venue)
                alts["total"].append(text(q.total))
            continue
        r = e.route
        chosen = {leg.venue for leg in r.legs}
        ages = [q.book_age_s for q in e.quotes if q.venue in chosen and q.book_age_s is not None]
        tca = e.tca
        qty = text(r.qty)
        status("filled")
        reason(None)
        detail(None)
        mode(r.mode.value)
        venue(r.venue)
        requested(qty)
        qty_btc(qty)
        carried(ZERO_TEXT)
        avg_price(text(r.avg_price))
        notional(text(r.notional))
        fee(text(r.fee))
        total(text(r.total))
        worst(text(r.saved_vs_worst))
        median(text(r.saved_vs_median))
        age(max(ages) if ages else None)
        mid_best(text(tca.mid_best))
        mid_chosen(text(tca.mid_chosen))
        slip(_ratio(tca.slippage_bps))
        slip_fee(_ratio(tca.slippage_fee_bps))
        improvement(text(tca.improvement))
        improvement_bps(_ratio(tca.improvement_bps))
        for leg in r.legs:
            legs["row"].append(i)
            legs["venue"].append(leg.venue)
            legs["qty_btc"].append(text(leg.qty))
            legs["avg_price"].append(text(leg.avg_price))
            legs["notional"].append(text(leg.notional))
            legs["fee"].append(text(leg.fee))
            legs["total"].append(text(leg.total))
            legs["fee_rate"].append(text(leg.fee_rate))
            legs["levels_used"].append(leg.levels_used)
        for name, value in r.alternatives.items():
            alts["row"].append(i)
            alts["venue"].append(name)
            alts["total"].append(text(value))
    # As rows.books_column: per venue of each decision.
    quotes = [(i, q) for i, e in enumerate(events) for q in e.quotes]
    books: dict[str, list[object]] = {
        "row": [i for i, _ in quotes],
        "venue": [q.venue for _, q in quotes],
        "source": [q.source for _, q in quotes],
        "age_s": [q.book_age_s if q.best_ask is not None else None for _, q in quotes],
        "changed_s": [q.book_changed_s for _, q in quotes],
        "reason": [q.reason for _, q in quotes],
    }
    scalars = [
        pl.Series(name, values, dtype=pl.Utf8).cast(MONEY)
        if name in _MONEY_COLUMNS
        else pl.Series(name, values, dtype=TRANCHES[name])
        for name, values in cols.items()
    ]
    df = pl.DataFrame(scalars).with_row_index("row")
    df = df.join(_lists(legs, LEG, "legs", n), on="row", how="left")
    df = df.join(_lists(alts, ALTERNATIVE, "alternatives", n), on="row", how="left")
    df = df.join(_lists(books, BOOK, "books", n), on="row", how="left")
    return df.with_columns(
        pl.lit(SCHEMA_VERSION, dtype=TRANCHES["schema_version"]).alias("schema_version"),
        pl.lit(recorded_at, dtype=TRANCHES["recorded_at"]).alias("recorded_at"),
        *(pl.lit(None, dtype=TRANCHES[name]).alias(name) for name in LIVE_TRANCHES),
        *(
            pl.col(name).fill_null(pl.lit([], dtype=pl.List(struct)))
            for name, struct in _LISTS.items()
        ),
    ).select(TRANCHES.names())


def _lists(flat: dict[str, list[object]], struct: pl.Struct, name: str, n: int) -> pl.DataFrame:
    """Flat (row, field...) values grouped into one list of structs per row."""
    fields = {f.name: f.dtype for f in struct.fields}
    columns = {
        f: pl.Series(f, flat[f], dtype=pl.Utf8).cast(MONEY)
        if t == MONEY
        else pl.Series(f, flat[f], dtype=t)
        for f, t in fields.items()
    }
    rows = pl.Series("row", flat["row"], dtype=pl.UInt32)
    return (
        pl.DataFrame({"row": rows, **columns})
        .group_by("row", maintain_order=True)
        .agg(pl.struct(*fields).alias(name))
    )
