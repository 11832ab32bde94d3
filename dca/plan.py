"""The plan the user asks for, validated field by field, and its tranche sizes.

Every rule names the field it is about, so the form can show the message beside
the field and the command line can say ``--amount: ...`` and exit 2.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from dca.routing import Mode
from dca.slots import (
    Missed,
    SlotError,
    Standing,
    local_zone_name,
    parse_at,
    parse_every,
    parse_until,
    zone,
)
from exchanges.venues import QUOTES, VENUE_IDS, VenueSpec

MAX_AMOUNT_BTC = Decimal(1000)
# A budget is money in the quote currency: whole cents, at most a hundred million.
CENT = Decimal("0.01")
MAX_SPEND = Decimal(100_000_000)
MAX_TRANCHES = 100_000
DEFAULT_MAX_TRANCHES = 500
DEFAULT_INTERVAL_S = 3600.0
MAX_DURATION_S = 366 * 86400.0
BTC_QUANTUM = Decimal("0.00000001")

# Tranches closer together than this are refused: each one fetches fresh books first,
# which takes a good part of that on live venues.
MIN_INTERVAL_S = 0.5

# One or more "<number><unit>" parts, largest unit first: 90s, 1.5h, 2h30m, 4d 4h.
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd])", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_ORDER = "dhms"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One broken rule: which field, and what is wrong with it."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class PlanInvalid(ValueError):
    """A plan that breaks one or more rules; ``errors`` lists them all."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = tuple(errors)

    def by_field(self) -> dict[str, str]:
        """The first message per field."""
        out: dict[str, str] = {}
        for e in self.errors:
            out.setdefault(e.field, e.message)
        return out


@dataclass(frozen=True, slots=True)
class Plan:
    """A validated DCA plan. ``duration_s`` is the window; tranche ``i`` falls in slot ``i``."""

    amount: Decimal
    duration_s: float
    tranches: int
    quote: str
    venues: tuple[str, ...]
    mode: Mode = Mode.SINGLE
    max_price: Decimal | None = None
    jitter: bool = False
    seed: int = 0
    tranches_defaulted: bool = False
    default_reason: str = ""
    lot_btc: Decimal = BTC_QUANTUM
    min_order_btc: Decimal = BTC_QUANTUM
    extra: dict[str, str] = field(default_factory=dict)
    # A budget in the quote currency (fees in) instead of an amount of BTC: then
    # ``amount`` is 0 and each tranche buys what its share of the money buys.
    spend: Decimal | None = None
    # A standing plan (``run --every``): no fixed end, a buy of ``amount`` (or ``spend``)
    # at every slot of its calendar; then ``tranches`` and ``duration_s`` are 0.
    standing: Standing | None = None

    @property
    def interval_s(self) -> float:
        """Length of one tranche slot, seconds (a standing plan's period)."""
        if self.standing is not None:
            return self.standing.period_s
        return self.duration_s / self.tranches

    @property
    def budget_total(self) -> Decimal | None:
        """The money the whole run may spend: a budget run's ``spend``, a standing plan's
        ``--budget``; None when the run has no cap in money."""
        if self.standing is not None:
            return self.standing.budget
        return self.spend

    @property
    def is_budget(self) -> bool:
        """Whether the plan spends an amount of money rather than buying an amount of BTC."""
        return self.spend is not None

    def sizes(self) -> list[Decimal]:
        """Tranche sizes in whole lots, differing by at most one lot (``tranche_sizes``).

        For a budget plan: each tranche's share of the money (``shares``)."""
        if self.spend is not None:
            return self.shares()
        return tranche_sizes(self.amount, self.tranches, self.lot_btc)

    def shares(self) -> list[Decimal]:
        """A budget plan's money per tranche: whole cents, differing by at most a cent."""
        assert self.spend is not None
        return tranche_sizes(self.spend, self.tranches, CENT)


