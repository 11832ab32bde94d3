"""Every command-line test runs on a data dir and config file of its own, never the user's."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BTC_DCA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BTC_DCA_CONFIG", str(tmp_path / "config.toml"))
