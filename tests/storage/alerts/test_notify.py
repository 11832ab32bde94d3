"""Alerts reach a real local HTTP server through apprise, and never hold up or break a run."""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal
from pathlib import Path

import pytest

from dca.events import RunCancelled, RunStarted, Summary, VenueDegraded, VenueRecovered
from dca.executor import Executor
from dca.journal import FanOut, MemoryJournal
from exchanges.clock import SimClock
from exchanges.errors import ErrorKind, VenueError
from exchanges.simulated import SimulatedMarket
from storage.alerts.config import NotifyConfig
from storage.alerts.send import (
    Notifier,
    failed_alert,
    probe_alert,
    run_alert,
    send_all,
)
from storage.config import ConfigError, load_config
from tests.storage.alerts.alert_server import AlertServer, refused_url
from tests.storage.helpers import plan


async def _run(notifier: Notifier, **kw: object) -> Executor:
    p = plan(amount="0.5", tranches=4, **kw)  # type: ignore[arg-type]
    clock = SimClock()
    executor = Executor(
        p, SimulatedMarket(clock, venues=p.venues), FanOut(MemoryJournal(), notifier), clock
    )
    await executor.run()
    return executor


async def test_a_finished_run_tells_what_it_bought_spent_and_saved() -> None:
    with AlertServer() as srv:
        notifier = Notifier(NotifyConfig((srv.url,)))
        executor = await _run(notifier)
        await notifier.aclose()
    [alert] = srv.received
    s = executor.summary
    assert alert["title"] == f"btc-dca: run {executor.run_id} finished"
    body = alert["message"]
    assert body.startswith("Bought 0.50 of 0.50 BTC for ")
    assert f"{s.total.quantize(Decimal('0.01')):,} USD" in body
    assert f"avg {s.avg_price.quantize(Decimal('0.01')):,} USD/BTC" in body  # type: ignore[union-attr]
    assert f"saved {s.saved_vs_worst.quantize(Decimal('0.01')):,} USD vs the worst venue" in body
    assert [d.ok for d in notifier.deliveries] == [True]
    assert not notifier._plans  # a notifier that lives for days keeps no plan of a run gone


async def test_a_cancelled_run_alerts_but_an_interrupted_one_does_not() -> None:
    with AlertServer() as srv:
        for reason in ("cancelled", "interrupted"):
            notifier = Notifier(NotifyConfig((srv.url,)))
            p = plan(tranches=4)
            clock = SimClock()
            executor = Executor(p, SimulatedMarket(clock, venues=p.venues), notifier, clock)
            executor.cancel(reason)
            await executor.run()
            await notifier.aclose()
    [alert] = srv.received
    assert alert["title"].endswith("cancelled")
    assert alert["message"].startswith("Cancelled (cancelled). Bought nothing of 1.23456789 BTC.")


async def test_skips_alert_only_when_asked_for() -> None:
    with AlertServer() as srv:
        quiet = Notifier(NotifyConfig((srv.url,), frozenset({"finished"})))
        await _run(quiet, max_price="1")
        await quiet.aclose()
        # The run finished (every tranche skipped): its alert says so, and no skip alert came.
        [finished] = srv.received
        assert finished["title"].endswith(" incomplete")  # its schedule ended, nothing bought
        assert finished["message"].startswith("Bought nothing of 0.50 BTC. 4 tranches were")
        srv.received.clear()
        loud = Notifier(NotifyConfig((srv.url,), frozenset({"skipped"})))
        executor = await _run(loud, max_price="1")
        await loud.aclose()
    titles = sorted(a["title"] for a in srv.received)
    assert titles == [
        f"btc-dca: run {executor.run_id} skipped tranche {i} of 4" for i in (1, 2, 3, 4)
    ]
    assert all(
        a["message"].startswith("Skipped (above max price): best price ") for a in srv.received
    )


async def test_a_refused_and_a_hanging_service_never_hold_up_the_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="storage.alerts.send")
    with AlertServer(hang=True) as hanging, AlertServer() as fine:
        urls = (refused_url(), hanging.url, fine.url)
        notifier = Notifier(NotifyConfig(urls), timeout_s=0.5)
        began = time.monotonic()
        await _run(notifier)
        ran_for = time.monotonic() - began
        assert ran_for < 0.5  # the run did not wait for any of them
        await notifier.aclose(wait_s=5)
        assert hanging.arrived.is_set()  # it got the alert, and never answered
    by_url = {d.url: d for d in notifier.deliveries}
    assert by_url[fine.url].ok
    assert not by_url[urls[0]].ok and not by_url[hanging.url].ok
    assert by_url[hanging.url].seconds < 3
    assert len(fine.received) == 1
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "not delivered" in logged
    # The log names the service's host, never the whole URL (tokens live there).
    assert "json://127.0.0.1:" in logged


