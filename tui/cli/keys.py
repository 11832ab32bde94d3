"""``btc-dca keys set|list|delete VENUE``: API keys in the OS keyring.

``set`` prompts for the key and secret (and the passphrase where the venue has one)
without echoing them; they go to the keyring and nowhere else. ``list`` says which
venues have a key there (never the key); environment keys are listed as such.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from typing import TextIO

from exchanges.private.keys import (
    NEEDS_PASSPHRASE,
    KeyringUnavailable,
    delete_keys,
    from_env,
    from_keyring,
    store_keys,
)
from exchanges.venues import VENUE_IDS, display_name
from tui.cli import exits
from tui.cli.options import UsageError
from tui.wiring import Options

Prompt = Callable[[str], str]


def command(
    ns: argparse.Namespace, options: Options, out: TextIO, prompt: Prompt = getpass.getpass
) -> int:
    """Store, list or delete venue keys in the OS keyring."""
    action = ns.keys_command
    try:
        if action == "list":
            return _list(out)
        venue = _venue(ns.venue)
        if action == "delete":
            if delete_keys(venue):
                print(f"Deleted the {display_name(venue)} key from the OS keyring.", file=out)
                return exits.EXIT_OK
            print(f"btc-dca: keys: no {display_name(venue)} key in the OS keyring", file=sys.stderr)
            return exits.EXIT_INVALID
        return _set(venue, out, prompt)
    except KeyringUnavailable as exc:
        print(f"btc-dca: keys: {exc}", file=sys.stderr)
        return exits.EXIT_FAILED


def _venue(venue: str | None) -> str:
    if venue not in VENUE_IDS:
        raise UsageError(f"VENUE: {venue!r} is not a venue ({', '.join(VENUE_IDS)})")
    return venue


def _set(venue: str, out: TextIO, prompt: Prompt) -> int:
    name = display_name(venue)
    key = prompt(f"{name} API key: ").strip()
    secret = prompt(f"{name} API secret: ").strip()
    passphrase = prompt(f"{name} API passphrase: ").strip() if venue in NEEDS_PASSPHRASE else None
    if not key or not secret:
        raise UsageError(f"keys set {venue}: the key and the secret must not be empty")
    store_keys(venue, key, secret, passphrase)
    print(
        f"Stored the {name} key in the OS keyring. Check it with: btc-dca live check "
        f"--venues {venue}",
        file=out,
    )
    return exits.EXIT_OK


def _list(out: TextIO) -> int:
    problem: str | None = None
    for venue in VENUE_IDS:
        where = []
        if from_env(venue, os.environ) is not None:
            where.append("environment")
        if problem is None:
            try:
                if from_keyring(venue) is not None:
                    where.append("OS keyring")
            except KeyringUnavailable as exc:
                problem = str(exc)
        print(f"{venue:10} {' and '.join(where) if where else '-'}", file=out)
    if problem is not None:
        print(f"(keyring: {problem})", file=out)
    return exits.EXIT_OK