# What an empty required field says (the form shows it once the field was touched).
BLANK_AMOUNT = "enter an amount of BTC, e.g. 0.5"
BLANK_DURATION = "enter a time window like 90s, 30m, 6h, 2d or 2h30m"
BLANK_SPEND = "enter an amount of money to spend, e.g. 1000"
BOTH = "give an amount of BTC or a budget to spend, not both"


def parse_duration(text: str) -> float:
    """``90s``, ``30m``, ``6h``, ``2d``, ``1.5h``, ``2h30m``, ``4d 4h`` → seconds.

    Every duration the app prints reads back. ValueError otherwise (each unit once,
    largest first).
    """
    total = 0.0
    pos = 0
    last = -1
    raw = text or ""
    while pos < len(raw.rstrip()) or last < 0:
        match = _PART.match(raw, pos)
        if match is None:
            break
        unit = _ORDER.index(match.group(2).lower())
        if unit <= last:
            break
        last = unit
        total += float(match.group(1)) * _UNIT_S[match.group(2).lower()]
        pos = match.end()
    if last < 0 or raw[pos:].strip():
        raise ValueError(f"{text!r} is not a duration like 90s, 30m, 6h, 2d or 2h30m")
    return total


def format_duration(seconds: float) -> str:
    """A short human duration: ``45s``, ``12m 30s``, ``6h``, ``2d 3h``."""
    if seconds < 10 and seconds != round(seconds):
        return f"{seconds:.2g}s"  # 0.67s, 1.5s: never "0s" for a sub-second interval
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= size:
            parts.append(f"{s // size}{unit}")
            s %= size
    return " ".join(parts[:2])


def _plain(value: Decimal) -> str:
    """An amount of BTC as typed: ``0.00005``, ``0`` (never ``0E-8``)."""
    return "0" if not value else f"{value.normalize():f}"


def tranche_sizes(amount: Decimal, n: int, lot: Decimal) -> list[Decimal]:
    """``n`` sizes summing exactly to ``amount``, in whole lots, differing by at most one lot.

    The lots that do not divide evenly go one each to the last tranches (0.1 BTC in 720
    tranches of 0.00001 lots: 80 of 0.00013 then 640 of 0.00014), never all on the last;
    only an amount that is not a whole number of lots leaves less than a lot on the last.
    """
    if n == 1:
        return [amount]  # as typed: 5 stays 5, not 5.00
    lots = (amount / lot).to_integral_value(ROUND_DOWN)
    dust = amount - lots * lot
    each, extra = divmod(int(lots), n)
    sizes = [each * lot] * (n - extra) + [(each + 1) * lot] * extra
    sizes[-1] += dust
    return sizes


def size_range(plan: Plan) -> str:
    """The tranche size in words: ``0.00013`` or ``0.00013 to 0.00014`` (BTC, exact)."""
    sizes = plan.sizes()
    low, high = min(sizes), max(sizes)
    return _plain(low) if low == high else f"{_plain(low)} to {_plain(high)}"


def each_tranche(plan: Plan) -> str:
    """What each tranche buys, in words: ``0.00013 to 0.00014 BTC``, or a budget's money,
    ``166.66 to 166.70 USD`` (its shares are whole cents)."""
    if not plan.is_budget:
        return f"{size_range(plan)} BTC"
    shares = plan.shares()
    low, high = f"{min(shares):,.2f}", f"{max(shares):,.2f}"
    return f"{low if low == high else f'{low} to {high}'} {plan.quote}"


def default_tranches(amount: Decimal, duration_s: float, min_order: Decimal) -> tuple[int, str]:
    """One tranche an hour, at most 500, and never smaller than the largest venue minimum."""
    n = max(1, min(DEFAULT_MAX_TRANCHES, math.ceil(duration_s / DEFAULT_INTERVAL_S - 1e-9)))
    reason = f"one per hour over {format_duration(duration_s)}"
    if n == DEFAULT_MAX_TRANCHES and duration_s / DEFAULT_INTERVAL_S > DEFAULT_MAX_TRANCHES:
        reason = f"capped at {DEFAULT_MAX_TRANCHES}"
    if min_order > 0 and amount / n < min_order:
        n = max(1, int(amount / min_order))
        reason = f"so each tranche stays above the {min_order} BTC minimum order"
    return n, reason


