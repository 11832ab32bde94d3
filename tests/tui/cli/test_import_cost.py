"""What a command loads: ``quote`` pays for Python, aiohttp and its answer, nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from btc_dca import __version__

QUOTE = """
import sys
from tui.cli.main import main
code = main(["quote", "--amount", "1", "--quote", "USDT", "--venues", "binance"])
print(f"{code} loaded:" + ",".join(m for m in sys.argv[1:] if m in sys.modules))
"""
# Loaded by other commands, never by ``quote``: the run's events and alerts, the demo
# market, file logging, package metadata, Textual, and the storage engines.
NOT_FOR_QUOTE = (
    "textual",
    "polars",
    "pyarrow",
    "tomlkit",
    "dca.events",
    "dca.executor",
    "storage.alerts.send",
    "exchanges.simulated",
    "logging.handlers",
    "importlib.metadata",
    "statistics",
    # Real orders only.
    "ccxt",
    "keyring",
    "exchanges.private.account",
)


def test_quote_loads_none_of_what_other_commands_need(tmp_path: Path) -> None:
    # A venue on a closed local port: the whole path runs (config, market, print), exit 3.
    env = dict(
        os.environ,
        BTC_DCA_DATA_DIR=str(tmp_path),
        BTC_DCA_CONFIG=str(tmp_path / "config.toml"),
        BTC_DCA_BINANCE_REST_URL="http://127.0.0.1:9",
    )
    out = subprocess.run(
        [sys.executable, "-c", QUOTE, *NOT_FOR_QUOTE],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
    )
    last = out.stdout.strip().splitlines()[-1]
    assert last == "3 loaded:", out.stdout + out.stderr


def test_the_version_is_the_installed_package_version() -> None:
    # pyproject.toml reads it from btc_dca/__init__.py: one place, no metadata at start.
    assert metadata.version("btc-dca") == __version__


PAPER_RUN = """
import sys
from tui.cli.main import main
code = main(["run", "--headless", "--demo", "--amount", "0.01", "--duration", "1s",
             "--tranches", "1", "--speed", "100"])
print(f"{code} loaded:" + ",".join(m for m in sys.argv[1:] if m in sys.modules))
"""
REAL_ORDERS_ONLY = ("ccxt", "keyring", "exchanges.private.account", "dca.live_execution")


def test_a_paper_run_never_loads_the_real_orders_libraries(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        BTC_DCA_DATA_DIR=str(tmp_path),
        BTC_DCA_CONFIG=str(tmp_path / "config.toml"),
    )
    out = subprocess.run(
        [sys.executable, "-c", PAPER_RUN, *REAL_ORDERS_ONLY],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
    )
    last = out.stdout.strip().splitlines()[-1]
    assert last == "0 loaded:", out.stdout + out.stderr
