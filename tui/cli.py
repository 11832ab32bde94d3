"""The ``btc-dca`` command line: the dashboard by default, plain commands for scripts.

Exit codes: 0 done, 2 invalid input (the message names the field), 3 no venue
could be reached, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from dca.plan import Plan, PlanInvalid, build_plan
from dca.routing import Mode
from exchanges.venues import QUOTES, VENUE_IDS, VenueSpec
from storage.config import AppConfig, ConfigError, ensure_config, load_config
from storage.logs import setup_logging
from storage.paths import DataDirError, Paths, describe_locations, ensure_writable, resolve_paths
from tui import exits
from tui.wiring import DEFAULT_DEMO_SPEED, LiveUnavailable, Options, make_clock, make_market

if TYPE_CHECKING:
    from storage.journal import ParquetJournal

EPILOG = f"""\
venues: {", ".join(VENUE_IDS)}.  quote currencies: {", ".join(QUOTES)}.
durations: 90s, 30m, 6h, 2d.  exit codes: 0 done, 2 invalid input, 3 no venue reachable,
130 interrupted.  environment: BTC_DCA_CONFIG, BTC_DCA_DATA_DIR, BTC_DCA_LOG_DIR,
BTC_DCA_<VENUE>_REST_URL / BTC_DCA_<VENUE>_WS_URL.
default locations: {describe_locations()}
"""


class UsageError(Exception):
    """Bad input on the command line; the message names the option."""


def _common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options every command takes (defaults suppressed on subcommands so either place works)."""
    d = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--demo",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="use the built-in simulated market (no network)",
    )
    parser.add_argument(
        "--speed",
        type=str,
        default=d,
        metavar="FACTOR",
        help=f"demo clock speed (default {DEFAULT_DEMO_SPEED:g}x)",
    )
    parser.add_argument(
        "--config", type=Path, default=d, metavar="PATH", help="config file (env BTC_DCA_CONFIG)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=d,
        metavar="PATH",
        help="history folder (env BTC_DCA_DATA_DIR)",
    )
    parser.add_argument(
        "--quote", default=d, metavar="CCY", help="quote currency: USD (default), USDT, USDC, EUR"
    )
    parser.add_argument(
        "--venues",
        default=d,
        metavar="A,B",
        help="comma-separated venue ids (default: all enabled)",
    )
    parser.add_argument(
        "--mode",
        default=d,
        choices=[m.value for m in Mode],
        help="single venue per tranche or split across venues",
    )
    parser.add_argument(
        "--max-price",
        default=d,
        metavar="PRICE",
        help="skip tranches whose price per BTC (fees in) is above this",
    )
    parser.add_argument(
        "--seed", type=int, default=d, help="seed of the simulated market and the jitter"
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="debug logging",
    )


