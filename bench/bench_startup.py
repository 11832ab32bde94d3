"""Start-up against its floors, measured side by side in one run.

1. ``btc-dca --demo`` against a bare Textual app of the same shape (``bare_textual.py``:
   a header, six bordered panels, a footer), each started in a 120x40 pseudo-terminal:
   time from exec to the first full frame and to the footer's keys on screen.
2. ``btc-dca quote --amount 2`` over 4 venues against a competent ccxt script
   (``ccxt_quote.py``) doing the same job, both as whole processes against the same
   local venue servers (127.0.0.1, each answering in 50 ms).

The two programs of a pair run alternately, so a busy machine slows both alike. Prints
medians, the ratios, and the goals: the dashboard within 1.3x of bare Textual, the quote
at 0.30x of ccxt or better. ccxt is not a project dependency: without it, part 2 says so.

Run: ``.venv/bin/python bench/bench_startup.py [--runs 7]``
"""

from __future__ import annotations

import argparse
import fcntl
import os
import platform
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_quote_latency import body_for  # noqa: E402

from exchanges.registry import adapters_for  # noqa: E402
from exchanges.venues import DEFAULT_SPECS  # noqa: E402
from tests.exchanges.servers import Reply, threaded_server  # noqa: E402

FOOTER_KEYS = b"palette"
ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
QUOTE_VENUES = ("binance", "kraken", "bitstamp", "okx")
BIN = Path(sys.executable).parent


def frame_times(argv: Sequence[str], rows: int = 40, cols: int = 120) -> tuple[float, float]:
    """Seconds from exec of ``argv`` in a rows x cols pty to (the first write that reaches
    the bottom row, the footer's keys on screen)."""
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(argv[0], list(argv))
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    frame = keys = None
    try:
        while keys is None and time.perf_counter() - t0 < 30:
            if not select.select([fd], [], [], 0.005)[0]:
                continue
            chunk, now = os.read(fd, 1 << 16), time.perf_counter() - t0
            if frame is None and f"\x1b[{rows};1H".encode() in chunk:
                frame = now
            if FOOTER_KEYS in ESCAPES.sub(b"", chunk):
                keys = now
    finally:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        os.close(fd)
    if frame is None or keys is None:
        raise RuntimeError(f"{argv[0]} drew no full frame within 30 s")
    return frame, keys


def ms(value: float) -> str:
    return f"{value * 1000:.0f} ms"


def dashboard(runs: int) -> None:
    """Part 1: the dashboard beside bare Textual."""
    bare_frames: list[float] = []
    bare_keys: list[float] = []
    app_frames: list[float] = []
    app_keys: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        app = [str(BIN / "btc-dca"), "--demo", "--data-dir", tmp]
        app += ["--config", str(Path(tmp) / "config.toml")]
        bare = [sys.executable, str(ROOT / "bench" / "bare_textual.py")]
        frame_times(app)  # first start writes the config file; not counted
        for _ in range(runs):
            f, k = frame_times(bare)
            bare_frames.append(f)
            bare_keys.append(k)
            f, k = frame_times(app)
            app_frames.append(f)
            app_keys.append(k)
    bf, bk = statistics.median(bare_frames), statistics.median(bare_keys)
    af, ak = statistics.median(app_frames), statistics.median(app_keys)
    print(f"start-up in a 120x40 pty, median of {runs} alternate runs:")
    print(f"  bare Textual (header, 6 panels, footer): first frame {ms(bf)}, keys {ms(bk)}")
    print(f"  btc-dca --demo                         : first frame {ms(af)}, keys {ms(ak)}")
    print(
        f"  ratio: first frame {af / bf:.2f}x, keys {ak / bk:.2f}x of bare Textual (goal <= 1.3x)"
    )


def quote(runs: int) -> None:
    """Part 2: ``btc-dca quote`` beside a ccxt script, whole processes, same servers."""
    try:
        import ccxt  # noqa: F401
    except ImportError:
        print("quote vs ccxt: skipped (ccxt is not installed: pip install ccxt)")
        return
    adapters = adapters_for(QUOTE_VENUES)
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, BTC_DCA_DATA_DIR=tmp, BTC_DCA_CONFIG=str(Path(tmp) / "c.toml"))
        roots = []
        servers = [threaded_server() for _ in QUOTE_VENUES]
        try:
            for venue, ctx in zip(QUOTE_VENUES, servers, strict=True):
                srv = ctx.__enter__()
                spec = DEFAULT_SPECS[venue].with_overrides(rest_url=srv.url)
                req = adapters[venue].rest_request(spec, spec.symbols["USDT"], 500)
                srv.rest(urlparse(req.url).path, Reply(body_for(venue), delay=0.05))
                env[f"BTC_DCA_{venue.upper()}_REST_URL"] = srv.url
                roots.append(f"{venue}={srv.url}")
            ours = [str(BIN / "btc-dca"), "quote", "--amount", "2", "--quote", "USDT"]
            ours += ["--venues", ",".join(QUOTE_VENUES)]
            theirs = [sys.executable, str(ROOT / "bench" / "ccxt_quote.py"), "2", *roots]
            ours_t: list[float] = []
            theirs_t: list[float] = []
            for argv, times in [(ours, ours_t), (theirs, theirs_t)] * (runs + 1):
                t0 = time.perf_counter()
                done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
                times.append(time.perf_counter() - t0)
                if done.returncode != 0:
                    raise SystemExit(f"{argv[:2]} failed ({done.returncode}): {done.stderr}")
        finally:
            for ctx in servers:
                ctx.__exit__(None, None, None)
    o, t = statistics.median(ours_t[1:]), statistics.median(theirs_t[1:])
    print(f"quote for 2 BTC over {len(QUOTE_VENUES)} local venues (50 ms each), whole process,")
    print(f"median of {runs} alternate runs:")
    print(f"  ccxt {__import__('ccxt').__version__} script: {ms(t)}")
    print(f"  btc-dca quote     : {ms(o)}")
    print(f"  ratio: {o / t:.2f}x of ccxt (goal <= 0.30x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--only", choices=["dashboard", "quote"])
    args = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores")
    if args.only != "quote":
        dashboard(args.runs)
    if args.only != "dashboard":
        quote(args.runs)


if __name__ == "__main__":
    main()
