"""Secrets kept out of everything the app writes or shows: logs, alerts, Parquet, JSON, pages.

Two nets. By shape: a URL's password (``scheme://user:PASSWORD@host``) and the values of
query keys named like secrets (``?token=…``, ``api_key=…``) are masked wherever a URL
appears in a text. By value: every secret the app knows of (an alert URL's password or
token, a venue's API key, secret and passphrase from the environment, the browser view's
token) is ``register``-ed once when it is read, and ``redact`` replaces it in any text;
``RedactingFilter`` does that to every record a log handler writes. The bottom layer, so
venue clients, the engine and the storage all use the same one.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping

MASK = "***"
# Shorter values would mask ordinary words and numbers; no real secret is this short.
MIN_SECRET_LEN = 4
# Env variables that hold secrets: BTC_DCA_<VENUE>_API_KEY / _API_SECRET / _API_PASSPHRASE,
# and the browser view's token.
_SECRET_ENV = re.compile(r"^BTC_DCA_(?:[A-Z0-9]+_API_(?:KEY|SECRET|PASSPHRASE)|SERVE_TOKEN)$")
# scheme://user:password@ (the password may hold anything but '@', '/' and whitespace).
_USERINFO = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@/\s]+)(?=@)")
_SECRET_QUERY = re.compile(
    r"(?P<head>[?&;](?:[a-z0-9_.-]*(?:token|secret|password|passwd|pass|key|signature|sig|auth)"
    r"[a-z0-9_.-]*)=)(?P<value>[^&#\s\"'<>]+)",
    re.IGNORECASE,
)

_lock = threading.Lock()
_known: tuple[str, ...] = ()  # longest first, so a secret inside another goes with it


def register(*values: str | None) -> None:
    """Remember ``values`` as secrets: ``redact`` masks them from now on, in this process.

    Values shorter than ``MIN_SECRET_LEN`` and None are ignored.
    """
    global _known
    fresh = {v for v in values if v and len(v) >= MIN_SECRET_LEN}
    if not fresh - set(_known):
        return
    with _lock:
        _known = tuple(sorted(set(_known) | fresh, key=len, reverse=True))


def register_env(env: Mapping[str, str]) -> None:
    """Register the secrets the environment holds (API keys, the serve token)."""
    register(*(value for name, value in env.items() if _SECRET_ENV.match(name)))


def forget_all() -> None:
    """Forget every registered secret (for tests)."""
    global _known
    with _lock:
        _known = ()


def known() -> tuple[str, ...]:
    """The registered secrets (for tests and for handing to a child's redaction)."""
    return _known


def redact_url(url: str) -> str:
    """``url`` with its password and secret-named query values masked (host and path kept)."""
    url = _USERINFO.sub(lambda m: m["head"] + MASK, url)
    return _SECRET_QUERY.sub(lambda m: m["head"] + MASK, url)


def redact(text: str) -> str:
    """``text`` with every registered secret and every URL credential masked."""
    for secret in _known:
        if secret in text:
            text = text.replace(secret, MASK)
    if "://" in text:
        text = _USERINFO.sub(lambda m: m["head"] + MASK, text)
    if "=" in text:
        text = _SECRET_QUERY.sub(lambda m: m["head"] + MASK, text)
    return text


def secret_parts(url: str, private_url: str) -> list[str]:
    """The parts of ``url`` that a library's privacy form of it (``private_url``) masks.

    apprise masks what is secret in each kind of URL (a password, a bot token, a webhook
    key); whatever appears in the URL but not in its private form is a secret.
    """
    split = re.compile(r"[/:@?&=#]+")
    shown = set(split.split(private_url))
    return [part for part in split.split(url) if part and part not in shown]


class RedactingFilter(logging.Filter):
    """Masks secrets in every record that passes (message, arguments and traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's text without secrets; never drops a record."""
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            # The formatter keeps a formatted traceback in exc_text and uses it as is.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(handlers: Iterable[logging.Handler]) -> None:
    """Put one ``RedactingFilter`` on each handler (once)."""
    for handler in handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
