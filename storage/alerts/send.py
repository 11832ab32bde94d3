"""Alerts through apprise: a run finished, failed or was cancelled, a tranche was skipped,
a venue stayed down for over a minute.

``[notify]`` in the config lists apprise URLs (``ntfy://topic``, ``mailto://…``,
``json://host:port/`` …) and the events that send. A ``Notifier`` is a journal: fanned
out with the others, it builds the message from the run's events and sends it in a
thread of its own, with a timeout, so the run never waits on a slow or dead service.
A message that cannot be delivered is logged, nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from dca.events import (
    Event,
    RunCancelled,
    RunFinished,
    RunStarted,
    Summary,
    TrancheSkipped,
    VenueDegraded,
    VenueRecovered,
)
from dca.plan import Plan
from dca.status import INTERRUPTED
from exchanges.redact import redact
from exchanges.venues import display_name
from storage.alerts.config import NotifyConfig

log = logging.getLogger(__name__)

# Per URL: connect and read timeouts of apprise's request, and our wait for its answer.
SEND_TIMEOUT_S = 10.0
# A venue must stay unusable this long (real seconds) before it is worth an alert.
VENUE_DOWN_AFTER_S = 60.0


@dataclass(frozen=True, slots=True)
class Alert:
    """One message for every URL."""

    event: str
    title: str
    body: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of an alert sent to one URL."""

    url: str
    ok: bool
    detail: str
    seconds: float


def _money(value: Decimal | None) -> str:
    if value is None:
        return "-"
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN):,}"


def _btc(value: Decimal) -> str:
    text = f"{value.quantize(Decimal('0.00000001'), rounding=ROUND_HALF_EVEN):f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def _totals(summary: Summary, quote: str) -> str:
    if summary.budget is not None:
        # A budget run: what it bought, and how much of the budget is left.
        return (
            f"Bought {_btc(summary.qty)} BTC for {_money(summary.total)} of a "
            f"{_money(summary.budget)} {quote} budget; {_money(summary.left)} {quote} left."
        )
    if not summary.target:
        # A standing plan with no end: what it bought, against no goal.
        if not summary.qty:
            return "Bought nothing."
        return (
            f"Bought {_btc(summary.qty)} BTC for {_money(summary.total)} {quote}, avg "
            f"{_money(summary.avg_price)} {quote}/BTC."
        )
    if not summary.qty:
        return f"Bought nothing of {_btc(summary.target)} BTC."
    return (
        f"Bought {_btc(summary.qty)} of {_btc(summary.target)} BTC for "
        f"{_money(summary.total)} {quote}, avg {_money(summary.avg_price)} {quote}/BTC; "
        f"saved {_money(summary.saved_vs_worst)} {quote} vs the worst venue."
    )


def run_alert(event: RunFinished | RunCancelled, quote: str) -> Alert | None:
    """The message of a run that ended (None for an interrupt: the run goes on later)."""
    s = event.summary
    if isinstance(event, RunFinished):
        # The schedule's end: "finished", or "incomplete" when it bought less than its amount.
        skipped = f" {s.skipped} tranches were skipped." if s.skipped else ""
        return Alert(
            "finished",
            f"btc-dca: run {event.run_id} {event.status.value}",
            _totals(s, quote) + skipped,
        )
    if event.reason == INTERRUPTED:
        return None
    return Alert(
        "cancelled",
        f"btc-dca: run {event.run_id} cancelled",
        f"Cancelled ({event.reason}). {_totals(s, quote)}",
    )


def failed_alert(
    run_id: str, message: str, summary: Summary | None, quote: str, cli: str = "btc-dca"
) -> Alert:
    """The message of a run that stopped on an error (it can be resumed); ``cli`` is
    ``btc-dca`` as the hint to resume it spells it."""
    so_far = f" {_totals(summary, quote)}" if summary is not None else ""
    return Alert(
        "failed",
        f"btc-dca: run {run_id} failed",
        f"Failed: {message}.{so_far} Resume it with: {cli} resume {run_id}",
    )


