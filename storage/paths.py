"""Where btc-dca keeps its files: platformdirs defaults, each overridable by flag or env.

Precedence for each location: the command-line flag, then the environment
variable (``BTC_DCA_DATA_DIR``, ``BTC_DCA_CONFIG``, ``BTC_DCA_LOG_DIR``), then the
per-OS default from platformdirs (app name ``btc-dca``). The log dir has no flag;
with a custom data dir and no ``BTC_DCA_LOG_DIR``, logs go to ``<data dir>/logs``.

Everything the app creates is private whatever the umask: folders 0700, files 0600
(``private_mkdir``, ``private_open``, ``write_private``). A file the user names by path
(a CSV export, a screenshot) is theirs and follows the umask. Files that steer the app
(the config, a run's control file) are refused when another account could have written
them (``unsafe_to_read``), as ssh refuses a key file others can write.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import stat
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

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
        private_mkdir(folder)
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


# -- private files ------------------------------------------------------------------------

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
# Bits that let another account in: anything for group or others.
_OTHERS = 0o077
_OTHERS_WRITE = 0o022
POSIX = os.name == "posix"


def private_mkdir(folder: Path) -> Path:
    """Create ``folder`` and its missing parents as 0700, whatever the umask; ``folder``.

    A folder that exists already is left as it is (see ``tighten``). Raises ``OSError``
    (``NotADirectoryError`` when a file is in the way).
    """
    missing: list[Path] = []
    at = folder
    while not at.exists() and at != at.parent:
        missing.append(at)
        at = at.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue  # another process made it a moment ago (as private as this one would be)
        if POSIX:
            # mkdir's mode passes through the umask, which can only take bits away.
            os.chmod(path, PRIVATE_DIR)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder")
    return folder


def _private_opener(path: str, flags: int) -> int:
    fd = os.open(path, flags, PRIVATE_FILE)
    if POSIX:
        # A file of ours made by an earlier version (0644) is tightened as it is reopened.
        with contextlib.suppress(PermissionError):
            os.fchmod(fd, PRIVATE_FILE)
    return fd


def private_open(path: Path, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """``open(path, mode)``, with the file created (or reopened) as 0600 whatever the umask.

    Takes ``open``'s keywords (``encoding``, ``newline``); for logs, state lines and
    Parquet temp files. Raises ``OSError``.
    """
    return open(path, mode, opener=_private_opener, **kwargs)


def write_private(path: Path, data: str | bytes, *, fsync: bool = False) -> None:
    """Replace ``path`` with ``data`` atomically: a 0600 temp file beside it, then a rename.

    Readers see the old content or the new, never a part; the temp file's name starts with
    a dot and ends in ``.tmp`` (readers skip such names). ``fsync`` makes the content
    durable before the rename. Text is written as UTF-8. Raises ``OSError``.
    """
    private_mkdir(path.parent)
    # mkstemp creates the file 0600 (O_EXCL, never following a planted link).
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def private_temp(path: Path) -> Iterator[IO[bytes]]:
    """A 0600 temp file beside ``path``, renamed onto ``path`` when the block ends without error.

    For writers that take a file object (Parquet through polars): the content is flushed
    and fsynced before the rename; the temp file is removed on error. Raises ``OSError``.
    """
    private_mkdir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def mode_text(mode: int) -> str:
    """A file mode as ``chmod`` takes it (``0644``)."""
    return f"{stat.S_IMODE(mode):04o}"


def tighten(folder: Path) -> int | None:
    """Make an existing folder of the app's 0700 if other accounts can get in; its old mode
    (None when nothing changed: already private, missing, not ours, or not POSIX).

    For folders earlier versions made under the umask (0755): the data dir, the log dir,
    ``live/``. The files inside keep their modes but nobody else can reach them.
    """
    if not POSIX:  # pragma: no cover - Windows has no modes to tighten
        return None
    try:
        st = os.stat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or not st.st_mode & _OTHERS:
        return None
    if folder.resolve() == Path.home().resolve():
        return None  # never the home folder itself, even if a data dir points there
    try:
        os.chmod(folder, PRIVATE_DIR)
    except OSError:
        return None
    return stat.S_IMODE(st.st_mode)


class UnsafeFileError(OSError):
    """A file that steers the app could have been written by another account; the message
    names the path and the fix."""


def unsafe_to_read(path: Path, st: os.stat_result | None = None) -> str | None:
    """Why ``path`` may have been written by another account (None when it cannot have been).

    As ssh does with key files: the file must belong to this user (or root) and be
    writable by nobody else, and its folder must not let others replace it (a shared
    folder with the sticky bit, like /tmp, is fine). The reason names the path and the
    fix (``chmod 600 PATH``). A missing file is not unsafe. ``st``: the file's stat, when
    the caller has the file open already.
    """
    if not POSIX:  # pragma: no cover - Windows: ACLs, not modes
        return None
    if st is None:
        try:
            st = os.stat(path)
        except OSError:
            return None
    uid = os.getuid()
    if st.st_uid not in (uid, 0):
        return f"{path} belongs to another account (uid {st.st_uid}); fix: chown {uid} {path}"
    if st.st_mode & _OTHERS_WRITE:
        return (
            f"other accounts can write {path} (mode {mode_text(st.st_mode)}); fix: chmod 600 {path}"
        )
    folder = path.parent
    try:
        fst = os.stat(folder)
    except OSError:
        return None
    if fst.st_mode & _OTHERS_WRITE and not fst.st_mode & stat.S_ISVTX:
        return (
            f"other accounts can replace {path}: its folder {folder} is writable by them "
            f"(mode {mode_text(fst.st_mode)}); fix: chmod 700 {folder}"
        )
    return None


def read_checked(path: Path) -> str:
    """The text of a file that steers the app (UTF-8), refused when another account could
    have written it.

    The checks run on the open file, so it cannot be swapped between check and read.
    Raises ``UnsafeFileError`` (see ``unsafe_to_read``), ``FileNotFoundError``, ``OSError``,
    ``UnicodeDecodeError``.
    """
    with open(path, "rb") as fh:
        problem = unsafe_to_read(path, os.fstat(fh.fileno()))
        if problem is not None:
            raise UnsafeFileError(problem)
        return fh.read().decode("utf-8")


def readable_by_others(path: Path) -> str | None:
    """A warning when other accounts can read ``path`` (None when they cannot or it is missing)."""
    if not POSIX:  # pragma: no cover - Windows
        return None
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if not mode & 0o044:
        return None
    return (
        f"other accounts can read {path} (mode {mode_text(mode)}), which can hold passwords; "
        f"fix: chmod 600 {path}"
    )
