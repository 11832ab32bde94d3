"""Fixtures shared by the exchange tests: a local venue server, and an isolated app home."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.exchanges.servers import VenueServer


@pytest.fixture
async def srv() -> AsyncIterator[VenueServer]:
    """A venue server on a loopback port, closed after the test."""
    async with VenueServer() as server:
        yield server


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Config and data under ``tmp_path``, so a command never touches the user's files."""
    monkeypatch.setenv("BTC_DCA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BTC_DCA_CONFIG", str(tmp_path / "config.toml"))
    return tmp_path
