"""``btc-dca record``: keep the venues' books and write them to the ``market/`` dataset.

Runs until ``--duration`` has passed or Ctrl-C (exit 130; whatever was taken is written,
in whole files). A line a minute says what was written and which venues are live.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from typing import TextIO

from dca.plan import build_plan, format_duration, parse_duration
from exchanges.venues import display_name
from storage.market.recorder import Recorder, RecorderStats
from tui.cli import exits
from tui.cli.exits import quiet_stdout
from tui.cli.options import UsageError, load_app_config, prepare_storage
from tui.wiring import Options, make_clock, make_market


def size_text(n: int) -> str:
    """``812 B``, ``1.2 MB``."""
    value = float(n)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} GB"


def stats_line(stats: RecorderStats) -> str:
    """``12:01:00  recorded 354 snapshots (1.2 MB in 6 files) in 1m; live: ...; down: ...``."""
    clock = time.strftime("%H:%M:%S", time.gmtime(stats.now))
    live = ", ".join(display_name(v) for v in stats.live) or "none"
    down = "".join(f"; {display_name(v)} out: {why}" for v, why in stats.down.items())
    return (
        f"{clock}  recorded {stats.snapshots:,} snapshots ({size_text(stats.bytes)} in "
        f"{stats.files} files) in {format_duration(stats.now - stats.started)}; "
        f"live: {live}{down}"
    )


def command(ns: argparse.Namespace, options: Options, out: TextIO) -> int:
    """Record until the duration ends or Ctrl-C."""
    config = load_app_config(options)
    specs = dict(config.specs)
    # The venue and quote rules are a plan's: the same messages name the same options.
    plan = build_plan(
        amount="1",
        duration="1s",
        tranches=1,
        quote=options.quote or "USD",
        venues=options.venues,
        specs=specs,
    )
    if ns.depth < 1 or ns.depth > 1000:
        raise UsageError("--depth: must be from 1 to 1000 levels")
    interval = _duration("--interval", ns.interval)
    duration = _duration("--duration", ns.duration) if ns.duration else None
    if interval < 0.05:
        raise UsageError("--interval: must be at least 0.05s")
    if duration is not None and duration <= 0:
        raise UsageError("--duration: must be longer than 0s (leave it out to record until Ctrl-C)")
    paths = prepare_storage(options)
    clock = make_clock(options)
    market = make_market(options, specs, clock, plan.quote, plan.venues)

    closed = False

    def report(stats: RecorderStats) -> None:
        nonlocal closed
        try:
            print(stats_line(stats), file=out, flush=True)
        except BrokenPipeError:
            # The reader went away (``btc-dca record | head -1``): stop as Ctrl-C does,
            # quietly, keeping what was taken; exit 130 like every other command.
            closed = True
            quiet_stdout(out)
            recorder.stop()

    recorder = Recorder(
        market,
        plan.venues,
        paths.data_dir,
        clock,
        depth=ns.depth,
        interval_s=interval,
        keep_days=config.record_keep_days,
        source="demo" if options.demo else "live",
        report_every_s=60.0,  # of the clock: a line a minute (a second of a 60x demo)
        on_report=report,
    )
    print(
        f"Recording {', '.join(display_name(v) for v in plan.venues)} in {plan.quote}: "
        f"top {ns.depth} levels a side every {format_duration(interval)} when changed, to "
        f"{paths.data_dir / 'market'}"
        + (f", for {format_duration(duration)}" if duration is not None else "; Ctrl-C stops"),
        file=out,
        flush=True,
    )
    code = asyncio.run(_record(recorder, duration, out))
    return exits.EXIT_INTERRUPTED if closed else code


async def _record(recorder: Recorder, duration: float | None, out: TextIO) -> int:
    """Run the recorder with Ctrl-C and SIGTERM wired to a clean stop."""
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        interrupted = True
        recorder.stop()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupt)
    try:
        await recorder.market.start()
        stats = await recorder.run(duration)
    except OSError as exc:
        print(f"btc-dca: cannot write to {recorder.data_dir}: {exc}", file=sys.stderr)
        return exits.EXIT_FAILED
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        await recorder.market.close()
    print(("Stopped: " if interrupted else "Done: ") + stats_line(stats), file=out, flush=True)
    return exits.EXIT_INTERRUPTED if interrupted else exits.EXIT_OK


def _duration(option: str, text: str) -> float:
    """``text`` as seconds; a UsageError naming ``option`` when it is not a duration."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
