"""``btc-dca history``: the stored runs, read back.

It prints a table of runs (or one run's tranches) or exports it as CSV or JSON
lines; money is always an exact decimal string in exports.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TextIO

import polars as pl

from storage.history.compaction import compact
from storage.history.queries import History
from storage.history.resume import standing_from_row
from tui.cli import exits
from tui.cli.options import prepare_storage
from tui.fmt import LEGEND, btc_col, derived, exact, local_time, money, plural, skip_words
from tui.wiring import Options

RUN_TABLE = (
    "when (UTC)",
    "run",
    "status",
    "bought BTC",
    "of",
    "avg price",
    "avg cost",
    "total",
    "saved vs worst",
    "vs arrival",
)
TRANCHE_TABLE = (
    "#",
    "executed (UTC)",
    "status",
    "venue",
    "BTC",
    "avg price",
    "fee",
    "total",
    "saved vs worst",
)
# Derived figures (a division) in --json and --csv, rounded to the README's precisions:
# prices per BTC and amounts measured against them to 8 places, ratios to 8, bps to 4.
DERIVED = frozenset({"avg_price", "tca_twap_mid", "tca_mid_chosen", "tca_vs_twap", "tca_vs_lump"})
RATIO_PLACES = {"tca_fee_share": 8}
BPS_PLACES = 4


class CsvPathError(ValueError):
    """``--csv`` names something that cannot be written; the message says why."""


def command(ns: argparse.Namespace, options: Options, out: TextIO) -> int:
    """Show or export the history of ``options``' data dir (``--compact`` merges small files)."""
    paths = prepare_storage(options, compact=not ns.compact)
    return history_command(ns, paths.data_dir, out)


def history_command(
    ns: argparse.Namespace, data_dir: Path, out: TextIO, err: TextIO | None = None
) -> int:
    """Print or export the history; bad files are reported on stderr and skipped."""
    err = err or sys.stderr
    if ns.compact:
        report = compact(data_dir)
        _report_bad(report.bad, err)
        print(report, file=out)
        return exits.EXIT_OK
    csv_path: Path | None = None
    to_stdout = ns.csv == "-"  # as most tools read "-": the table on stdout, for a pipe
    if ns.csv is not None and not to_stdout:
        try:
            csv_path = csv_target(ns.csv, data_dir)
        except CsvPathError as exc:
            print(f"btc-dca: --csv: {exc}", file=err)
            return exits.EXIT_INVALID
    history = History(data_dir)
    if ns.run is not None:
        if history.run(ns.run) is None:
            _report_bad(history.bad, err)
            print(f"btc-dca: --run: no run {ns.run!r} in {data_dir}", file=err)
            return exits.EXIT_INVALID
        # Tranches are numbered from 1 wherever people or scripts read them (stored from 0).
        df = history.run_tranches(ns.run).with_columns(pl.col("index") + 1)
    else:
        if ns.limit < 0 or ns.offset < 0:
            print("btc-dca: --limit/--offset: must be 0 or more", file=err)
            return exits.EXIT_INVALID
        # Past any number of runs there can be (and within what Polars counts in).
        most = 2**31
        df = history.run_summaries(min(ns.offset, most), min(ns.limit, most) or None)
    _report_bad(history.bad, err)
    if to_stdout:
        write_rows(df, out)
    elif csv_path is not None:
        try:
            write_csv(df, csv_path)
        except OSError as exc:
            print(f"btc-dca: --csv: cannot write {csv_path}: {exc.strerror or exc}", file=err)
            return exits.EXIT_INVALID
        print(f"wrote {plural(df.height, 'row')} to {csv_path}", file=out)
    elif ns.json:
        for row in df.iter_rows(named=True):
            print(json.dumps(jsonable(row)), file=out)
    elif ns.run is not None:
        print(_tranche_table(df), file=out)
    elif df.height:
        backtest = pl.col("source").fill_null("") == "backtest"
        runs, backtests = df.filter(~backtest), df.filter(backtest)
        if runs.height:
            print(_run_table(runs), file=out)
            standing = standing_lines(runs, time.time())
            if standing:
                print("Standing plans:", *standing, sep="\n", file=out)
        if backtests.height:
            head = "Backtests (replayed over recorded books):"
            print(("\n" if runs.height else "") + head, file=out)
            print(_run_table(backtests), file=out)
        print(LEGEND, file=out)
    elif ns.offset:
        total = history.run_count()
        print(
            f"No runs from --offset {ns.offset:,}: there {'is' if total == 1 else 'are'} "
            f"{plural(total, 'run')} in {data_dir}.",
            file=out,
        )
    else:
        print(f"No runs yet in {data_dir}.", file=out)
    return exits.EXIT_OK


