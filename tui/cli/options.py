"""What every command needs from its arguments: options, config, venue specs, storage.

A command module asks for what it uses; nothing here loads polars or Textual.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dca.plan import Plan, StandingInput, build_plan
from exchanges.venues import VenueSpec
from storage.config import (
    AppConfig,
    ConfigError,
    NamedPlan,
    ensure_config,
    load_config,
)
from storage.logs import setup_logging
from storage.paths import Paths, default_config_file, ensure_writable, resolve_paths, tighten
from tui.wiring import Options

if TYPE_CHECKING:
    from storage.history.journal import ParquetJournal

log = logging.getLogger(__name__)

# The demo clock's fastest speed: faster, a moment of real overhead is weeks of demo time.
MAX_SPEED = 10_000.0
# Its slowest: slower, the simulated venues' answers (and timeouts) take minutes of real time.
MIN_SPEED = 0.1


class UsageError(Exception):
    """Bad input on the command line; the message names the option."""


@dataclass(frozen=True, slots=True)
class OpenDashboard:
    """A command's answer that the dashboard should open (on ``plan``, or to resume ``run_id``)."""

    plan: Plan | None = None
    run_id: str | None = None


def parse_options(ns: argparse.Namespace, env: Mapping[str, str]) -> Options:
    """The options common to every command, from its arguments over the environment."""
    speed: float | None = None
    raw_speed = getattr(ns, "speed", None)
    if raw_speed is not None:
        try:
            speed = float(raw_speed)
        except ValueError:
            raise UsageError(f"--speed: {raw_speed!r} is not a number") from None
        if not speed > 0 or speed == float("inf"):
            raise UsageError("--speed: must be a number above 0")
        if speed < MIN_SPEED:
            raise UsageError(
                f"--speed: at least {MIN_SPEED} (1 is real time); slower, the simulated "
                "venues would take minutes to answer"
            )
        if speed > MAX_SPEED:
            raise UsageError(
                f"--speed: at most {MAX_SPEED:,.0f} (a week of demo time a minute); "
                f"{raw_speed} would date tranches years ahead"
            )
    command = getattr(ns, "command", None)
    if speed is not None and not getattr(ns, "demo", False) and command != "resume":
        # Only the simulated market has a clock to speed up: live venues run in real time.
        raise UsageError("--speed: only with --demo (the simulated market's clock)")
    given_dir = getattr(ns, "data_dir", None)
    if given_dir is not None and not str(given_dir).strip():
        raise UsageError("--data-dir: empty; give a folder (or leave it out for the default)")
    given_config = getattr(ns, "config", None)
    if given_config is not None:
        check_config_flag(str(given_config))
    venues = getattr(ns, "venues", None)
    config = Path(given_config) if given_config else None
    config = config or (Path(env["BTC_DCA_CONFIG"]) if env.get("BTC_DCA_CONFIG") else None)
    data_dir = Path(given_dir) if given_dir else None
    data_dir = data_dir or (Path(env["BTC_DCA_DATA_DIR"]) if env.get("BTC_DCA_DATA_DIR") else None)
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


def check_config_flag(text: str) -> None:
    """Refuse a ``--config`` that names no file: a mistyped path would otherwise run on a
    fresh default config without a word. Only the default location is created at first start.
    """
    if not text.strip():
        raise UsageError("--config: empty; give a file (or leave it out for the default)")
    path = Path(text)
    if path.expanduser().exists():
        return
    default = default_config_file()
    if path.expanduser().resolve() == default.resolve():
        return
    raise UsageError(
        f"--config: {path} does not exist (only the default, {default}, is created at "
        "first start); create it first to keep a config there (an empty file means every default)"
    )


def load_app_config(options: Options) -> AppConfig:
    """The config file in force (written with comments at first start); ConfigError if broken."""
    paths = resolve_paths(options.data_dir, options.config)
    try:
        ensure_config(paths.config_file)
    except OSError as exc:
        raise ConfigError(f"{paths.config_file}: cannot be created: {exc.strerror}") from exc
    config = load_config(paths.config_file)
    for warning in config.warnings:
        print(f"btc-dca: warning: {warning}", file=sys.stderr)
    return config


