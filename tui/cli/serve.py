"""``btc-dca serve``: the dashboard in a browser, through textual-serve.

Every browser tab gets a dashboard process of its own, started with the same options
(``--demo``, data dir, config). The page has no login, so it listens on loopback only
unless ``--public`` is given; from another machine, use an SSH tunnel
(``ssh -L 8000:127.0.0.1:8000 host``) rather than ``--public``.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import shlex
import socket
import sys
from typing import TextIO

from tui.cli import exits
from tui.cli.detach import common_args
from tui.cli.options import UsageError, prepare_storage
from tui.wiring import Options


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (None when it can)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # As the server will: a port left in TIME_WAIT by an earlier server is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is in use (another server?); pick one with --port"
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def dashboard_command(options: Options, args: list[str]) -> str:
    """The shell command textual-serve starts for each browser tab."""
    return shlex.join([sys.executable, "-m", "tui.cli", *args])


def command(ns: argparse.Namespace, options: Options, out: TextIO) -> int:
    """Serve until Ctrl-C; 2 for a non-loopback host without --public, 3 for a busy port."""
    if not 0 < ns.port < 65536:
        raise UsageError(f"--port: {ns.port} is not a port number (1-65535)")
    if not is_loopback(ns.host):
        if not ns.public:
            raise UsageError(
                f"--host: {ns.host} is not loopback and the page has no login: anyone who "
                "reaches it can start and cancel runs. Use an SSH tunnel "
                f"(ssh -L {ns.port}:127.0.0.1:{ns.port} this-host) or pass --public"
            )
        print(
            f"btc-dca: warning: serving on {ns.host}:{ns.port} with NO login: anyone who "
            "reaches this address can start, pause and cancel runs",
            file=sys.stderr,
        )
    problem = port_problem(ns.host, ns.port)
    if problem is not None:
        print(f"btc-dca: serve: {problem}", file=sys.stderr)
        return exits.EXIT_NO_VENUE
    paths = prepare_storage(options, compact=False)
    from textual_serve.server import Server  # the web server loads only for this command

    app_command = dashboard_command(
        options, common_args(options, paths.data_dir, paths.config_file)
    )
    shown = f"[{ns.host}]" if ":" in ns.host else ns.host
    server = Server(app_command, host=ns.host, port=ns.port, title="btc-dca")
    print(f"Serving the dashboard at http://{shown}:{ns.port}/ (Ctrl-C to stop)", file=out)
    out.flush()
    server.serve()
    return exits.EXIT_OK
