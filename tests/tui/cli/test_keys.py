"""``btc-dca keys``: keys go to the OS keyring (here an in-memory one) and nowhere else."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import PasswordDeleteError

from tests.standins.binance import BinanceStandIn
from tests.standins.serve import serving_in_thread
from tests.tui.cli.helpers import run
from tui.cli import keys
from tui.cli.options import parse_options
from tui.cli.parser import build_parser

SECRET = "keyringSECRETneverPRINTED42"


class MemoryKeyring(KeyringBackend):
    """A keyring that writes nowhere: a dict."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


@pytest.fixture
def ring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    for name in ("KEY", "SECRET", "PASSPHRASE"):
        monkeypatch.delenv(f"BTC_DCA_BINANCE_API_{name}", raising=False)
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    try:
        yield memory
    finally:
        keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]  # no later test can reach a real keyring


def _set(venue: str, answers: list[str]) -> tuple[int, str, list[str]]:
    ns = build_parser().parse_args(["keys", "set", venue])
    prompts: list[str] = []

    def prompt(text: str) -> str:
        prompts.append(text)
        return answers.pop(0)

    out = io.StringIO()
    code = keys.command(ns, parse_options(ns, {}), out, prompt=prompt)
    return code, out.getvalue(), prompts


def test_a_key_set_lists_checks_and_deletes_without_ever_being_printed(
    ring: MemoryKeyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    code, out, prompts = _set("binance", ["ringKEY", SECRET])
    assert code == 0 and "Stored the Binance key in the OS keyring" in out
    assert prompts == ["Binance API key: ", "Binance API secret: "]
    assert SECRET in ring.store[("btc-dca", "binance")]

    code, out = run("keys", "list")
    assert code == 0 and "binance    OS keyring" in out.splitlines()

    standin = BinanceStandIn(key="ringKEY", secret=SECRET)
    with serving_in_thread(standin.app()) as url:
        monkeypatch.setenv("BTC_DCA_BINANCE_REST_URL", url)
        code, checked = run("live", "check", "--venues", "binance", "--quote", "USDT")
    assert code == 0 and "Binance: ready (key from keyring)" in checked

    assert run("keys", "delete", "binance")[0] == 0
    assert ring.store == {}
    assert run("keys", "delete", "binance")[0] == 2
    everything = out + checked + "".join(capsys.readouterr())
    assert SECRET not in everything
    assert not any(SECRET.encode() in p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())


def test_a_venue_with_a_passphrase_is_asked_for_it(ring: MemoryKeyring) -> None:
    code, _, prompts = _set("okx", ["k", "s", "p"])
    assert code == 0 and prompts[-1] == "OKX API passphrase: "
    assert '"passphrase": "p"' in ring.store[("btc-dca", "okx")]


def test_an_unknown_venue_or_an_empty_secret_is_refused(
    ring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("keys", "set", "mtgox")[0] == 2
    assert "VENUE: 'mtgox' is not a venue" in capsys.readouterr().err
    with pytest.raises(Exception, match="must not be empty"):
        _set("binance", ["k", ""])
    assert ring.store == {}


def test_a_locked_keyring_is_said_plainly(capsys: pytest.CaptureFixture[str]) -> None:
    from keyring.errors import KeyringLocked

    class Locked(MemoryKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise KeyringLocked("locked")

    keyring.set_keyring(Locked())
    try:
        code, _, _ = _set("binance", ["k", "s"])
    finally:
        keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    assert code == 1
    assert "the OS keyring refused the key: KeyringLocked" in capsys.readouterr().err


def test_without_an_os_keyring_env_keys_still_work_and_keys_set_says_what_to_do(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from keyring.errors import NoKeyringError

    class NoKeyring(MemoryKeyring):
        """Like a server's (no backend at all): every use raises NoKeyringError."""

        def get_password(self, service: str, username: str) -> str | None:
            raise NoKeyringError("no backend")

        def set_password(self, service: str, username: str, password: str) -> None:
            raise NoKeyringError("no backend")

    keyring.set_keyring(NoKeyring())
    try:
        monkeypatch.setenv("BTC_DCA_BINANCE_API_KEY", "k")
        monkeypatch.setenv("BTC_DCA_BINANCE_API_SECRET", SECRET)
        code, out = run("keys", "list")
        assert code == 0
        assert "binance    environment" in out.splitlines()
        assert "(keyring: there is no OS keyring on this machine" in out
        code, _, _ = _set("kraken", ["k", "s"])
        assert code == 1
        assert "set BTC_DCA_<VENUE>_API_KEY" in capsys.readouterr().err
        from exchanges.private.keys import load_keys

        assert load_keys("kraken") is None  # no key, not a failure
        keys = load_keys("binance")
        assert keys is not None and SECRET not in repr(keys)
    finally:
        keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]


def test_a_key_from_the_keyring_is_masked_in_whatever_this_process_writes_next(
    ring: MemoryKeyring,
) -> None:
    from exchanges import redact
    from exchanges.private.keys import load_keys, store_keys

    redact.forget_all()
    try:
        store_keys("binance", "keyringKEYvisibleONLYhere7", SECRET)
        assert redact.redact(f"venue said: bad {SECRET}") == f"venue said: bad {SECRET}"
        found = load_keys("binance", env={})
        assert found is not None and found.source == "keyring"
        masked = redact.redact(f"venue said: bad {SECRET} for keyringKEYvisibleONLYhere7")
        assert SECRET not in masked and "keyringKEYvisibleONLYhere7" not in masked
    finally:
        redact.forget_all()
