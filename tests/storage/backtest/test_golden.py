"""A backtest's results, to the last digit, are what they were before the replay was made faster.

The files in ``golden/`` (gzipped text: a line per event, printed line or row) were
written by the replay as it was before its per-tranche work was cut (the streaming
reader, the executor, the router and the batch writer of then).
Each plan below is replayed over the same small lake, and everything it produces must
match them exactly:

- every event the executor emitted, each ``Decimal`` written with its exponent (``1.50``
  and ``1.5`` differ here, though they are equal numbers), every float as its ``repr``;
- the lines ``backtest`` prints, as text and as ``--json`` (but the run's start: it shows the
  plan, whose fields grow with features);
- the tranches and runs rows saved to Parquet (times of the saving left out).

The lake: four venues recording at their own paces across a midnight, one of them
silent for an hour (its book goes stale), all of them silent for twenty minutes (a
tranche with no venue, retried, then skipped), 50 ask levels. The plans: jittered
single, a split deep enough to walk past the levels read up front and past single
venues' depth, a maximum price that some tranches are above, and budgets, single and
split.

A change meant to change results (a new field in an event, another rounding) rewrites
the files: ``GOLDEN_UPDATE=1 .venv/bin/pytest tests/storage/backtest/test_golden.py``,
and ``zdiff`` of the old and new files shows what changed. A speed-up must never need that.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import os
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path

import polars as pl
import pytest

from dca.journal import FanOut
from dca.plan import Plan, build_plan
from exchanges.clock import SimClock
from exchanges.simulated import SimulatedMarket
from exchanges.venues import DEFAULT_SPECS
from storage.backtest import replay as bt
from storage.market.lake import snapshot_row, write_snapshots
from tui.cli.printers import Printer

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("GOLDEN_UPDATE") == "1"

T0 = datetime(2026, 3, 1, 21, 0, tzinfo=UTC).timestamp()  # the window crosses midnight
H = 3600.0
VENUES = ("kraken", "okx", "bitstamp", "coinbase")
STEP = {"kraken": 60.0, "okx": 45.0, "bitstamp": 90.0, "coinbase": 150.0}
MAX_AGE = 150.0
# Everyone silent from 01:00 to 01:20 (day 2): a tranche there finds no venue.
ALL_SILENT = (T0 + 4 * H, T0 + 4 * H + 1200)
# OKX silent from 22:00 to 23:00: its book goes stale, the others go on.
OKX_SILENT = (T0 + H, T0 + 2 * H)


def silent(venue: str, t: float) -> bool:
    """When the venues of the lake recorded nothing."""
    if ALL_SILENT[0] <= t < ALL_SILENT[1]:
        return True
    return venue == "okx" and OKX_SILENT[0] <= t < OKX_SILENT[1]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("golden-lake")
    market = SimulatedMarket(SimClock(T0), venues=VENUES, depth=50)
    rows = []
    for venue in VENUES:
        t = T0 - 600
        while t < T0 + 7 * H:
            if not silent(venue, t):
                rows.append(snapshot_row(market.book_at(venue, t), t, 50, "demo"))
            t += STEP[venue]
    write_snapshots(root, rows)
    return root


def plans() -> dict[str, Plan]:
    """The plans replayed, by the name of their golden file."""
    specs = DEFAULT_SPECS

    def plan(**kw: object) -> Plan:
        return dataclasses.replace(
            build_plan(duration=6 * H, specs=specs, **kw),  # type: ignore[arg-type]
            venues=VENUES,
        )

    return {
        "single": plan(amount="2", tranches=48, mode="single", jitter=True, seed=5),
        "split-deep": plan(amount="200", tranches=40, mode="split"),
        "max-price": plan(amount="1.5", tranches=36, mode="split", max_price="91000"),
        "budget-single": plan(spend="250000", tranches=24, mode="single"),
        "budget-split": plan(spend="6000000", tranches=24, mode="split"),
    }


def canonical(value: object) -> object:
    """``value`` as JSON that tells apart what ``==`` does not: a ``Decimal``'s exponent,
    a float's last bit, a dataclass's type."""
    if isinstance(value, Decimal):
        return f"D{value}"
    if isinstance(value, float):
        return f"F{value!r}"
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, object] = {"type": type(value).__name__}
        for f in dataclasses.fields(value):
            out[f.name] = canonical(getattr(value, f.name))
        return out
    if isinstance(value, dict):
        return [[canonical(k), canonical(v)] for k, v in value.items()]
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, Exception):
        return [type(value).__name__, str(value)]
    return value


def rows(frame: pl.DataFrame, drop: tuple[str, ...]) -> list[str]:
    """The rows of ``frame`` (sorted by its first columns), as canonical JSON lines."""
    kept = frame.drop([c for c in drop if c in frame.columns])
    return [json.dumps(canonical(r)) for r in kept.to_dicts()]


async def produce(lake: Path, tmp: Path, plan: Plan) -> list[str]:
    """Replay ``plan`` as ``backtest`` does (saved, printed as text and as JSON); every line
    of what it produced."""
    prepared = bt.prepare(lake, plan, T0, max_age_s=MAX_AGE)
    text, as_json = io.StringIO(), io.StringIO()
    printers = (
        Printer(text, False, plan.quote, resumable=False),
        Printer(as_json, True, plan.quote, resumable=False),
    )
    journal = bt.BatchJournal(tmp, chunk=32)
    outcome = await bt.replay(
        prepared,
        DEFAULT_SPECS,
        FanOut(journal, *printers),
        run_id="golden",
        keep_events=True,
    )
    out = [f"summary {json.dumps(canonical(outcome.summary))}"]
    out += [f"event {json.dumps(canonical(e))}" for e in outcome.events if _tranche_or_end(e)]
    out += [f"text {line}" for line in text.getvalue().splitlines()]
    out += [f"json {line}" for line in as_json.getvalue().splitlines()]
    tranches = pl.read_parquet(tmp / "tranches" / "*" / "*.parquet").sort("index")
    out += [f"tranche {r}" for r in rows(tranches, ("recorded_at",))]
    runs = pl.read_parquet(tmp / "runs" / "*" / "*.parquet").sort("rev")
    summary = runs.select(
        "rev", "event", "status", "qty_btc", "notional", "fee", "total", "avg_price",
        "filled", "skipped", "saved_vs_worst", "saved_vs_median",
        *(c for c in runs.columns if c.startswith("tca_")),
    )  # fmt: skip
    out += [f"run {r}" for r in rows(summary, ())]
    return out


def _result(line: str) -> bool:
    """Whether a line is a result: not the printed start of the run, which shows its plan
    (the fields of a plan, and how it is printed, grow with features)."""
    return not line.startswith(('json {"event": "started"', "text Run golden"))


def _tranche_or_end(event: object) -> bool:
    # The run's start carries the plan (its fields grow with features); its tranches, venue
    # changes and end are the results.
    return type(event).__name__ != "RunStarted"


@pytest.mark.parametrize("name", list(plans()))
async def test_a_backtest_produces_exactly_what_it_did_before(
    lake: Path, tmp_path: Path, name: str
) -> None:
    lines = await produce(lake, tmp_path, plans()[name])
    path = GOLDEN / f"{name}.txt.gz"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        # No name, no time in the header: the same lines make the same bytes.
        path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    golden = gzip.decompress(path.read_bytes()).decode().splitlines()
    lines, golden = [x for x in lines if _result(x)], [x for x in golden if _result(x)]
    assert len(lines) == len(golden), f"{name}: {len(lines)} lines, golden {len(golden)}"
    for i, (now, then) in enumerate(zip(lines, golden, strict=True)):
        assert now == then, f"{name}, line {i + 1} differs:\nnow:    {now}\ngolden: {then}"