def skipped_alert(event: TrancheSkipped) -> Alert:
    """The message of a tranche that bought nothing."""
    carried = f" {_btc(event.carried)} BTC carried to the next tranche." if event.carried else ""
    reason = event.reason.value.replace("_", " ")
    return Alert(
        "skipped",
        f"btc-dca: run {event.run_id} skipped tranche {event.index + 1}"
        + (f" of {event.of}" if event.of else ""),
        f"Skipped ({reason}): {event.detail}.{carried}",
    )


def venue_down_alert(event: VenueDegraded, after_s: float) -> Alert:
    """The message of a venue that stayed unusable for ``after_s`` seconds."""
    return Alert(
        "venue_down",
        f"btc-dca: run {event.run_id}: {display_name(event.venue)} down",
        f"{display_name(event.venue)} has been unavailable for over {after_s:g} s: "
        f"{event.error.message}. "
        "The run goes on with the other venues.",
    )


def probe_alert() -> Alert:
    """The message of ``btc-dca notify --test``."""
    return Alert(
        "test",
        "btc-dca: test alert",
        "This is a test from btc-dca: alerts reach you here.",
    )


def send_one(url: str, alert: Alert, timeout_s: float = SEND_TIMEOUT_S) -> Delivery:
    """Send ``alert`` to ``url`` now (blocking; call it from a thread); never raises."""
    import apprise

    began = time.monotonic()
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        return Delivery(url, False, "not a URL apprise can send to", 0.0)
    plugin.socket_connect_timeout = timeout_s
    plugin.socket_read_timeout = timeout_s
    said = _ThreadLog()
    apprise_log = logging.getLogger("apprise")
    apprise_log.addHandler(said)
    try:
        # The plugin itself, in this thread (``Apprise.notify`` would hand it to a pool of its
        # own), so what it logs about a failure is told apart from other sends by thread.
        ok = bool(plugin.notify(body=alert.body, title=alert.title))
    except Exception as exc:  # a plugin's own bug: this alert is lost, never the run
        detail = redact(f"{type(exc).__name__}: {exc}")
        return Delivery(url, False, detail, time.monotonic() - began)
    finally:
        apprise_log.removeHandler(said)
    seconds = time.monotonic() - began
    if ok:
        return Delivery(url, True, "sent", seconds)
    return Delivery(url, False, redact("; ".join(said.lines[-2:])) or "not delivered", seconds)


class _ThreadLog(logging.Handler):
    """What apprise logged at warning level or above in this thread (why a send failed)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep this thread's messages only (other sends run at the same time)."""
        if record.thread == self.thread:
            self.lines.append(record.getMessage().strip())


Sender = Callable[[str, Alert, float], Delivery]


