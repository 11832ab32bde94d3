"""``btc-dca history`` and ``resume`` as a user types them, through the real entry point."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from storage.history.dataset import table_files
from storage.history.queries import History
from tests.storage.helpers import Crash, CrashAfter, plan, run
from tui.cli.main import main


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BTC_DCA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BTC_DCA_CONFIG", str(tmp_path / "config.toml"))
    return tmp_path / "data"


def _main(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out)
    return code, out.getvalue()


async def test_history_lists_runs_and_a_runs_tranches(env: Path) -> None:
    code, text = _main("history")
    assert (code, text.strip()) == (0, f"No runs yet in {env}.")
    summary, _, run_id = await run(env, plan(tranches=3, amount="0.3"))
    code, text = _main("history")
    assert code == 0
    assert "when (UTC)" in text and run_id in text and "finished" in text
    assert f"{summary.total.quantize(Decimal('0.01')):,} USD" in text
    code, text = _main("history", "--run", run_id)
    assert code == 0
    assert len(text.strip().splitlines()) == 2 + 3
    code, _ = _main("history", "--run", "nope")
    assert code == 2
    code, text = _main("history", "--run", "")  # an empty id is no run, not "every run"
    assert (code, text) == (2, "")


async def test_csv_and_json_exports_match_the_table(env: Path, tmp_path: Path) -> None:
    await run(env, plan(tranches=2, max_price="1"))
    summary, _, run_id = await run(env, plan(tranches=4, mode="split"))
    table = History(env).run_tranches(run_id)

    code, _ = _main("history", "--run", run_id, "--csv", str(tmp_path / "t.csv"))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "t.csv").read_text())))
    # Numbered from 1 for people and scripts (stored from 0).
    assert [int(r["index"]) for r in rows] == [i + 1 for i in table["index"].to_list()]
    assert [Decimal(r["total"]) for r in rows] == table["total"].to_list()
    assert sum(Decimal(r["total"]) for r in rows) == summary.total
    legs = json.loads(rows[0]["legs"])
    assert Decimal(legs[0]["qty_btc"]) == table["legs"][0][0]["qty_btc"]

    # "-" is stdout, as most tools read it (no file named "-" is left anywhere).
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        code, text = _main("history", "--run", run_id, "--csv", "-")
    finally:
        os.chdir(cwd)
    assert code == 0
    assert text == (tmp_path / "t.csv").read_bytes().decode()
    assert not (tmp_path / "-").exists()

    code, text = _main("history", "--run", run_id, "--json")
    objs = [json.loads(line) for line in text.splitlines()]
    assert [Decimal(o["total"]) for o in objs] == table["total"].to_list()
    assert all(isinstance(o["fee"], str) for o in objs)
    assert objs[0]["executed_at"].endswith("Z")

    code, text = _main("history", "--json", "--limit", "1")
    [latest] = [json.loads(line) for line in text.splitlines()]
    assert latest["run_id"] == run_id
    assert Decimal(latest["total"]) == summary.total
    code, text = _main("history", "--csv", str(tmp_path / "runs.csv"), "--offset", "1")
    [older] = list(csv.DictReader(io.StringIO((tmp_path / "runs.csv").read_text())))
    assert older["status"] == "incomplete" and older["skipped"] == "2"
    assert _main("history", "--limit", "-1")[0] == 2


async def test_bad_files_are_named_on_stderr(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await run(env, plan(tranches=2))
    bad = table_files(env, "runs")[0].parent / "part-0-bad.parquet"
    bad.write_bytes(b"garbage")
    code, text = _main("history")
    assert code == 0 and "finished" in text
    assert f"skipped {bad}: not a readable Parquet file" in capsys.readouterr().err


async def test_compact_from_the_command_line(env: Path) -> None:
    await run(env, plan(tranches=2))
    code, text = _main("history", "--compact")
    assert code == 0 and "compacted 0 partition(s)" in text


def test_resume_headless_finishes_an_unfinished_run(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _main("resume", "--headless")[0] == 2
    assert "no unfinished run" in capsys.readouterr().err
    with pytest.raises(Crash):
        asyncio.run(run(env, plan(tranches=4, duration="4s"), extra=CrashAfter(2)))
    code, text = _main("resume", "--headless", "--speed", "1000", "--missed", "skip")
    assert code == 0
    assert "Resuming run" in text and "2 of 4 tranches recorded" in text
    # Said once; the next line is the plan, from the tranche it goes on with.
    assert text.count("Resuming run") == 1
    assert ", from tranche 3: buy " in text.splitlines()[1]
    # The run's time is long gone: tranche 3 is skipped as missed, the last one buys the rest.
    assert "skipped (its slot passed while stopped)" in text
    summaries = History(env).run_summaries()
    assert summaries["status"].to_list() == ["finished"]
    assert summaries["qty_btc"][0] == Decimal("1.23456789")


def test_a_broken_config_or_data_dir_exits_2(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config.toml").write_text('[venues.kraken]\ntaker_fee = "abc"\n')
    assert _main("run", "--headless", "--demo", "--amount", "1", "--duration", "1h")[0] == 2
    assert "venues.kraken.taker_fee: 'abc' is not a decimal fraction" in capsys.readouterr().err
    (tmp_path / "config.toml").unlink()
    (tmp_path / "blocker").write_text("x")
    code, _ = _main("history", "--data-dir", str(tmp_path / "blocker" / "data"))
    assert code == 2
    assert "is not writable" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("{tmp}", "is a folder; give a file name, like"),
        ("", "needs a file name, like runs.csv"),
        ("/proc/nope.csv", "cannot write /proc/nope.csv: "),
        ("/dev/full", "cannot write /dev/full: No space left on device"),
        ("{tmp}/no/such/dir/x.csv", "folder {tmp}/no/such/dir does not exist"),
    ],
)
async def test_a_csv_path_that_cannot_be_written_is_one_line_naming_csv_and_exit_2(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str, message: str
) -> None:
    await run(env, plan(tranches=2))
    code, text = _main("history", "--csv", target.format(tmp=tmp_path))
    err = capsys.readouterr().err
    assert (code, text) == (2, "")
    assert err.count("\n") == 1 and err.startswith("btc-dca: --csv: ")
    assert message.format(tmp=tmp_path) in err
    assert not (tmp_path / "no").exists()  # no folders made outside the data dir


async def test_a_csv_folder_inside_the_data_dir_is_created(env: Path) -> None:
    await run(env, plan(tranches=2))
    code, text = _main("history", "--csv", str(env / "exports" / "runs.csv"))
    assert code == 0 and text == f"wrote 1 row to {env / 'exports' / 'runs.csv'}\n"


async def test_the_runs_table_shows_bought_of_target_both_averages_and_a_legend(
    env: Path,
) -> None:
    await run(env, plan(tranches=2, max_price="1", amount="0.5"))
    summary, _, run_id = await run(env, plan(tranches=3, amount="0.3"))
    assert _main("history")[0] == 0
    text = _main("history")[1]
    lines = text.splitlines()
    assert lines[0].split() == [
        "when", "(UTC)", "run", "status", "bought", "BTC", "of",
        "avg", "price", "avg", "cost", "total", "saved", "vs", "worst", "vs", "arrival",
    ]  # fmt: skip
    mine = next(line for line in lines if run_id in line)
    assert mine.split()[4:6] == ["0.30000000", "0.30000000"]
    cost = (summary.total / summary.qty).quantize(Decimal("0.01"))
    assert summary.avg_price is not None
    assert f"{cost:,}" in mine and f"{summary.avg_price.quantize(Decimal('0.01')):,}" in mine
    short = lines[3].split()
    assert short[3:6] == ["incomplete", "0.00000000", "0.50000000"]
    assert "0E" not in text and "e-" not in text
    assert lines[-1].startswith("avg price: the books' price per BTC before fees; avg cost: ")


async def test_skipped_tranches_read_in_words(env: Path) -> None:
    _, _, run_id = await run(env, plan(tranches=2, max_price="1", amount="0.5"))
    text = _main("history", "--run", run_id)[1]
    assert "skipped: above the maximum price" in text and "above_max_price" not in text
    assert "0.25000000" in text  # what the tranche was asked to buy


async def test_an_offset_past_the_end_says_how_many_runs_there_are(env: Path) -> None:
    for _ in range(2):
        await run(env, plan(tranches=2))
    code, text = _main("history", "--offset", "100")
    assert (code, text.strip()) == (0, f"No runs from --offset 100: there are 2 runs in {env}.")
    # Numbers past any count of runs mean "past the end" and "all", not an overflow.
    huge = "99999999999999999999"
    code, text = _main("history", "--offset", huge)
    assert (code, text.strip()) == (
        0,
        f"No runs from --offset {int(huge):,}: there are 2 runs in {env}.",
    )
    code, text = _main("history", "--json", "--limit", huge)
    assert code == 0 and len(text.splitlines()) == 2


def test_a_closed_pipe_ends_every_command_quietly(tmp_path: Path) -> None:
    data = tmp_path / "d"
    asyncio.run(run(data, plan(tranches=2)))
    asyncio.run(run(data, plan(tranches=2)))
    env = {**os.environ, "BTC_DCA_DATA_DIR": str(data), "BTC_DCA_CONFIG": str(tmp_path / "c")}
    for args in (["history", "--json"], ["history"], ["quote", "--demo", "--amount", "1"]):
        with subprocess.Popen(
            [sys.executable, "-m", "tui.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        ) as proc:
            assert proc.stdout is not None and proc.stderr is not None
            proc.stdout.close()  # like `| head -0`: the reader is gone before anything is read
            err = proc.stderr.read().decode()
            code = proc.wait(timeout=60)
        assert "Traceback" not in err and "BrokenPipe" not in err, (args, err)
        assert code in (0, 130), (args, code)


async def test_backtests_are_listed_apart_with_their_cost_vs_arrival(tmp_path: Path) -> None:
    from dca.plan import build_plan
    from exchanges.clock import SimClock
    from exchanges.simulated import SimulatedMarket
    from exchanges.venues import DEFAULT_SPECS
    from storage.backtest import replay as bt
    from storage.market.recorder import record_simulated

    start = 1_767_225_600.0
    data = tmp_path / "data"
    record_simulated(
        SimulatedMarket(SimClock(start)),
        ["kraken", "okx"],
        data,
        start,
        start + 3600,
        interval_s=30,
    )
    plan = build_plan(
        amount="0.2", duration="1h", tranches=2, venues=["kraken", "okx"], specs=DEFAULT_SPECS
    )
    prepared = bt.prepare(data, plan, start, max_age_s=60)
    outcome = await bt.replay(prepared, DEFAULT_SPECS, bt.BatchJournal(data))
    code, text = _main("history", "--data-dir", str(data))
    assert code == 0
    lines = text.splitlines()
    assert lines[0] == "Backtests (replayed over recorded books):"
    row = next(line for line in lines if outcome.run_id in line)
    shortfall = outcome.summary.quality.shortfall_bps
    assert shortfall is not None and row.endswith(f"{float(shortfall):+.1f} bps")