def _parse_decimal(text: str | Decimal) -> Decimal:
    value = text if isinstance(text, Decimal) else Decimal(str(text).strip())
    if not value.is_finite():
        raise InvalidOperation
    return value


ZERO = Decimal(0)


def _given(value: str | Decimal | None) -> bool:
    """Whether a field was filled in (None and blank text are not)."""
    return value is not None and not (isinstance(value, str) and not value.strip())


def _check_amount(amount: str | Decimal | None, errors: list[FieldError]) -> Decimal | None:
    """The amount of BTC, or None with its error added."""
    try:
        amt = _parse_decimal(amount if amount is not None else "")
    except (InvalidOperation, ValueError):
        blank = not _given(amount)
        errors.append(
            FieldError("amount", BLANK_AMOUNT if blank else f"{amount!r} is not a number of BTC")
        )
        return None
    if amt <= 0:
        errors.append(FieldError("amount", "must be more than 0 BTC"))
    elif amt > MAX_AMOUNT_BTC:
        errors.append(FieldError("amount", f"must be at most {MAX_AMOUNT_BTC} BTC"))
    elif amt != amt.quantize(BTC_QUANTUM, rounding=ROUND_DOWN):
        errors.append(FieldError("amount", "has more than 8 decimal places"))
    else:
        return amt
    return None


def _check_spend(spend: str | Decimal | None, errors: list[FieldError]) -> Decimal | None:
    """The budget in money (whole cents), or None with its error added."""
    try:
        value = _parse_decimal(spend if spend is not None else "")
    except (InvalidOperation, ValueError):
        errors.append(FieldError("spend", f"{spend!r} is not an amount of money"))
        return None
    if value <= 0:
        errors.append(FieldError("spend", "must be more than 0"))
    elif value > MAX_SPEND:
        errors.append(FieldError("spend", f"must be at most {MAX_SPEND:,}"))
    elif value != value.quantize(CENT, rounding=ROUND_DOWN):
        errors.append(FieldError("spend", "has more than 2 decimal places (whole cents)"))
    else:
        return value
    return None


def _min_money(spec: VenueSpec, price: Decimal) -> Decimal:
    """The money a venue's minimum order costs at ``price`` per BTC, fee in."""
    return spec.min_order_btc * price * (1 + spec.taker_fee)


def _money_minimum(known: Sequence[VenueSpec], prices: Mapping[str, Decimal] | None) -> Decimal:
    """The largest minimum order in money among venues with a known price (0 if none)."""
    if not prices:
        return ZERO
    return max(
        (_min_money(s, prices[s.id]) for s in known if prices.get(s.id)),
        default=ZERO,
    )


def _check_budget_minimum(
    budget: Decimal,
    n: int,
    defaulted: bool,
    known: Sequence[VenueSpec],
    prices: Mapping[str, Decimal],
    quote: str,
    errors: list[FieldError],
) -> None:
    """Each tranche's share must buy at least every priced venue's minimum order."""
    share = tranche_sizes(budget, n, CENT)[0]
    short = [
        (s, _min_money(s, prices[s.id]))
        for s in known
        if prices.get(s.id) and share < _min_money(s, prices[s.id])
    ]
    if not short:
        return
    spec, need = max(short, key=lambda p: p[1])
    where = "the budget" if n == 1 else f"each of {n:,} tranches"
    errors.append(
        FieldError(
            "spend" if n == 1 or defaulted else "tranches",
            f"{where} would be {share:,} {quote}, below {spec.name}'s minimum order of "
            f"{_plain(spec.min_order_btc)} BTC (about {need.quantize(CENT):,} {quote} now, "
            "fee in)",
        )
    )


