"""The argument parser of ``btc-dca``: every command's options, in one place.

Building it loads no command: ``--help`` and a fast command pay for argparse only.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from btc_dca import __version__
from dca.routing import Mode
from exchanges.venues import QUOTES, VENUE_IDS
from storage.paths import describe_locations
from tui.fmt import LEGEND
from tui.wiring import DEFAULT_DEMO_SPEED

EPILOG = f"""\
venues: {", ".join(VENUE_IDS)}.  quote currencies: {", ".join(QUOTES)}.
durations: 90s, 30m, 6h, 2d, 2h30m.  exit codes: 0 done, 1 the run failed, 2 invalid input,
3 no venue reachable, 4 short of the amount (run: incomplete; quote: cannot fill it),
130 interrupted (Ctrl-C, or the reader of the output went away).
run statuses: running; paused, interrupted, failed (resumable); cancelled, incomplete, finished,
abandoned.
environment: BTC_DCA_CONFIG, BTC_DCA_DATA_DIR, BTC_DCA_LOG_DIR,
BTC_DCA_<VENUE>_REST_URL / BTC_DCA_<VENUE>_WS_URL.
default locations: {describe_locations()}
"""


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
        help=f"demo clock speed (default {DEFAULT_DEMO_SPEED:g}x, from 0.1x to 10000x)",
    )
    parser.add_argument(
        # Text, not Path: Path("") is "." and an empty value must be refused, not read as here.
        "--config",
        default=d,
        metavar="PATH",
        help="config file (env BTC_DCA_CONFIG)",
    )
    parser.add_argument(
        "--data-dir",
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
    h = sub.add_parser(
        "history",
        help="past runs, or one run's tranches; CSV/JSON export",
        epilog=f"Columns: {LEGEND} Tranches are numbered from 1; a skipped one bought 0 BTC.",
    )
    common(h)
    h.add_argument("--run", metavar="RUN_ID", help="show this run's tranches")
    out = h.add_mutually_exclusive_group()
    out.add_argument("--csv", metavar="PATH", help="write the table as CSV to PATH (- for stdout)")
    out.add_argument("--json", action="store_true", help="print one JSON object per row")
    out.add_argument(
        "--compact", action="store_true", help="merge small files of past days (keeps every row)"
    )
    h.add_argument("--limit", type=int, default=50, metavar="N", help="runs shown (0: all)")
    h.add_argument("--offset", type=int, default=0, metavar="N", help="skip the newest N runs")

    r = sub.add_parser("resume", help="continue an unfinished run (the latest by default)")
    common(r)
    r.add_argument("run_id", nargs="?", metavar="RUN_ID", help="the run to continue")
    r.add_argument(
        "--standing",
        action="store_true",
        help="every stopped standing plan (run --every), each in a background process of "
        "its own (what btc-dca service install runs at boot)",
    )
    r.add_argument("--headless", action="store_true", help="no dashboard: a line per tranche")
    _rest_flag(r)
    r.add_argument(
        "--missed",
        # storage.history.resume.Missed's values (spelled out: that module loads polars).
        choices=["catch-up", "skip"],
        default="catch-up",
        help="tranches whose time passed while stopped: run them now (default) or skip them",
    )
    r.add_argument("--json", action="store_true", help="one JSON object per line")
    r.add_argument(
        "--detach",
        action="store_true",
        help="continue it in a background process that outlives the terminal",
    )
    r.add_argument("--detached-child", action="store_true", help=argparse.SUPPRESS)
    r.add_argument(
        "--yes",
        action="store_true",
        help="a live run: continue with real orders without asking (needed without a terminal)",
    )


def _live_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--live",
        action="store_true",
        help="REAL ORDERS: buy on the venues with your API keys (see btc-dca live check)",
    )
    parser.add_argument(
        "--yes",
        action="store_true",
        help="with --live: send real orders without the typed confirmation (needed without "
        "a terminal)",
    )


def _live_parsers(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    common: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Register ``live check`` and ``keys``."""
    live = sub.add_parser("live", help="real orders: live check (places nothing)")
    common(live)
    live_sub = live.add_subparsers(dest="live_command", metavar="check", required=True)
    check = live_sub.add_parser(
        "check",
        help="per venue: key, balances, fee, withdraw permission, a validated test order; "
        "exit 3 if a venue cannot trade",
    )
    common(check)
    check.add_argument("--json", action="store_true", help="one JSON object")
    keys = sub.add_parser("keys", help="API keys in the OS keyring: set, list, delete")
    common(keys)
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="set|list|delete", required=True)
    for name, what in (
        ("set", "store a venue's key (prompted, never echoed)"),
        ("delete", "remove a venue's key"),
    ):
        k = keys_sub.add_parser(name, help=what)
        common(k)
        k.add_argument("venue", metavar="VENUE")
    common(keys_sub.add_parser("list", help="which venues have a key, and where"))


