"""The suite's guard: a connection to any host but this machine is refused before it leaves."""

from __future__ import annotations

import socket

import pytest


def test_a_connection_beyond_loopback_is_refused_before_it_leaves() -> None:
    refused = pytest.raises(ConnectionRefusedError, match=r"loopback only, not 192\.0\.2\.1")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, refused:
        sock.connect(("192.0.2.1", 443))  # TEST-NET-1: documentation only


def test_loopback_still_connects() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            assert sock.connect_ex(server.getsockname()) == 0