def _check_duration(duration: str | float, errors: list[FieldError]) -> float | None:
    """The time window in seconds, or None with its error added."""
    try:
        dur = float(duration) if isinstance(duration, int | float) else parse_duration(duration)
    except ValueError as exc:
        blank = isinstance(duration, str) and not duration.strip()
        errors.append(FieldError("duration", BLANK_DURATION if blank else str(exc)))
        return None
    if dur <= 0:
        errors.append(FieldError("duration", "must be longer than 0s"))
    elif dur > MAX_DURATION_S:
        errors.append(FieldError("duration", "must be at most 366d"))
    else:
        return dur
    return None


def _check_quote(quote: str, errors: list[FieldError]) -> str:
    """The quote currency, upper case (its error added when it is not one we quote in)."""
    q = (quote or "").strip().upper()
    if q not in QUOTES:
        errors.append(FieldError("quote", f"{quote!r} is not one of {', '.join(QUOTES)}"))
    return q


def _check_venues(
    venues: Sequence[str] | None, specs: Mapping[str, VenueSpec], errors: list[FieldError]
) -> tuple[str, ...]:
    """The venues chosen, lower case, each once, in order; an error if none or one unknown.

    None means every enabled venue; an empty selection is an error, not "all".
    """
    given = [v for v in specs if specs[v].enabled] if venues is None else venues
    chosen = tuple(v.strip().lower() for v in given)
    chosen = tuple(dict.fromkeys(v for v in chosen if v))
    unknown = [v for v in chosen if v not in VENUE_IDS or v not in specs]
    if unknown:
        errors.append(
            FieldError(
                "venues", f"unknown venue {', '.join(unknown)} (known: {', '.join(VENUE_IDS)})"
            )
        )
    elif not chosen:
        errors.append(FieldError("venues", "choose at least one venue"))
    return chosen


def _check_mode(mode: str, errors: list[FieldError]) -> Mode:
    """Single or split (single, with its error added, when it is neither)."""
    try:
        return Mode((mode or "").strip().lower())
    except ValueError:
        errors.append(FieldError("mode", f"{mode!r} is not single or split"))
        return Mode.SINGLE


def _check_max_price(max_price: str | Decimal | None, errors: list[FieldError]) -> Decimal | None:
    """The maximum price (None when not given, or with its error added)."""
    if max_price in (None, ""):
        return None
    try:
        max_p = _parse_decimal(max_price)
    except (InvalidOperation, ValueError):
        errors.append(FieldError("max_price", f"{max_price!r} is not a price"))
        return None
    if max_p <= 0:
        errors.append(FieldError("max_price", "must be more than 0"))
        return None
    return max_p


def _check_tranches(tranches: str | int | None, errors: list[FieldError]) -> int | None:
    """The number of tranches given (None when not given, or with its error added)."""
    if tranches in (None, ""):
        return None
    try:
        n = int(str(tranches).strip())
    except ValueError:
        errors.append(FieldError("tranches", f"{tranches!r} is not a whole number"))
        return None
    if n < 1:
        errors.append(FieldError("tranches", "must be at least 1"))
    elif n > MAX_TRANCHES:
        errors.append(FieldError("tranches", f"must be at most {MAX_TRANCHES}"))
    else:
        return n
    return None


def _default_count(
    amount: Decimal | None,
    budget: Decimal | None,
    duration_s: float | None,
    known: Sequence[VenueSpec],
    prices: Mapping[str, Decimal] | None,
    quote: str,
) -> tuple[int | None, str]:
    """The number of tranches when none is given, and why (``default_tranches``).

    A budget's tranches each buy at least the largest minimum order among the venues
    priced; an amount's each hold at least the largest minimum order. None when the
    amount (or budget) or the duration is wrong: nothing to count from.
    """
    if duration_s is None:
        return None, ""
    if budget is not None:
        floor = _money_minimum(known, prices)
        n, reason = default_tranches(budget, duration_s, floor)
        hourly = default_tranches(budget, duration_s, ZERO)[0]
        if floor and budget / n >= floor and budget / hourly < floor:
            reason = (
                f"so each tranche buys at least the largest minimum order, {floor:,.2f} {quote}"
            )
        return n, reason
    if amount is None:
        return None, ""
    min_order = max((s.min_order_btc for s in known), default=BTC_QUANTUM)
    return default_tranches(amount, duration_s, min_order)


