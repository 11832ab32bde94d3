"""From command-line options to a running dashboard: config, storage, market, exit code."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from dca.plan import Plan
from exchanges.clock import Clock
from exchanges.market import MarketData
from storage.config import (
    AppConfig,
    NamedPlan,
    PlanDefaults,
    ensure_config,
    load_config,
    save_plan,
    save_setting,
)
from storage.paths import Paths, resolve_paths
from tui import fmt
from tui.app import build_app
from tui.cli import exits
from tui.elsewhere import Elsewhere, Started
from tui.history.parquet import ParquetHistory
from tui.live_options import LiveOptions
from tui.recording import Recording
from tui.widgets.plan_form import FormDefaults
from tui.wiring import LiveUnavailable, Options, make_clock, make_market

if TYPE_CHECKING:
    import polars as pl

    from dca.journal import Journal
    from dca.lines import TrancheLine
    from dca.orders import OrderJournal
    from storage.history.portfolio import Portfolio
    from tui.screens.resume import ResumeOffer

log = logging.getLogger(__name__)

# CSV exports and screenshots go here, under the data dir (the notification says the path).
EXPORTS = "exports"


def window_plans(config: AppConfig) -> dict[str, NamedPlan]:
    """The named plans the form can hold: over a window (a standing plan, ``every``, has a
    calendar the form has no fields for: ``btc-dca run --plan NAME --detach`` starts it)."""
    return {name: p for name, p in config.plans.items() if p.every is None}


def unlisted_plans(config: AppConfig) -> tuple[str, ...]:
    """The named plans the form does not list (standing ones): the save dialog names them."""
    return tuple(name for name, p in config.plans.items() if p.every is not None)


def form_defaults(options: Options, config: AppConfig, plan: Plan | None) -> FormDefaults:
    """The form's starting values: a given plan, else the options over the config's defaults."""
    if plan is not None:
        return FormDefaults(
            amount="" if plan.spend is not None else str(plan.amount),
            spend="" if plan.spend is None else str(plan.spend),
            duration=f"{plan.duration_s:.0f}s",
            tranches="" if plan.tranches_defaulted else str(plan.tranches),
            quote=plan.quote,
            venues=plan.venues,
            mode=plan.mode.value,
            max_price="" if plan.max_price is None else str(plan.max_price),
            jitter=plan.jitter,
            plans=window_plans(config),
            unlisted=unlisted_plans(config),
        )
    d = config.plan
    if options.demo and d == PlanDefaults():
        # The demo shows a run moving at once: 24 tranches, one every 5 (demo) minutes.
        d = PlanDefaults(amount="0.5", duration="2h", tranches=24)
    return FormDefaults(
        amount=d.amount,
        duration=d.duration,
        tranches="" if d.tranches is None else str(d.tranches),
        quote=options.quote or d.quote,
        venues=options.venues or d.venues,
        mode=options.mode or d.mode,
        max_price=options.max_price or d.max_price or "",
        jitter=d.jitter,
        plans=window_plans(config),
        unlisted=unlisted_plans(config),
    )


def resume_offers(data_dir: Path, only: str | None = None) -> list[ResumeOffer]:
    """Every resumable run in ``data_dir``, newest first, whatever its quote currency
    (resuming one in another currency switches the market to it).

    ``only`` narrows the offer to one run (``btc-dca resume RUN_ID``).
    """
    # Polars loads here, in the offers worker after the first frame, not before it.
    from storage.history.resume import ResumeError, load_resumable, unfinished_runs
    from tui.screens.resume import ResumeOffer

    offers: list[ResumeOffer] = []
    for run_id in [only] if only else unfinished_runs(data_dir):
        try:
            r = load_resumable(data_dir, run_id)
        except ResumeError as exc:
            log.warning("run %s cannot be resumed: %s", run_id, exc)
            continue
        st = r.plan.standing
        label = (
            f"{run_id}  {r.status}  standing, {st.every.words()}: {fmt.btc(r.before.qty)} BTC "
            f"in {r.plan.quote}, {r.before.filled} bought"
            if st is not None
            else f"{run_id}  {r.status}  "
            + fmt.bought_of(
                r.before.qty, r.before.target, r.before.total, r.before.budget, r.plan.quote
            )
            + f" in {r.plan.quote}, {len(r.state.done)}/{r.plan.tranches} tranches done"
        )
        earlier = earlier_tranches(r.tranches)
        # A demo run's clock ran ahead of the wall clock: go on from its last tranche.
        clock_at = max((t.at for t in earlier), default=None) if r.source == "demo" else None
        if r.live:
            label = f"LIVE (real orders)  {label}"
        offers.append(ResumeOffer(r.plan, r.state, label, earlier, clock_at, live=r.live))
    return offers


def earlier_tranches(tranches: pl.DataFrame) -> tuple[TrancheLine, ...]:
    """A run's recorded tranches (``History.run_tranches``) as lines of its table, for
    when it is resumed."""
    from dca.lines import TrancheLine

    out: list[TrancheLine] = []
    for row in tranches.iter_rows(named=True):
        at = row["executed_at"].timestamp()
        if row["status"] == "filled":
            out.append(
                TrancheLine(
                    int(row["index"]),
                    int(row["of"]),
                    at,
                    row["qty_btc"],
                    venue=str(row["venue"]),
                    avg_price=row["avg_price"],
                    fee=row["fee"],
                    total=row["total"],
                    saved_vs_worst=row["saved_vs_worst"],
                )
            )
        else:
            out.append(
                TrancheLine(
                    int(row["index"]),
                    int(row["of"]),
                    at,
                    row["requested_btc"],
                    reason=str(row["reason"]),
                )
            )
    return tuple(out)


def _save_theme(config_file: Path) -> Callable[[str], None]:
    def save(name: str) -> None:
        try:
            save_setting(config_file, "ui.theme", name)
        except OSError as exc:
            log.warning("could not save the theme to %s: %s", config_file, exc)

    return save


def _portfolio(data_dir: Path) -> Callable[[], Portfolio]:
    def read() -> Portfolio:
        # Polars loads here, in the Portfolio screen's worker thread.
        from storage.history.portfolio import portfolio

        return portfolio(data_dir)

    return read


def _compact(data_dir: Path) -> Callable[[], None]:
    def compact() -> None:
        # Polars loads here, in the app's background thread after the first frame.
        from storage.history.compaction import compact_logged

        compact_logged(data_dir)

    return compact


def _elsewhere(options: Options, paths: Paths, config: AppConfig) -> Elsewhere:
    """Runs in other processes: the data dir's live files, and background processes to start."""
    where = (paths.data_dir, paths.config_file, paths.log_dir)

    # The command line's way of starting a background run, loaded when first used.
    def start(plan: Plan) -> Started:
        from tui.cli import detach

        d = detach.detach_plan(plan, options, *where)
        return Started(d.run_id, d.pid, d.log_file, d.ended.describe() if d.ended else None)

    def hand_over(run_id: str) -> Started:
        from tui.cli import detach

        d = detach.hand_over(run_id, options, *where)
        return Started(d.run_id, d.pid, d.log_file, d.ended.describe() if d.ended else None)

    return Elsewhere(paths.data_dir, start, hand_over, config.notify, cli=paths.cli)


