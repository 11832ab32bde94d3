"""Secrets masked by shape (a URL's password, secret-named query values) and by value
(what was registered), in any text and in every log record."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from exchanges import redact


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    redact.forget_all()
    yield
    redact.forget_all()


def test_redaction_by_shape_and_by_value() -> None:
    url = "https://user:hunter2hunter2@example.com/path?api_key=abcd1234&x=1"
    assert redact.redact_url(url) == "https://user:***@example.com/path?api_key=***&x=1"
    redact.register("s3cr3t-value", None, "ab")  # too short to mask: ignored
    assert redact.redact("token s3cr3t-value here, ab stays") == "token *** here, ab stays"
    assert "ab" not in redact.known()
    redact.register_env({"BTC_DCA_BINANCE_API_SECRET": "bin-secret-1", "HOME": "/root/x"})
    assert redact.redact("bin-secret-1 /root/x") == "*** /root/x"
    # apprise's private form of a URL says which parts are secret.
    parts = redact.secret_parts(
        "tgram://123456789:AAbbccdd/12345", "tgram://1...d/12345/?image=False"
    )
    assert parts == ["123456789", "AAbbccdd"]


def test_log_lines_lose_secrets_in_messages_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    redact.install([handler])
    redact.install([handler])  # once is enough
    assert len(handler.filters) == 1
    logger = logging.getLogger("tests.secrets")
    logger.addHandler(handler)
    logger.propagate = False
    redact.register("Key-in-a-log-line")
    try:
        logger.warning("sent to %s", "json://u:pw-in-url@host/")
        logger.warning("key %s", "Key-in-a-log-line")
        try:
            raise RuntimeError("failed with Key-in-a-log-line")
        except RuntimeError:
            logger.exception("boom")
        logger.warning("here", stack_info=True)
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "sent to json://u:***@host/" in text and "key ***" in text
    assert "RuntimeError: failed with ***" in text
    assert "Key-in-a-log-line" not in text and "pw-in-url" not in text
