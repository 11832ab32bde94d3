"""Display rounding happens only here, and JSON keeps every digit."""

from decimal import Decimal

from tui.fmt import bps, btc, clock_time, exact, iso, money, pct

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
