"""A frozen dataclass given ``fast_init`` is built, compared, hashed and refused as before."""

from __future__ import annotations

import dataclasses
import inspect
from decimal import Decimal

import pytest

from dca.events import QuoteSeen, TrancheFilled
from dca.execution import Executed
from dca.pricing import Cost
from dca.routing import Route
from exchanges.book import BookOrigin, OrderBook
from exchanges.frozen import fast_init
from exchanges.market import VenueStatus


def twins() -> tuple[type, type]:
    """The same frozen dataclass twice: with its own ``__init__``, and with ``fast_init``'s."""

    def make() -> type:
        @dataclasses.dataclass(frozen=True, slots=True)
        class Quote:
            venue: str
            price: Decimal
            size: Decimal = Decimal("1.0")
            note: str | None = dataclasses.field(default=None, compare=False)
            _: dataclasses.KW_ONLY
            source: str = "stream"

        return Quote

    return make(), fast_init(make())


def test_the_same_signature_values_equality_hash_and_refusal() -> None:
    plain, fast = twins()
    assert inspect.signature(fast) == inspect.signature(plain)
    for args, kw in (
        (("kraken", Decimal("90000.10")), {}),
        (("okx", Decimal("1")), {"size": Decimal("0.50"), "note": "n", "source": "rest"}),
        (("okx",), {"price": Decimal("2"), "source": "x"}),
    ):
        a, b = plain(*args, **kw), fast(*args, **kw)
        assert repr(a).replace(plain.__qualname__, "") == repr(b).replace(fast.__qualname__, "")
        assert dataclasses.astuple(a) == dataclasses.astuple(b)
        assert hash(dataclasses.astuple(a)) == hash(dataclasses.astuple(b))
        assert b == fast(*args, **kw) and hash(b) == hash(fast(*args, **kw))
        with pytest.raises(dataclasses.FrozenInstanceError):
            b.venue = "binance"
        assert dataclasses.replace(b, venue="coinbase").venue == "coinbase"
    with pytest.raises(TypeError):
        fast("kraken")  # a field without a default left out
    with pytest.raises(TypeError):
        fast("kraken", Decimal(1), Decimal(1), None, "rest")  # keyword-only given by position


def test_classes_it_cannot_speed_up_are_refused() -> None:
    @dataclasses.dataclass(slots=True)
    class Mutable:
        a: int

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(frozen=True, slots=True)
    class After:
        a: int

        def __post_init__(self) -> None:
            """Would not be called."""

    for cls in (Mutable, NoSlots, Factory, After):
        with pytest.raises(TypeError):
            fast_init(cls)


@pytest.mark.parametrize(
    "cls", [BookOrigin, OrderBook, VenueStatus, Cost, QuoteSeen, Route, TrancheFilled, Executed]
)
def test_the_hot_classes_take_their_fields_as_before(cls: type) -> None:
    """Each parameter is a field, in order, with its default and kind."""
    params = list(inspect.signature(cls).parameters.values())
    fields = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    for p, f in zip(params, fields, strict=True):
        default = inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
        assert p.default is default
        assert (p.kind is inspect.Parameter.KEYWORD_ONLY) == f.kw_only
