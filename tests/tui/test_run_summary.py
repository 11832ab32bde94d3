"""The run summary says in plain words whether DCA beat one lump-sum buy at the start."""

from __future__ import annotations

from decimal import Decimal

from dca.events import Summary
from tui import fmt
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


def test_a_run_says_what_it_bought_against_what_it_set_out_to_do() -> None:
    """An amount run against its BTC, a budget against its money, a standing plan with no
    end against nothing (it never reads 'of 0.00 BTC')."""
    standing = Summary(target=D(0), qty=D("0.012"), total=D("1100"), filled=22)
    assert summary_text(standing, "USD", None).plain.startswith("bought 0.012 BTC  spent 1,100")
    budget = Summary(target=D(0), qty=D("0.011"), total=D("1000"), budget=D("1000"))
    assert "bought 0.011 BTC of a 1,000.00 USD budget" in summary_text(budget, "USD", None).plain
    assert summary_text(half_bought("1"), "USD", None).plain.startswith("bought 0.25 of 0.50 BTC")


def test_the_words_for_what_a_run_bought_fit_each_kind_of_plan() -> None:
    z, q = D(0), "USD"
    assert fmt.bought_of(D("0.25"), D("0.5"), D("22500"), None, q) == "bought 0.25 of 0.50 BTC"
    assert (
        fmt.bought_of(D("0.25"), D("0.5"), D("22500"), None, q, spent=True, tranches=3)
        == "bought 0.25 of 0.50 BTC in 3 tranches for 22,500.00 USD"
    )
    assert fmt.bought_of(z, D("0.5"), z, None, q, spent=True) == "bought nothing of 0.50 BTC"
    assert (
        fmt.bought_of(D("0.011"), z, D("999.5"), D("1000"), q, tranches=6)
        == "bought 0.011 BTC in 6 tranches for 999.50 of 1,000.00 USD"
    )
    assert fmt.bought_of(z, z, z, D("1000"), q) == "bought nothing of 1,000.00 USD"
    assert (
        fmt.bought_of(D("0.03"), z, D("3050"), None, q, spent=True, tranches=61)
        == "bought 0.03 BTC in 61 tranches for 3,050.00 USD"
    )
    assert fmt.bought_of(z, z, z, None, q) == "bought nothing"
