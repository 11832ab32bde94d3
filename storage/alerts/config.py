"""What ``[notify]`` in the config says: the apprise URLs and the events that send.

Apart from ``storage.alerts.send`` (which builds and sends the alerts) so reading the config
loads neither the run's events nor the sending machinery.
"""

from __future__ import annotations

from dataclasses import dataclass

from exchanges.redact import redact_url, register, secret_parts

# "live": real orders' money-safety alerts (a tranche skipped for balance or max_spend, a
# venue whose key stopped working left out of the run).
EVENTS = ("finished", "failed", "cancelled", "skipped", "venue_down", "live")
DEFAULT_EVENTS = ("finished", "failed", "cancelled", "live")


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    """Where alerts go (apprise URLs) and which events send one."""

    urls: tuple[str, ...] = ()
    events: frozenset[str] = frozenset(DEFAULT_EVENTS)


def url_problem(url: str) -> str | None:
    """Why apprise cannot send to ``url`` (None when it can; its secrets are registered then,
    so no log line, alert or page shows them)."""
    import apprise  # loaded only when the config has URLs

    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        return (
            f"{redact_url(url)!r} is not a notification URL apprise can send to "
            '(e.g. "ntfy://my-topic", "mailto://user:pass@example.com", "json://host:port/")'
        )
    # What apprise masks in its private form of the URL: a password, a bot token, a key.
    private: str = plugin.url(privacy=True)  # type: ignore[no-untyped-call]
    register(*secret_parts(url, private))
    return None
