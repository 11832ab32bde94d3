"""Where btc-dca keeps its files: platformdirs defaults, each overridable by flag or env.

Precedence for each location: the command-line flag, then the environment
variable (``BTC_DCA_DATA_DIR``, ``BTC_DCA_CONFIG``, ``BTC_DCA_LOG_DIR``), then the
per-OS default from platformdirs (app name ``btc-dca``). The log dir has no flag;
with a custom data dir and no ``BTC_DCA_LOG_DIR``, logs go to ``<data dir>/logs``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "btc-dca"
ENV_DATA_DIR = "BTC_DCA_DATA_DIR"
ENV_CONFIG = "BTC_DCA_CONFIG"
ENV_LOG_DIR = "BTC_DCA_LOG_DIR"
CONFIG_FILE = "config.toml"


class DataDirError(Exception):
    """The data dir cannot be used; the message says which folder and why."""


@dataclass(frozen=True, slots=True)
class Paths:
    """The app's folders and config file for this invocation."""

    data_dir: Path
    config_file: Path
    log_dir: Path
    cache_dir: Path


def resolve_paths(
    data_dir: str | Path | None = None,
    config: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Paths:
    """Flags beat env beat platformdirs; a data dir override also holds logs and cache."""
    env = os.environ if env is None else env
    data_override = data_dir or env.get(ENV_DATA_DIR) or None
    data = (
        Path(data_override).expanduser()
        if data_override
        else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    )
    config_override = config or env.get(ENV_CONFIG) or None
    config_file = (
        Path(config_override).expanduser()
        if config_override
        else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / CONFIG_FILE
    )
    log_override = env.get(ENV_LOG_DIR)
    if log_override:
        log_dir = Path(log_override).expanduser()
    elif data_override:
        # A custom data dir (tests, a second profile) keeps its logs beside its data.
        log_dir = data / "logs"
    else:
        log_dir = Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
    cache = (
        data / "cache"
        if data_override
        else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    )
    return Paths(data, config_file, log_dir, cache)


def ensure_writable(folder: Path) -> Path:
    """Create ``folder`` and prove a file can be written there, so a run cannot fail mid-way.

    Raises ``DataDirError`` naming the folder and the OS reason.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-", delete=True) as probe:
            probe.write(b"ok")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        reason = exc.strerror or str(exc)
        # "File exists" (mkdir's words) says nothing useful about a file in the way.
        blocker = next((p for p in (folder, *folder.parents) if p.is_file()), None)
        if blocker is not None:
            reason = f"{blocker} is a file, not a folder"
        raise DataDirError(f"data dir {folder} is not writable: {reason}") from exc
    return folder


def describe_locations() -> str:
    """The default locations on this OS, for ``--help`` and the README."""
    return (
        f"data: {platformdirs.user_data_dir(APP_NAME, appauthor=False)} (${ENV_DATA_DIR}); "
        f"config: {Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / CONFIG_FILE} "
        f"(${ENV_CONFIG}); logs: {platformdirs.user_log_dir(APP_NAME, appauthor=False)} "
        f"(${ENV_LOG_DIR}; <data dir>/logs when the data dir is overridden)"
    )
