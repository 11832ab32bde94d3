"""Under umask 000 and 022, nothing the app writes lets another account in; the files a
user names (a CSV export) follow the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tui.cli.helpers import run
from tests.tui.cli.session import Session, use_the_app

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture(params=[0o000, 0o022], ids=["umask000", "umask022"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_nothing_the_app_writes_is_open_to_other_accounts(
    tmp_path: Path,
    umask: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Folders that do not exist yet, so the app makes each of them (the config's too).
    session = Session(tmp_path / "data", tmp_path / "conf" / "config.toml", tmp_path / "logs")
    monkeypatch.setenv("BTC_DCA_DATA_DIR", str(session.data_dir))
    monkeypatch.setenv("BTC_DCA_CONFIG", str(session.config))
    monkeypatch.setenv("BTC_DCA_LOG_DIR", str(session.log_dir))
    use_the_app(session, capsys)

    written = list(session.files())
    kinds = {p.suffix or p.name for p in written if p.is_file()}
    # The run left its history, its logs, the recorded books and its lock files.
    assert {".parquet", ".log", ".toml", ".lock"} <= kinds, kinds
    assert (session.data_dir / "live").is_dir() and (session.data_dir / "market").is_dir()
    open_to_others = [
        f"{p} {stat.S_IMODE(p.stat().st_mode):04o}"
        for p in written
        if stat.S_IMODE(p.stat().st_mode) not in (0o700 if p.is_dir() else 0o600,)
    ]
    assert open_to_others == []

    # A CSV the user asks for is theirs: it follows their umask.
    csv = tmp_path / "runs.csv"
    assert run("history", "--csv", str(csv))[0] == 0
    assert stat.S_IMODE(csv.stat().st_mode) == 0o666 & ~umask


def test_an_open_data_dir_from_an_earlier_version_is_closed_and_said_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    assert run("status")[0] == 0
    err = capsys.readouterr().err
    assert f"btc-dca: {data} was open to other accounts (mode 0755); made it 0700" in err
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert run("status")[0] == 0
    assert "open to other accounts" not in capsys.readouterr().err


def test_a_config_others_can_write_is_refused_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    config.chmod(0o666)
    assert run("quote", "--demo", "--amount", "1") == (2, "")
    err = capsys.readouterr().err
    assert f"other accounts can write {config} (mode 0666); fix: chmod 600 {config}" in err
    config.chmod(0o644)
    assert run("quote", "--demo", "--amount", "1")[0] == 0
    err = capsys.readouterr().err
    assert f"btc-dca: warning: other accounts can read {config} (mode 0644)" in err
