"""The dashboard's Paper / Live switch, end to end on the Binance stand-in (never a venue).

The app watches the stand-in's public depth (REST polling: its socket URL refuses) and
trades on its private API with keys handed to the app as an environment. Live refuses by
name what cannot trade (a venue without orders, a venue without a key) and sends nothing;
starting a live run shows the pre-flight in a dialog that s and a stray enter do not
pass; typed ``BUY`` starts the run, marked LIVE in the header, the run panel and History;
the secret is in nothing the dashboard wrote, logged or drew.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import re
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Header, Input, Select

from dca.orders import MemoryOrderJournal
from exchanges.clock import RealClock
from exchanges.live import LiveMarket
from exchanges.venues import DEFAULT_SPECS
from storage.history.journal import ParquetJournal
from storage.history.orders import ParquetOrderJournal
from storage.history.queries import History
from storage.logs import setup_logging
from tests.standins.binance import BinanceStandIn
from tests.standins.serve import serving
from tests.tui.helpers import RecordingApp, messages, wait_for
from tui.history.memory import MemoryHistory
from tui.history.parquet import ParquetHistory
from tui.live_options import LiveOptions
from tui.screens.live_confirm import LiveConfirmScreen
from tui.widgets.plan_form import FormDefaults, PlanForm
from tui.widgets.run_panel import RunPanel

D = Decimal
KEY = "k3yDashboardStandIn"
SECRET = "s3cretDASHBOARDneverSHOWN0123456789abcdef"
ENV = {"BTC_DCA_BINANCE_API_KEY": KEY, "BTC_DCA_BINANCE_API_SECRET": SECRET}
PLAN = FormDefaults(
    amount="0.02", duration="2s", tranches="2", quote="USDT", venues=("binance",), execution="live"
)


@pytest.fixture
async def standin() -> AsyncIterator[tuple[BinanceStandIn, str]]:
    stand = BinanceStandIn(key=KEY, secret=SECRET)
    async with serving(stand.app()) as url:
        yield stand, url


def _app(
    url: str,
    tmp_path: Path,
    *,
    env: dict[str, str] | None = None,
    defaults: FormDefaults = PLAN,
    parquet: bool = False,
) -> RecordingApp:
    # Binance on the stand-in (REST; its socket refuses, so its book is polled), OKX refused.
    specs = {
        "binance": dataclasses.replace(
            DEFAULT_SPECS["binance"], rest_url=url, ws_url="ws://127.0.0.1:9"
        ),
        "okx": dataclasses.replace(
            DEFAULT_SPECS["okx"], rest_url="http://127.0.0.1:9", ws_url="ws://127.0.0.1:9"
        ),
    }
    market = LiveMarket(specs, "USDT", venues=list(specs), clock=RealClock())
    data = tmp_path / "data"
    orders = (lambda: ParquetOrderJournal(data)) if parquet else MemoryOrderJournal
    kwargs: dict[str, Any] = {}
    if parquet:
        kwargs["journal_factory"] = lambda: ParquetJournal(data, source="live", speed=None)
        kwargs["history"] = ParquetHistory(data)
    return RecordingApp(
        market,
        RealClock(),
        defaults=defaults,
        cursor_blink=False,
        export_dir=tmp_path,
        live=LiveOptions(D("0.002"), None, orders, env=ENV if env is None else env),
        **kwargs,
    )


async def _ready(pilot: Any, app: RecordingApp) -> None:
    # The stand-in's book has been polled: the venue can price the plan.
    await wait_for(pilot, lambda: app.market.status("binance").book is not None)
    await wait_for(pilot, lambda: app.focused is not None)
    await pilot.press("escape")


def test_paper_is_the_default() -> None:
    assert FormDefaults().execution == "paper"


async def test_the_switch_shows_live_in_the_form_and_starts_as_paper_by_default(
    tmp_path: Path, standin: tuple[BinanceStandIn, str]
) -> None:
    stand, url = standin
    app = _app(url, tmp_path, defaults=dataclasses.replace(PLAN, execution="paper"))
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.main.query_one(PlanForm)
        assert not form.live and form.border_title == "Plan"
        form.query_one("#execution", Select).value = "live"
        await pilot.pause()
        assert form.live and form.has_class("-live") and "LIVE" in str(form.border_title)
    assert stand.orders == []


async def test_live_on_a_venue_without_orders_says_why_by_name_and_starts_nothing(
    tmp_path: Path, standin: tuple[BinanceStandIn, str]
) -> None:
    stand, url = standin
    app = _app(url, tmp_path, defaults=dataclasses.replace(PLAN, venues=("binance", "okx")))
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(pilot, app)
        await pilot.press("s")
        await wait_for(pilot, lambda: any("not started" in n for n in messages(app)))
        assert not isinstance(app.screen, LiveConfirmScreen) and app.session is None
    note = next(n for n in messages(app) if "not started" in n)
    assert "real orders are not offered on OKX (only on Binance, Binance.US, Kraken)" in note
    assert "Nothing was sent" in note
    assert stand.orders == [] and stand.requests == []


async def test_live_without_keys_names_the_venue_and_starts_nothing(
    tmp_path: Path, standin: tuple[BinanceStandIn, str]
) -> None:
    stand, url = standin
    app = _app(url, tmp_path, env={})
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(pilot, app)
        await pilot.press("s")
        await wait_for(pilot, lambda: any("not started" in n for n in messages(app)))
        assert app.session is None
    note = next(n for n in messages(app) if "not started" in n)
    assert "Binance:" in note and ("no API key" in note or "keyring" in note)
    assert stand.orders == [] and stand.requests == []


async def test_a_live_run_asks_first_then_buys_marked_live_everywhere(
    tmp_path: Path,
    standin: tuple[BinanceStandIn, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # The app's own log file, as the launcher sets it up (keys masked as they are read).
    log_file = setup_logging(tmp_path / "logs", verbose=True)
    assert log_file is not None
    stand, url = standin
    # Its second tranche 3 s after the first: the run is seen in progress on a loaded machine.
    app = _app(url, tmp_path, parquet=True, defaults=dataclasses.replace(PLAN, duration="6s"))
    drawn: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(pilot, app)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, LiveConfirmScreen))
        dialog = app.screen
        await pilot.pause()
        drawn.append(app.export_screenshot())
        # The pre-flight: the worst case against the balance the stand-in reported.
        shown = screen_text(drawn[-1])
        assert "REAL ORDERS" in shown and "at most 1,203.60 USDT" in shown
        assert re.search(r"Binance\s*1,203\.60\s*100,000\.00\s*covers it", shown), shown
        assert dialog.focused is dialog.query_one("#cancel", Button)
        # The paper key and a stray enter do not pass it: enter on Cancel backs out.
        await pilot.press("s", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, LiveConfirmScreen))
        assert app.session is None and stand.orders == []
        assert any("Not confirmed: nothing was sent" in n for n in messages(app))

        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, LiveConfirmScreen))
        dialog = app.screen
        send = dialog.query_one("#send", Button)
        word = dialog.query_one("#live-word", Input)
        word.focus()
        await pilot.press("b", "u", "y", "enter")  # not the word: still asked
        await pilot.pause()
        assert isinstance(app.screen, LiveConfirmScreen) and send.disabled
        word.value = ""
        await pilot.press("B", "U", "Y")
        await pilot.pause()
        assert not send.disabled
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.session is not None)
        # While it runs: the header, the run panel and its status line say LIVE.
        header = app.main.query_one(Header)
        run = app.main.query_one(RunPanel)
        marked: list[bool] = []

        def live_marked() -> bool:
            if app.session is not None and app.session.active and header.has_class("-live"):
                marked.append("LIVE" in app.title and run.has_class("-live"))
                marked.append("LIVE" in str(run.border_title))
            return bool(marked) or len(stand.orders) == 2

        await wait_for(pilot, live_marked)
        assert marked and all(marked)
        await wait_for(pilot, lambda: app.session is not None and not app.session.active)
        await pilot.pause()
        drawn.append(app.export_screenshot())
        status = str(run.query_one("#run-status").render())
        assert status.startswith("LIVE RUN FINISHED")
        assert not header.has_class("-live")  # the header marks a live run in progress
        run_id = app.session.run_id
        # History lists it as a live run.
        app.action_history()
        await wait_for(pilot, lambda: app.screen is not app.main)
        await wait_for(pilot, lambda: bool(app.screen.query("#runs-table")))

        async def listed_live() -> bool:
            await pilot.pause(0.1)
            drawn.append(app.export_screenshot())
            return "finished LIVE" in screen_text(drawn[-1])

        for _ in range(300):  # the list is read in the background: drawn once read
            if await listed_live():
                break
    assert len(stand.orders) == 2
    runs = ParquetHistory(tmp_path / "data").runs()
    assert runs["status"].to_pylist() == ["finished LIVE"]
    rows = History(tmp_path / "data").run_tranches(run_id)
    assert rows["live"].to_list() == [True, True]
    listed = next(screen_text(svg) for svg in drawn if "finished LIVE" in screen_text(svg))
    # The run's fills against their decisions (the stand-in filled at the decided prices).
    assert re.search(r"LIVE fills vs decisions bps\s*\+0\.0\s*with fees\s*[+-]\d", listed)
    # The secret is nowhere: files written, log records, notifications, screens drawn.
    written = _everything_written(tmp_path)
    assert SECRET.encode() not in written
    assert KEY.encode() not in written and log_file.stat().st_size > 0
    assert SECRET not in caplog.text
    assert not any(SECRET in n for n in messages(app))
    assert not any(SECRET in svg or KEY in svg for svg in drawn)


@pytest.fixture(autouse=True)
def _no_log_file_left() -> Iterator[None]:
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, logging.FileHandler):
            root.removeHandler(handler)
            handler.close()


def _everything_written(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def screen_text(svg: str) -> str:
    """The characters of an SVG screenshot, one line per terminal row."""
    rows: dict[float, list[str]] = {}
    for y, text in re.findall(r'<text[^>]*y="([\d.]+)"[^>]*>(.*?)</text>', svg, re.S):
        rows.setdefault(float(y), []).append(html.unescape(re.sub(r"<[^>]+>", "", text)))
    return "\n".join("".join(parts) for _, parts in sorted(rows.items())).replace("\xa0", " ")


async def test_a_memory_history_marks_the_live_run_too(
    tmp_path: Path, standin: tuple[BinanceStandIn, str]
) -> None:
    stand, url = standin
    history = MemoryHistory()
    app = _app(url, tmp_path)
    app.history = history
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(pilot, app)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, LiveConfirmScreen))
        app.screen.query_one("#live-word", Input).value = "BUY"
        await pilot.pause()
        await pilot.click("#send")
        await wait_for(pilot, lambda: app.session is not None and not app.session.active)
    assert history.runs()["status"].to_pylist() == ["finished LIVE"]
    tranches = history.tranches(history.runs()["run"][0].as_py())
    assert tranches["decided price"].to_pylist() == [D("60000.00"), D("60000.00")]
    assert tranches["vs decision bps"].to_pylist() == [0.0, 0.0]
    assert len(stand.orders) == 2


async def test_a_stopped_live_run_resumes_only_through_the_dialog(
    tmp_path: Path, standin: tuple[BinanceStandIn, str]
) -> None:
    from dca.executor import ResumeState
    from dca.plan import build_plan
    from tui.screens.resume import ResumeOffer

    stand, url = standin
    app = _app(url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot, app)
        plan = build_plan(
            amount="0.02",
            duration="2s",
            tranches=2,
            quote="USDT",
            venues=["binance"],
            specs=app.market.specs,
        )
        state = ResumeState("20261206-000000-abc123", 0.0, {})
        app._resume_chosen(ResumeOffer(plan, state, "a live run", live=True))
        await wait_for(pilot, lambda: isinstance(app.screen, LiveConfirmScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, LiveConfirmScreen))
        assert app.session is None
    assert stand.orders == []


async def test_live_is_refused_on_the_demo_and_in_the_background(
    tmp_path: Path, standin: tuple[BinanceStandIn, str]
) -> None:
    stand, url = standin
    app = _app(url, tmp_path)
    app.live = None  # as on the demo market
    async with app.run_test(size=(120, 40)) as pilot:
        await _ready(pilot, app)
        await pilot.press("b")
        await wait_for(pilot, lambda: any("run --live --detach" in n for n in messages(app)))
        await pilot.press("s")
        await wait_for(pilot, lambda: any("demo market" in n for n in messages(app)))
        assert app.session is None
    assert stand.orders == [] and stand.requests == []
