"""When each tranche runs: the start of its slot, optionally shifted at random within it."""

from __future__ import annotations

import random

from dca.plan import Plan

# A jittered tranche stays in the first 90% of its slot, so the next slot's
# tranche can never run before it.
JITTER_SPAN = 0.9


def tranche_times(plan: Plan, origin: float) -> list[float]:
    """Epoch times of every tranche for a run that starts at ``origin``.

    Tranche ``i`` is due at ``origin + i × interval``; with jitter it is moved later
    by a uniform share of its slot, the same for the same ``plan.seed``.
    """
    interval = plan.interval_s
    times = [origin + i * interval for i in range(plan.tranches)]
    if plan.jitter and plan.tranches > 0:
        rng = random.Random(plan.seed)
        times = [t + rng.uniform(0, interval * JITTER_SPAN) for t in times]
    return times
