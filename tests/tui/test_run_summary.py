"""The run summary says in plain words whether DCA beat one lump-sum buy at the start."""

from __future__ import annotations

from decimal import Decimal

from dca.events import Summary
from tui.display import signed_money
from tui.widgets.run_panel import summary_text

D = Decimal


def half_bought(total: str) -> Summary:
    """0.25 of 0.5 BTC bought for ``total`` USD."""
    return Summary(target=D("0.5"), qty=D("0.25"), notional=D(total), total=D(total), filled=6)


def test_dca_that_paid_more_than_a_lump_sum_says_so_with_a_plus() -> None:
    # The lump sum would have paid 45,000 for 0.5 BTC: 22,500 for the 0.25 bought so far.
    text = summary_text(half_bought("22504.44"), "USD", D("45000")).plain
    assert "vs one lump-sum buy at the start: +4.44 USD (DCA cost more)" in text


def test_dca_that_paid_less_says_saved_with_a_real_minus() -> None:
    text = summary_text(half_bought("22490.00"), "EUR", D("45000")).plain
    assert "vs one lump-sum buy at the start: \u221210.00 EUR (DCA saved)" in text


def test_no_lump_sum_line_before_anything_is_bought() -> None:
    empty = Summary(target=D("0.5"))
    assert "lump-sum" not in summary_text(empty, "USD", D("45000")).plain
    assert "lump-sum" not in summary_text(half_bought("1"), "USD", None).plain


def test_signed_money_rounds_to_the_cent_and_drops_the_sign_at_zero() -> None:
    assert signed_money(D("1234.5")) == "+1,234.50"
    assert signed_money(D("-0.004")) == "0.00"
    assert signed_money(D("-3")) == "\u22123.00"
