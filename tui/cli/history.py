"""``btc-dca history``: the stored runs, read back.

It prints a table of runs (or one run's tranches) or exports it as CSV or JSON
lines; money is always an exact decimal string in exports.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TextIO

import polars as pl

from storage.compaction import compact
from storage.queries import History
from tui.cli import exits
from tui.cli.options import prepare_storage
from tui.fmt import btc, exact, money
from tui.wiring import Options

RUN_TABLE = ("when (UTC)", "run", "amount BTC", "status", "avg price", "total", "saved")
TRANCHE_TABLE = ("#", "executed (UTC)", "status", "venue", "qty BTC", "avg price", "fee", "total")


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
    history = History(data_dir)
    if ns.run:
        if history.run(ns.run) is None:
            _report_bad(history.bad, err)
            print(f"btc-dca: --run: no run {ns.run!r} in {data_dir}", file=err)
            return exits.EXIT_INVALID
        df = history.run_tranches(ns.run)
    else:
        if ns.limit < 0 or ns.offset < 0:
            print("btc-dca: --limit/--offset: must be 0 or more", file=err)
            return exits.EXIT_INVALID
        df = history.run_summaries(ns.offset, ns.limit or None)
    _report_bad(history.bad, err)
    if ns.csv:
        write_csv(df, ns.csv)
        print(f"wrote {df.height} rows to {ns.csv}", file=out)
    elif ns.json:
        for row in df.iter_rows(named=True):
            print(json.dumps(jsonable(row)), file=out)
    elif ns.run:
        print(_tranche_table(df), file=out)
    elif df.height:
        print(_run_table(df), file=out)
    else:
        print(f"No runs yet in {data_dir}.", file=out)
    return exits.EXIT_OK


def _report_bad(bad: Iterable[object], err: TextIO) -> None:
    for item in bad:
        print(f"btc-dca: skipped {item}", file=err)


def jsonable(value: object) -> object:
    """A row value for JSON: Decimal → exact string, time → ISO 8601 UTC, nested as is."""
    if isinstance(value, Decimal):
        return exact(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _cell(value: object) -> object:
    if isinstance(value, list | dict):
        return json.dumps(jsonable(value))
    out = jsonable(value)
    return "" if out is None else out


def write_csv(df: pl.DataFrame, path: Path) -> None:
    """``df`` as CSV with exact decimals; nested columns (legs, alternatives) as JSON text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(df.columns)
        for row in df.iter_rows():
            writer.writerow([_cell(v) for v in row])


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


def _run_table(df: pl.DataFrame) -> str:
    rows = [
        (
            _when(r["created_at"]),
            str(r["run_id"]),
            btc(_dec(r["amount_btc"])),
            str(r["status"]),
            money(_dec(r["avg_price"])),
            f"{money(_dec(r['total']))} {r['quote']}",
            money(_dec(r["saved_vs_worst"])),
        )
        for r in df.iter_rows(named=True)
    ]
    return _table(RUN_TABLE, rows, {2, 4, 5, 6})


def _tranche_table(df: pl.DataFrame) -> str:
    rows = [
        (
            str(int(r["index"]) + 1),
            _when(r["executed_at"]),
            str(r["status"]) if r["status"] == "filled" else f"skipped: {r['reason']}",
            str(r["venue"] or "-"),
            btc(_dec(r["qty_btc"])),
            money(_dec(r["avg_price"])),
            money(_dec(r["fee"])),
            money(_dec(r["total"])),
        )
        for r in df.iter_rows(named=True)
    ]
    return _table(TRANCHE_TABLE, rows, {0, 4, 5, 6, 7})
