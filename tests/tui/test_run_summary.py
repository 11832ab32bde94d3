"""The run summary says in plain words whether DCA beat one lump-sum buy at the start."""

from __future__ import annotations

from decimal import Decimal

from dca.events import Summary
from tui.widgets.run_panel import summary_text

D = Decimal


def half_bought(total: str) -> Summary:
    """0.25 of 0.5 BTC bought for ``total`` USD."""
    return Summary(target=D("0.5"), qty=D("0.25"), notional=D(total), total=D(total), filled=6)


def test_dca_that_paid_more_than_a_lump_sum_says_how_much_more() -> None:
    # The lump sum would have paid 45,000 for 0.5 BTC: 22,500 for the 0.25 bought so far.
    text = summary_text(half_bought("22504.44"), "USD", D("45000")).plain
    assert "vs one lump-sum buy at the start: DCA cost 4.44 USD more" in text


def test_dca_that_paid_less_says_how_much_it_saved() -> None:
    text = summary_text(half_bought("22490.00"), "EUR", D("45000")).plain
    assert "vs one lump-sum buy at the start: DCA saved 10.00 EUR" in text


def test_dca_within_a_cent_of_the_lump_sum_says_so() -> None:
    text = summary_text(half_bought("22500.004"), "USD", D("45000")).plain
    assert "vs one lump-sum buy at the start: the same to the cent" in text


def test_no_lump_sum_line_before_anything_is_bought() -> None:
    empty = Summary(target=D("0.5"))
    assert "lump-sum" not in summary_text(empty, "USD", D("45000")).plain
    assert "lump-sum" not in summary_text(half_bought("1"), "USD", None).plain
