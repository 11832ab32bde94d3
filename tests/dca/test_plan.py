"""The plan form's rules: every broken rule names its field; sizes add up exactly."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dca.plan import (
    PlanInvalid,
    build_plan,
    default_tranches,
    format_duration,
    parse_duration,
    size_range,
    tranche_sizes,
)
from dca.routing import Mode
from exchanges.venues import DEFAULT_SPECS

D = Decimal


def plan(**kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {"amount": "0.5", "duration": "6h", "specs": DEFAULT_SPECS}
    args.update(kw)
    return build_plan(**args)  # type: ignore[arg-type]


def errors(**kw: object) -> dict[str, str]:
    with pytest.raises(PlanInvalid) as info:
        plan(**kw)
    return info.value.by_field()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("6h", 21600), ("2d", 172800), ("1.5h", 5400), (" 2D ", 172800)],
)
def test_durations_read_like_people_write_them(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "6", "h", "6w", "-1h", "six hours"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration like"):
        parse_duration(text)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (45, 750, 21600, 183600, 90061)] == [
        "45s",
        "12m 30s",
        "6h",
        "2d 3h",
        "1d 1h",
    ]


def test_a_valid_plan_with_explicit_tranches() -> None:
    p = plan(
        tranches="12",
        quote="eur",
        venues=["kraken", "okx"],
        mode="split",
        max_price="95000",
        jitter=True,
        seed=3,
    )
    assert (p.amount, p.duration_s, p.tranches, p.quote) == (D("0.5"), 21600, 12, "EUR")
    assert (p.venues, p.mode, p.max_price, p.jitter, p.seed) == (
        ("kraken", "okx"),
        Mode.SPLIT,
        D(95000),
        True,
        3,
    )
    assert p.interval_s == 1800
    assert not p.tranches_defaulted


def test_default_tranches_one_an_hour_and_says_so() -> None:
    p = plan(duration="6h")
    assert (p.tranches, p.tranches_defaulted, p.default_reason) == (6, True, "one per hour over 6h")
    assert default_tranches(D(10), 30 * 86400, D("0.0001")) == (500, "capped at 500")
    assert default_tranches(D(1), 90, D("0.0001"))[0] == 1


def test_default_tranches_shrink_to_stay_above_the_minimum_order() -> None:
    # 0.001 BTC over 2 days would be 48 tranches of 0.0000208; Kraken's minimum is 0.0001.
    p = plan(amount="0.001", duration="2d")
    assert p.tranches == 10
    assert "minimum order" in p.default_reason


def test_every_field_is_checked_and_named() -> None:
    found = errors(
        amount="-1",
        duration="soon",
        quote="JPY",
        venues=["kraken", "ftx"],
        mode="twap",
        max_price="0",
    )
    assert found == {
        "amount": "must be more than 0 BTC",
        "duration": "'soon' is not a duration like 90s, 30m, 6h, 2d or 2h30m",
        "quote": "'JPY' is not one of USD, USDT, USDC, EUR",
        "venues": "unknown venue ftx (known: binance, binanceus, coinbase, kraken, bitstamp, okx)",
        "mode": "'twap' is not single or split",
        "max_price": "must be more than 0",
    }


@pytest.mark.parametrize(
    ("kw", "field", "message"),
    [
        ({"amount": "abc"}, "amount", "'abc' is not a number of BTC"),
        ({"amount": "5000"}, "amount", "must be at most 1000 BTC"),
        ({"amount": "0.000000001"}, "amount", "has more than 8 decimal places"),
        ({"amount": "NaN"}, "amount", "'NaN' is not a number of BTC"),
        ({"amount": " "}, "amount", "enter an amount of BTC, e.g. 0.5"),
        ({"duration": ""}, "duration", "enter a time window like 90s, 30m, 6h, 2d or 2h30m"),
        ({"duration": "0s"}, "duration", "must be longer than 0s"),
        ({"duration": "400d"}, "duration", "must be at most 366d"),
        ({"tranches": "0"}, "tranches", "must be at least 1"),
        ({"tranches": "many"}, "tranches", "'many' is not a whole number"),
        ({"tranches": "1000000"}, "tranches", "must be at most 100000"),
        ({"venues": []}, "venues", "choose at least one venue"),
        ({"max_price": "cheap"}, "max_price", "'cheap' is not a price"),
    ],
)
def test_one_broken_rule_per_field(kw: dict[str, object], field: str, message: str) -> None:
    assert errors(**kw) == {field: message}


def test_no_enabled_venue_in_the_config_is_an_error_too() -> None:
    specs = {v: s.with_overrides(enabled=False) for v, s in DEFAULT_SPECS.items()}
    assert errors(specs=specs) == {"venues": "choose at least one venue"}


def test_tranches_too_small_for_the_venue_minimum() -> None:
    found = errors(amount="0.001", tranches="20", venues=["kraken", "okx"])
    assert found == {
        "tranches": "each of 20 tranches would be 0.00005 BTC, below Kraken's minimum order of 0.0001 BTC"
    }
    assert errors(amount="0.00005", venues=["kraken"], tranches="1") == {
        "amount": "the amount would be 0.00005 BTC, below Kraken's minimum order of 0.0001 BTC"
    }


def test_tranche_sizes_sum_exactly_with_the_remainder_last() -> None:
    # 1 BTC in 3 on a 0.00001 lot: 0.33333, 0.33333, 0.33334.
    assert tranche_sizes(D(1), 3, D("0.00001")) == [D("0.33333"), D("0.33333"), D("0.33334")]
    p = plan(amount="0.5", tranches=12, venues=["binance"])
    assert p.lot_btc == D("0.00001")
    assert sum(p.sizes()) == D("0.5")


def test_the_rounding_remainder_is_spread_one_lot_at_a_time_never_piled_on_the_last() -> None:
    """0.1 BTC in 720 tranches of 0.00001 lots was 719 x 0.00013 and one 0.00653 (6.5 % of
    the plan at one price): now 80 x 0.00013 and 640 x 0.00014."""
    sizes = tranche_sizes(D("0.1"), 720, D("0.00001"))
    assert sizes.count(D("0.00013")) == 80
    assert sizes.count(D("0.00014")) == 640
    assert sum(sizes) == D("0.1")
    sixty = tranche_sizes(D("0.001"), 60, D("0.00001"))
    assert (min(sixty), max(sixty), sum(sixty)) == (D("0.00001"), D("0.00002"), D("0.001"))
    p = plan(amount="0.1", tranches=720, duration="720h", venues=["binance"])
    assert size_range(p) == "0.00013 to 0.00014"
    assert size_range(plan(amount="0.5", tranches=5, venues=["binance"])) == "0.1"


@given(
    st.decimals(min_value=D("0.001"), max_value=D("1000"), places=8),
    st.integers(min_value=1, max_value=500),
    st.sampled_from([D("0.00000001"), D("0.00001"), D("0.001")]),
)
def test_tranche_sizes_always_sum_to_the_amount(amount: Decimal, n: int, lot: Decimal) -> None:
    sizes = tranche_sizes(amount, n, lot)
    assert len(sizes) == n
    assert sum(sizes) == amount
    assert all(s % lot == 0 for s in sizes[:-1])
    # Whole lots differ by at most one lot; only the last carries a sub-lot remainder.
    whole = [*sizes[:-1], sizes[-1] - amount % lot]
    assert max(whole) - min(whole) <= lot


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2h30m", 9000), ("4d 4h", 360000), ("1h 30m 10s", 5410), ("1d2h3m4s", 93784)],
)
def test_durations_as_the_app_prints_them_read_back(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@given(
    st.integers(min_value=0, max_value=22), st.sampled_from([("d", "h"), ("h", "m"), ("m", "s")])
)
def test_what_the_app_prints_reads_back(n: int, units: tuple[str, str]) -> None:
    big, small = units
    size = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    seconds = (n + 1) * size[big] + (n % (size[big] // size[small])) * size[small]
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["30m2h", "2h 2h", "2h30", "2h30m x"])
def test_compound_durations_out_of_order_or_with_junk_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration like"):
        parse_duration(text)


def test_tranches_too_close_together_are_refused_not_previewed_as_every_0s() -> None:
    assert errors(amount="0.5", duration="1s", tranches="24") == {
        "tranches": "24 tranches over 1s would be 0.042s apart; at most 2 (one every 0.5s)"
    }
    assert plan(amount="0.5", duration="2s", tranches="3").interval_s == pytest.approx(2 / 3)
    assert format_duration(2 / 3) == "0.67s" and format_duration(1.5) == "1.5s"


def test_a_tranche_of_nothing_reads_0_btc_not_0e_8() -> None:
    message = errors(amount="0.0000001", duration="1d", tranches="24")["tranches"]
    assert message.startswith("each of 24 tranches would be 0 BTC, below")
