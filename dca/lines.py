"""A tranche as one row: what a run's tranche table shows, and what a run's process hands to
the processes following it (one JSON line per tranche, money as exact decimal strings)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from dca.events import TrancheFilled, TrancheSkipped


def decimal_or_none(value: object) -> Decimal | None:
    """``value`` as an exact Decimal (from its text), or None."""
    return None if value is None else Decimal(str(value))


def text_or_none(value: Decimal | None) -> str | None:
    """A Decimal as its exact text, or None."""
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class TrancheLine:
    """One row of a run's tranche table: a fill (``venue`` set) or a skip (``reason`` set)."""

    index: int  # 0-based
    of: int
    at: float  # the run's clock, epoch seconds
    qty: Decimal
    venue: str | None = None
    avg_price: Decimal | None = None
    fee: Decimal | None = None
    total: Decimal | None = None
    saved_vs_worst: Decimal | None = None
    reason: str | None = None
    # Per venue of a fill: (venue, BTC, average price); one leg unless the tranche was split.
    legs: tuple[tuple[str, Decimal, Decimal], ...] = ()

    @classmethod
    def of_event(cls, event: TrancheFilled | TrancheSkipped) -> TrancheLine:
        """The line of a recorded tranche."""
        if isinstance(event, TrancheSkipped):
            return cls(event.index, event.of, event.at, event.qty, reason=event.reason.value)
        r = event.route
        return cls(
            event.index,
            event.of,
            event.at,
            r.qty,
            venue=r.venue,
            avg_price=r.avg_price,
            fee=r.fee,
            total=r.total,
            saved_vs_worst=r.saved_vs_worst,
            legs=tuple((leg.venue, leg.qty, leg.avg_price) for leg in r.legs),
        )

    def to_json(self) -> str:
        """One JSON line; money as exact decimal strings."""
        obj = {
            "index": self.index,
            "of": self.of,
            "at": self.at,
            "qty": str(self.qty),
            "venue": self.venue,
            "avg_price": text_or_none(self.avg_price),
            "fee": text_or_none(self.fee),
            "total": text_or_none(self.total),
            "saved_vs_worst": text_or_none(self.saved_vs_worst),
            "reason": self.reason,
            "legs": [[v, str(q), str(p)] for v, q, p in self.legs],
        }
        return json.dumps(obj, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> TrancheLine:
        """Parse a line written by ``to_json``; ValueError/KeyError/TypeError if it is not one."""
        o = json.loads(text)
        return cls(
            index=int(o["index"]),
            of=int(o["of"]),
            at=float(o["at"]),
            qty=Decimal(o["qty"]),
            venue=o["venue"],
            avg_price=decimal_or_none(o["avg_price"]),
            fee=decimal_or_none(o["fee"]),
            total=decimal_or_none(o["total"]),
            saved_vs_worst=decimal_or_none(o["saved_vs_worst"]),
            reason=o["reason"],
            legs=tuple((str(v), Decimal(q), Decimal(p)) for v, q, p in o.get("legs") or ()),
        )
