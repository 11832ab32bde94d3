"""``btc-dca notify --test``: send a test alert to every ``[notify]`` URL, report each result."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TextIO

from exchanges.redact import redact
from storage.alerts.send import probe_alert, send_all
from tui.cli import exits
from tui.cli.options import load_app_config, prepare_storage
from tui.wiring import Options


def command(ns: argparse.Namespace, options: Options, out: TextIO) -> int:
    """0 when every URL took the message, 1 when any did not, 2 when none is configured."""
    config = load_app_config(options)
    prepare_storage(options, compact=False)
    urls = config.notify.urls
    if not urls:
        where = config.path or "the config file"
        print(
            f'btc-dca: notify: no URL in [notify] urls of {where}; add e.g. urls = ["ntfy://topic"]',
            file=sys.stderr,
        )
        return exits.EXIT_INVALID
    results = asyncio.run(send_all(urls, probe_alert()))
    for d in results:
        mark = "sent  " if d.ok else "FAILED"
        print(
            f"{mark}  {redact(d.url)}  ({d.seconds:.1f}s){'' if d.ok else ': ' + d.detail}",
            file=out,
        )
    ok = sum(d.ok for d in results)
    events = ", ".join(sorted(config.notify.events)) or "none"
    print(f"{ok} of {len(results)} URLs took the test alert. Alerts on: {events}.", file=out)
    return exits.EXIT_OK if ok == len(results) else exits.EXIT_FAILED
