"""``btc-dca backtest``: a plan replayed over the recorded books, printed like a headless run.

The window is ``--from``/``--to`` (ISO 8601, UTC unless the text says otherwise, or
relative to now: ``-24h``); the plan spans it. The same executor and router as a live
run buy each tranche on the books recorded at its time (``storage.backtest.replay``). The
backtest is saved in the history as one (``source`` = ``backtest``). ``--compare``
then replays variants over the same books and prints them side by side. ``--demo``
first writes the simulated market's books for the window into ``market/``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import re
import signal
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from dca.events import Summary
from dca.journal import FanOut
from dca.plan import Plan, format_duration, parse_duration
from dca.routing import Mode
from exchanges.clock import SimClock
from exchanges.simulated import SimulatedMarket
from exchanges.venues import VenueSpec, display_name
from storage.backtest import replay as bt
from storage.history.schema import utc
from storage.market.lake import files_for
from storage.market.recorder import record_simulated
from tui.cli import exits
from tui.cli.options import UsageError, load_specs, plan_from_args, prepare_storage
from tui.cli.printers import Printer
from tui.cli.progress import Narrated, Progress
from tui.fmt import btc, derived, exact, money
from tui.wiring import Options

_RELATIVE = re.compile(r"^-\s*(\d+(?:\.\d+)?\s*[smhd])$", re.IGNORECASE)
# A demo lake has at most this many snapshots per venue (and one at least every max-age / 2).
_DEMO_SNAPSHOTS = 2000


def parse_time(text: str, now: float, option: str) -> float:
    """``now``, ``-24h`` (relative to ``now``) or ISO 8601 (UTC when no offset) → epoch s."""
    raw = (text or "").strip()
    if raw.lower() == "now":
        return now
    rel = _RELATIVE.match(raw)
    if rel:
        return now - parse_duration(rel.group(1).replace(" ", ""))
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{option}: {text!r} is not a time: ISO 8601 (2026-12-01T06:00, UTC unless it "
            "says otherwise) or relative to now (-24h, -90m)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


def command(ns: argparse.Namespace, options: Options, out: TextIO) -> int:
    """Check the window and the plan, read the books, replay, print; exit 2 on bad input."""
    specs = load_specs(options)
    now = time.time()
    start = parse_time(ns.start, now, "--from")
    end = parse_time(ns.end, now, "--to")
    if start >= end:
        raise UsageError(f"--from: {_when(start)} is not before --to {_when(end)} (UTC)")
    try:
        max_age = parse_duration(ns.max_age)
    except ValueError as exc:
        raise UsageError(f"--max-age: {exc}") from None
    if max_age <= 0:
        raise UsageError("--max-age: must be longer than 0s (a recorded book is never that new)")
    plan = plan_from_args(ns, options, specs, duration=end - start)
    paths = prepare_storage(options)
    if options.demo:
        _demo_lake(options, plan, paths.data_dir, start, end, max_age, out, ns.json)
    try:
        prepared = bt.prepare(
            paths.data_dir, plan, start, max_age_s=max_age, venues_given=options.venues is not None
        )
    except bt.BacktestInvalid as exc:
        print(f"btc-dca: {exc}", file=sys.stderr)
        return exits.EXIT_INVALID
    for bad in prepared.bad:
        print(f"btc-dca: warning: skipped {bad.path}: {bad.reason}", file=sys.stderr)
    return asyncio.run(_run(prepared, specs, out, paths.data_dir, ns))


def _demo_lake(
    options: Options,
    plan: Plan,
    data_dir: Path,
    start: float,
    end: float,
    max_age: float,
    out: TextIO,
    as_json: bool,
) -> None:
    """Write the simulated market's books for the window (unless every day is there)."""
    lo, hi = utc(start - max_age), utc(end)
    assert lo is not None and hi is not None
    if all(files_for(data_dir, v, lo, hi) for v in plan.venues):
        return
    interval = min(max_age / 2, max(1.0, math.ceil((end - start) / _DEMO_SNAPSHOTS)))
    market = SimulatedMarket(
        SimClock(start), quote=plan.quote, venues=plan.venues, seed=options.seed
    )
    stats = record_simulated(
        market, plan.venues, data_dir, start - max_age, end, interval_s=interval
    )
    if not as_json:
        print(
            f"Demo: wrote {stats.snapshots:,} simulated book snapshots "
            f"(one per venue every {format_duration(interval)}) to {data_dir / 'market'}",
            file=out,
        )


