"""Display rounding happens only here, JSON keeps every digit, the panels' figures are short."""

from decimal import Decimal

from tui.fmt import (
    DASH,
    age,
    bps,
    bps_short,
    btc,
    clock_time,
    countdown,
    exact,
    iso,
    money,
    pct,
    signed_bps_short,
    signed_money,
)

D = Decimal


def test_display_rounding() -> None:
    assert money(D("91234.565")) == "91,234.56"  # banker's rounding
    assert money(D("91234.575")) == "91,234.58"
    assert money(None) == "-"
    assert btc(D("0.5")) == "0.50"
    assert btc(D("0.041666666")) == "0.04166667"
    assert btc(None) == "-"
    assert bps(D("12.345")) == "12.3 bps"
    assert bps(None) == "-"
    assert pct(D("0.0040")) == "0.40%"


def test_exact_strings_for_json() -> None:
    assert exact(D("156972.6480800741263")) == "156972.6480800741263"
    assert exact(D("2.000")) == "2"
    assert exact(D("1E+2")) == "100"
    assert exact(D("0")) == "0"
    assert exact(None) is None


def test_times() -> None:
    assert clock_time(1_767_225_600.0) == "00:00:00"
    assert clock_time(1_767_225_600.0, with_date=True) == "2026-01-01 00:00:00"
    assert iso(1_767_225_600.25) == "2026-01-01T00:00:00.250Z"
    assert iso(1_767_225_600.9999) == "2026-01-01T00:00:01.000Z"


def test_a_books_age_is_coarse_so_it_does_not_redraw_every_tick() -> None:
    assert age(None) == DASH
    assert age(0.4) == "<1s"
    assert age(12.4) == "12s"
    assert age(119.0) == "119s"
    assert age(600.0) == "10m"


def test_basis_points_are_compact_and_signed_where_they_are_a_gap() -> None:
    assert bps_short(D("0.44")) == "0.4bp"
    assert signed_bps_short(D("8")) == "+8.0bp"
    assert signed_bps_short(D("-1.25")) == "-1.2bp"
    assert bps_short(None) == signed_bps_short(None) == DASH


def test_a_countdown_shows_hours_only_when_there_are_some() -> None:
    assert countdown(42.4) == "0:42"
    assert countdown(725) == "12:05"
    assert countdown(11050) == "3:04:10"
    assert countdown(-3) == "0:00"


def test_a_signed_money_gap_never_reads_plus_minus() -> None:
    assert signed_money(D("0.03")) == "+0.03"
    assert signed_money(D("-1234.567")) == "-1,234.57"
    # What rounds to zero has one sign: never "+-0.00" nor "-0.00".
    assert signed_money(D("-0.001")) == signed_money(D("0")) == "+0.00"
    assert signed_money(D("-0.006")) == "-0.01"