def _background_parsers(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    common: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Register ``status``, ``pause``, ``unpause``, ``cancel``, ``notify`` and ``serve``."""
    s = sub.add_parser("status", help="runs in progress in any process (dashboard or background)")
    common(s)
    s.add_argument("--json", action="store_true", help="one JSON object per run in progress")
    for name, what in (
        ("pause", "pause a run in progress in another process"),
        ("unpause", "continue a paused run in another process"),
        ("cancel", "cancel a run in progress in another process (bought tranches stay)"),
    ):
        c = sub.add_parser(name, help=what)
        common(c)
        c.add_argument(
            "run_id",
            metavar="RUN_ID",
            nargs="?",
            help="the run (see btc-dca status); may be left out while only one is in progress",
        )
    a = sub.add_parser(
        "abandon", help="give up a stopped run (paused, interrupted, failed) instead of resuming"
    )
    common(a)
    a.add_argument("run_id", metavar="RUN_ID", help="the run (see btc-dca history)")
    svc = sub.add_parser(
        "service",
        help="a user service that resumes standing plans at boot (systemd; launchd on macOS)",
    )
    common(svc)
    svc_sub = svc.add_subparsers(dest="service_command", metavar="install|remove", required=True)
    for name, what in (
        ("install", "write the systemd user unit and print how to enable it"),
        ("remove", "remove the unit (and print how to stop it)"),
    ):
        c = svc_sub.add_parser(name, help=what)
        common(c)
        c.add_argument(
            "--unit",
            metavar="PATH",
            help="the unit file (default ~/.config/systemd/user/btc-dca.service)",
        )
    n = sub.add_parser("notify", help="alerts: send a test message to every [notify] URL")
    common(n)
    n.add_argument("--test", action="store_true", required=True, help="send a test message")
    v = sub.add_parser("serve", help="the dashboard in a browser, behind a secret in its address")
    common(v)
    v.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    v.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    v.add_argument(
        "--public",
        action="store_true",
        help="allow a non-loopback --host (unencrypted: put TLS in front, or use an SSH tunnel)",
    )
    v.add_argument(
        "--token",
        help="the page's secret (default: a new random one each start; env "
        "BTC_DCA_SERVE_TOKEN is better: the command line is visible to other accounts)",
    )
    v.add_argument(
        "--allow-host",
        action="append",
        metavar="NAME",
        help="another host name the page is reached by (a TLS proxy's); repeatable",
    )


def _standing_flags(parser: argparse.ArgumentParser) -> None:
    """A standing plan's flags (``run --every``; docs/schedules.md)."""
    g = parser.add_argument_group(
        "a standing plan (no fixed end; instead of --duration and --tranches)"
    )
    g.add_argument(
        "--every",
        metavar="PERIOD",
        help="buy --spend (or --amount) every PERIOD: 2s, 30m, 6h, 1d, 1w, 1mo",
    )
    g.add_argument(
        "--at",
        metavar="WHEN",
        help='local time of each buy: "09:00", "mon 09:00" (weeks), "15 09:00" (months)',
    )
    g.add_argument(
        "--tz", metavar="ZONE", help="time zone of --at and --until (default: this machine's)"
    )
    g.add_argument(
        "--until", metavar="DATE", help="last day of buys: 2027-06-30 (or 2027-06-30 12:00)"
    )
    g.add_argument(
        "--budget",
        metavar="MONEY",
        help="stop once this much is spent (with --spend; the last buy spends what is left)",
    )
    g.add_argument(
        "--missed",
        metavar="POLICY",
        help="slots passed while the machine slept or the run was stopped: skip (default: "
        "record them skipped, buy at the next slot) or once (buy one of them now)",
    )


def _rest_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rest",
        action="store_true",
        help="headless: fetch each venue's REST book once per tranche instead of streaming "
        "(by default a headless run streams every venue like the dashboard, falling back to "
        "a REST snapshot for a tranche when a stream cannot vouch for its book)",
    )


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
    parser.add_argument("--version", action="version", version=f"btc-dca {__version__}")
    _common(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    q = sub.add_parser("quote", help="best total price for an amount, per venue and overall")
    _common(q, suppress=True)
    q.add_argument("--amount", required=True, metavar="BTC", help="amount of BTC to price")
    q.add_argument("--json", action="store_true", help="one JSON object (money as decimal strings)")

    r = sub.add_parser("run", help="execute a plan (headless with --headless)")
    _common(r, suppress=True)
    r.add_argument("--headless", action="store_true", help="no dashboard: a line per tranche")
    _rest_flag(r)
    r.add_argument(
        "--plan",
        metavar="NAME",
        help="a named plan from [plans.NAME] in the config; flags given override its fields",
    )
    r.add_argument("--amount", metavar="BTC", help="total BTC to buy")
    r.add_argument(
        "--spend",
        metavar="MONEY",
        help="a budget instead of --amount: this much of the quote currency, fees in, "
        "in equal tranches (docs/plans.md)",
    )
    r.add_argument(
        "--duration",
        metavar="D",
        help="time window (required unless --plan sets it): 90s, 30m, 6h, 2d, 2h30m",
    )
    r.add_argument("--tranches", metavar="N", help="number of tranches (default: one per hour)")
    r.add_argument(
        "--jitter", action="store_true", help="shift each tranche at random within its slot"
    )
    _standing_flags(r)
    r.add_argument("--json", action="store_true", help="one JSON object per line")
    r.add_argument(
        "--detach",
        action="store_true",
        help="run in a background process that outlives the terminal; prints the run id",
    )
    _live_flags(r)
    # The run id a detached run's process executes under (chosen by the command that started it).
    r.add_argument("--run-id", help=argparse.SUPPRESS)
    # Set by --detach on the background process it starts (its state says "detached").
    r.add_argument("--detached-child", action="store_true", help=argparse.SUPPRESS)
    _history_parsers(sub, lambda p: _common(p, suppress=True))
    _background_parsers(sub, lambda p: _common(p, suppress=True))
    _market_parsers(sub, lambda p: _common(p, suppress=True))
    pf = sub.add_parser(
        "portfolio",
        help="BTC, cost, fees, average cost, value and P/L across runs (never backtests)",
    )
    _common(pf, suppress=True)
    pf.add_argument(
        "--json", action="store_true", help="one JSON object (money as decimal strings)"
    )
    scope = pf.add_mutually_exclusive_group()
    scope.add_argument(
        "--paper", action="store_true", help="paper runs (default: real runs if any)"
    )
    scope.add_argument("--live", action="store_true", help="real runs (orders placed)")
    _live_parsers(sub, lambda p: _common(p, suppress=True))
    return parser


# Options that take a value that may start with "-": relative times (``--from -24h``), and
# any number or duration typed negative, which must reach the app's own check (exit 2,
# the field named) rather than argparse's "expected one argument".
_VALUE_OPTIONS = frozenset(
    {
        "--from",
        "--to",
        "--amount",
        "--duration",
        "--tranches",
        "--max-price",
        "--budget",
        "--spend",
        "--speed",
        "--seed",
        "--interval",
        "--max-age",
        "--depth",
        "--limit",
        "--offset",
        "--port",
    }
)


def join_relative_times(argv: Sequence[str]) -> list[str]:
    """``--from -24h`` as ``--from=-24h`` (and ``--duration -1h`` as ``--duration=-1h``):
    argparse would read ``-24h`` as an option."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if (
            arg in _VALUE_OPTIONS
            and nxt is not None
            and nxt.startswith("-")
            and (nxt[1:2].isdigit() or nxt[1:2] == ".")
        ):
            out.append(f"{arg}={nxt}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def _market_parsers(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    common: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Register ``record`` and ``backtest`` on the CLI's subparsers."""
    rec = sub.add_parser("record", help="record the venues' order books to the market/ dataset")
    common(rec)
    rec.add_argument(
        "--depth", type=int, default=50, metavar="N", help="levels kept a side (default 50)"
    )
    rec.add_argument(
        "--interval",
        default="1s",
        metavar="S",
        help="a snapshot per venue this often, when its book changed (default 1s)",
    )
    rec.add_argument("--duration", metavar="D", help="stop after this long (default: until Ctrl-C)")

    b = sub.add_parser("backtest", help="replay a plan over the recorded books")
    common(b)
    b.add_argument(
        "--from",
        dest="start",
        required=True,
        metavar="TIME",
        help="window start: ISO 8601 (UTC unless it says) or relative to now (-24h)",
    )
    b.add_argument("--to", dest="end", default="now", metavar="TIME", help="window end")
    b.add_argument("--amount", required=True, metavar="BTC", help="total BTC to buy")
    b.add_argument("--tranches", metavar="N", help="number of tranches (default: one per hour)")
    b.add_argument(
        "--jitter", action="store_true", help="shift each tranche at random within its slot"
    )
    b.add_argument(
        "--max-age",
        default="60s",
        metavar="S",
        help="a recorded book older than this at a tranche leaves its venue out (default 60s)",
    )
    b.add_argument(
        "--compare",
        action="store_true",
        help="also replay single, split, each venue alone and all at the start; side by side",
    )
    b.add_argument("--json", action="store_true", help="one JSON object per line")
