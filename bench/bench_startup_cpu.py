"""Where the dashboard's start-up goes: CPU time to the first frame, with and without the form.

``bench_startup.py`` times whole starts on the wall clock. This one asks what the gap to
bare Textual is made of. Each program starts in a 120x40 pseudo-terminal with a hook on
Textual's driver that reads ``time.process_time()`` (the process's CPU, every thread) at the
first write of the bottom row and at the first write of the footer's keys, then exits:

- ``bare``: ``bare_textual.py`` (header, six bordered panels, footer);
- ``dashboard``: ``btc-dca --demo`` as shipped;
- ``no-form``: the same dashboard with the plan form cut to its first field, so the
  difference to ``dashboard`` is what the form's standard widgets cost (inputs, selects
  with their overlays, the venue checklist, labels, rows).

The three run in turn, so a busy machine slows them alike. Prints medians and ratios.

Run: ``.venv/bin/python bench/bench_startup_cpu.py [--runs 9]``
"""

from __future__ import annotations

import argparse
import fcntl
import os
import platform
import pty
import select
import statistics
import struct
import sys
import tempfile
import termios
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("bare", "dashboard", "no-form")
BOTTOM_ROW = "\x1b[40;1H"
FOOTER_KEYS = "palette"


def _hook_driver(out: Path) -> None:
    """Record CPU seconds at the first full frame and at the keys, then exit the process."""
    from textual.drivers.linux_driver import LinuxDriver

    write = LinuxDriver.write
    frame: list[float] = []

    def timed_write(self: LinuxDriver, data: str) -> None:
        if not frame and BOTTOM_ROW in data:
            frame.append(time.process_time())
        if frame and FOOTER_KEYS in data:
            out.write_text(f"{frame[0]} {time.process_time()}\n")
            os._exit(0)
        write(self, data)

    LinuxDriver.write = timed_write  # type: ignore[method-assign]


def _cut_form() -> None:
    """The plan form reduced to its amount field (what the main screen focuses first)."""
    from textual.app import ComposeResult
    from textual.widgets import Input

    from tui.widgets.plan_form import PlanForm

    def compose(self: PlanForm) -> ComposeResult:
        yield Input(self.defaults.amount, id="amount", compact=True)

    PlanForm.compose = compose  # type: ignore[method-assign]
    PlanForm.on_mount = lambda self: None  # type: ignore[method-assign]
    PlanForm.validate = lambda self, again=False: None  # type: ignore[method-assign,misc]
    PlanForm.ticked = lambda self: []  # type: ignore[method-assign]


def child(variant: str, out: Path, data_dir: str) -> None:
    """One start of ``variant`` (in the pty), timed by the driver hook."""
    sys.path.insert(0, str(ROOT))
    _hook_driver(out)
    if variant == "bare":
        sys.path.insert(0, str(ROOT / "bench"))
        from bare_textual import Bare

        Bare().run()
        return
    if variant == "no-form":
        _cut_form()
    from tui.cli.main import main

    main(["--demo", "--data-dir", data_dir, "--config", str(Path(data_dir) / "config.toml")])


def start(variant: str, data_dir: str) -> tuple[float, float]:
    """CPU seconds of one start of ``variant`` to its first frame and to its keys."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cpu"
        argv = [sys.executable, __file__, "--child", variant, "--out", str(out), data_dir]
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(argv[0], argv)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        try:
            _drain(fd, pid)
        finally:
            os.close(fd)
        if not out.exists():
            raise SystemExit(f"{variant}: no full frame within 30 s")
        frame, keys = map(float, out.read_text().split())
        return frame, keys


def _drain(fd: int, pid: int) -> None:
    """Read the pty until the child exits (a pty that is not read blocks its writer)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < 30:
        if select.select([fd], [], [], 0.05)[0]:
            try:
                if not os.read(fd, 1 << 16):
                    break
            except OSError:
                break
        if os.waitpid(pid, os.WNOHANG)[0]:
            return
    os.kill(pid, 9)
    os.waitpid(pid, 0)


def turns(runs: int) -> Iterator[str]:
    """The variants in turn, ``runs`` times."""
    for _ in range(runs):
        yield from VARIANTS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("data_dir", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.out, args.data_dir)
        return
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores")
    frames: dict[str, list[float]] = {v: [] for v in VARIANTS}
    keys: dict[str, list[float]] = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory() as data_dir:
        start("dashboard", data_dir)  # the first start writes the config file; not counted
        for variant in turns(args.runs):
            frame, key = start(variant, data_dir)
            frames[variant].append(frame)
            keys[variant].append(key)
    f = {v: statistics.median(frames[v]) for v in VARIANTS}
    k = {v: statistics.median(keys[v]) for v in VARIANTS}
    print(f"CPU time from exec, 120x40 pty, median of {args.runs} starts in turn:")
    for v in VARIANTS:
        print(
            f"  {v:<10} first frame {f[v] * 1000:4.0f} ms ({f[v] / f['bare']:.2f}x)"
            f"   keys {k[v] * 1000:4.0f} ms ({k[v] / k['bare']:.2f}x)"
        )
    form_f, form_k = f["dashboard"] - f["no-form"], k["dashboard"] - k["no-form"]
    gap_f, gap_k = f["dashboard"] - f["bare"], k["dashboard"] - k["bare"]
    print(
        f"  the plan form: {form_f * 1000:.0f} ms of the {gap_f * 1000:.0f} ms gap to the "
        f"first frame, {form_k * 1000:.0f} of {gap_k * 1000:.0f} ms to the keys"
    )


if __name__ == "__main__":
    main()
