"""The garbage collector while the dashboard starts: rare collections until it has settled.

Start-up creates objects that live as long as the process: modules, classes, the widget
tree, parsed CSS. With the collector's default thresholds Python walks them again and
again before anything is drawn: about 25 ms of CPU in a dashboard start-up of 260 ms
(``bench/bench_startup.py``), and a full collection between the first frame and the
footer's keys delayed those by another ~17 ms. ``hold()`` makes first-generation
collections rare while starting; ``release()``, once the app has settled (its keys are
on screen and its background work begins), puts the thresholds back. Nothing is kept
longer than that: reference counting frees as usual meanwhile, and the next collections
after ``release`` find any cycles made while starting.
"""

from __future__ import annotations

import gc

# Allocations between first-generation collections while starting (Python's default: 700).
START_THRESHOLD = 100_000

_held: list[tuple[int, int, int]] = []


def hold() -> None:
    """Collect rarely until ``release`` (a second call while held changes nothing)."""
    if not _held:
        saved = gc.get_threshold()
        _held.append(saved)
        gc.set_threshold(START_THRESHOLD, *saved[1:])


def release() -> None:
    """Put back the thresholds ``hold`` found (nothing to do if it was not called)."""
    if _held:
        gc.set_threshold(*_held.pop())
