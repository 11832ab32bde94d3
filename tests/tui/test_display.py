"""The panels' compact figures: book ages, basis points, countdowns."""

from __future__ import annotations

from decimal import Decimal

from tui.display import DASH, age, bps_short, countdown, signed_bps_short


def test_a_books_age_is_coarse_so_it_does_not_redraw_every_tick() -> None:
    assert age(None) == DASH
    assert age(0.4) == "<1s"
    assert age(12.4) == "12s"
    assert age(119.0) == "119s"
    assert age(600.0) == "10m"


def test_basis_points_are_compact_and_signed_where_they_are_a_gap() -> None:
    assert bps_short(Decimal("0.44")) == "0.4bp"
    assert signed_bps_short(Decimal("8")) == "+8.0bp"
    assert signed_bps_short(Decimal("-1.25")) == "-1.2bp"
    assert bps_short(None) == signed_bps_short(None) == DASH


def test_a_countdown_shows_hours_only_when_there_are_some() -> None:
    assert countdown(42.4) == "0:42"
    assert countdown(725) == "12:05"
    assert countdown(11050) == "3:04:10"
    assert countdown(-3) == "0:00"
