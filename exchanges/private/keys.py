"""API keys: from the environment, or from the OS keyring (``btc-dca keys set VENUE``).

A key's secret never leaves this module's ``ApiKeys`` except into the request signer:
its ``repr`` hides it, nothing here logs or writes it, and the only place the app
stores it is the keyring. ``keyring`` is imported on first use (it probes backends).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from exchanges import redact

SERVICE = "btc-dca"
# Venues whose keys come with a passphrase.
NEEDS_PASSPHRASE = frozenset({"okx", "coinbase"})


class KeyringUnavailable(Exception):
    """The OS keyring could not be used (no backend, locked, refused)."""


@dataclass(frozen=True, slots=True)
class ApiKeys:
    """One venue's API key, secret and (where needed) passphrase; ``source`` is env or keyring."""

    venue: str
    key: str
    secret: str = field(repr=False)
    passphrase: str | None = field(default=None, repr=False)
    source: str = "env"

    def __repr__(self) -> str:
        return f"ApiKeys({self.venue!r}, key={mask(self.key)!r}, source={self.source!r})"


def mask(key: str) -> str:
    """A key shown as its last four characters (``…a1b2``); a secret is never shown at all."""
    return f"…{key[-4:]}" if len(key) > 8 else "…"


def env_name(venue: str, what: str) -> str:
    """``BTC_DCA_<VENUE>_API_<WHAT>``: the variable that holds one part of a venue's key."""
    return f"BTC_DCA_{venue.upper()}_API_{what.upper()}"


def from_env(venue: str, env: Mapping[str, str]) -> ApiKeys | None:
    """The venue's key from the environment, when both key and secret are set."""
    key = env.get(env_name(venue, "key"), "").strip()
    secret = env.get(env_name(venue, "secret"), "").strip()
    if not key or not secret:
        return None
    passphrase = env.get(env_name(venue, "passphrase"), "").strip() or None
    return ApiKeys(venue, key, secret, passphrase, source="env")


def _keyring() -> Any:
    try:
        import keyring
    except ImportError as exc:  # pragma: no cover - a dependency
        raise KeyringUnavailable(str(exc)) from exc
    return keyring


def from_keyring(venue: str) -> ApiKeys | None:
    """The venue's key from the OS keyring (None when none is stored). Blocking."""
    keyring = _keyring()
    try:
        stored = keyring.get_password(SERVICE, venue)
    except Exception as exc:  # every backend raises its own kinds
        raise _unavailable("could not be read", exc) from exc
    if not stored:
        return None
    try:
        parts = json.loads(stored)
        return ApiKeys(
            venue, str(parts["key"]), str(parts["secret"]), parts.get("passphrase"), "keyring"
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyringUnavailable(f"the keyring entry for {venue} is not one of ours") from exc


class NoKeyring(KeyringUnavailable):
    """This machine has no OS keyring at all (a server, a container): keys come from env."""


def _unavailable(what: str, exc: Exception) -> KeyringUnavailable:
    if type(exc).__name__ == "NoKeyringError":
        return NoKeyring(
            "there is no OS keyring on this machine: set BTC_DCA_<VENUE>_API_KEY and "
            "BTC_DCA_<VENUE>_API_SECRET instead"
        )
    return KeyringUnavailable(f"the OS keyring {what}: {type(exc).__name__}")


def load_keys(venue: str, env: Mapping[str, str] | None = None) -> ApiKeys | None:
    """The venue's key: the environment first, then the keyring (None when neither has
    one, or the machine has no keyring). Blocking (keyring)."""
    found = from_env(venue, os.environ if env is None else env)
    if found is None:
        try:
            found = from_keyring(venue)
        except NoKeyring:
            return None
    if found is not None:
        # Masked by value from here on in every log line, message and file this process writes.
        redact.register(found.key, found.secret, found.passphrase)
    return found


def store_keys(venue: str, key: str, secret: str, passphrase: str | None = None) -> None:
    """Put a venue's key in the OS keyring (replacing any). Blocking."""
    entry = {"key": key, "secret": secret}
    if passphrase:
        entry["passphrase"] = passphrase
    try:
        _keyring().set_password(SERVICE, venue, json.dumps(entry))
    except KeyringUnavailable:
        raise
    except Exception as exc:
        raise _unavailable("refused the key", exc) from exc


def delete_keys(venue: str) -> bool:
    """Remove a venue's key from the keyring; False when there was none. Blocking."""
    keyring = _keyring()
    try:
        if keyring.get_password(SERVICE, venue) is None:
            return False
        keyring.delete_password(SERVICE, venue)
    except Exception as exc:
        raise _unavailable("could not be changed", exc) from exc
    return True
