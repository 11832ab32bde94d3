"""The TOML config file: written with every key commented on first start, read strictly.

Reading uses tomllib into a frozen ``AppConfig``; an unknown key or a bad value
raises ``ConfigError`` naming the key (``venues.kraken.taker_fee: "abc" is not a
decimal fraction``). Writing a setting back (the theme) goes through tomlkit so
the user's comments and layout survive.
"""

from __future__ import annotations

import contextlib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dca.plan import parse_duration
from dca.routing import Mode
from dca.slots import Missed, SlotError, parse_at, parse_every, parse_until, zone
from exchanges.redact import redact_url, register
from exchanges.venues import DEFAULT_SPECS, QUOTES, VenueSpec
from storage.alerts.config import DEFAULT_EVENTS, EVENTS, NotifyConfig, url_problem
from storage.paths import UnsafeFileError, read_checked, readable_by_others, write_private

DEFAULT_THEME = "textual-dark"
# No venue charges a taker fee anywhere near this: a larger value is a percentage typed
# as a fraction ("0.40" for 0.40 %), which would price every tranche 40 % dearer.
MAX_TAKER_FEE = Decimal("0.05")
FEE_HINT = "fees are fractions: 0.004 is 0.40 %"


class ConfigError(ValueError):
    """The config file is broken; the message names the file, the key and the reason."""


@dataclass(frozen=True, slots=True)
class PlanDefaults:
    """What the plan form starts with (text, as the user would type it)."""

    amount: str = "0.01"
    duration: str = "1h"
    tranches: int | None = None
    quote: str = "USD"
    venues: tuple[str, ...] = ()
    mode: str = "single"
    max_price: str | None = None
    jitter: bool = False


@dataclass(frozen=True, slots=True)
class NamedPlan:
    """A ``[plans.NAME]`` table: any plan field, each None when the table leaves it out.

    Values are text as the user would type them; ``build_plan`` has the last word on
    whether they make a plan (the command line's flags may still override them).
    """

    name: str
    amount: str | None = None
    spend: str | None = None
    duration: str | None = None
    tranches: int | None = None
    quote: str | None = None
    venues: tuple[str, ...] | None = None
    mode: str | None = None
    max_price: str | None = None
    jitter: bool | None = None
    # A standing plan (``run --every``; docs/schedules.md): its calendar and end.
    every: str | None = None
    at: str | None = None
    tz: str | None = None
    until: str | None = None
    budget: str | None = None
    missed: str | None = None

    def fields(self) -> dict[str, object]:
        """The fields the table sets, by name (``name`` left out)."""
        out: dict[str, object] = {}
        for key in PLAN_KEYS:
            value = getattr(self, key)
            if value is not None:
                out[key] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True, slots=True)
class AppConfig:
    """Everything the config file sets, with defaults for what it leaves out."""

    specs: dict[str, VenueSpec] = field(default_factory=lambda: dict(DEFAULT_SPECS))
    plan: PlanDefaults = field(default_factory=PlanDefaults)
    theme: str = DEFAULT_THEME
    peg_parity: bool = False
    path: Path | None = None
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    # [record]: days of recorded books kept in market/ (0: keep everything).
    record_keep_days: int = 30
    # [live]: real orders' limit = the walk's highest ask x (1 + max_slippage); an optional
    # cap on a live run's total spend, in the quote currency.
    live_max_slippage: Decimal = Decimal("0.002")
    live_max_spend: Decimal | None = None
    # What the user should hear about the file itself (other accounts can read it).
    warnings: tuple[str, ...] = ()
    # [plans.NAME]: named plans (run --plan NAME, the form's Plan selector).
    plans: dict[str, NamedPlan] = field(default_factory=dict)