def _check_tranche_size(
    amount: Decimal,
    n: int,
    defaulted: bool,
    known: Sequence[VenueSpec],
    errors: list[FieldError],
) -> None:
    """Each tranche must buy at least the largest minimum order among the chosen venues.

    Blamed on the amount when there is one tranche or the number was defaulted, else on
    the tranches.
    """
    biggest_min = max(known, key=lambda s: s.min_order_btc, default=None)
    if biggest_min is None:
        return
    min_order = biggest_min.min_order_btc
    lot = max(s.lot_btc for s in known)
    size = min(tranche_sizes(amount, n, lot))
    if size < min_order:
        where = "the amount" if n == 1 else f"each of {n:,} tranches"
        field_name = "amount" if n == 1 or defaulted else "tranches"
        errors.append(
            FieldError(
                field_name,
                f"{where} would be {_plain(size)} BTC, below {biggest_min.name}'s minimum "
                f"order of {_plain(min_order)} BTC",
            )
        )


def _check_interval(duration_s: float, n: int, errors: list[FieldError]) -> None:
    """Tranches at least ``MIN_INTERVAL_S`` apart."""
    if n > 1 and duration_s / n < MIN_INTERVAL_S:
        errors.append(
            FieldError(
                "tranches",
                f"{n:,} tranches over {format_duration(duration_s)} would be "
                f"{format_duration(duration_s / n)} apart; at most "
                f"{max(1, int(duration_s // MIN_INTERVAL_S)):,} "
                f"(one every {format_duration(MIN_INTERVAL_S)})",
            )
        )


def _check_what(
    amount: str | Decimal | None, spend: str | Decimal | None, errors: list[FieldError]
) -> tuple[Decimal | None, Decimal | None]:
    """What to buy: an amount of BTC or a budget in money (exactly one), as ``(amount,
    budget)``; a budget plan's amount is 0. None for a wrong one, with its error added."""
    if _given(amount) and _given(spend):
        errors += [FieldError("amount", BOTH), FieldError("spend", BOTH)]
        return None, None
    if _given(spend):
        budget = _check_spend(spend, errors)
        return (ZERO if budget is not None else None), budget
    return _check_amount(amount, errors), None