def csv_target(raw: str, data_dir: Path) -> Path:
    """The file ``--csv`` should write, checked before anything is read or created.

    A missing folder is created only inside the data dir; elsewhere it must exist
    (a typo must not leave folders around the disk).
    """
    if not raw.strip():
        raise CsvPathError("needs a file name, like runs.csv")
    path = Path(raw).expanduser()
    if path.is_dir():
        raise CsvPathError(f"{path} is a folder; give a file name, like {path / 'runs.csv'}")
    parent = path.parent
    if not parent.is_dir():
        inside = parent.resolve().is_relative_to(data_dir.resolve())
        if parent.exists() or not inside:
            raise CsvPathError(f"folder {parent} does not exist")
    return path


def _report_bad(bad: Iterable[object], err: TextIO) -> None:
    for item in bad:
        print(f"btc-dca: skipped {item}", file=err)


def jsonable(value: object, key: str = "") -> object:
    """A row value for JSON: Decimal → exact string (a derived figure, by its column name
    ``key``, rounded first), time → ISO 8601 UTC, nested as is."""
    if isinstance(value, Decimal):
        return derived(value) if key in DERIVED else exact(value)
    if isinstance(value, float) and (key in RATIO_PLACES or key.endswith("_bps")):
        return round(value, RATIO_PLACES.get(key, BPS_PLACES))
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v, key) for v in value]
    return value


def _cell(value: object, key: str) -> object:
    if isinstance(value, list | dict):
        return json.dumps(jsonable(value, key))
    out = jsonable(value, key)
    return "" if out is None else out


def write_csv(df: pl.DataFrame, path: Path) -> None:
    """``df`` as CSV with exact decimals; nested columns (legs, alternatives) as JSON text.

    Raises ``OSError`` when it cannot be written (a file it created is removed again).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    try:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            write_rows(df, fh)
    except OSError:
        if not existed and path.is_file():
            path.unlink(missing_ok=True)
        raise


def write_rows(df: pl.DataFrame, fh: TextIO) -> None:
    """``df`` as CSV rows (a header first) on ``fh``, as ``write_csv`` writes them."""
    writer = csv.writer(fh, lineterminator="\r\n")
    writer.writerow(df.columns)
    for row in df.iter_rows():
        writer.writerow([_cell(v, k) for v, k in zip(row, df.columns, strict=True)])


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else "-"


def _dec(value: object) -> Decimal | None:
    return value if isinstance(value, Decimal) else None


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), line(tuple("─" * w for w in widths)), *map(line, rows)])


def _per_btc(total: Decimal | None, qty: Decimal | None) -> Decimal | None:
    return total / qty if total is not None and qty else None


def _goal(r: dict[str, object]) -> str:
    """What the run set out to do: its BTC, or a budget run's money ("1,000.00 USD"); a
    standing plan's buy and period ("100.00 USD/1w")."""
    budget = _dec(r.get("spend"))
    goal = btc_col(_dec(r["amount_btc"])) if budget is None else f"{money(budget)} {r['quote']}"
    return f"{goal}/{r['every']}" if r.get("every") else goal


def standing_lines(df: pl.DataFrame, now: float) -> list[str]:
    """One line per standing plan among ``df``'s runs: its calendar, what it bought, and
    its next buy while a process runs it (``3 bought, next Mon 09:00 CET``)."""
    lines: list[str] = []
    for r in df.iter_rows(named=True):
        st = standing_from_row(r)
        if st is None:
            continue
        bought = f"{r['filled'] or 0} bought"
        if r["skipped"]:
            bought += f", {r['skipped']} skipped"
        status = str(r["status"])
        origin = r.get("origin")
        if status in ("running", "paused") and isinstance(origin, datetime):
            start = origin.timestamp()
            k = st.due(start, 0, now) + 1
            nxt = st.slot(start, k)
            state = (
                "ended (past --until)"
                if st.ended(nxt)
                else f"next {local_time(nxt, st.tz, now)}"
                + (" (paused)" if status == "paused" else "")
            )
        elif status in ("interrupted", "failed"):
            state = f"{status}: resume it (btc-dca resume --standing)"
        else:
            state = status
        at = f" at {st.at.text}" if st.at else ""
        lines.append(f"  {r['run_id']}  {st.every.words()}{at} ({st.tz}): {bought}, {state}")
    return lines