def default_text() -> str:
    """The commented config written at first start: every key, at its default, commented out."""
    lines = [
        "# btc-dca configuration. Uncomment a line to change it; delete the file to get",
        "# the defaults back. Money and fees are decimal strings.",
        "",
        "# Treat USDT and USDC as exactly 1 USD instead of converting at the live rate.",
        "# peg_parity = false",
        "",
        "[plan]  # what the plan form starts with",
        '# amount = "0.01"          # BTC',
        '# duration = "1h"          # 90s, 30m, 6h, 2d',
        "# tranches = 12            # leave out: one an hour, at most 500",
        '# quote = "USD"            # USD, USDT, USDC, EUR',
        '# venues = ["kraken", "coinbase"]  # leave out: every enabled venue',
        '# mode = "single"          # single or split',
        '# max_price = "150000"     # skip a tranche above this price per BTC',
        "# jitter = false           # move each tranche randomly inside its slot",
        "",
        "# Named plans: btc-dca run --plan weekly, or the form's Plan selector. Any plan",
        "# field: amount (BTC) or spend (money, fees in), duration, tranches, quote,",
        "# venues, mode, max_price, jitter. Flags on the command line override them.",
        "# [plans.weekly]",
        '# spend = "100"            # USD over the window, fees in (or amount = "0.001")',
        '# duration = "7d"',
        "# tranches = 7",
        '# venues = ["kraken", "coinbase"]',
        "# A standing plan has every (and at, tz, until or budget, missed) instead of a",
        "# window: btc-dca run --plan mondays --detach (docs/schedules.md).",
        "# [plans.mondays]",
        '# spend = "100"            # each Monday at 09:00 in Paris, until 5,000 is spent',
        '# every = "1w"',
        '# at = "mon 09:00"',
        '# tz = "Europe/Paris"',
        '# budget = "5000"',
        "",
        "[ui]",
        f'# theme = "{DEFAULT_THEME}"',
        "",
        "[notify]  # alerts through apprise URLs: ntfy, e-mail, Telegram, Slack, JSON webhooks ...",
        '# urls = ["ntfy://my-topic", "mailto://user:pass@example.com"]',
        "# events = ["
        + ", ".join(f'"{e}"' for e in DEFAULT_EVENTS)
        + ']  # also "skipped", "venue_down"',
        "",
        "[record]  # btc-dca record: the order books kept in market/",
        "# keep_days = 30          # delete recorded days older than this (0: keep all)",
    ]
    for spec in DEFAULT_SPECS.values():
        lines += [
            "",
            f"[venues.{spec.id}]  # {spec.name}",
            "# enabled = true",
            f'# taker_fee = "{spec.taker_fee}"        # fraction; decimal string',
            f'# rest_url = "{spec.rest_url}"',
            f'# ws_url = "{spec.ws_url}"',
            f'# min_order_btc = "{spec.min_order_btc}"',
            f'# lot_btc = "{spec.lot_btc}"',
        ]
    return "\n".join(lines) + "\n"


def ensure_config(path: Path) -> bool:
    """Write the commented default config if ``path`` does not exist; True if it did now."""
    if path.exists():
        return False
    write_private(path, default_text())
    return True


def load_config(path: Path | None, env: Mapping[str, str] | None = None) -> AppConfig:
    """Read ``path`` (None or missing: defaults), then the ``BTC_DCA_<VENUE>_*_URL`` overrides.

    A file other accounts can write is refused (``ConfigError`` with the ``chmod`` fix);
    one they can read loads with a warning in ``AppConfig.warnings``.
    """
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    warnings: tuple[str, ...] = ()
    if path is not None and path.exists():
        try:
            data = tomllib.loads(read_checked(path))
        except UnsafeFileError as exc:
            # It sets where orders go and where alerts (with their passwords) are sent.
            raise ConfigError(f"refused to read the config: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot be read: {exc}") from exc
        readable = readable_by_others(path)
        warnings = (readable,) if readable else ()
    try:
        return replace(_parse(data, env, path), warnings=warnings)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}" if path else str(exc)) from None


_TOP = {"live", "notify", "peg_parity", "plan", "plans", "record", "ui", "venues"}
# A standing plan's fields (``run --every``), as ``[plans.NAME]`` keys.
STANDING_KEYS = ("every", "at", "tz", "until", "budget", "missed")
PLAN_KEYS = (
    "amount",
    "spend",
    "duration",
    "tranches",
    "quote",
    "venues",
    "mode",
    "max_price",
    "jitter",
    *STANDING_KEYS,
)
# A plan's name: what ``run --plan`` and a TOML bare key both take.
_PLAN_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_PLAN = {"amount", "duration", "tranches", "quote", "venues", "mode", "max_price", "jitter"}
_VENUE = {"enabled", "taker_fee", "rest_url", "ws_url", "min_order_btc", "lot_btc"}


def _unknown(table: Mapping[str, Any], known: set[str], prefix: str) -> None:
    for key in table:
        if key not in known:
            where = f"{prefix}{key}"
            raise ConfigError(f"{where}: unknown key (known: {', '.join(sorted(known))})")


def _table(data: Mapping[str, Any], key: str, prefix: str = "") -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{prefix}{key}: must be a table")
    return value


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: {value!r} is not true or false")
    return value


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}: {value!r} is not a non-empty string")
    return value.strip()


