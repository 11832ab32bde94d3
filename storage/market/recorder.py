"""The market recorder: keeps each venue's book and writes a snapshot per interval to ``market/``.

Every ``interval_s`` it looks at each venue's current book (the market keeps it live:
WebSocket feeds, or the simulated market) and takes a snapshot of the top ``depth``
levels a side when the book changed since the last one (a book that has not changed is
still written once a ``keepalive_s``, so a replay can tell a quiet book from a dead
feed). A venue that is down or stale is not recorded: a replay then leaves it out.

Snapshots are buffered and written every ``flush_s`` (and at the end) in a thread, a
file per day and venue, atomically: an interrupt loses nothing that was flushed and
never leaves a torn file; ``kill -9`` loses at most the last ``flush_s``.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from exchanges.book import Level, OrderBook
from exchanges.clock import Clock
from exchanges.market import MarketData
from exchanges.simulated import SimulatedMarket
from storage.market.lake import DEFAULT_DEPTH, bytes_of, prune, snapshot_row, write_snapshots

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 1.0
FLUSH_S = 60.0
KEEPALIVE_S = 30.0


@dataclass
class RecorderStats:
    """What a recording has done so far."""

    snapshots: int = 0
    bytes: int = 0
    files: int = 0
    per_venue: dict[str, int] = field(default_factory=dict)
    live: tuple[str, ...] = ()
    down: dict[str, str] = field(default_factory=dict)
    started: float = 0.0
    now: float = 0.0


class Recorder:
    """Records ``venues`` of ``market`` into ``data_dir``'s ``market/`` dataset."""

    def __init__(
        self,
        market: MarketData,
        venues: Sequence[str],
        data_dir: Path,
        clock: Clock,
        *,
        depth: int = DEFAULT_DEPTH,
        interval_s: float = DEFAULT_INTERVAL_S,
        flush_s: float = FLUSH_S,
        keepalive_s: float = KEEPALIVE_S,
        keep_days: int = 0,
        source: str = "live",
        report_every_s: float = 60.0,
        on_report: Callable[[RecorderStats], None] | None = None,
    ) -> None:
        self.market = market
        self.venues = tuple(venues)
        self.data_dir = data_dir
        self.clock = clock
        self.depth = depth
        self.interval_s = interval_s
        self.flush_s = flush_s
        self.keepalive_s = keepalive_s
        self.keep_days = keep_days
        self.source = source
        self.report_every_s = report_every_s
        self.on_report = on_report
        self.stats = RecorderStats()
        self._buffer: list[dict[str, object]] = []
        self._last: dict[str, tuple[tuple[Level, ...], tuple[Level, ...], float]] = {}
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """End the recording at the next interval (what was taken is still written)."""
        self._stop.set()

    def take(self, now: float) -> int:
        """Look at every venue once; returns how many snapshots were taken."""
        taken = 0
        live: list[str] = []
        down: dict[str, str] = {}
        for venue in self.venues:
            status = self.market.status(venue)
            book = status.book
            if status.error is not None or book is None:
                down[venue] = str(status.error) if status.error else status.health.value
                continue
            live.append(venue)
            if self._changed(venue, book, now):
                self._buffer.append(snapshot_row(book, now, self.depth, self.source))
                self.stats.per_venue[venue] = self.stats.per_venue.get(venue, 0) + 1
                taken += 1
        self.stats.live = tuple(live)
        self.stats.down = down
        self.stats.snapshots += taken
        return taken

    def _changed(self, venue: str, book: OrderBook, now: float) -> bool:
        bids, asks = tuple(book.bids[: self.depth]), tuple(book.asks[: self.depth])
        last = self._last.get(venue)
        unchanged = last is not None and last[0] == bids and last[1] == asks
        if unchanged and last is not None and now - last[2] < self.keepalive_s:
            return False
        self._last[venue] = (bids, asks, now)
        return True

    async def flush(self) -> None:
        """Write the buffered snapshots (a file per day and venue), in a thread."""
        rows, self._buffer = self._buffer, []
        if not rows:
            return
        written, size = await asyncio.to_thread(self._write, rows)
        self.stats.files += len(written)
        self.stats.bytes += size

    def _write(self, rows: list[dict[str, object]]) -> tuple[list[Path], int]:
        """Write ``rows`` and measure the files (in the flush's thread: both touch the disk)."""
        written = write_snapshots(self.data_dir, rows)
        return written, bytes_of(written)

    async def run(self, duration_s: float | None = None) -> RecorderStats:
        """Record until ``duration_s`` (clock seconds) has passed or ``stop`` is called."""
        start = self.clock.now()
        self.stats.started = start
        end = math.inf if duration_s is None else start + duration_s
        if self.keep_days:
            await asyncio.to_thread(prune, self.data_dir, self.keep_days)
        day = datetime.fromtimestamp(start, UTC).date()
        next_flush = start + self.flush_s
        next_report = start + self.report_every_s
        tick = start
        try:
            while not self._stop.is_set():
                now = self.clock.now()
                if now >= end:
                    break
                self.take(now)
                self.stats.now = now
                if now >= next_flush:
                    await self.flush()
                    next_flush = now + self.flush_s
                today = datetime.fromtimestamp(now, UTC).date()
                if today != day and self.keep_days:
                    day = today
                    await asyncio.to_thread(prune, self.data_dir, self.keep_days)
                if now >= next_report:
                    next_report += self.report_every_s
                    if self.on_report is not None:
                        self.on_report(self.stats)
                tick += self.interval_s
                wait = min(tick, end) - self.clock.now()
                if wait > 0:
                    await self.clock.sleep(wait)
                else:
                    tick = self.clock.now()  # fell behind: take the next look now
                    await asyncio.sleep(0)
        finally:
            # Also on cancellation (an app closing its workers): what was taken is written,
            # in whole files, before the recording ends.
            last = asyncio.ensure_future(self.flush())
            try:
                await asyncio.shield(last)
            except asyncio.CancelledError:
                await last
                raise
        self.stats.now = self.clock.now()
        return self.stats


def record_simulated(
    market: SimulatedMarket,
    venues: Sequence[str],
    data_dir: Path,
    start: float,
    end: float,
    *,
    interval_s: float,
    depth: int = DEFAULT_DEPTH,
) -> RecorderStats:
    """Write the simulated market's books from ``start`` to ``end`` as a recording would
    have (a snapshot per venue every ``interval_s``): an offline lake for backtests."""
    stats = RecorderStats(started=start)
    rows: list[dict[str, object]] = []
    n = int((end - start) // interval_s) + 1
    for i in range(n):
        t = start + i * interval_s
        for venue in venues:
            rows.append(snapshot_row(market.book_at(venue, t), t, depth, "demo"))
    written = write_snapshots(data_dir, rows)
    stats.snapshots = len(rows)
    stats.files = len(written)
    stats.bytes = bytes_of(written)
    stats.live = tuple(venues)
    stats.now = end
    return stats
