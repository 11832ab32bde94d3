"""The config file: commented at first start, strict when read, comments kept when written."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from exchanges.venues import DEFAULT_SPECS
from storage.config import (
    DEFAULT_THEME,
    AppConfig,
    ConfigError,
    default_text,
    ensure_config,
    load_config,
    save_setting,
)


def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> AppConfig:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path, env or {})


def test_first_start_writes_every_key_commented_and_it_reads_as_the_defaults(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sub" / "config.toml"
    assert ensure_config(path)
    assert not ensure_config(path)
    text = path.read_text()
    for key in ("taker_fee", "rest_url", "ws_url", "min_order_btc", "lot_btc", "enabled"):
        assert text.count(f"# {key} = ") == len(DEFAULT_SPECS)
    for key in ("amount", "duration", "tranches", "quote", "venues", "mode", "max_price"):
        assert f"# {key} = " in text
    assert "# peg_parity = false" in text
    config = load_config(path, {})
    assert config.specs == DEFAULT_SPECS
    assert config.theme == DEFAULT_THEME
    assert not config.peg_parity
    # Uncommenting every line gives a valid file too (the example plan's table with it).
    uncommented = "\n".join(
        line[2:]
        if line.startswith("# ") and (" = " in line or line.startswith("# [plans."))
        else line
        for line in default_text().splitlines()
    )
    tomllib.loads(uncommented)
    assert _load(tmp_path, uncommented).plan.venues == ("kraken", "coinbase")
    plans = _load(tmp_path, uncommented).plans
    assert list(plans) == ["weekly", "mondays"]
    # The second example is a standing plan, read as its flags read it.
    assert (plans["mondays"].every, plans["mondays"].at) == ("1w", "mon 09:00")


def test_overrides_apply_to_the_venue_specs(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        """
peg_parity = true
[venues.kraken]
taker_fee = "0.0025"
enabled = false
min_order_btc = "0.0002"
rest_url = "http://127.0.0.1:9999/"
[plan]
amount = "0.5"
tranches = 10
quote = "eur"
max_price = "90000"
mode = "split"
jitter = true
[ui]
theme = "nord"
""",
        {"BTC_DCA_COINBASE_WS_URL": "ws://127.0.0.1:1/ws"},
    )
    kraken = config.specs["kraken"]
    assert kraken.taker_fee == Decimal("0.0025")
    assert not kraken.enabled
    assert kraken.min_order_btc == Decimal("0.0002")
    assert kraken.rest_url == "http://127.0.0.1:9999"
    assert config.specs["coinbase"].ws_url == "ws://127.0.0.1:1/ws"
    assert config.specs["okx"] == DEFAULT_SPECS["okx"]
    assert config.plan.tranches == 10
    assert config.plan.quote == "EUR"
    assert config.plan.max_price == "90000"
    assert config.plan.jitter
    assert config.theme == "nord"
    assert config.peg_parity


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[venues.kraken]\ntaker_fee = "abc"',
            "venues.kraken.taker_fee: 'abc' is not a decimal fraction",
        ),
        (
            "[venues.kraken]\ntaker_fee = 0.004",
            "venues.kraken.taker_fee: 0.004 must be a decimal string",
        ),
        (
            '[venues.kraken]\ntaker_fee = "1.5"',
            "venues.kraken.taker_fee: '1.5' is a fee of 150 %, more than the 5 % limit",
        ),
        (
            # What the panels show (0.40%) typed as the fraction: refused, with the hint.
            '[venues.kraken]\ntaker_fee = "0.40"',
            "venues.kraken.taker_fee: '0.40' is a fee of 40 %, more than the 5 % limit "
            "(fees are fractions: 0.004 is 0.40 %)",
        ),
        (
            '[venues.kraken]\ntaker_fee = "-0.1"',
            "venues.kraken.taker_fee: '-0.1' must not be negative",
        ),
        (
            '[venues.kraken]\nmin_order_btc = "-0.0001"',
            "venues.kraken.min_order_btc: '-0.0001' must not be negative",
        ),
        ('[plan]\nduration = "soon"', "plan.duration: 'soon' is not a duration"),
        ("[venues.kraken]\nfee = 1", "venues.kraken.fee: unknown key"),
        ("[venues.kraken]\nenabled = 1", "venues.kraken.enabled: 1 is not true or false"),
        ('[venues.kraken]\nlot_btc = "0"', "venues.kraken.lot_btc: must be more than 0"),
        (
            '[venues.kraken]\nws_url = "https://x"',
            "venues.kraken.ws_url: 'https://x' must start with wss://",
        ),
        ("[venues.ftx]\nenabled = true", "venues.ftx: unknown venue"),
        ("venues = 3", "venues: must be a table"),
        ("[venues]\nkraken = 3", "venues.kraken: must be a table"),
        ("colour = 1", "colour: unknown key"),
        ("[plan]\ntranches = 0", "plan.tranches: 0 is not a whole number"),
        ('[plan]\nquote = "GBP"', "plan.quote: 'GBP' is not one of"),
        ('[plan]\nvenues = ["mtgox"]', "plan.venues: unknown venue mtgox"),
        ("[plan]\nvenues = 1", "plan.venues: 1 is not a list"),
        ('[plan]\nmode = "all"', "plan.mode: 'all' is not single or split"),
        ('[plan]\namount = "-1"', "plan.amount: '-1' must not be negative"),
        ('[plan]\nduration = ""', "plan.duration: '' is not a non-empty string"),
        ("[ui]\ntheme = 3", "ui.theme: 3 is not a non-empty string"),
        ("[ui]\nfont = 'x'", "ui.font: unknown key"),
        ("peg_parity = 'yes'", "peg_parity: 'yes' is not true or false"),
        ("[plan\n", "not valid TOML"),
    ],
)
def test_a_broken_config_names_the_key_and_the_reason(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        _load(tmp_path, text)
    assert message in str(info.value)
    assert str(tmp_path / "config.toml") in str(info.value)


def test_a_bad_env_url_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="BTC_DCA_KRAKEN_REST_URL: 'ftp://x' must start"):
        load_config(None, {"BTC_DCA_KRAKEN_REST_URL": "ftp://x"})


def test_writing_the_theme_back_keeps_the_users_comments(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    ensure_config(path)
    path.write_text(path.read_text() + "\n# my own note about kraken\n")
    save_setting(path, "ui.theme", "gruvbox")
    text = path.read_text()
    assert "# my own note about kraken" in text
    assert "# taker_fee = " in text
    assert load_config(path, {}).theme == "gruvbox"
    save_setting(tmp_path / "fresh.toml", "ui.theme", "nord")
    assert load_config(tmp_path / "fresh.toml", {}).theme == "nord"
