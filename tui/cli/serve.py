"""``btc-dca serve``: the dashboard in a browser, through textual-serve.

Every browser tab gets a dashboard process of its own, started with the same options
(``--demo``, data dir, config). The page and its socket need the secret in the address
printed at start (see ``web.py`` for the checks). It listens on loopback only unless
``--public`` is given; from another machine, an SSH tunnel
(``ssh -L 8000:127.0.0.1:8000 host``) is better than ``--public``.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import os
import shlex
import socket
import sys
from collections.abc import Mapping
from typing import TextIO

from exchanges.redact import register
from tui.cli import exits
from tui.cli.detach import common_args
from tui.cli.options import UsageError, prepare_storage
from tui.cli.web import ENV_TOKEN, WILDCARDS, Guard, make_server, new_token, token_problem
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


def page_token(ns: argparse.Namespace, env: Mapping[str, str]) -> str:
    """The page's secret: ``--token``, else env ``BTC_DCA_SERVE_TOKEN``, else a fresh one."""
    given, where = (ns.token, "--token") if ns.token else (env.get(ENV_TOKEN), ENV_TOKEN)
    if not given:
        return new_token()
    problem = token_problem(given)
    if problem is not None:
        raise UsageError(f"{where}: {problem}")
    if ns.token:
        print(
            "btc-dca: warning: --token is visible to every account on this machine (ps); "
            f"set {ENV_TOKEN} instead, or let serve make one",
            file=sys.stderr,
        )
    return given


def addresses(host: str, port: int, token: str) -> list[str]:
    """The page's addresses to print, with the secret: this one, or for every address
    (0.0.0.0) this machine's loopback and name."""
    if host in WILDCARDS:
        hosts = ["127.0.0.1", socket.gethostname()]
    else:
        hosts = [f"[{host}]" if ":" in host else host]
    return [f"http://{h}:{port}/?token={token}" for h in hosts]


def command(ns: argparse.Namespace, options: Options, out: TextIO) -> int:
    """Serve until Ctrl-C; 2 for a non-loopback host without --public, 3 for a busy port."""
    if not 0 < ns.port < 65536:
        raise UsageError(f"--port: {ns.port} is not a port number (1-65535)")
    token = page_token(ns, os.environ)
    # Out of the dashboards' environment (each tab's process inherits this one's).
    os.environ.pop(ENV_TOKEN, None)
    register(token)
    if not is_loopback(ns.host):
        if not ns.public:
            raise UsageError(
                f"--host: {ns.host} is not loopback: anyone who reaches it can try the page "
                "(it needs the secret, but travels unencrypted). Use an SSH tunnel "
                f"(ssh -L {ns.port}:127.0.0.1:{ns.port} this-host) or pass --public"
            )
        print(
            f"btc-dca: warning: serving on {ns.host}:{ns.port}: the page and its secret travel "
            "unencrypted. Put TLS in front: serve on 127.0.0.1 and run a proxy, e.g. "
            f"caddy reverse-proxy --from your.host --to 127.0.0.1:{ns.port} "
            "(with --allow-host your.host here), or use an SSH tunnel",
            file=sys.stderr,
        )
    problem = port_problem(ns.host, ns.port)
    if problem is not None:
        print(f"btc-dca: serve: {problem}", file=sys.stderr)
        return exits.EXIT_NO_VENUE
    paths = prepare_storage(options, compact=False)
    app_command = dashboard_command(
        options, common_args(options, paths.data_dir, paths.config_file)
    )
    guard = Guard.for_address(token, ns.host, ns.port, ns.allow_host or ())
    server = make_server(app_command, ns.host, ns.port, guard, "btc-dca")
    first, *more = addresses(ns.host, ns.port, token)
    print(f"Serving the dashboard at {first} (Ctrl-C to stop)", file=out)
    for other in more:
        print(f"  also at {other}", file=out)
    print("Open that address; the page needs its secret (it keeps it in a cookie).", file=out)
    out.flush()
    server.serve()
    return exits.EXIT_OK
