"""The app's files are private whatever the umask; files that steer it are refused when
another account could have written them."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.config import ConfigError, ensure_config, load_config, save_setting
from storage.logs import LOG_FILE, setup_logging
from storage.paths import (
    UnsafeFileError,
    private_mkdir,
    private_open,
    private_temp,
    read_checked,
    readable_by_others,
    tighten,
    unsafe_to_read,
    write_private,
)
from storage.runs.control import control_path, read_command
from storage.runs.locks import FileLock, flocked
from tests.storage.runs.test_control import Running

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o000, 0o022], ids=["umask000", "umask022"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """Each test under the most open umask and the usual one."""
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_folders_made_by_the_app_are_0700_and_existing_ones_are_left_alone(
    tmp_path: Path, umask: int
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    deep = shared / "a" / "b" / "c"
    assert private_mkdir(deep) == deep
    assert [mode(p) for p in (shared / "a", shared / "a" / "b", deep)] == [0o700] * 3
    assert mode(shared) == 0o755  # not the app's to change
    assert private_mkdir(deep) == deep  # again: nothing to do
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        private_mkdir(tmp_path / "file" / "sub")
    with pytest.raises(NotADirectoryError):
        private_mkdir(tmp_path / "file")


def test_files_made_by_the_app_are_0600(tmp_path: Path, umask: int) -> None:
    with private_open(tmp_path / "log", "a", encoding="utf-8") as f:
        f.write("one\n")
    assert mode(tmp_path / "log") == 0o600
    # A file of an earlier version, made under the umask, is tightened when reopened.
    old = tmp_path / "old.jsonl"
    old.write_text("")
    old.chmod(0o644)
    with private_open(old, "ab") as f:
        f.write(b"x")
    assert mode(old) == 0o600 and old.read_bytes() == b"x"

    target = tmp_path / "sub" / "state.json"
    write_private(target, "{}")
    write_private(target, b"[]", fsync=True)
    assert target.read_text() == "[]"
    assert mode(target) == 0o600 and mode(target.parent) == 0o700
    with private_temp(tmp_path / "t.parquet") as fh:
        fh.write(b"PAR1")
    assert mode(tmp_path / "t.parquet") == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log", "old.jsonl", "sub", "t.parquet"]


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    write_private(target, "old")

    def fail_half_way() -> None:
        with private_temp(target) as fh:
            fh.write(b"new")
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fail_half_way()
    with pytest.raises(TypeError):
        write_private(target, 42)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_the_config_log_and_lock_files_are_private(tmp_path: Path, umask: int) -> None:
    config = tmp_path / "conf" / "config.toml"
    assert ensure_config(config)
    assert (mode(config.parent), mode(config)) == (0o700, 0o600)
    save_setting(config, "ui.theme", "nord")
    assert mode(config) == 0o600 and 'theme = "nord"' in config.read_text()
    assert [p.name for p in config.parent.iterdir()] == ["config.toml"]

    path = setup_logging(tmp_path / "logs")
    assert path == tmp_path / "logs" / LOG_FILE
    try:
        logging.getLogger("storage.test").warning("run r1 venue kraken: a line")
        handler = next(h for h in logging.getLogger().handlers if h.get_name() == "btc-dca-file")
        assert isinstance(handler, logging.handlers.RotatingFileHandler)
        handler.doRollover()  # the next file, and the rotated one, stay private
        logging.getLogger("storage.test").warning("after the rollover")
        handler.flush()
    finally:
        setup_logging(tmp_path / "logs2")  # lets go of the file (replaces the handler)
    logs = sorted((tmp_path / "logs").iterdir())
    assert [p.name for p in logs] == [LOG_FILE, f"{LOG_FILE}.1"]
    assert [mode(p) for p in (tmp_path / "logs", *logs)] == [0o700, 0o600, 0o600]

    lock = FileLock(tmp_path / "runs" / ".r1.lock")
    assert lock.acquire()
    try:
        assert (mode(tmp_path / "runs"), mode(lock.path)) == (0o700, 0o600)
    finally:
        lock.release()
    with flocked(tmp_path / ".compaction.lock") as got:
        assert got and mode(tmp_path / ".compaction.lock") == 0o600


def test_a_folder_an_earlier_version_left_open_is_closed_once(tmp_path: Path) -> None:
    old = tmp_path / "data"
    old.mkdir()
    old.chmod(0o755)
    assert tighten(old) == 0o755
    assert mode(old) == 0o700
    assert tighten(old) is None  # already private
    assert tighten(tmp_path / "missing") is None
    (tmp_path / "file").write_text("")
    assert tighten(tmp_path / "file") is None


def test_the_home_folder_is_never_tightened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o755)
    monkeypatch.setenv("HOME", str(home))
    assert tighten(home) is None and mode(home) == 0o755


def test_a_file_others_can_write_or_replace_is_refused_with_its_fix(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("x = 1\n")
    path.chmod(0o600)
    assert unsafe_to_read(path) is None and read_checked(path) == "x = 1\n"
    assert readable_by_others(path) is None
    path.chmod(0o666)
    assert unsafe_to_read(path) == (
        f"other accounts can write {path} (mode 0666); fix: chmod 600 {path}"
    )
    with pytest.raises(UnsafeFileError, match="fix: chmod 600"):
        read_checked(path)
    path.chmod(0o620)  # group-writable is as bad
    assert unsafe_to_read(path) is not None
    path.chmod(0o644)
    assert unsafe_to_read(path) is None
    assert readable_by_others(path) == (
        f"other accounts can read {path} (mode 0644), which can hold passwords; "
        f"fix: chmod 600 {path}"
    )
    # A folder others can write lets them replace the file...
    tmp_path.chmod(0o777)
    try:
        assert unsafe_to_read(path) == (
            f"other accounts can replace {path}: its folder {tmp_path} is writable by them "
            f"(mode 0777); fix: chmod 700 {tmp_path}"
        )
        # ... unless it is sticky, like /tmp.
        tmp_path.chmod(0o1777)
        assert unsafe_to_read(path) is None
    finally:
        tmp_path.chmod(0o700)
    assert unsafe_to_read(tmp_path / "missing") is None


def test_a_file_of_another_account_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    path.write_text("")
    path.chmod(0o600)
    me = os.getuid()
    if me == 0:
        os.chown(path, 4321, -1)  # root can give it away
        owner, fixed = 4321, 0
    else:
        # Root's files are trusted, so play another account instead.
        monkeypatch.setattr(os, "getuid", lambda: me + 1)
        owner, fixed = me, me + 1
    assert unsafe_to_read(path) == (
        f"{path} belongs to another account (uid {owner}); fix: chown {fixed} {path}"
    )


def test_a_config_others_can_write_is_refused_and_one_they_can_read_warns(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[ui]\ntheme = "nord"\n')
    path.chmod(0o600)
    assert load_config(path).warnings == ()
    path.chmod(0o646)
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert str(refused.value) == (
        f"refused to read the config: other accounts can write {path} (mode 0646); "
        f"fix: chmod 600 {path}"
    )
    path.chmod(0o640)
    config = load_config(path)
    assert config.theme == "nord"
    assert config.warnings == (
        f"other accounts can read {path} (mode 0640), which can hold passwords; "
        f"fix: chmod 600 {path}",
    )


def test_a_control_file_others_can_write_is_not_obeyed(tmp_path: Path) -> None:
    path = control_path(tmp_path, "r1")
    path.parent.mkdir(mode=0o700)
    path.write_text(json.dumps({"id": "x", "command": "cancel", "at": 1.0}))
    path.chmod(0o600)
    request = read_command(tmp_path, "r1")
    assert request is not None and request.command.value == "cancel"
    path.chmod(0o666)
    with pytest.raises(UnsafeFileError, match=f"fix: chmod 600 {path}"):
        read_command(tmp_path, "r1")


async def test_a_run_ignores_a_planted_cancel_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    r = Running(tmp_path, tranches=6, poll_s=0.02)
    run_id = (await r.started(tmp_path)).run_id
    planted = control_path(tmp_path, run_id)
    planted.write_text(json.dumps({"id": "evil", "command": "cancel", "at": 1.0}))
    planted.chmod(0o666)
    with caplog.at_level(logging.ERROR, logger="storage.runs.control"):
        await r.done()
    assert r.executor.state.value == "finished"
    refusals = [rec.getMessage() for rec in caplog.records if "refused" in rec.getMessage()]
    assert refusals == [
        f"run {run_id}: control file refused: other accounts can write {planted} "
        f"(mode 0666); fix: chmod 600 {planted}"
    ]


async def test_live_files_are_private_and_an_old_open_live_folder_is_closed(
    tmp_path: Path, umask: int
) -> None:
    live = tmp_path / "live"
    live.mkdir()
    live.chmod(0o777)  # left by an earlier version under umask 000
    r = Running(tmp_path, tranches=6, hold_at_start=True)
    run_id = (await r.started(tmp_path)).run_id
    assert mode(live) == 0o700
    files = sorted(p for p in live.iterdir())
    assert [p.name for p in files] == [f"{run_id}.state.json", f"{run_id}.tranches.jsonl"]
    assert {mode(p) for p in files} == {0o600}
    r.hold.go.set()
    await asyncio.wait_for(r.done(), 30)
