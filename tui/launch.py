"""From command-line options to a running dashboard: market, clock, form defaults, exit code."""

from __future__ import annotations

import sys

from dca.plan import Plan
from exchanges.venues import DEFAULT_SPECS
from tui.app import build_app
from tui.widgets.plan_form import FormDefaults
from tui.wiring import LiveUnavailable, Options, make_clock, make_market

EXIT_NO_VENUE = 3
# The demo's form starts filled in, so a first look needs only one key press to run.
DEMO_AMOUNT = "0.5"
DEMO_WINDOW = "2h"


def form_defaults(options: Options, venues: tuple[str, ...], plan: Plan | None) -> FormDefaults:
    """The form's starting values: a given plan, else the options (and demo amounts)."""
    if plan is not None:
        return FormDefaults(
            amount=str(plan.amount),
            duration=f"{plan.duration_s:.0f}s",
            tranches="" if plan.tranches_defaulted else str(plan.tranches),
            quote=plan.quote,
            venues=plan.venues,
            mode=plan.mode.value,
            max_price="" if plan.max_price is None else str(plan.max_price),
            jitter=plan.jitter,
        )
    return FormDefaults(
        amount=DEMO_AMOUNT if options.demo else "",
        duration=DEMO_WINDOW if options.demo else "",
        quote=options.quote or "USD",
        venues=venues,
        mode=options.mode or "single",
        max_price=options.max_price or "",
    )


def launch(options: Options, plan: Plan | None = None) -> int:
    """Build the market for ``options`` and run the dashboard until the user quits."""
    specs = dict(DEFAULT_SPECS)
    clock = make_clock(options)
    quote = plan.quote if plan else (options.quote or "USD")
    venues = options.venues or tuple(v for v in specs if specs[v].enabled)
    try:
        market = make_market(options, specs, clock, quote, venues)
    except LiveUnavailable as exc:
        print(f"btc-dca: {exc}", file=sys.stderr)
        return EXIT_NO_VENUE
    app = build_app(
        market, clock, defaults=form_defaults(options, tuple(venues), plan), seed=options.seed
    )
    result = app.run()
    return result if result is not None else app.return_code or 0