async def _run(
    prepared: bt.Prepared,
    specs: dict[str, VenueSpec],
    out: TextIO,
    data_dir: Path,
    ns: argparse.Namespace,
) -> int:
    """Replay the prepared plan, printing as ``run --headless`` does; then ``--compare``."""
    plan = prepared.plan
    lake = prepared.lake
    printer = Printer(out, ns.json, plan.quote, resumable=False)
    if ns.json:
        header: dict[str, object] = {
            "event": "backtest",
            "from": _iso(prepared.start),
            "to": _iso(prepared.end),
            "venues": list(plan.venues),
            "snapshots": lake.snapshots,
            "files": lake.files_read,
            "max_age_s": prepared.max_age_s,
            "left_out": lake.empty,
        }
        print(json.dumps(header), file=out, flush=True)
    else:
        left = "".join(f"; {display_name(v)}: {why}" for v, why in lake.empty.items())
        print(
            f"Backtest over recorded books {_when(prepared.start)} → {_when(prepared.end)} UTC: "
            f"{len(plan.venues)} venue(s), {lake.snapshots:,} snapshots from "
            f"{lake.files_read} file(s); a book older than "
            f"{format_duration(prepared.max_age_s)} leaves its venue out{left}",
            file=out,
            flush=True,
        )
    journal = bt.BatchJournal(
        data_dir,
        extra={
            "backtest_from": _iso(prepared.start),
            "backtest_to": _iso(prepared.end),
            "max_age_s": prepared.max_age_s,
        },
    )
    # A line on the terminal while it replays: never into a pipe, a file or --json.
    progress = (
        Progress(sys.stderr, prepared.start, prepared.end)
        if not ns.json and _is_terminal(out) and _is_terminal(sys.stderr)
        else None
    )
    shown = Narrated(printer, progress) if progress is not None else printer
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    printer.on_closed = stop.set
    try:
        outcome = await bt.replay(prepared, specs, FanOut(journal, shown), stop=stop)
        if outcome.interrupted:
            return _stopped(out, ns.json)
        if ns.compare:
            if progress is not None:
                progress.label = "Comparing"
            watch = Narrated(None, progress) if progress is not None else None
            rows = await bt.compare(prepared, specs, _variants(plan), watch=watch, stop=stop)
            if progress is not None:
                progress.clear()
            if stop.is_set():
                return exits.EXIT_INTERRUPTED
            # One arrival mid for every row: the plan's (the best mid across its venues at
            # its first decision). A venue alone would otherwise be measured from its own
            # mid, and a dearer venue could show a smaller shortfall.
            for row in rows:
                row.summary.tca.arrival_mid = outcome.summary.tca.arrival_mid
            _print_compare(out, ns.json, plan, outcome.summary, rows)
    finally:
        if progress is not None:
            progress.clear()
        await journal.discard()  # saved already, unless the replay stopped or failed
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
    return exits.EXIT_INTERRUPTED if stop.is_set() else exits.EXIT_OK


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a real stream
        return False


def _stopped(out: TextIO, as_json: bool) -> int:
    """A backtest stopped before its end (Ctrl-C, the reader gone): nothing of it is saved."""
    if not as_json:
        with contextlib.suppress(BrokenPipeError, ValueError):
            print("Nothing saved: a backtest is saved only once it has run to its end.", file=out)
    return exits.EXIT_INTERRUPTED


def _bps(value: Decimal | None) -> str | None:
    return None if value is None else exact(value.quantize(Decimal("0.0001")))


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _variants(plan: Plan) -> list[tuple[str, Plan]]:
    """Single, split, each venue alone (single), and the whole amount at the start.

    "All at the start" is what the summary's "vs all at the start" measures against: the
    whole amount bought at the first decision, whatever ``--max-price`` says (a plan's
    maximum would skip it and leave nothing to compare)."""
    out = [
        ("single", replace(plan, mode=Mode.SINGLE)),
        ("split", replace(plan, mode=Mode.SPLIT)),
    ]
    out += [(f"{v} alone", replace(plan, venues=(v,), mode=Mode.SINGLE)) for v in plan.venues]
    out.append(("all at the start", replace(plan, tranches=1, jitter=False, max_price=None)))
    return out


def _print_compare(
    out: TextIO, as_json: bool, plan: Plan, summary: Summary, rows: list[bt.Alternative]
) -> None:
    """The comparison table (or one JSON object): each variant's cost against this plan's."""
    base = summary.effective_price
    items: list[tuple[str, Summary]] = [(f"this plan ({plan.mode.value})", summary)]
    items += [(row.label, row.summary) for row in rows]

    def vs(s: Summary) -> Decimal | None:
        eff = s.effective_price
        if eff is None or base is None:
            return None
        return (eff - base) * plan.amount

    if as_json:
        obj = {
            "event": "compare",
            "rows": [
                {
                    "plan": label,
                    "qty": exact(s.qty),
                    "target": exact(s.target),
                    "total": exact(s.total),
                    "fee": exact(s.fee),
                    "effective_price": derived(s.effective_price),
                    "tranches": s.filled,
                    "skipped": s.skipped,
                    "vs_this_plan": derived(vs(s)),
                    "shortfall_bps": _bps(s.quality.shortfall_bps),
                }
                for label, s in items
            ],
        }
        print(json.dumps(obj), file=out, flush=True)
        return
    ccy = plan.quote
    print(
        f"\nSide by side over the same books (for {btc(plan.amount)} BTC; + costs more):",
        file=out,
    )
    head = (
        f"{'plan':<24} {'bought BTC':>12} {'total ' + ccy:>16} {'per BTC, fees in':>17} "
        f"{'vs this plan':>13}"
    )
    print(head, file=out)
    print("-" * len(head), file=out)
    for label, s in items:
        diff = vs(s)
        diff_text = "-" if label.startswith("this plan") or diff is None else f"{diff:+,.2f}"
        bought = btc(s.qty) if s.qty == s.target else f"{btc(s.qty)}*"
        print(
            f"{label:<24} {bought:>12} {money(s.total):>16} {money(s.effective_price):>17} "
            f"{diff_text:>13}",
            file=out,
        )
    if any(s.qty != s.target for _, s in items):
        print(
            "* bought less than the amount (tranches skipped: no book, or above max price)",
            file=out,
        )
    out.flush()