def _recorder(
    data_dir: Path, clock: Clock, keep_days: int, source: str
) -> Callable[[MarketData], Recording]:
    """Recorders for the dashboard: one look a (real) second whatever the demo clock's speed,
    written a file a minute per venue."""

    def make(market: MarketData) -> Recording:
        from storage.market.recorder import Recorder  # Polars: loaded when recording starts

        per_second = clock.speed if clock.speed != float("inf") else 1.0
        return Recorder(
            market,
            list(market.specs),
            data_dir,
            clock,
            interval_s=max(1.0, per_second),
            flush_s=60.0 * per_second,
            keepalive_s=30.0 * per_second,
            keep_days=keep_days,
            source=source,
        )

    return make


def run_options(options: Options, source: str, speed: float | None) -> Options:
    """The options a stopped run continues under: a demo run on the demo market at its
    speed (unless told another), as ``resume --headless`` does; a live run as given."""
    if source != "demo":
        return options
    return replace(options, demo=True, speed=options.speed or speed)


def _live(data_dir: Path, config: AppConfig) -> LiveOptions:
    """Real orders in the dashboard: ``[live]``, and orders journaled in the data dir."""

    def orders() -> OrderJournal:
        from storage.history.orders import ParquetOrderJournal  # Polars: with a live run

        return ParquetOrderJournal(data_dir)

    return LiveOptions(config.live_max_slippage, config.live_max_spend, orders)


