"""The local books a stream keeps: the levels-ready ``PricedBook`` agrees with ``LocalBook``.

``PricedBook`` keeps its ``Level``s in plain lists beside the sorted keys and says
which index an update touched, so a checksum over the top levels can be skipped
when a diff lands deeper. Both shortcuts are checked against the plain book.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchanges.errors import ErrorKind, VenueError
from exchanges.levels import PricedBook, amount, level_updates
from exchanges.localbook import LocalBook, parsed

# (is bid, price tick, size in satoshis: 0 deletes). Bids sit at or below 100, asks above.
Change = tuple[bool, int, int]
changes = st.lists(
    st.tuples(st.booleans(), st.integers(0, 60), st.sampled_from([0, 0, 1, 5, 100_000_000])),
    max_size=80,
)


def apply(book: LocalBook, change: Change) -> None:
    is_bid, tick, sats = change
    size = f"{sats / 1e8:.8f}"
    if is_bid:
        book.set_bid(f"{100 - tick}.5", size)
    else:
        book.set_ask(f"{101 + tick}.5", size)
    book.truncate()


def snapshot(book: LocalBook, levels: int | None = None) -> object:
    try:
        return book.snapshot(levels)
    except VenueError as exc:
        return exc.kind


@settings(max_examples=150, deadline=None)
@given(changes, st.sampled_from([None, 3, 10, 25]))
def test_the_priced_book_matches_the_plain_book_after_any_diffs(
    diffs: list[Change], depth: int | None
) -> None:
    plain, priced = LocalBook("x", "USD", depth), PricedBook("x", "USD", depth)
    for change in diffs:
        apply(plain, change)
        apply(priced, change)
        assert snapshot(priced) == snapshot(plain)
        assert snapshot(priced, 2) == snapshot(plain, 2)
        assert priced.top_bids(5) == plain.top_bids(5)
        assert priced.top_asks(5) == plain.top_asks(5)


@settings(max_examples=150, deadline=None)
@given(changes, changes, st.sampled_from([None, 4, 10]))
def test_touched_never_misses_a_change_in_the_top_levels(
    before: list[Change], diff: list[Change], depth: int | None
) -> None:
    book = PricedBook("x", "USD", depth)
    for change in before:
        apply(book, change)
    tops = (book.top_bids(10), book.top_asks(10))
    book.touched_bid = book.touched_ask = 10
    for change in diff:
        apply(book, change)
    for top, now, touched in (
        (tops[0], book.top_bids(10), book.touched_bid),
        (tops[1], book.top_asks(10), book.touched_ask),
    ):
        first_change = next(
            (i for i, (a, b) in enumerate(zip(top, now, strict=False)) if a != b),
            min(len(top), len(now)) if len(top) != len(now) else None,
        )
        if first_change is not None:
            assert touched <= first_change


def test_an_update_below_the_top_ten_reports_its_index() -> None:
    book = PricedBook("x", "USD")
    book.apply([(f"{100 - i}", "1") for i in range(20)], [(f"{101 + i}", "1") for i in range(20)])
    book.touched_bid = book.touched_ask = 100
    book.set_ask("115", "2")  # the 15th ask
    book.set_bid("95", "0")  # the 6th bid leaves
    book.set_bid("70", "0")  # not in the book: touches nothing
    assert (book.touched_ask, book.touched_bid) == (14, 5)
    snap = book.snapshot()
    assert snap.asks[14].size == Decimal(2) and len(snap.bids) == 19


def test_a_local_book_truncates_to_its_depth_and_slices_the_best() -> None:
    book = LocalBook("x", "USD", depth=2)
    book.update(parsed([("10", "1"), ("9", "1"), ("8", "1")]), parsed([("11", "1"), ("12", "3")]))
    book.put_ask(Decimal("10.5"), Decimal("0.1"), "10.5", "0.1", "tag")
    book.truncate()
    assert book.top_asks(5) == [("10.5", "0.1"), ("11", "1")]
    assert book.asks[Decimal("10.5")][3] == "tag"
    assert [lv.price for lv in book.snapshot(1).bids] == [Decimal(10)]
    assert len(book.snapshot().bids) == 2


@pytest.mark.parametrize(
    ("value", "text_only", "words"),
    [
        ("abc", False, "is not a number"),
        (True, False, "expected a decimal string"),
        (1.5, False, "expected a decimal string"),
        (Decimal("1.5"), True, "is not a number"),
        ("NaN", False, "is not a valid amount"),
        ("-1", False, "is not a valid amount"),
        ("1e40", False, "out of range"),
        ("1." + "1" * 40, False, "out of range"),
    ],
)
def test_a_wire_amount_is_a_sane_decimal_or_malformed(
    value: object, text_only: bool, words: str
) -> None:
    with pytest.raises(VenueError) as caught:
        amount(value, "okx", "bids price", text_only=text_only)
    assert caught.value.kind is ErrorKind.MALFORMED and words in str(caught.value)


def test_wire_amounts_keep_their_text() -> None:
    assert amount("0.10000000", "x", "size") == (Decimal("0.1"), "0.10000000")
    assert amount(Decimal("45283.50"), "x", "price") == (Decimal("45283.5"), "45283.50")
    assert amount(3, "x", "size") == (Decimal(3), "3")
    assert level_updates([["1.50", "0", "ignored"]], "x") == [
        (Decimal("1.5"), Decimal(0), "1.50", "0")
    ]


@pytest.mark.parametrize(
    ("raw", "words"),
    [({"a": 1}, "expected a list"), ([["1"]], "bad level"), ([["0", "1"]], "zero price")],
)
def test_bad_level_lists_are_malformed(raw: object, words: str) -> None:
    with pytest.raises(VenueError) as caught:
        level_updates(raw, "binance", "bids")
    assert caught.value.kind is ErrorKind.MALFORMED and words in str(caught.value)
