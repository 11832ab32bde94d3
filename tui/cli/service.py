"""``btc-dca service install|remove``: a user service that resumes standing plans at boot.

On Linux ``install`` writes a systemd user unit (``~/.config/systemd/user/btc-dca.service``,
0600 in a 0700 folder) whose ``ExecStart`` is ``btc-dca resume --standing`` with this
command's data dir and config, and prints the ``systemctl --user`` commands that enable it
(it never runs them itself). On macOS it prints a launchd agent's plist to save instead.
``remove`` prints how to stop and disable it and removes the unit file.

No secret goes into the unit: no environment is copied into it (API keys stay in the
environment of the processes that have them, or in the OS keyring), only the program,
its data dir and its config file by path.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from html import escape
from pathlib import Path
from typing import TextIO

from storage.paths import private_mkdir, resolve_paths, write_private
from tui.cli import exits
from tui.cli.options import UsageError
from tui.wiring import Options

UNIT_NAME = "btc-dca.service"
AGENT_LABEL = "io.github.btc-dca.resume"


def default_unit_path(env: dict[str, str] | None = None) -> Path:
    """Where systemd looks for a user unit: ``$XDG_CONFIG_HOME/systemd/user`` (~/.config)."""
    environ = os.environ if env is None else env
    base = Path(environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "systemd" / "user" / UNIT_NAME


def resume_command(data_dir: Path, config: Path) -> list[str]:
    """The command the service runs: this program's ``resume --standing``, paths spelled out."""
    args = [sys.executable, "-m", "tui.cli", "resume", "--standing", "--data-dir", str(data_dir)]
    if config.exists():
        args += ["--config", str(config)]
    return args


def _systemd_quote(arg: str) -> str:
    """One ExecStart argument: quoted when it needs to be, ``%`` and ``$`` kept literal."""
    text = arg.replace("%", "%%").replace("$", "$$")
    if text and all(c.isalnum() or c in "/._-=:,+@" for c in text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unit_text(command: list[str]) -> str:
    """The systemd user unit: resume every stopped standing plan once at start.

    Each plan runs in a background process of its own that stays in the unit (oneshot,
    active after the command returns); stopping the unit interrupts them (resumable).
    """
    exec_start = " ".join(_systemd_quote(a) for a in command)
    return (
        "# Written by btc-dca service install; remove with: btc-dca service remove\n"
        "[Unit]\n"
        "Description=btc-dca: resume standing DCA plans\n"
        "Wants=network-online.target\n"
        "After=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        "RemainAfterExit=yes\n"
        f"ExecStart={exec_start}\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def plist_text(command: list[str], log_dir: Path) -> str:
    """A launchd agent that runs ``command`` at login (macOS)."""
    args = "\n".join(f"    <string>{escape(a)}</string>" for a in command)
    log = escape(str(log_dir / "service.log"))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
        '"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
        '<plist version="1.0">\n<dict>\n'
        f"  <key>Label</key><string>{AGENT_LABEL}</string>\n"
        f"  <key>ProgramArguments</key>\n  <array>\n{args}\n  </array>\n"
        "  <key>RunAtLoad</key><true/>\n"
        f"  <key>StandardOutPath</key><string>{log}</string>\n"
        f"  <key>StandardErrorPath</key><string>{log}</string>\n"
        "</dict>\n</plist>\n"
    )


def command(
    ns: argparse.Namespace, options: Options, out: TextIO, platform: str | None = None
) -> int:
    """Install or remove the service (``ns.service_command``); exit 0, or 2 on bad input."""
    platform = platform or sys.platform
    paths = resolve_paths(options.data_dir, options.config)
    data_dir, config = paths.data_dir.resolve(), paths.config_file.resolve()
    run = resume_command(data_dir, config)
    if platform == "darwin":
        return _launchd(ns.service_command, run, paths.log_dir, out)
    unit = Path(ns.unit).expanduser() if getattr(ns, "unit", None) else default_unit_path()
    if ns.service_command == "remove":
        return remove(unit, out)
    return install(unit, run, out)


def install(unit: Path, run: list[str], out: TextIO) -> int:
    """Write the unit (0600, its folder 0700) and say how to enable it."""
    if unit.is_dir():
        raise UsageError(f"--unit: {unit} is a folder; give a file name like {UNIT_NAME}")
    private_mkdir(unit.parent)
    write_private(unit, unit_text(run))
    name = unit.name
    print(
        f"Wrote {unit}: at boot it runs\n  {shlex.join(run)}\n"
        "which resumes every stopped standing plan (run --every) in the background.\n"
        "Enable it with:\n"
        "  systemctl --user daemon-reload\n"
        f"  systemctl --user enable --now {name}\n"
        "and, to start it at boot before you log in:\n"
        "  loginctl enable-linger $USER\n"
        "Nothing from your environment is copied into it (no API key).",
        file=out,
    )
    return exits.EXIT_OK


def remove(unit: Path, out: TextIO) -> int:
    """Say how to stop the service, and remove its unit file."""
    name = unit.name
    if not unit.exists():
        print(f"No service installed at {unit}.", file=out)
        return exits.EXIT_OK
    unit.unlink()
    # Enabled, it is linked from default.target.wants: that link goes with it.
    wanted = unit.parent / "default.target.wants" / name
    if wanted.is_symlink():
        wanted.unlink()
    print(
        f"Removed {unit}. If it was running:\n"
        f"  systemctl --user stop {name}\n"
        "  systemctl --user daemon-reload\n"
        "Standing plans running now go on; stop one with btc-dca cancel RUN_ID.",
        file=out,
    )
    return exits.EXIT_OK


def _launchd(what: str, run: list[str], log_dir: Path, out: TextIO) -> int:
    target = f"~/Library/LaunchAgents/{AGENT_LABEL}.plist"
    if what == "remove":
        print(
            f"launchctl unload {target}\nrm {target}",
            file=out,
        )
        return exits.EXIT_OK
    print(
        f"# Save this as {target} (chmod 600), then: launchctl load {target}\n"
        + plist_text(run, log_dir),
        file=out,
        end="",
    )
    return exits.EXIT_OK