def build_plan(
    *,
    amount: str | Decimal | None = None,
    duration: str | float | None = None,
    tranches: str | int | None = None,
    quote: str = "USD",
    venues: Sequence[str] | None = None,
    mode: str = "single",
    max_price: str | Decimal | None = None,
    jitter: bool = False,
    seed: int = 0,
    specs: Mapping[str, VenueSpec],
    spend: str | Decimal | None = None,
    prices: Mapping[str, Decimal] | None = None,
    schedule: StandingInput | None = None,
) -> Plan:
    """Validate raw inputs (text from a form or the command line) into a ``Plan``.

    ``schedule`` (``--every`` and its fields) makes a standing plan (``build_standing``).

    Exactly one of ``amount`` (BTC) and ``spend`` (money in the quote currency, fees in)
    is given. ``prices`` (best ask per venue, when known) let a budget be checked against
    each venue's minimum order. Raises ``PlanInvalid`` listing every broken rule, each
    naming its field: one validator per field, in the form's order, then the rules
    between fields (the tranche size against the venues' minimum orders, the interval).
    """
    if schedule is not None and _given(schedule.every):
        return build_standing(
            schedule,
            amount=amount,
            spend=spend,
            duration=duration,
            tranches=tranches,
            quote=quote,
            venues=venues,
            mode=mode,
            max_price=max_price,
            jitter=jitter,
            seed=seed,
            specs=specs,
            prices=prices,
        )
    errors: list[FieldError] = []
    if schedule is not None:
        _check_unscheduled(schedule, errors)
    amt, budget = _check_what(amount, spend, errors)
    dur = _check_duration(duration if duration is not None else "", errors)
    q = _check_quote(quote, errors)
    chosen = _check_venues(venues, specs, errors)
    mode_v = _check_mode(mode, errors)
    max_p = _check_max_price(max_price, errors)
    known = [specs[v] for v in chosen if v in specs]
    n = _check_tranches(tranches, errors)
    defaulted = tranches in (None, "")
    reason = ""
    if defaulted:
        n, reason = _default_count(amt, budget, dur, known, prices, q)
    if budget is not None and n is not None and prices:
        _check_budget_minimum(budget, n, defaulted, known, prices, q, errors)
    elif budget is None and amt is not None and n is not None:
        _check_tranche_size(amt, n, defaulted, known, errors)
    if dur is not None and n is not None:
        _check_interval(dur, n, errors)
    if errors:
        raise PlanInvalid(errors)
    assert amt is not None
    assert dur is not None
    assert n is not None
    return Plan(
        spend=budget,
        amount=amt,
        duration_s=dur,
        tranches=n,
        quote=q,
        venues=chosen,
        mode=mode_v,
        max_price=max_p,
        jitter=jitter,
        seed=seed,
        tranches_defaulted=defaulted,
        default_reason=reason,
        lot_btc=max((s.lot_btc for s in known), default=BTC_QUANTUM),
        min_order_btc=max((s.min_order_btc for s in known), default=BTC_QUANTUM),
    )


def best_asks(results: Mapping[str, object]) -> dict[str, Decimal]:
    """The best ask per venue among fetched books (venues without one are left out)."""
    out: dict[str, Decimal] = {}
    for venue, r in results.items():
        ask = getattr(r, "best_ask", None)
        if isinstance(ask, Decimal) and ask > 0:
            out[venue] = ask
    return out


def fit_budget(plan: Plan, specs: Mapping[str, VenueSpec], prices: Mapping[str, Decimal]) -> Plan:
    """A budget plan checked against each venue's minimum order at ``prices`` (best asks).

    Defaulted tranches are fewer if a share would buy less than a minimum; PlanInvalid
    (naming ``spend``, or ``tranches`` when they were given) if it still would.
    """
    if plan.spend is None or not prices:
        return plan
    known = [specs[v] for v in plan.venues if v in specs]
    if plan.standing is not None:
        # Each buy spends ``spend``: it alone must buy every venue's minimum order.
        found: list[FieldError] = []
        _check_budget_minimum(plan.spend, 1, True, known, prices, plan.quote, found)
        if found:
            raise PlanInvalid(found)
        return plan
    n = plan.tranches
    reason = plan.default_reason
    if plan.tranches_defaulted:
        floor = _money_minimum(known, prices)
        fitted = max(1, min(n, int(plan.spend / floor))) if floor else n
        if fitted < n:
            n = fitted
            reason = (
                f"so each tranche buys at least the largest minimum order, {floor:,.2f} "
                f"{plan.quote}"
            )
    errors: list[FieldError] = []
    _check_budget_minimum(plan.spend, n, plan.tranches_defaulted, known, prices, plan.quote, errors)
    if errors:
        raise PlanInvalid(errors)
    return replace(plan, tranches=n, default_reason=reason)


# -- standing plans ------------------------------------------------------------------------

EVERY_ONLY = "only with --every (a standing plan)"
NO_WINDOW = "not with --every: a standing plan runs until --until, --budget or a cancel"


@dataclass(frozen=True, slots=True)
class StandingInput:
    """A standing plan's fields as typed (``run --every ...``); ``now`` checks ``until``."""

    every: str | None = None
    at: str | None = None
    tz: str | None = None
    until: str | None = None
    budget: str | Decimal | None = None
    missed: str | None = None
    now: float = 0.0


