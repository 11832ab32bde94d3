"""Where btc-dca keeps its files: platformdirs defaults, each overridable by flag or env.

Precedence for each location: the command-line flag, then the environment
variable (``BTC_DCA_DATA_DIR``, ``BTC_DCA_CONFIG``, ``BTC_DCA_LOG_DIR``), then the
per-OS default from platformdirs (app name ``btc-dca``). The log dir has no flag;
with a custom data dir and no ``BTC_DCA_LOG_DIR``, logs go to ``<data dir>/logs``.
"""

from __future__ import annotations

import os
import shlex
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

    @property
    def cli(self) -> str:
        """``btc-dca`` as a hint printed now must spell it (see ``cli_prefix``)."""
        return cli_prefix(self.data_dir, self.config_file)


def default_data_dir() -> Path:
    """The data dir when neither flag nor environment says otherwise."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_config_file() -> Path:
    """The config file when neither flag nor environment says otherwise."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / CONFIG_FILE


def cli_prefix(data_dir: Path | None = None, config_file: Path | None = None) -> str:
    """``btc-dca`` with the ``--data-dir`` and ``--config`` in use (absolute, shell-quoted)
    wherever they are not the defaults, so a hint such as ``{prefix} resume RUN_ID``
    followed verbatim, from any folder or another shell, reaches the same runs."""
    words = ["btc-dca"]
    if data_dir is not None and data_dir.resolve() != default_data_dir().resolve():
        words += ["--data-dir", str(data_dir.resolve())]
    if config_file is not None and config_file.resolve() != default_config_file().resolve():
        words += ["--config", str(config_file.resolve())]
    return shlex.join(words)


def resolve_paths(
    data_dir: str | Path | None = None,
    config: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Paths:
    """Flags beat env beat platformdirs; a data dir override also holds logs and cache."""
    env = os.environ if env is None else env
    data_override = data_dir or env.get(ENV_DATA_DIR) or None
    data = Path(data_override).expanduser() if data_override else default_data_dir()
    config_override = config or env.get(ENV_CONFIG) or None
    config_file = Path(config_override).expanduser() if config_override else default_config_file()
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
