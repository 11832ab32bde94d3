"""The market-data interface that the engine and the dashboard use.

Both the live venue clients and the simulated market implement ``MarketData``.
The engine asks for the freshest book per venue at each tranche; the dashboard
listens for status changes to redraw the venue panels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from exchanges.book import OrderBook
from exchanges.errors import VenueError
from exchanges.frozen import fast_init
from exchanges.venues import VenueSpec


class Health(StrEnum):
    """How a venue's feed is doing."""

    CONNECTING = "connecting"
    LIVE = "live"
    STALE = "stale"
    DOWN = "down"


@fast_init
@dataclass(frozen=True, slots=True)
class VenueStatus:
    """What we know about one venue right now.

    ``received`` is the clock time the current book arrived, i.e. last changed (None
    before the first); ``heard`` the clock time the venue last proved that book
    current: any frame on the socket that keeps it in sync (a diff, a heartbeat, a
    pong), or the REST answer it came in. A quiet book on a live socket keeps an old
    ``received`` and a recent ``heard``. ``source`` says where the book came from
    ("stream" or "rest"). ``note`` carries things the panel shows beside the health,
    like a conversion rate ("USDT→USD 1.0002") or the last resync.
    """

    venue: str
    health: Health
    book: OrderBook | None = None
    error: VenueError | None = None
    received: float | None = None
    latency_ms: float | None = None
    note: str = ""
    heard: float | None = None
    source: str | None = None

    def age(self, now: float) -> float | None:
        """Seconds since the current book arrived (its last change)."""
        return None if self.received is None else max(0.0, now - self.received)

    def silence(self, now: float) -> float | None:
        """Seconds since the venue last proved the current book current."""
        since = self.heard if self.heard is not None else self.received
        return None if since is None else max(0.0, now - since)


Listener = Callable[[VenueStatus], None]


class MarketData(Protocol):
    """A source of order books for a set of venues in one quote currency."""

    @property
    def quote(self) -> str:
        """The quote currency every book is expressed in."""
        ...

    @property
    def specs(self) -> Mapping[str, VenueSpec]:
        """The venues this source serves, with fees and limits in force."""
        ...

    async def start(self) -> None:
        """Begin streaming (a no-op for sources that only answer requests)."""
        ...

    async def close(self) -> None:
        """Stop streaming and release connections; safe to call twice."""
        ...

    def status(self, venue: str) -> VenueStatus:
        """The latest known status of one venue (no I/O)."""
        ...

    async def fresh_books(
        self, venues: Sequence[str], *, min_btc: Decimal | None = None
    ) -> dict[str, OrderBook | VenueError]:
        """The freshest usable book per venue, or why there is none; never raises for a venue.

        Venues are queried concurrently. A book whose feed cannot vouch for it (stale,
        reconnecting, not yet synced) is not priced: the source fetches a snapshot for
        this call instead, and returns the venue's error only when it cannot answer.
        Books may carry a ``BookOrigin`` (where they came from, how old they are).
        ``min_btc``: the caller needs books holding at least this much BTC on the ask
        side where the venue can serve it (a source whose book was cut short fetches
        deeper, up to the venue's maximum).
        """
        ...

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` on every status change; returns a function that removes it."""
        ...