def named(ns: argparse.Namespace, config: AppConfig) -> NamedPlan | None:
    """The ``[plans.NAME]`` that ``--plan NAME`` asks for (UsageError naming it if none)."""
    name = getattr(ns, "plan", None)
    if name is None:
        return None
    found = config.plans.get(name)
    if found is None:
        known = ", ".join(sorted(config.plans)) or "none yet"
        where = f" in {config.path}" if config.path else ""
        raise UsageError(f"--plan: no plan {name!r}{where} (known: {known})")
    return found


def plan_from_args(
    ns: argparse.Namespace,
    options: Options,
    specs: Mapping[str, VenueSpec],
    *,
    duration: str | float | None,
    preset: NamedPlan | None = None,
) -> Plan:
    """The plan ``run`` and ``backtest`` build from ``--amount`` (or ``--spend``),
    ``--tranches``, ``--jitter`` and the shared options, over ``duration``.

    ``preset`` (``--plan NAME``) fills in every field the flags leave out; a flag given
    overrides the plan's field (``--amount`` or ``--spend`` replace the plan's goal).
    """
    p = preset or NamedPlan("")
    amount, spend = ns.amount, getattr(ns, "spend", None)
    if amount is None and spend is None:
        amount, spend = p.amount, p.spend
    if amount is None and spend is None:
        raise UsageError("--amount: required (BTC to buy), or --spend (money to spend)")
    # A window given on the command line replaces a standing preset's calendar, and
    # --every replaces a preset's window: the flags win, as for every field.
    window_flag = duration is not None or ns.tranches is not None
    every_flag = getattr(ns, "every", None) is not None
    if every_flag:
        p = replace(p, duration=None, tranches=None)
    elif window_flag:
        p = replace(p, every=None, at=None, tz=None, until=None, budget=None, missed=None)
    duration = duration if duration is not None else p.duration
    tranches = ns.tranches if ns.tranches is not None else p.tranches
    return build_plan(
        amount=amount,
        spend=spend,
        duration=duration,
        schedule=standing_input(ns, p),
        tranches=tranches,
        quote=options.quote or p.quote or "USD",
        venues=options.venues or p.venues,
        mode=options.mode or p.mode or "single",
        max_price=options.max_price or p.max_price,
        jitter=bool(ns.jitter or p.jitter),
        seed=options.seed,
        specs=specs,
    )


def standing_input(ns: argparse.Namespace, preset: NamedPlan | None = None) -> StandingInput:
    """A standing plan's flags as typed (``--every``, ``--at``, ...), each over ``preset``'s
    field (``--plan NAME``); all None for ``backtest``."""
    p = preset or NamedPlan("")

    def flag(name: str) -> str | None:
        given = getattr(ns, name, None)
        return str(given) if given is not None else getattr(p, name)

    return StandingInput(
        every=flag("every"),
        at=flag("at"),
        tz=flag("tz"),
        until=flag("until"),
        budget=flag("budget"),
        missed=flag("missed"),
        now=time.time(),
    )


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
    for folder in dict.fromkeys((paths.data_dir, paths.log_dir)):
        # Made under the umask by a version before files were private: close it once.
        old = tighten(folder)
        if old is not None:
            said = (
                f"{folder} was open to other accounts (mode {old:04o}); made it 0700, "
                "so nothing inside can be reached by them"
            )
            log.warning(said)
            print(f"btc-dca: {said}", file=sys.stderr)
    if compact:
        from storage.history.compaction import compact_in_background

        compact_in_background(paths.data_dir)
    return paths


def journal_for(options: Options, paths: Paths) -> ParquetJournal:
    """The Parquet journal a run of these options records to (polars loads here)."""
    from storage.history.journal import ParquetJournal

    source = "demo" if options.demo else "live"
    return ParquetJournal(
        paths.data_dir, source=source, speed=options.demo_speed if options.demo else None
    )
