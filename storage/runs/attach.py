"""What a run executed in this process shows the world outside it: its live files (other
processes see and steer it) and its alerts. The parts ``dca.session.RunSession`` takes
as ``live`` and ``alerts``, built alike for the command line and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from exchanges.market import Health, MarketData
from storage.alerts.config import NotifyConfig
from storage.alerts.send import Notifier
from storage.runs.control import LiveRun


@dataclass(frozen=True, slots=True)
class Attached:
    """A run's live files and its alerts."""

    live: LiveRun
    alerts: Notifier


def attach(
    data_dir: Path, notify: NotifyConfig, market: MarketData, *, where: str, cli: str = "btc-dca"
) -> Attached:
    """Live files in ``data_dir`` saying the run executes ``where`` (dashboard, headless,
    detached), and alerts to ``notify``'s URLs; a venue-down alert goes only while
    ``market`` still sees the venue down. ``cli``: ``btc-dca`` as the alerts' hints spell
    it (with the data dir and config in use)."""
    return Attached(
        LiveRun(data_dir, where=where),
        Notifier(
            notify,
            still_down=lambda venue: market.status(venue).health is Health.DOWN,
            cli=cli,
        ),
    )