def _decimal(value: Any, key: str, what: str, *, fraction: bool = False) -> Decimal:
    # Fees and sizes are strings so they stay exact; a TOML float would already be rounded.
    if not isinstance(value, str):
        raise ConfigError(f'{key}: {value!r} must be a decimal string like "0.0040"')
    try:
        out = Decimal(value.strip())
    except InvalidOperation:
        raise ConfigError(f"{key}: {value!r} is not {what}") from None
    if not out.is_finite():
        raise ConfigError(f"{key}: {value!r} is not {what}")
    if out < 0:
        raise ConfigError(f"{key}: {value!r} must not be negative")
    if fraction and out > MAX_TAKER_FEE:
        raise ConfigError(
            f"{key}: {value!r} is a fee of {_percent(out)} %, more than the "
            f"{_percent(MAX_TAKER_FEE)} % limit ({FEE_HINT})"
        )
    return out


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}"


def _url(value: Any, key: str, schemes: tuple[str, ...]) -> str:
    text = _text(value, key)
    if not text.startswith(schemes):
        raise ConfigError(f"{key}: {redact_url(text)!r} must start with {' or '.join(schemes)}")
    # A proxy's password in the URL: masked wherever the URL is shown from now on.
    with contextlib.suppress(ValueError):
        register(urlsplit(text).password)
    return text.rstrip("/") if schemes[0].startswith("http") else text


def _parse(data: Mapping[str, Any], env: Mapping[str, str], path: Path | None) -> AppConfig:
    _unknown(data, _TOP, "")
    venues = _table(data, "venues")
    specs = dict(DEFAULT_SPECS)
    for vid, raw in venues.items():
        prefix = f"venues.{vid}"
        if vid not in DEFAULT_SPECS:
            raise ConfigError(f"{prefix}: unknown venue (known: {', '.join(DEFAULT_SPECS)})")
        if not isinstance(raw, dict):
            raise ConfigError(f"{prefix}: must be a table")
        _unknown(raw, _VENUE, f"{prefix}.")
        changes: dict[str, object] = {}
        if "enabled" in raw:
            changes["enabled"] = _bool(raw["enabled"], f"{prefix}.enabled")
        if "taker_fee" in raw:
            changes["taker_fee"] = _decimal(
                raw["taker_fee"], f"{prefix}.taker_fee", "a decimal fraction", fraction=True
            )
        for size in ("min_order_btc", "lot_btc"):
            if size in raw:
                changes[size] = _decimal(raw[size], f"{prefix}.{size}", "an amount of BTC")
        if "lot_btc" in changes and changes["lot_btc"] == 0:
            raise ConfigError(f"{prefix}.lot_btc: must be more than 0")
        if "rest_url" in raw:
            changes["rest_url"] = _url(
                raw["rest_url"], f"{prefix}.rest_url", ("https://", "http://")
            )
        if "ws_url" in raw:
            changes["ws_url"] = _url(raw["ws_url"], f"{prefix}.ws_url", ("wss://", "ws://"))
        specs[vid] = specs[vid].with_overrides(**changes)
    for vid, spec in specs.items():
        name = vid.upper()
        rest, ws = env.get(f"BTC_DCA_{name}_REST_URL"), env.get(f"BTC_DCA_{name}_WS_URL")
        changes = {}
        if rest:
            changes["rest_url"] = _url(rest, f"BTC_DCA_{name}_REST_URL", ("https://", "http://"))
        if ws:
            changes["ws_url"] = _url(ws, f"BTC_DCA_{name}_WS_URL", ("wss://", "ws://"))
        if changes:
            specs[vid] = spec.with_overrides(**changes)
    ui = _table(data, "ui")
    _unknown(ui, {"theme"}, "ui.")
    theme = _text(ui["theme"], "ui.theme") if "theme" in ui else DEFAULT_THEME
    peg = _bool(data["peg_parity"], "peg_parity") if "peg_parity" in data else False
    notify = _notify(_table(data, "notify"))
    record = _table(data, "record")
    _unknown(record, {"keep_days"}, "record.")
    keep = record.get("keep_days", 30)
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise ConfigError(f"record.keep_days: {keep!r} is not a whole number of days (0: all)")
    live = _table(data, "live")
    _unknown(live, {"max_slippage", "max_spend"}, "live.")
    slippage = Decimal("0.002")
    if "max_slippage" in live:
        slippage = _decimal(live["max_slippage"], "live.max_slippage", "a fraction like 0.002")
        if slippage >= Decimal("0.05"):
            raise ConfigError(
                f"live.max_slippage: {live['max_slippage']!r} allows paying "
                f"{_percent(slippage)} % over the book; keep it under 5 %"
            )
    spend = None
    if "max_spend" in live:
        spend = _decimal(live["max_spend"], "live.max_spend", 'an amount like "5000"')
    return AppConfig(
        specs,
        _plan(_table(data, "plan")),
        theme,
        peg,
        path,
        notify,
        keep,
        live_max_slippage=slippage,
        live_max_spend=spend,
        plans=_plans(_table(data, "plans")),
    )


