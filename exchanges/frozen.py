"""Frozen dataclasses built twice as fast: for the few made per venue per tranche.

A frozen dataclass's ``__init__`` sets each field with ``object.__setattr__`` (its class's
own ``__setattr__`` refuses); for a slotted class, calling each slot's descriptor is the
same assignment at half the cost. A backtest builds a book, a cost, a quote and a status
per venue per tranche — a million of them a month — so ``fast_init`` gives those classes
such an ``__init__``: the same signature, defaults and keyword-only fields, nothing else
changed (still frozen, equal, hashed and shown as before).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def fast_init(cls: type[T]) -> type[T]:
    """Give ``cls`` (a frozen dataclass with slots) an ``__init__`` that fills its slots
    through their descriptors. Raises TypeError for a class it cannot do that for."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: fast_init is for frozen dataclasses with slots")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: fast_init does not call __post_init__")
    namespace: dict[str, Any] = {}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: fast_init needs plain init fields")
        namespace[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        param = f.name
        if f.default is not dataclasses.MISSING:
            namespace[f"_default_{f.name}"] = f.default
            param += f"=_default_{f.name}"
        (keyword if f.kw_only else positional).append(param)
        body.append(f"    _set_{f.name}(self, {f.name})")
    params_text = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = f"def __init__({params_text}):\n" + ("\n".join(body) or "    pass") + "\n"
    # Code made of the class's own field names, as dataclasses makes its __init__.
    exec(source, namespace)  # noqa: S102  # nosec B102
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    init.__annotations__ = dict(cls.__init__.__annotations__)
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