async def test_a_venue_down_for_over_a_minute_alerts_once_unless_it_came_back() -> None:
    error = VenueError("kraken", ErrorKind.UNAVAILABLE, "HTTP 503")
    with AlertServer() as srv:
        down = {"kraken": True}
        n = Notifier(
            NotifyConfig((srv.url,), frozenset({"venue_down"})),
            down_after_s=0.05,
            still_down=lambda v: down[v],
        )
        await n.record(VenueDegraded("r1", "kraken", error, 0.0))
        await n.record(VenueDegraded("r1", "kraken", error, 1.0))  # the same outage
        await asyncio.sleep(0.2)
        await n.record(VenueDegraded("r2", "kraken", error, 0.0))
        await n.record(VenueRecovered("r2", "kraken", 0.5))  # back within the minute
        await n.record(VenueDegraded("r3", "kraken", error, 0.0))
        down["kraken"] = False  # the market saw it recover before the minute was up
        await asyncio.sleep(0.2)
        await n.aclose()
    [alert] = srv.received
    assert alert["title"] == "btc-dca: run r1: Kraken down"
    assert alert["message"] == (
        "Kraken has been unavailable for over 0.05 s: HTTP 503. "
        "The run goes on with the other venues."
    )


async def test_a_failed_run_says_why_and_how_to_resume() -> None:
    with AlertServer() as srv:
        n = Notifier(NotifyConfig((srv.url,)))
        p = plan()
        await n.record(RunStarted("r9", p, 0.0, (), ()))
        await n.fail("r9", "cannot write history to /full: No space left on device")
        await n.aclose()
    assert not n._plans
    [alert] = srv.received
    assert alert["title"] == "btc-dca: run r9 failed"
    assert alert["message"] == (
        "Failed: cannot write history to /full: No space left on device. "
        "Resume it with: btc-dca resume r9"
    )
    text = failed_alert("r9", "boom", None, "USD").body
    assert text.startswith("Failed: boom.")


async def test_no_url_sends_nothing() -> None:
    n = Notifier(NotifyConfig())
    assert not n.active
    await _run(n)
    await n.aclose()
    assert n.deliveries == []


async def test_the_test_message_reports_each_url() -> None:
    with AlertServer() as srv, AlertServer(hang=True) as hanging:
        urls = [srv.url, refused_url(), hanging.url]
        began = time.monotonic()
        results = await send_all(urls, probe_alert(), timeout_s=0.5)
        took = time.monotonic() - began
    assert [d.ok for d in results] == [True, False, False]
    assert took < 3  # at once, not one after the other
    assert srv.received[0]["title"] == "btc-dca: test alert"
    assert all(d.detail for d in results)
    assert results[0].detail == "sent"


def test_the_config_names_a_malformed_url_and_unknown_events(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[notify]\nurls = ["json://127.0.0.1:9/", "not a url"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"notify\.urls: 'not a url' is not a notification URL"):
        load_config(cfg, env={})
    cfg.write_text('[notify]\nurls = "ntfy://x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"notify\.urls: 'ntfy://x' is not a list"):
        load_config(cfg, env={})
    cfg.write_text('[notify]\nevents = ["finished", "done"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"notify\.events: unknown event 'done'"):
        load_config(cfg, env={})
    cfg.write_text("[notify]\nevents = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"notify\.events: 3 is not a list"):
        load_config(cfg, env={})
    cfg.write_text("[notify]\nemail = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"notify\.email: unknown key"):
        load_config(cfg, env={})
    cfg.write_text(
        '[notify]\nurls = ["ntfy://my-topic"]\nevents = ["skipped", "venue_down"]\n',
        encoding="utf-8",
    )
    notify = load_config(cfg, env={}).notify
    assert notify.urls == ("ntfy://my-topic",)
    assert notify.events == {"skipped", "venue_down"}
    assert load_config(None, env={}).notify.events == {"finished", "failed", "cancelled", "live"}


def test_a_standing_plan_with_no_end_alerts_what_it_bought_against_no_goal() -> None:
    summary = Summary(
        target=Decimal(0), qty=Decimal("0.03"), notional=Decimal("2700"), total=Decimal("2710")
    )
    alert = run_alert(RunCancelled("s1", 1.0, summary), "USD")
    assert alert is not None
    assert "Bought 0.03 BTC for 2,710.00 USD, avg 90,000.00 USD/BTC." in alert.body
    assert "of 0.00" not in alert.body