def _redact(url: str) -> str:
    """``url`` without what may be a secret (user, password, token) for the log."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "<url>"
    host = rest.split("@")[-1].split("/")[0].split("?")[0]
    return f"{scheme}://{host}/…" if host else f"{scheme}://…"


@dataclass
class Notifier:
    """A journal that sends the alerts of ``config.events`` to every URL, off the loop."""

    config: NotifyConfig
    timeout_s: float = SEND_TIMEOUT_S
    down_after_s: float = VENUE_DOWN_AFTER_S
    sender: Sender = send_one
    # Whether a venue is still unusable when its minute is up (the market's view).
    still_down: Callable[[str], bool] | None = None
    # ``btc-dca`` as the alerts' hints spell it (with the data dir and config in use).
    cli: str = "btc-dca"
    deliveries: list[Delivery] = field(default_factory=list)
    _plans: dict[str, Plan] = field(default_factory=dict)
    _timers: dict[tuple[str, str], asyncio.TimerHandle] = field(default_factory=dict)
    _pending: set[asyncio.Future[Delivery]] = field(default_factory=set)

    @property
    def active(self) -> bool:
        """Whether any alert can be sent at all."""
        return bool(self.config.urls and self.config.events)

    def wants(self, event: str) -> bool:
        """Whether ``event`` sends an alert."""
        return bool(self.config.urls) and event in self.config.events

    async def record(self, event: Event) -> None:
        """Send the alert ``event`` calls for, if any; returns at once."""
        if isinstance(event, RunStarted):
            self._plans[event.run_id] = event.plan
        elif isinstance(event, RunFinished | RunCancelled):
            self._stop_timers(event.run_id)
            alert = run_alert(event, self._ended(event.run_id))
            if alert is not None:
                self.send(alert)
        elif isinstance(event, TrancheSkipped):
            self.send(skipped_alert(event))
        elif isinstance(event, VenueDegraded) and self.wants("venue_down"):
            key = (event.run_id, event.venue)
            if key not in self._timers:
                loop = asyncio.get_running_loop()
                self._timers[key] = loop.call_later(self.down_after_s, self._down_for_long, event)
        elif isinstance(event, VenueRecovered):
            timer = self._timers.pop((event.run_id, event.venue), None)
            if timer is not None:
                timer.cancel()

    async def fail(self, run_id: str, message: str, summary: Summary | None = None) -> None:
        """The run stopped on an error: send the ``failed`` alert."""
        self._stop_timers(run_id)
        self.send(failed_alert(run_id, message, summary, self._ended(run_id), self.cli))

    def _ended(self, run_id: str) -> str:
        """The ended run's quote currency ("" if unknown); its plan is dropped, so a
        notifier that lives for days keeps no plan of a run gone."""
        plan = self._plans.pop(run_id, None)
        return plan.quote if plan is not None else ""

    def _down_for_long(self, event: VenueDegraded) -> None:
        self._timers.pop((event.run_id, event.venue), None)
        if self.still_down is not None and not self.still_down(event.venue):
            return
        self.send(venue_down_alert(event, self.down_after_s))

    def _stop_timers(self, run_id: str) -> None:
        for key in [k for k in self._timers if k[0] == run_id]:
            self._timers.pop(key).cancel()

    def send(self, alert: Alert) -> list[asyncio.Future[Delivery]]:
        """Send ``alert`` to every URL if its event is wanted; one future per URL."""
        if not self.wants(alert.event):
            return []
        # A failure's text can quote a URL with its key: alerts leave the machine.
        alert = Alert(alert.event, redact(alert.title), redact(alert.body))
        return [self._send_in_thread(url, alert) for url in self.config.urls]

    def _send_in_thread(self, url: str, alert: Alert) -> asyncio.Future[Delivery]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Delivery] = loop.create_future()

        def deliver() -> None:
            delivery = self.sender(url, alert, self.timeout_s)
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
                loop.call_soon_threadsafe(_settle, future, delivery)

        # A daemon thread: a service that hangs past its timeout never holds the exit.
        threading.Thread(target=deliver, name=f"alert {alert.event}", daemon=True).start()
        self._pending.add(future)
        future.add_done_callback(self._delivered)
        return future

    def _delivered(self, future: asyncio.Future[Delivery]) -> None:
        self._pending.discard(future)
        if future.cancelled():
            return
        d = future.result()
        self.deliveries.append(d)
        if d.ok:
            log.info("alert sent to %s in %.1fs", _redact(d.url), d.seconds)
        else:
            log.warning("alert to %s not delivered: %s", _redact(d.url), d.detail)

    async def aclose(self, wait_s: float | None = None) -> None:
        """Wait (at most ``wait_s``, default the send timeout) for alerts still on their way."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        pending = list(self._pending)
        if not pending:
            return
        done, late = await asyncio.wait(
            pending, timeout=self.timeout_s + 1 if wait_s is None else wait_s
        )
        del done
        for future in late:
            log.warning("an alert was still on its way when the run's process ended")
            future.cancel()


def _settle(future: asyncio.Future[Delivery], delivery: Delivery) -> None:
    if not future.done():
        future.set_result(delivery)


async def send_all(
    urls: Iterable[str], alert: Alert, timeout_s: float = SEND_TIMEOUT_S
) -> list[Delivery]:
    """Send ``alert`` to each URL at once (threads); every URL's result, in order."""
    return list(
        await asyncio.gather(*(asyncio.to_thread(send_one, u, alert, timeout_s) for u in urls))
    )