def _notify(raw: Mapping[str, Any]) -> NotifyConfig:
    _unknown(raw, {"urls", "events"}, "notify.")
    urls = raw.get("urls", [])
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise ConfigError(f"notify.urls: {urls!r} is not a list of apprise URLs")
    for url in urls:
        problem = url_problem(url.strip())
        if problem is not None:
            raise ConfigError(f"notify.urls: {problem}")
    events = raw.get("events", list(DEFAULT_EVENTS))
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise ConfigError(f"notify.events: {events!r} is not a list of event names")
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise ConfigError(
            f"notify.events: unknown event {', '.join(map(repr, unknown))} "
            f"(known: {', '.join(EVENTS)})"
        )
    return NotifyConfig(tuple(u.strip() for u in urls), frozenset(events))


def _plan(raw: Mapping[str, Any]) -> PlanDefaults:
    _unknown(raw, _PLAN, "plan.")
    d = PlanDefaults()
    amount = d.amount
    if "amount" in raw:
        amount = str(_decimal(raw["amount"], "plan.amount", "an amount of BTC"))
    duration = _text(raw["duration"], "plan.duration") if "duration" in raw else d.duration
    try:
        parse_duration(duration)
    except ValueError as exc:
        raise ConfigError(f"plan.duration: {exc}") from None
    tranches = raw.get("tranches")
    if tranches is not None and (
        isinstance(tranches, bool) or not isinstance(tranches, int) or tranches < 1
    ):
        raise ConfigError(f"plan.tranches: {tranches!r} is not a whole number of at least 1")
    quote = _text(raw.get("quote", d.quote), "plan.quote").upper()
    if quote not in QUOTES:
        raise ConfigError(f"plan.quote: {quote!r} is not one of {', '.join(QUOTES)}")
    venues = raw.get("venues", [])
    if not isinstance(venues, list) or not all(isinstance(v, str) for v in venues):
        raise ConfigError(f"plan.venues: {venues!r} is not a list of venue ids")
    unknown = [v for v in venues if v not in DEFAULT_SPECS]
    if unknown:
        raise ConfigError(f"plan.venues: unknown venue {', '.join(unknown)}")
    mode = _text(raw.get("mode", d.mode), "plan.mode").lower()
    if mode not in {m.value for m in Mode}:
        raise ConfigError(f"plan.mode: {mode!r} is not single or split")
    max_price = None
    if "max_price" in raw:
        max_price = str(_decimal(raw["max_price"], "plan.max_price", "a price"))
    jitter = _bool(raw["jitter"], "plan.jitter") if "jitter" in raw else d.jitter
    return PlanDefaults(amount, duration, tranches, quote, tuple(venues), mode, max_price, jitter)


def _plans(raw: Mapping[str, Any]) -> dict[str, NamedPlan]:
    """Every ``[plans.NAME]`` table, each checked field by field like ``[plan]``."""
    out: dict[str, NamedPlan] = {}
    for name, table in raw.items():
        prefix = f"plans.{name}"
        if not _PLAN_NAME.match(name):
            raise ConfigError(f"{prefix}: a plan name is 1-40 letters, digits, - or _")
        if not isinstance(table, dict):
            raise ConfigError(f"{prefix}: must be a table")
        out[name] = named_plan(name, table)
    return out


