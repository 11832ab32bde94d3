"""A budget in money: each tranche buys what its share buys, and the run spends it to the cent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dca.budget import buy_for, max_qty, takes
from dca.events import SkipReason, TrancheFilled, TrancheSkipped
from dca.executor import Executor
from dca.journal import MemoryJournal
from dca.plan import PlanInvalid, build_plan, fit_budget
from dca.pricing import cost_to_buy
from dca.routing import Mode
from dca.status import RunStatus
from exchanges.clock import SimClock
from exchanges.simulated import SimulatedMarket
from exchanges.venues import DEFAULT_SPECS
from tests.dca.helpers import book, limits, specs

D = Decimal
START = 1_767_225_600.0  # 2026-01-01T00:00Z
CENT = D("0.01")


def test_money_buys_the_most_btc_on_the_lot_step_whose_total_with_fee_fits() -> None:
    # 0.01 BTC at 50,000, then 0.02 at 50,100; fee 0.4 %: 1,000 USD takes all of the first
    # level (502.00) and 498 / (50,100 x 1.004) = 0.00990051... of the second.
    b = book("kraken", [("50000", "0.01"), ("50100", "0.02")])
    qty = max_qty(b, D("1000"), D("0.004"), D("0.00000001"))
    assert qty == D("0.01990051")
    cost = cost_to_buy(b, qty, D("0.004"))
    one_more = cost_to_buy(b, qty + D("0.00000001"), D("0.004"))
    assert cost.total <= 1000 < one_more.total  # type: ignore[union-attr]
    # On a coarser lot the same money buys less, never more than it can pay for.
    assert max_qty(b, D("1000"), D("0.004"), D("0.00001")) == D("0.01990")
    # A book that cannot take the money at all says so (None), as a thin book does for BTC.
    assert max_qty(b, D("5000"), D("0.004"), D("0.00000001")) is None


def test_single_takes_the_venue_that_buys_the_most_and_never_spends_more_than_the_money() -> None:
    books = {
        "kraken": book("kraken", [("50000", "1")]),
        "okx": book("okx", [("50100", "1")]),  # dearer book, but a 0.1 % fee against 0.4 %
    }
    s = specs(kraken="0.004", okx="0.001")
    chosen, alone = buy_for(books, s, D("100"))
    assert chosen is not None and chosen.venue == "okx"
    assert alone["okx"] > alone["kraken"]  # type: ignore[operator]
    assert chosen.total <= 100 and chosen.qty == alone["okx"]


def test_a_venue_whose_lot_cannot_take_the_quantity_is_not_chosen_for_it() -> None:
    s = specs(binance="0.001", kraken="0.001")
    books = {
        "binance": book("binance", [("50000", "1")]),
        "kraken": book("kraken", [("50000", "1")]),
    }
    chosen, alone = buy_for(books, s, D("100"))
    # Binance buys in steps of 0.00001 BTC, Kraken to the satoshi: Kraken buys more.
    assert alone["binance"] == D("0.00199") and alone["kraken"] == D("0.00199800")
    assert chosen is not None and chosen.venue == "kraken" and chosen.qty == D("0.00199800")


def test_split_buys_more_than_any_single_venue_when_the_cheap_books_are_shallow() -> None:
    s = specs(kraken="0.001", okx="0.001")
    books = {
        "kraken": book("kraken", [("50000", "0.001"), ("60000", "1")]),
        "okx": book("okx", [("50000", "0.001"), ("60000", "1")]),
    }
    single, _ = buy_for(books, s, D("100"), Mode.SINGLE)
    split, _ = buy_for(books, s, D("100"), Mode.SPLIT)
    assert single is not None and split is not None
    assert len(split.legs) == 2 and split.qty > single.qty
    assert split.total <= 100 and single.total <= 100
    for leg in split.legs:
        assert leg.qty % s[leg.venue].lot_btc == 0 and leg.qty >= s[leg.venue].min_order_btc


def test_money_under_every_minimum_order_buys_nothing() -> None:
    s = specs()
    limits("kraken", "0.001", "0.00000001", s)
    chosen, alone = buy_for({"kraken": book("kraken", [("50000", "1")])}, s, D("10"))
    assert chosen is None and alone["kraken"] == D("0.00019920")


def plan(spend: str = "1000", **kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {"spend": spend, "duration": "1d", "specs": DEFAULT_SPECS}
    args.update(kw)
    return build_plan(**args)  # type: ignore[arg-type]


def test_a_budget_is_split_into_whole_cents_differing_by_at_most_a_cent() -> None:
    p = plan("1000", tranches=7)
    assert p.is_budget and p.amount == 0 and p.spend == D("1000")
    # The 5 cents that do not divide evenly go one each to the last five shares.
    assert p.shares() == [D("142.85")] * 2 + [D("142.86")] * 5
    assert sum(p.shares()) == D("1000")


@pytest.mark.parametrize(
    ("kw", "field", "words"),
    [
        ({"amount": "0.5"}, "amount", "not both"),
        ({"amount": "0.5"}, "spend", "not both"),
        ({"spend": "10.001"}, "spend", "2 decimal places"),
        ({"spend": "0"}, "spend", "more than 0"),
        ({"spend": "ten"}, "spend", "not an amount of money"),
    ],
)
def test_a_bad_budget_names_its_field(kw: dict[str, str], field: str, words: str) -> None:
    with pytest.raises(PlanInvalid) as info:
        plan(**kw)
    assert words in info.value.by_field()[field]


def test_a_share_under_a_venues_minimum_order_is_refused_at_todays_prices() -> None:
    prices = dict.fromkeys(DEFAULT_SPECS, D("100000"))
    with pytest.raises(PlanInvalid) as info:
        plan("60", tranches=6, prices=prices)
    # Kraken and Bitstamp sell at least 0.0001 BTC: about 10.04 USD with the fee.
    assert "below Kraken's minimum order of 0.0001 BTC" in info.value.by_field()["tranches"]
    # Defaulted tranches become fewer instead, so each share buys the minimum.
    fitted = fit_budget(plan("60"), DEFAULT_SPECS, prices)
    assert fitted.tranches == 5 and "minimum order" in fitted.default_reason
    with pytest.raises(PlanInvalid) as info:
        fit_budget(plan("5"), DEFAULT_SPECS, prices)
    assert "the budget would be 5 USD" in info.value.by_field()["spend"]


async def run_budget(**kw: str) -> tuple[Executor, MemoryJournal]:
    clock = SimClock(START)
    journal = MemoryJournal()
    executor = Executor(plan(**kw), SimulatedMarket(clock), journal, clock, run_id="b1")
    await executor.run()
    return executor, journal


@pytest.mark.parametrize("mode", ["single", "split"])
async def test_a_budget_run_spends_the_budget_to_the_cent(mode: str) -> None:
    executor, journal = await run_budget(spend="1000", tranches="7", mode=mode)
    fills = [e for e in journal.events if isinstance(e, TrancheFilled)]
    s = executor.summary
    assert len(fills) == 7 and executor.state is RunStatus.FINISHED
    assert s.total.quantize(CENT) == D("1000.00") and s.total <= 1000
    assert s.left is not None and 0 <= s.left < CENT
    assert s.qty == sum(f.qty for f in fills)
    shares = iter(plan("1000", tranches=7).shares())
    carried = D(0)
    for f in fills:
        # Each tranche had its share plus the change the one before left, and spent
        # all but less than one lot of it.
        assert f.spend == next(shares) + carried
        assert 0 <= f.change < f.route.effective_price * D("0.00001")
        carried = f.change
        for leg in f.route.legs:
            assert leg.qty % DEFAULT_SPECS[leg.venue].lot_btc == 0


async def test_a_budget_tranche_compares_only_with_venues_that_could_take_its_quantity() -> None:
    """A tranche of 0.00110382 BTC cannot be an order on Binance (steps of 0.00001): its
    total for that quantity is no alternative ("vs next best", "saved vs worst")."""
    _, journal = await run_budget(spend="1000", tranches="7")
    fills = [e for e in journal.events if isinstance(e, TrancheFilled)]
    coarse = 0
    for f in fills:
        for venue, total in f.route.alternatives.items():
            if not takes(DEFAULT_SPECS[venue], f.route.qty):
                coarse += 1
                assert total is None, (venue, f.route.qty)
    assert coarse > 0  # the run had quantities off Binance's step
    assert any(t is not None for f in fills for t in f.route.alternatives.values())


async def test_a_tranche_above_the_max_price_carries_its_money_and_the_run_says_what_is_left() -> (
    None
):
    executor, journal = await run_budget(spend="500", tranches="4", max_price="1")
    skips = [e for e in journal.events if isinstance(e, TrancheSkipped)]
    assert [e.reason for e in skips] == [SkipReason.ABOVE_MAX_PRICE] * 4
    assert [e.spend for e in skips] == [D("125"), D("250"), D("375"), D("500")]
    assert [e.spend_carried for e in skips] == [D("125"), D("250"), D("375"), D(0)]
    assert all(e.qty == 0 and e.carried == 0 for e in skips)
    assert executor.state is RunStatus.INCOMPLETE
    assert executor.summary.left == D("500") and executor.summary.total == 0