def launch(options: Options, plan: Plan | None = None, run_id: str | None = None) -> int:
    """Build config, storage and market for ``options`` and run the dashboard until quit.

    With ``run_id`` the dashboard opens on that run's market (a demo run's on the demo
    market at its speed) and goes straight on with it, as ``resume --headless`` does.
    """
    paths = resolve_paths(options.data_dir, options.config)
    ensure_config(paths.config_file)
    config = load_config(paths.config_file)
    for warning in config.warnings:
        print(f"btc-dca: warning: {warning}", file=sys.stderr)
    if run_id is not None:
        from storage.history.resume import ResumeError, load_resumable

        try:
            named = load_resumable(paths.data_dir, run_id)
        except ResumeError as exc:
            print(f"btc-dca: resume: {exc}", file=sys.stderr)
            return exits.EXIT_INVALID
        if named.live:
            # Real orders are confirmed on the command line (the dashboard runs paper).
            print(
                f"btc-dca: resume: run {run_id} places real orders; continue it with: "
                f"{paths.cli} resume {run_id} --detach",
                file=sys.stderr,
            )
            return exits.EXIT_INVALID
        plan = named.plan
        options = run_options(options, named.source, named.speed)
    specs = dict(config.specs)
    clock: Clock = make_clock(options)
    defaults = form_defaults(options, config, plan)
    venues: Sequence[str] = defaults.venues or tuple(v for v in specs if specs[v].enabled)
    try:
        market = make_market(options, specs, clock, defaults.quote, venues)
    except LiveUnavailable as exc:
        print(f"btc-dca: {exc}", file=sys.stderr)
        return exits.EXIT_NO_VENUE
    data_dir = paths.data_dir
    source = "demo" if options.demo else "live"
    speed = options.demo_speed if options.demo else None

    def journal() -> Journal:
        from storage.history.journal import ParquetJournal  # Polars: loaded when a run starts

        return ParquetJournal(data_dir, source=source, speed=speed)

    app = build_app(
        market,
        clock,
        journal,
        history=ParquetHistory(data_dir),
        defaults=defaults,
        theme=config.theme,
        on_theme_change=_save_theme(paths.config_file),
        offers=lambda: resume_offers(data_dir, only=run_id),
        resume_at_once=run_id is not None,
        market_factory=lambda quote: make_market(options, specs, clock, quote, venues),
        export_dir=data_dir / EXPORTS,
        seed=options.seed,
        background=[_compact(data_dir)],
        elsewhere=_elsewhere(options, paths, config),
        recorder_factory=_recorder(data_dir, clock, config.record_keep_days, source),
        plan_saver=lambda named: save_plan(paths.config_file, named),
        portfolio_source=_portfolio(data_dir),
        live=None if options.demo else _live(data_dir, config),
    )
    if config.theme not in app.available_themes:
        # Textual would raise at mount; the README promises the key and the reason instead.
        known = ", ".join(sorted(app.available_themes))
        print(
            f"btc-dca: {paths.config_file}: ui.theme: {config.theme!r} is not a theme "
            f"(known: {known})",
            file=sys.stderr,
        )
        return exits.EXIT_INVALID
    result = app.run()
    if app.farewell:
        print(app.farewell)  # after the full screen is gone: what became of the run
    return result if result is not None else app.return_code or 0
