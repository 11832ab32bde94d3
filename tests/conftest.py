"""Every test, and every process a test starts, sees a keyring that fails on use: no test
reads or writes the real OS keyring (tests that need one install an in-memory keyring).
And no test in this process connects anywhere but loopback: a venue is never reached."""

from __future__ import annotations

import os

os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"

import ipaddress
import socket
from typing import Any

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _loopback_only(sock: socket.socket, address: Any) -> None:
    """Refuse a connection to anything but this machine: no test may reach a venue."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = str(address[0])
        try:
            ok = ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            ok = host == "localhost"
        if not ok:
            raise ConnectionRefusedError(f"tests reach loopback only, not {host}")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _loopback_only(self, address)
    _connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _loopback_only(self, address)
    return _connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign,assignment]