def _check_unscheduled(schedule: StandingInput, errors: list[FieldError]) -> None:
    """A standing plan's fields given without ``--every``: each named."""
    for name in ("at", "tz", "until", "budget", "missed"):
        if _given(getattr(schedule, name)):
            errors.append(FieldError(name, EVERY_ONLY))


def _check_standing(
    s: StandingInput, budget_given: bool, errors: list[FieldError]
) -> Standing | None:
    """The calendar and end of a standing plan, or None with its errors added."""
    every = at = None
    tz = (s.tz or "").strip() or local_zone_name()
    until: float | None = None
    cap: Decimal | None = None
    for check in ("every", "at", "tz", "until", "budget", "missed"):
        try:
            if check == "every":
                every = parse_every(str(s.every))
            elif check == "at" and _given(s.at) and every is not None:
                at = parse_at(str(s.at), every)
            elif check == "tz":
                zone(tz)
            elif check == "until" and _given(s.until):
                until = parse_until(str(s.until), tz, s.now)
        except SlotError as exc:
            errors.append(FieldError(exc.field, str(exc)))
    if _given(s.until) and _given(s.budget):
        both = "give --until or --budget, not both"
        errors += [FieldError("until", both), FieldError("budget", both)]
    elif _given(s.budget):
        found: list[FieldError] = []
        cap = _check_spend(s.budget, found)
        errors += [FieldError("budget", e.message) for e in found]
        if not budget_given:
            errors.append(
                FieldError("budget", "needs --spend (money per buy); with --amount use --until")
            )
    missed = Missed.SKIP
    if _given(s.missed):
        try:
            missed = Missed(str(s.missed).strip().lower())
        except ValueError:
            errors.append(FieldError("missed", f"{s.missed!r} is not one of {', '.join(Missed)}"))
    if every is None or errors:
        return None
    return Standing(every, tz, at, until, cap, missed)


def build_standing(
    schedule: StandingInput,
    *,
    amount: str | Decimal | None,
    spend: str | Decimal | None,
    duration: str | float | None,
    tranches: str | int | None,
    quote: str,
    venues: Sequence[str] | None,
    mode: str,
    max_price: str | Decimal | None,
    jitter: bool,
    seed: int,
    specs: Mapping[str, VenueSpec],
    prices: Mapping[str, Decimal] | None = None,
) -> Plan:
    """A standing plan: ``amount`` (BTC) or ``spend`` (money, fees in) at every slot of
    ``schedule``'s calendar. PlanInvalid naming each broken field, as ``build_plan``."""
    errors: list[FieldError] = []
    amt, per_buy = _check_what(amount, spend, errors)
    for name, value in (("duration", duration), ("tranches", tranches)):
        if value not in (None, ""):
            errors.append(FieldError(name, NO_WINDOW))
    if jitter:
        errors.append(FieldError("jitter", "not with --every: each buy falls on its slot"))
    q = _check_quote(quote, errors)
    chosen = _check_venues(venues, specs, errors)
    mode_v = _check_mode(mode, errors)
    max_p = _check_max_price(max_price, errors)
    known = [specs[v] for v in chosen if v in specs]
    standing = _check_standing(schedule, _given(spend), errors)
    if per_buy is not None and prices:
        _check_budget_minimum(per_buy, 1, True, known, prices, q, errors)
    elif per_buy is None and amt is not None:
        _check_tranche_size(amt, 1, True, known, errors)
    if errors:
        raise PlanInvalid(errors)
    assert amt is not None and standing is not None
    return Plan(
        spend=per_buy,
        amount=amt,
        duration_s=0.0,
        tranches=0,
        quote=q,
        venues=chosen,
        mode=mode_v,
        max_price=max_p,
        seed=seed,
        lot_btc=max((s.lot_btc for s in known), default=BTC_QUANTUM),
        min_order_btc=max((s.min_order_btc for s in known), default=BTC_QUANTUM),
        standing=standing,
    )