def _run_table(df: pl.DataFrame) -> str:
    rows = [
        (
            _when(r["created_at"]),
            str(r["run_id"]),
            str(r["status"]) + (" LIVE" if r.get("execution") == "live" else ""),
            btc_col(_dec(r["qty_btc"])),
            _goal(r),
            money(_dec(r["avg_price"])),
            money(_per_btc(_dec(r["total"]), _dec(r["qty_btc"]))),
            f"{money(_dec(r['total']))} {r['quote']}",
            money(_dec(r["saved_vs_worst"])),
            _bps(r.get("tca_shortfall_bps")),
        )
        for r in df.iter_rows(named=True)
    ]
    return _table(RUN_TABLE, rows, {3, 4, 5, 6, 7, 8, 9})


def _bps(value: object) -> str:
    """A cost above a benchmark in bps (``+12.3 bps``); ``-`` when not measured."""
    if not isinstance(value, float):
        return "-"
    shown = round(value, 1) or 0.0
    return f"{shown:+.1f} bps"


def _skipped(r: Mapping[str, object]) -> str:
    """A skipped tranche's status: why, and the BTC it moved on (or left unbought, last)."""
    carried = _dec(r.get("carried_btc"))
    moved = (
        f"{btc_col(carried)} BTC carried"
        if carried
        else f"{btc_col(_dec(r.get('requested_btc')))} BTC not bought"
    )
    return f"skipped: {skip_words(r['reason'])}; {moved}"


def _tranche_table(df: pl.DataFrame) -> str:
    """The tranches; a live run's also say each fill against its decision (fees out),
    with the run's figures under the table (``fills_line``)."""
    live = "fill_vs_decision_bps" in df.columns and df["fill_vs_decision_bps"].is_not_null().any()
    rows = [
        (
            str(r["index"]),
            _when(r["executed_at"]),
            ("LIVE " if r.get("live") else "")
            + ("filled" if r["status"] == "filled" else _skipped(r)),
            str(r["venue"] or "-"),
            # What was bought (none when skipped): the column adds up to the run's BTC.
            btc_col(_dec(r["qty_btc"])),
            money(_dec(r["avg_price"])),
            money(_dec(r["fee"])),
            money(_dec(r["total"])),
            money(_dec(r["saved_vs_worst"])),
        )
        + ((_bps(r["fill_vs_decision_bps"]),) if live else ())
        for r in df.iter_rows(named=True)
    ]
    if not live:
        return _table(TRANCHE_TABLE, rows, {0, 4, 5, 6, 7, 8})
    table = _table((*TRANCHE_TABLE, "vs decision"), rows, {0, 4, 5, 6, 7, 8, 9})
    return f"{table}\n{fills_line(df)}"


def fills_line(df: pl.DataFrame) -> str:
    """A live run's real fills against their decisions, weighted by the BTC filled (fees
    out, then in), and the decisions' and the fills' median slippage against the best mid."""
    filled = df.filter(pl.col("fill_vs_decision_bps").is_not_null())
    qty = filled["qty_btc"].cast(pl.Float64)
    paid = float((filled["avg_price"].cast(pl.Float64) * qty).sum())
    decided = float((filled["decision_avg_price"].cast(pl.Float64) * qty).sum())
    total = float(filled["total"].cast(pl.Float64).sum())
    decided_fee = float(
        (
            filled["decision_total"].cast(pl.Float64)
            / filled["decision_qty_btc"].cast(pl.Float64)
            * qty
        ).sum()
    )
    to_mid = filled["decision_vs_mid_bps"].median()
    fill_mid = filled["fill_vs_mid_bps"].median()
    return (
        f"Real fills vs their decisions: {_bps((paid / decided - 1) * 10_000)} "
        f"(fees in {_bps((total / decided_fee - 1) * 10_000)}); over the best mid, median: "
        f"decisions {_bps(to_mid)}, fills {_bps(fill_mid)}."
    )