def _history_parsers(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    common: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Register ``history`` and ``resume`` on the CLI's subparsers."""
    h = sub.add_parser("history", help="past runs, or one run's tranches; CSV/JSON export")
    common(h)
    h.add_argument("--run", metavar="RUN_ID", help="show this run's tranches")
    out = h.add_mutually_exclusive_group()
    out.add_argument("--csv", type=Path, metavar="PATH", help="write the table as CSV to PATH")
    out.add_argument("--json", action="store_true", help="print one JSON object per row")
    out.add_argument(
        "--compact", action="store_true", help="merge small files of past days (keeps every row)"
    )
    h.add_argument("--limit", type=int, default=50, metavar="N", help="runs shown (0: all)")
    h.add_argument("--offset", type=int, default=0, metavar="N", help="skip the newest N runs")

    r = sub.add_parser("resume", help="continue an unfinished run (the latest by default)")
    common(r)
    r.add_argument("run_id", nargs="?", metavar="RUN_ID", help="the run to continue")
    r.add_argument("--headless", action="store_true", help="no dashboard: a line per tranche")
    r.add_argument(
        "--missed",
        # storage.resume.Missed's values (spelled out: that module loads polars).
        choices=["catch-up", "skip"],
        default="catch-up",
        help="tranches whose time passed while stopped: run them now (default) or skip them",
    )
    r.add_argument("--json", action="store_true", help="one JSON object per line")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    parser = argparse.ArgumentParser(
        prog="btc-dca",
        description="Buy BTC by dollar-cost averaging at the best real price across exchanges "
        "(paper execution: no orders are placed, no keys needed). "
        "Without a command: the dashboard.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    q = sub.add_parser("quote", help="best total price for an amount, per venue and overall")
    _common(q, suppress=True)
    q.add_argument("--amount", required=True, metavar="BTC", help="amount of BTC to price")
    q.add_argument("--json", action="store_true", help="one JSON object (money as decimal strings)")

    r = sub.add_parser("run", help="execute a plan (headless with --headless)")
    _common(r, suppress=True)
    r.add_argument("--headless", action="store_true", help="no dashboard: a line per tranche")
    r.add_argument("--amount", required=True, metavar="BTC", help="total BTC to buy")
    r.add_argument("--duration", required=True, metavar="D", help="time window: 90s, 30m, 6h, 2d")
    r.add_argument("--tranches", metavar="N", help="number of tranches (default: one per hour)")
    r.add_argument(
        "--jitter", action="store_true", help="shift each tranche at random within its slot"
    )
    r.add_argument("--json", action="store_true", help="one JSON object per line")
    _history_parsers(sub, lambda p: _common(p, suppress=True))
    return parser


def _options(ns: argparse.Namespace, env: Mapping[str, str]) -> Options:
    speed: float | None = None
    raw_speed = getattr(ns, "speed", None)
    if raw_speed is not None:
        try:
            speed = float(raw_speed)
        except ValueError:
            raise UsageError(f"--speed: {raw_speed!r} is not a number") from None
        if not speed > 0 or speed == float("inf"):
            raise UsageError("--speed: must be a number above 0")
    venues = getattr(ns, "venues", None)
    config = getattr(ns, "config", None) or (
        Path(env["BTC_DCA_CONFIG"]) if env.get("BTC_DCA_CONFIG") else None
    )
    data_dir = getattr(ns, "data_dir", None) or (
        Path(env["BTC_DCA_DATA_DIR"]) if env.get("BTC_DCA_DATA_DIR") else None
    )
    return Options(
        demo=bool(getattr(ns, "demo", False)),
        speed=speed,
        quote=getattr(ns, "quote", None),
        venues=tuple(v for v in venues.split(",")) if venues is not None else None,
        mode=getattr(ns, "mode", None),
        max_price=getattr(ns, "max_price", None),
        config=config,
        data_dir=data_dir,
        verbose=bool(getattr(ns, "verbose", False)),
        seed=7 if getattr(ns, "seed", None) is None else ns.seed,
    )


def load_app_config(options: Options) -> AppConfig:
    """The config file in force (written with comments at first start); ConfigError if broken."""
    paths = resolve_paths(options.data_dir, options.config)
    try:
        ensure_config(paths.config_file)
    except OSError as exc:
        raise ConfigError(f"{paths.config_file}: cannot be created: {exc.strerror}") from exc
    return load_config(paths.config_file)


def load_specs(options: Options) -> dict[str, VenueSpec]:
    """Venue specs in force: defaults, then the config file, then the URL env overrides."""
    return dict(load_app_config(options).specs)


def prepare_storage(options: Options, *, compact: bool = True) -> Paths:
    """Check the data dir is writable (before any run starts), open the log, compact old days.

    ``compact=False`` for a command that compacts in the foreground itself.
    """
    paths = resolve_paths(options.data_dir, options.config)
    ensure_writable(paths.data_dir)
    setup_logging(paths.log_dir, verbose=options.verbose)
    if compact:
        from storage.compaction import compact_in_background

        compact_in_background(paths.data_dir)
    return paths


def _journal(options: Options, paths: Paths) -> ParquetJournal:
    from storage.journal import ParquetJournal

    source = "demo" if options.demo else "live"
    return ParquetJournal(
        paths.data_dir, source=source, speed=options.demo_speed if options.demo else None
    )


def _quote(ns: argparse.Namespace, options: Options, out: TextIO) -> int:
    specs = load_specs(options)
    # A quote is a one-tranche plan: the same validation names the same fields.
    plan = build_plan(
        amount=ns.amount,
        duration="1s",
        tranches=1,
        quote=options.quote or "USD",
        venues=options.venues,
        mode=options.mode or "single",
        max_price=options.max_price,
        specs=specs,
    )
    clock = make_clock(options)
    market = make_market(options, specs, clock, plan.quote, plan.venues)
    from tui import headless

    return asyncio.run(headless.quote_command(market, plan, ns.json, out))


def _run(ns: argparse.Namespace, options: Options, out: TextIO) -> int:
    specs = load_specs(options)
    plan = build_plan(
        amount=ns.amount,
        duration=ns.duration,
        tranches=ns.tranches,
        quote=options.quote or "USD",
        venues=options.venues,
        mode=options.mode or "single",
        max_price=options.max_price,
        jitter=ns.jitter,
        seed=options.seed,
        specs=specs,
    )
    if not ns.headless:
        return _dashboard(options, plan=plan)
    paths = prepare_storage(options)
    clock = make_clock(options)
    market = make_market(options, specs, clock, plan.quote, plan.venues)
    journal = _journal(options, paths)
    from tui import headless

    return asyncio.run(
        headless.run_command(plan, market, clock, out, as_json=ns.json, journal=journal)
    )


def _dashboard(options: Options, plan: Plan | None = None, run_id: str | None = None) -> int:
    """The dashboard, its form filled from ``plan`` when the command line gave one."""
    from tui.app import run_dashboard  # Textual is imported only for the dashboard.

    # The app compacts in the background once its first frame is up (polars loads then).
    prepare_storage(options, compact=False)
    return run_dashboard(options, plan, run_id)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of ``btc-dca``; returns the exit code."""
    out = out or sys.stdout
    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        options = _options(ns, os.environ)
        if ns.command == "quote":
            return _quote(ns, options, out)
        if ns.command == "run":
            return _run(ns, options, out)
        if ns.command == "history":
            paths = prepare_storage(options, compact=not ns.compact)
            from tui import history_cmd

            return history_cmd.history_command(ns, paths.data_dir, out)
        if ns.command == "resume":
            specs = load_specs(options)
            if not ns.headless:
                return _dashboard(options, run_id=ns.run_id)
            paths = prepare_storage(options)
            from tui import history_cmd

            return history_cmd.resume_command(ns, options, specs, paths.data_dir, out)
        return _dashboard(options)
    except PlanInvalid as exc:
        for error in exc.errors:
            print(f"btc-dca: --{error.field.replace('_', '-')}: {error.message}", file=sys.stderr)
        return exits.EXIT_INVALID
    except (UsageError, ConfigError, DataDirError) as exc:
        print(f"btc-dca: {exc}", file=sys.stderr)
        return exits.EXIT_INVALID
    except LiveUnavailable as exc:
        print(f"btc-dca: {exc}", file=sys.stderr)
        return exits.EXIT_NO_VENUE
    except KeyboardInterrupt:
        return exits.EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