def named_plan(name: str, raw: Mapping[str, Any]) -> NamedPlan:
    """One named plan's table, checked strictly (ConfigError naming ``plans.NAME.key``)."""
    prefix = f"plans.{name}."
    _unknown(raw, set(PLAN_KEYS), prefix)
    if "amount" in raw and "spend" in raw:
        raise ConfigError(f"{prefix}amount, {prefix}spend: give one of them, not both")
    amount = spend = duration = quote = mode = max_price = None
    if "amount" in raw:
        amount = str(_decimal(raw["amount"], f"{prefix}amount", "an amount of BTC"))
    if "spend" in raw:
        spend = str(_decimal(raw["spend"], f"{prefix}spend", "an amount of money"))
    if "duration" in raw:
        duration = _text(raw["duration"], f"{prefix}duration")
        try:
            parse_duration(duration)
        except ValueError as exc:
            raise ConfigError(f"{prefix}duration: {exc}") from None
    tranches = raw.get("tranches")
    if tranches is not None and (
        isinstance(tranches, bool) or not isinstance(tranches, int) or tranches < 1
    ):
        raise ConfigError(f"{prefix}tranches: {tranches!r} is not a whole number of at least 1")
    if "quote" in raw:
        quote = _text(raw["quote"], f"{prefix}quote").upper()
        if quote not in QUOTES:
            raise ConfigError(f"{prefix}quote: {quote!r} is not one of {', '.join(QUOTES)}")
    venues = None
    if "venues" in raw:
        listed = raw["venues"]
        if not isinstance(listed, list) or not all(isinstance(v, str) for v in listed):
            raise ConfigError(f"{prefix}venues: {listed!r} is not a list of venue ids")
        unknown = [v for v in listed if v not in DEFAULT_SPECS]
        if unknown:
            raise ConfigError(f"{prefix}venues: unknown venue {', '.join(unknown)}")
        venues = tuple(listed)
    if "mode" in raw:
        mode = _text(raw["mode"], f"{prefix}mode").lower()
        if mode not in {m.value for m in Mode}:
            raise ConfigError(f"{prefix}mode: {mode!r} is not single or split")
    if "max_price" in raw:
        max_price = str(_decimal(raw["max_price"], f"{prefix}max_price", "a price"))
    jitter = _bool(raw["jitter"], f"{prefix}jitter") if "jitter" in raw else None
    return NamedPlan(
        name,
        amount,
        spend,
        duration,
        tranches,
        quote,
        venues,
        mode,
        max_price,
        jitter,
        **_standing(raw, prefix),
    )


def _standing(raw: Mapping[str, Any], prefix: str) -> dict[str, str]:
    """A named plan's standing fields, each read as its flag reads it (ConfigError naming
    ``plans.NAME.key``). Whether ``until`` is still ahead is for the run to say."""
    out = {k: _text(raw[k], f"{prefix}{k}") for k in STANDING_KEYS if k in raw}
    if not out:
        return out
    if "every" not in out:
        raise ConfigError(f"{prefix}{next(iter(out))}: only with every (a standing plan)")
    for key in ("duration", "tranches", "jitter"):
        if key in raw:
            raise ConfigError(f"{prefix}{key}: not with every (a standing plan has no window)")
    if "until" in out and "budget" in out:
        raise ConfigError(f"{prefix}until, {prefix}budget: give one of them, not both")
    try:
        every = parse_every(out["every"])
        if "at" in out:
            parse_at(out["at"], every)
        tz = out.get("tz") or "UTC"
        zone(tz)
        if "until" in out:
            parse_until(out["until"], tz, float("-inf"))
    except SlotError as exc:
        raise ConfigError(f"{prefix}{exc.field}: {exc}") from None
    if "budget" in out:
        out["budget"] = str(_decimal(raw["budget"], f"{prefix}budget", "an amount of money"))
    if "missed" in out and out["missed"] not in {m.value for m in Missed}:
        raise ConfigError(f"{prefix}missed: {out['missed']!r} is not one of skip, once")
    return out


def save_plan(path: Path, plan: NamedPlan) -> None:
    """Write ``[plans.NAME]`` (replacing one of that name), keeping every comment; atomic."""
    import tomlkit

    if not _PLAN_NAME.match(plan.name):
        raise ConfigError(f"plans.{plan.name}: a plan name is 1-40 letters, digits, - or _")
    named_plan(plan.name, plan.fields())  # what is written reads back
    text = path.read_text(encoding="utf-8") if path.exists() else default_text()
    doc = tomlkit.parse(text)
    if "plans" not in doc:
        doc["plans"] = tomlkit.table(is_super_table=True)
    table = tomlkit.table()
    for key, value in plan.fields().items():
        table[key] = value
    doc["plans"][plan.name] = table
    text = tomlkit.dumps(doc)
    try:  # the file as a whole still reads, or nothing is written
        _parse(tomllib.loads(text), {}, path)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    write_private(path, text)


def save_setting(path: Path, dotted_key: str, value: str | bool | int) -> None:
    """Set one key (``ui.theme``) in the file, keeping every comment; atomic replace."""
    import tomlkit  # only for writing back (the theme), off the start-up path

    text = path.read_text(encoding="utf-8") if path.exists() else default_text()
    doc = tomlkit.parse(text)
    *tables, key = dotted_key.split(".")
    node: Any = doc
    for name in tables:
        if name not in node:
            node[name] = tomlkit.table()
        node = node[name]
    node[key] = value
    write_private(path, tomlkit.dumps(doc))
