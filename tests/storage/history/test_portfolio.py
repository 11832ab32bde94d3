"""The portfolio's sums against figures worked out by hand, from real Parquet in a temp dir.

The rows are written as the journal lays them out (runs with several revs, tranches with
legs, a skipped tranche), with round numbers so every expected figure below is checked
by hand: totals, per venue (a split tranche on each leg's venue), per month (UTC, a
tranche late on 31 January is January's), the series, and what never counts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from storage.history.dataset import partition_of, table_dir, write_atomic
from storage.history.portfolio import Bucket, Point, Scope, default_scope, portfolio
from storage.history.schema import RUNS, TRANCHES, money

D = Decimal


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def leg(venue: str, qty: str, total: str, fee: str) -> dict[str, object]:
    return {
        "venue": venue,
        "qty_btc": money(D(qty)),
        "total": money(D(total)),
        "fee": money(D(fee)),
    }


def filled(run_id: str, index: int, when: str, *legs: dict[str, object]) -> dict[str, object]:
    def total(key: str) -> Decimal | None:
        return money(sum((D(str(x[key])) for x in legs), D(0)))

    return {
        "run_id": run_id,
        "index": index,
        "of": 3,
        "executed_at": at(when),
        "status": "filled",
        "venue": "+".join(str(x["venue"]) for x in legs),
        "legs": list(legs),
        "qty_btc": total("qty_btc"),
        "total": total("total"),
        "fee": total("fee"),
    }


def skipped(run_id: str, index: int, when: str) -> dict[str, object]:
    return {
        "run_id": run_id,
        "index": index,
        "of": 3,
        "executed_at": at(when),
        "status": "skipped",
        "qty_btc": money(D(0)),
    }


def run_row(
    run_id: str, rev: int, quote: str, source: str, execution: str | None, status: str
) -> dict[str, object]:
    return {
        "run_id": run_id,
        "rev": rev,
        "status": status,
        "quote": quote,
        "source": source,
        "execution": execution,
    }


def write(data: Path, table: str, rows: list[dict[str, object]]) -> None:
    schema = RUNS if table == "runs" else TRANCHES
    df = pl.DataFrame(rows, schema=schema)
    write_atomic(df, table_dir(data, table) / partition_of(at("2026-01-31T00:00:00")))


def history(data: Path, *, live: bool) -> None:
    runs = [
        # Paper, USD: its current row (rev 1) is the one read.
        run_row("paper-a", 0, "USD", "demo", "paper", "running"),
        run_row("paper-a", 1, "USD", "demo", "paper", "finished"),
        # Paper (older files have no execution: paper), EUR: not summed with USD.
        run_row("paper-eur", 0, "EUR", "live", None, "finished"),
        # Paper, USD, every tranche skipped: a run, nothing bought.
        run_row("paper-none", 0, "USD", "live", "paper", "incomplete"),
        # A backtest: never counted, whatever it bought.
        run_row("backtest", 0, "USD", "backtest", "paper", "finished"),
    ]
    tranches = [
        filled("paper-a", 0, "2026-01-31T23:30:00", leg("kraken", "0.01", "900.50", "0.90")),
        skipped("paper-a", 1, "2026-02-01T00:30:00"),
        filled(
            "paper-a",
            2,
            "2026-02-01T01:30:00",
            leg("kraken", "0.005", "451.00", "0.45"),
            leg("coinbase", "0.015", "1353.30", "1.35"),
        ),
        filled("paper-eur", 0, "2026-01-15T12:00:00", leg("kraken", "0.5", "40000", "40")),
        skipped("paper-none", 0, "2026-01-20T12:00:00"),
        filled("backtest", 0, "2025-06-01T00:00:00", leg("okx", "7", "420000", "420")),
    ]
    if live:
        runs.append(run_row("real", 0, "USD", "live", "live", "finished"))
        tranches.append(
            filled("real", 0, "2026-03-02T09:00:00", leg("binanceus", "0.001", "95.10", "0.10"))
        )
    write(data, "runs", runs)
    write(data, "tranches", tranches)


def test_paper_runs_in_usd_sum_to_the_hand_worked_figures(tmp_path: Path) -> None:
    history(tmp_path, live=False)
    assert default_scope(tmp_path) is Scope.PAPER
    p = portfolio(tmp_path)
    # Two USD paper runs against one in EUR: USD. The backtest's 7 BTC are nowhere.
    assert (p.scope, p.quote, p.runs, p.other_quotes) == (Scope.PAPER, "USD", 2, {"EUR": 1})
    # 0.01 + 0.02 BTC; 900.50 + 1,804.30 USD; 0.90 + 1.80 fees; 2,704.80 / 0.03.
    assert p.total == Bucket(D("0.03"), D("2704.80"), D("2.70"), 2)
    assert p.total.avg_cost == D("90160")
    assert p.venues == {
        "kraken": Bucket(D("0.015"), D("1351.50"), D("1.35"), 2),
        "coinbase": Bucket(D("0.015"), D("1353.30"), D("1.35"), 1),
    }
    assert p.months == {
        "2026-01": Bucket(D("0.01"), D("900.50"), D("0.90"), 1),
        "2026-02": Bucket(D("0.02"), D("1804.30"), D("1.80"), 1),
    }
    assert p.series == (
        Point(at("2026-01-31T23:30:00"), D("0.01"), D("900.50")),
        Point(at("2026-02-01T01:30:00"), D("0.03"), D("2704.80")),
    )
    # At a best bid of 100,000: 3,000 worth, 295.20 up.
    assert p.value(D("100000")) == D("3000") and p.pnl(D("100000")) == D("295.20")
    assert p.value(None) is None and p.pnl(None) is None


def test_another_quote_is_its_own_portfolio(tmp_path: Path) -> None:
    history(tmp_path, live=False)
    p = portfolio(tmp_path, Scope.PAPER, "eur")
    assert (p.quote, p.runs, p.other_quotes) == ("EUR", 1, {"USD": 2})
    assert p.total == Bucket(D("0.5"), D("40000"), D("40"), 1)
    assert p.total.avg_cost == D("80000")


def test_real_runs_are_the_default_once_there_are_any_and_never_mixed_with_paper(
    tmp_path: Path,
) -> None:
    history(tmp_path, live=True)
    assert default_scope(tmp_path) is Scope.LIVE
    real = portfolio(tmp_path)
    assert (real.scope, real.quote, real.runs, real.other_quotes) == (Scope.LIVE, "USD", 1, {})
    assert real.total == Bucket(D("0.001"), D("95.10"), D("0.10"), 1)
    assert list(real.venues) == ["binanceus"] and list(real.months) == ["2026-03"]
    paper = portfolio(tmp_path, Scope.PAPER)
    assert paper.runs == 2 and paper.total.btc == D("0.03")


def test_no_runs_is_an_empty_usd_paper_portfolio(tmp_path: Path) -> None:
    p = portfolio(tmp_path)
    assert (p.scope, p.quote, p.runs, p.total) == (Scope.PAPER, "USD", 0, Bucket())
    assert p.total.avg_cost is None and p.venues == {} and p.months == {} and p.series == ()
