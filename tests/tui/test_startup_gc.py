"""``tui.startup``: hold the collector while starting, give back exactly what was there."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from tui import startup


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)
    startup._held.clear()


def test_hold_raises_only_the_first_threshold_and_release_puts_it_back(
    thresholds: tuple[int, int, int],
) -> None:
    startup.hold()
    assert gc.get_threshold() == (startup.START_THRESHOLD, *thresholds[1:])
    startup.hold()  # held already: still the thresholds from before the first hold
    startup.release()
    assert gc.get_threshold() == thresholds
    startup.release()  # nothing held: changes nothing
    assert gc.get_threshold() == thresholds


def test_release_without_hold_leaves_the_collector_as_it_is(
    thresholds: tuple[int, int, int],
) -> None:
    gc.set_threshold(1234, 7, 7)
    startup.release()
    assert gc.get_threshold() == (1234, 7, 7)
