"""Where files live, the writable check at start, and the log file."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from storage.logs import LOG_FILE, setup_logging
from storage.paths import (
    DataDirError,
    cli_prefix,
    describe_locations,
    ensure_writable,
    resolve_paths,
)


def test_flags_beat_env_beat_platform_defaults(tmp_path: Path) -> None:
    env = {"BTC_DCA_DATA_DIR": str(tmp_path / "env"), "BTC_DCA_CONFIG": str(tmp_path / "c.toml")}
    p = resolve_paths(tmp_path / "flag", None, env)
    assert p.data_dir == tmp_path / "flag"
    assert p.config_file == tmp_path / "c.toml"
    assert p.log_dir == tmp_path / "flag" / "logs"
    assert p.cache_dir == tmp_path / "flag" / "cache"
    assert resolve_paths(None, None, env).data_dir == tmp_path / "env"
    default = resolve_paths(None, None, {})
    assert "btc-dca" in str(default.data_dir)
    assert default.config_file.name == "config.toml"
    assert "btc-dca" in str(default.log_dir)
    assert resolve_paths(None, None, {"BTC_DCA_LOG_DIR": str(tmp_path)}).log_dir == tmp_path
    assert "BTC_DCA_DATA_DIR" in describe_locations()
    assert "BTC_DCA_LOG_DIR" in describe_locations()


def test_hints_spell_out_the_data_dir_and_config_in_use_unless_they_are_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_paths(None, None, {}).cli == "btc-dca"
    odd = tmp_path / "my data"
    monkeypatch.chdir(tmp_path)
    p = resolve_paths(Path("my data"), tmp_path / "c.toml", {})
    # Absolute (it may be followed from another folder) and quoted for the shell.
    assert p.cli == f"btc-dca --data-dir '{odd}' --config {tmp_path / 'c.toml'}"
    assert cli_prefix(odd) == f"btc-dca --data-dir '{odd}'"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_a_read_only_data_dir_is_refused_at_start(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(DataDirError, match=f"data dir {ro} is not writable"):
            ensure_writable(ro)
    finally:
        ro.chmod(0o700)


def test_a_data_dir_under_a_file_is_refused_at_start(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    for where in (tmp_path / "file", tmp_path / "file" / "data"):
        with pytest.raises(DataDirError) as refused:
            ensure_writable(where)
        assert str(refused.value) == (
            f"data dir {where} is not writable: {tmp_path / 'file'} is a file, not a folder"
        )
    assert ensure_writable(tmp_path / "ok") == tmp_path / "ok"
    assert list((tmp_path / "ok").iterdir()) == []


def test_the_log_file_gets_run_and_venue(tmp_path: Path) -> None:
    path = setup_logging(tmp_path / "logs", verbose=True)
    try:
        assert path == tmp_path / "logs" / LOG_FILE
        logging.getLogger("dca.executor").warning("run r1 venue kraken degraded: timed out")
        logging.getLogger("x").debug("debug detail")
        for h in logging.getLogger().handlers:
            h.flush()
        text = path.read_text()
        assert "WARNING dca.executor: run r1 venue kraken degraded: timed out" in text
        assert "debug detail" in text
        assert setup_logging(tmp_path / "logs") == path  # replaces, not duplicates
        handlers = [h for h in logging.getLogger().handlers if h.get_name() == "btc-dca-file"]
        assert len(handlers) == 1
        (tmp_path / "blocked").write_text("x")
        assert setup_logging(tmp_path / "blocked" / "logs") is None
    finally:
        for h in list(logging.getLogger().handlers):
            if h.get_name() == "btc-dca-file":
                logging.getLogger().removeHandler(h)
                h.close()
