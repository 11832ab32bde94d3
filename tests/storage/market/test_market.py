"""The market/ dataset: exact round trips, partitions, retention, and what a replay reads."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from exchanges.book import Level, OrderBook
from exchanges.clock import SimClock
from exchanges.errors import ErrorKind, VenueError
from exchanges.replay import ReplayMarket, decode
from exchanges.venues import DEFAULT_SPECS
from storage.history.compaction import compact
from storage.market.lake import (
    book_of,
    bytes_of,
    files_for,
    partition_dir,
    prune,
    recorded,
    snapshot_row,
    write_snapshots,
)
from storage.market.stream import DayStream, open_window

D = Decimal
T0 = 1_767_225_600.0  # 2026-01-01T00:00Z


def make_book(venue: str, ask: str, bid: str, ts: float = T0, sizes: str = "0.5") -> OrderBook:
    asks = [Level(D(ask) + i, D(sizes)) for i in range(60)]
    bids = [Level(D(bid) - i, D("1.25")) for i in range(60)]
    return OrderBook.build(venue, "USD", bids, asks, ts)


def test_a_book_comes_back_exactly_cut_to_the_depth(tmp_path: Path) -> None:
    book = make_book("kraken", "90000.15", "89999.95")
    row = snapshot_row(book, T0 + 0.5, 50, "live")
    assert row["price_exp"] == -2 and row["size_exp"] == -2
    back = book_of(row)
    assert back.asks == book.asks[:50] and back.bids == book.bids[:50]
    assert back.best_ask == D("90000.15")


def test_a_converted_price_beyond_18_digits_is_rounded_half_even_at_18() -> None:
    price = D(1) / D("1.0837")  # 28 digits
    book = OrderBook.build("okx", "EUR", [], [Level(price * 90000, D("0.00000001"))], T0)
    row = snapshot_row(book, T0, 50, "live")
    back = book_of(row).best_ask
    assert len(back.as_tuple().digits) == 18
    assert abs(back - price * 90000) < D("1e-12")
    # Sizes keep their 8 decimals exactly alongside.
    assert book_of(row).asks[0].size == D("0.00000001")


def test_snapshots_land_in_day_and_venue_partitions(tmp_path: Path) -> None:
    rows = [
        snapshot_row(make_book("kraken", "100", "99"), T0 - 1, 50, "live"),  # 2025-12-31
        snapshot_row(make_book("kraken", "101", "99"), T0 + 1, 50, "live"),
        snapshot_row(make_book("okx", "102", "99"), T0 + 1, 50, "live"),
    ]
    written = write_snapshots(tmp_path, rows)
    assert [p.parent.relative_to(tmp_path).as_posix() for p in written] == [
        "market/date=2025-12-31/venue=kraken",
        "market/date=2026-01-01/venue=kraken",
        "market/date=2026-01-01/venue=okx",
    ]
    assert bytes_of(written) == sum(p.stat().st_size for p in written)
    assert {v: r.days for v, r in recorded(tmp_path).items()} == {
        "kraken": (date(2025, 12, 31), date(2026, 1, 1)),
        "okx": (date(2026, 1, 1),),
    }
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert files_for(tmp_path, "kraken", start, start) == [written[1]]


def test_retention_removes_whole_days_older_than_keep_days(tmp_path: Path) -> None:
    for day in (1, 2, 3):
        t = datetime(2026, 1, day, 12, tzinfo=UTC).timestamp()
        write_snapshots(tmp_path, [snapshot_row(make_book("kraken", "100", "99"), t, 5, "live")])
    removed = prune(tmp_path, keep_days=1, today=date(2026, 1, 3))
    assert [p.name for p in removed] == ["date=2026-01-01"]
    assert recorded(tmp_path)["kraken"].days == (date(2026, 1, 2), date(2026, 1, 3))
    assert prune(tmp_path, keep_days=0) == []


def test_compaction_merges_a_closed_days_files_per_venue(tmp_path: Path) -> None:
    for i in range(3):
        row = snapshot_row(make_book("kraken", str(100 + i), "99"), T0 + i, 5, "live")
        write_snapshots(tmp_path, [row])
    report = compact(tmp_path, today=datetime(2026, 1, 2, tzinfo=UTC))
    assert report.files_in == 3 and report.files_out == 1 and report.rows == 3
    files = list(partition_dir(tmp_path, date(2026, 1, 1), "kraken").glob("*.parquet"))
    assert len(files) == 1 and pl.read_parquet(files[0]).height == 3


async def test_a_replay_serves_the_newest_book_not_older_than_the_limit(tmp_path: Path) -> None:
    # Kraken's book changes at +0 s and +60 s; OKX records once at +0 s and then stops.
    write_snapshots(
        tmp_path,
        [
            snapshot_row(make_book("kraken", "100", "99"), T0, 50, "live"),
            snapshot_row(make_book("kraken", "110", "109"), T0 + 60, 50, "live"),
            snapshot_row(make_book("okx", "105", "104"), T0, 50, "live"),
        ],
    )
    schedule = [T0 + 30, T0 + 90]
    venues = ["kraken", "okx", "bitstamp"]
    lake = open_window(tmp_path, venues, "USD", T0, T0 + 120, schedule, 45)
    assert lake.venues == ["kraken", "okx"] and lake.snapshots == 3
    assert lake.empty == {"bitstamp": "nothing recorded in the window"}
    stream = DayStream(lake, venues, schedule)
    clock = SimClock(T0 + 30)
    market = ReplayMarket(clock, "USD", DEFAULT_SPECS, stream.tapes, max_age_s=45, feed=stream)
    books = await market.fresh_books(["kraken", "okx", "bitstamp"])
    assert isinstance(k := books["kraken"], OrderBook) and k.best_ask == D(100)
    assert isinstance(o := books["okx"], OrderBook) and o.best_ask == D(105)
    assert books["bitstamp"] == VenueError(
        "bitstamp", ErrorKind.UNAVAILABLE, "no book recorded at or before 2026-01-01 00:00:30"
    )
    clock.advance(60)  # +90 s: Kraken's second book (30 s old); OKX's is 90 s old
    books = await market.fresh_books(["kraken", "okx"])
    assert isinstance(k := books["kraken"], OrderBook) and k.best_ask == D(110)
    assert books["okx"] == VenueError(
        "okx", ErrorKind.STALE, "newest recorded book is 90s old (limit 45s)"
    )
    assert market.status("okx").health.value == "stale"
    assert market.status("kraken").received == T0 + 60
    # A time off the schedule (a retry) still finds the newest book, read on demand.
    clock.advance(-89)  # +1 s
    assert isinstance(k := market.book_or_error("kraken", T0 + 61), OrderBook)
    assert k.best_ask == D(110)


async def test_a_walk_past_the_first_levels_reads_the_rest_of_the_book(tmp_path: Path) -> None:
    write_snapshots(tmp_path, [snapshot_row(make_book("kraken", "100", "99"), T0, 50, "live")])
    lake = open_window(tmp_path, ["kraken"], "USD", T0, T0 + 10, [T0 + 5], 60)
    stream = DayStream(lake, ["kraken"], [T0 + 5])
    await stream.advance(T0 + 5)
    book = stream.tapes["kraken"].at(T0 + 5)
    assert book is not None
    asks = book.book("kraken", "USD").asks
    assert len(asks) == 50
    assert list(asks)[49] == Level(D(149), D("0.5"))  # decoded beyond the 6 read up front
    assert asks[-1] == Level(D(149), D("0.5")) and asks[2:4] == (
        Level(D(102), D("0.5")),
        Level(D(103), D("0.5")),
    )


def test_a_recorded_integer_decodes_to_exactly_what_scaleb_gives() -> None:
    """Digits and exponent alike (``90000.10`` stays ``90000.10``), rounded as scaleb rounds
    past the context's 28 digits, zero and negatives included."""
    cases = [(9000010, -2), (0, -8), (0, 3), (5, 0), (-12345, -3), (123, 4), (10**27, -30)]
    cases += [(10**30 + 5, -2), (-(10**35) - 7, 5), (2**63 - 1, -18), (1, -30), (7, 12)]
    for value, exp in cases:
        expected = D(value).scaleb(exp)
        got = decode(value, exp)
        assert got.as_tuple() == expected.as_tuple(), (value, exp, got, expected)
    assert str(decode(9000010, -2)) == "90000.10"


