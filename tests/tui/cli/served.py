"""``btc-dca serve`` in a process of its own, for the tests that talk to it over loopback."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

# Escape sequences (CSI, OSC, charset selection) and other control bytes of the terminal stream.
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Served:
    """A running server: the address it printed (with its secret), and its process."""

    address: str
    port: int
    token: str
    proc: subprocess.Popen[bytes]
    printed: str

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def children(self) -> list[int]:
        """The dashboard processes the server started (one per page that got through)."""
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in path.read_text().split()]


@contextlib.contextmanager
def serving(tmp_path: Path, *args: str, env: Mapping[str, str] | None = None) -> Iterator[Served]:
    """``btc-dca serve --demo ARGS`` on a free port, with the test's data dir and config."""
    port = free_port()
    full_env = {
        **os.environ,
        "BTC_DCA_DATA_DIR": str(tmp_path / "data"),
        "BTC_DCA_CONFIG": str(tmp_path / "config.toml"),
        **(env or {}),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "serve", "--demo", "--port", str(port), *args],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    printed = ""
    try:
        assert proc.stdout is not None
        # Warnings (stderr) come first; the address is the line that says "Serving".
        while "Serving the dashboard at " not in printed:
            line = proc.stdout.readline().decode()
            assert line, f"serve stopped: {printed}"
            printed += line
        found = re.search(
            rf"Serving the dashboard at (http://127\.0\.0\.1:{port}/\?token=(\S+)) ", printed
        )
        assert found, printed
        # The address is printed as the server binds: wait until it answers.
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "serve never listened"
                time.sleep(0.05)
        yield Served(found[1], port, found[2], proc, printed)
    finally:
        # The server and the dashboards it started for the page: the whole session.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()