def test_books_in_another_quote_are_not_served_and_say_so(tmp_path: Path) -> None:
    eur = OrderBook.build("kraken", "EUR", [], [Level(D(80000), D(1))], T0)
    write_snapshots(tmp_path, [snapshot_row(eur, T0, 50, "live")])
    lake = open_window(tmp_path, ["kraken"], "USD", T0, T0 + 10, [T0 + 5], 60)
    assert lake.files == {}
    assert lake.empty == {"kraken": "recorded in EUR in the window, not USD"}


def test_a_corrupt_file_is_skipped_and_named(tmp_path: Path) -> None:
    good = write_snapshots(
        tmp_path, [snapshot_row(make_book("kraken", "100", "99"), T0, 50, "live")]
    )
    bad = good[0].parent / "part-00000000000000000000-corrupt.parquet"
    bad.write_bytes(b"PAR1 not really")
    lake = open_window(tmp_path, ["kraken"], "USD", T0, T0 + 10, [T0 + 5], 60)
    assert [b.path for b in lake.bad] == [bad]
    assert "not a readable Parquet file" in lake.bad[0].reason
    assert lake.snapshots == 1


def test_files_written_before_the_quality_columns_still_read(tmp_path: Path) -> None:
    from storage.history.dataset import scan, write_atomic
    from storage.history.schema import ADDED, SCHEMAS, frame

    for table in ("runs", "tranches"):
        old = frame(table, [{"run_id": "old", "rev": 0, "index": 0, "status": "finished"}])
        old = old.drop(sorted(ADDED[table]))
        assert not any(c.startswith("tca_") for c in old.columns)
        write_atomic(old, tmp_path / table / "date=2026-01-01")
        found = scan(tmp_path, table)
        assert found.bad == []
        df = found.collect()
        assert df.height == 1 and df.schema == SCHEMAS[table]
        assert df["tca_fee_share" if table == "runs" else "tca_mid_best"].to_list() == [None]


async def test_a_replayed_book_says_it_was_recorded_and_how_old_it_was(tmp_path: Path) -> None:
    write_snapshots(tmp_path, [snapshot_row(make_book("kraken", "100", "99"), T0, 50, "live")])
    lake = open_window(tmp_path, ["kraken"], "USD", T0, T0 + 60, [T0 + 20], 60)
    stream = DayStream(lake, ["kraken"], [T0 + 20])
    market = ReplayMarket(SimClock(T0 + 20), "USD", DEFAULT_SPECS, stream.tapes, feed=stream)
    book = (await market.fresh_books(["kraken"]))["kraken"]
    assert isinstance(book, OrderBook) and book.origin is not None
    assert (book.origin.source, book.origin.age_s) == ("recorded", 20.0)
