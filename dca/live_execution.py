"""The venue side of the execution seam: a tranche's route sent as real orders, exactly once.

Each leg becomes a marketable limit order, immediate-or-cancel: the limit is the highest
ask level the walk needed × (1 + ``max_slippage``), rounded down to the venue's tick (a
cap, never a promise); the quantity is the BTC to receive, sized up when the venue takes
its fee in BTC, on its lot step. Before anything is sent:

- the run's spend stays under ``max_spend`` and every venue's free balance covers its
  leg's worst case (qty × limit, fee in), else the tranche is skipped (``balance``) and
  an alert goes out: a venue never has to refuse an order for funds;
- every order's intent, with its client order id (unique per run, tranche, leg and
  attempt), is journaled (``OrderJournal``) and durable.

Legs go out concurrently. An answer that times out or cannot be read is followed by
asking the venue for the client order id; an order it has is recorded with its fills
and never sent again (Binance accepts a closed order's id again: re-sending would buy
twice). A resumed run asks first about every order its journal holds unsettled for the
tranche. A venue whose key is refused mid-run is left out, with an alert.

A leg filled in part (immediate-or-cancel: the rest cancelled) or not at all leaves a
remainder: the other venues' books are walked again for it, and it goes to the best of
them as an order of its own (the next attempt's client order id, journaled first); when
none can take it (no other venue, books too thin, under a minimum, the balance,
``max_spend``, ``max_price``) it is carried into the next tranche with that reason.
Never while an order's outcome is unknown: its BTC may have been bought.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal
from typing import Protocol

from dca.events import SkipReason
from dca.execution import Executed, ExecutionResult, NotExecuted
from dca.orders import (
    Fill,
    OrderIntent,
    OrderJournal,
    OrderRecord,
    OrderState,
    client_order_id,
)
from dca.pricing import ZERO, Cost
from dca.routing import Mode, Route
from dca.routing import route as walk
from exchanges.book import OrderBook
from exchanges.errors import ErrorKind, VenueError
from exchanges.private.types import MarketRules, OrderAnswer
from exchanges.venues import VenueSpec, display_name

log = logging.getLogger(__name__)

DEFAULT_MAX_SLIPPAGE = Decimal("0.002")

# A refusal that will not go away by itself: the venue is left out for the rest of the run.
_LEAVE_OUT = frozenset({ErrorKind.BAD_KEY, ErrorKind.BAD_SIGNATURE, ErrorKind.BANNED})
# Answers that leave an order's fate open: ask the venue before anything else.
_UNSURE = frozenset(
    {ErrorKind.TIMEOUT, ErrorKind.NETWORK, ErrorKind.HTTP, ErrorKind.UNREADABLE, ErrorKind.EXCHANGE}
)


class Account(Protocol):
    """What the live side needs of a venue's private API (``exchanges.private``)."""

    venue: str

    async def rules(self, quote: str, symbol: str) -> MarketRules:
        """The venue's filters for ``symbol``."""
        ...

    async def free(self) -> dict[str, Decimal]:
        """Free balance per currency."""
        ...

    async def buy_ioc(
        self, rules: MarketRules, qty: Decimal, price: Decimal, client_id: str
    ) -> OrderAnswer:
        """A limit buy, immediate-or-cancel."""
        ...

    async def order(self, rules: MarketRules, client_id: str) -> OrderAnswer | None:
        """The order with ``client_id``; None when the venue has none."""
        ...


Alert = Callable[[str, str], None]


class Books(Protocol):
    """Where a remainder's books come from (``exchanges.market.MarketData``)."""

    @property
    def specs(self) -> Mapping[str, VenueSpec]:
        """Every venue's fees and filters."""
        ...

    async def fresh_books(
        self, venues: Sequence[str], *, min_btc: Decimal | None = None
    ) -> dict[str, OrderBook | VenueError]:
        """The freshest usable book per venue, or why there is none."""
        ...


@dataclass(frozen=True, slots=True)
class LiveSettings:
    """``[live]``: the slippage cap on every order and an optional cap on the run's spend."""

    quote: str
    max_slippage: Decimal = DEFAULT_MAX_SLIPPAGE
    max_spend: Decimal | None = None
    # The plan's maximum price per BTC, fees in: a remainder is not bought above it.
    max_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class LegOrder:
    """One leg sized for its venue: gross qty on the lot step, limit on the tick."""

    venue: str
    rules: MarketRules
    qty: Decimal
    limit: Decimal
    worst_case: Decimal


def round_down(value: Decimal, step: Decimal) -> Decimal:
    """``value`` down to a multiple of ``step``."""
    return (value / step).to_integral_value(ROUND_DOWN) * step


def round_up(value: Decimal, step: Decimal) -> Decimal:
    """``value`` up to a multiple of ``step``."""
    return (value / step).to_integral_value(ROUND_CEILING) * step


def size_leg(leg: Cost, rules: MarketRules, quote: str, max_slippage: Decimal) -> LegOrder:
    """The order for one leg: limit = walk's highest level × (1 + slippage) down to the tick;
    qty = BTC to receive, grossed up by the fee when it is taken in BTC, up to the lot step."""
    limit = round_down(leg.worst_price * (1 + max_slippage), rules.tick)
    want = leg.qty / (1 - leg.fee_rate) if rules.fee_currency == "BTC" else leg.qty
    qty = round_up(want, rules.lot_step)
    worst = qty * limit
    if rules.fee_currency == quote:
        worst += worst * leg.fee_rate
    return LegOrder(leg.venue, rules, qty, limit, worst)


def record_of(intent: OrderIntent, answer: OrderAnswer) -> OrderRecord:
    """An order's record from the venue's answer."""
    fills = tuple(Fill(t.price, t.qty, t.fee, t.fee_currency) for t in answer.trades)
    state = {
        "filled": OrderState.FILLED,
        "partial": OrderState.PARTIAL,
        "unfilled": OrderState.UNFILLED,
    }.get(answer.status, OrderState.UNKNOWN)
    return OrderRecord(
        intent.venue,
        intent.client_order_id,
        answer.venue_order_id,
        state,
        intent.qty,
        intent.limit_price,
        fills,
        None if state is not OrderState.UNKNOWN else f"the venue says the order is {answer.status}",
    )


def cost_of(record: OrderRecord, quote: str) -> Cost:
    """What an order bought, as a route leg: BTC received, and what the venue charged."""
    fee = record.fee_value(quote)
    total = record.spent(quote)
    notional = total - fee
    qty = record.received_btc
    return Cost(
        venue=record.venue,
        qty=qty,
        notional=notional,
        fee=fee,
        total=total,
        avg_price=notional / qty,
        levels_used=len(record.fills),
        worst_price=max(f.price for f in record.fills),
        fee_rate=fee / notional if notional else ZERO,
    )


class LiveExecution:
    """Real orders on ``accounts`` (venue -> account), journaled in ``journal``."""

    live = True

    def __init__(
        self,
        accounts: Mapping[str, Account],
        symbols: Mapping[str, str],
        journal: OrderJournal,
        settings: LiveSettings,
        *,
        alert: Alert | None = None,
        ask_tries: int = 3,
        ask_wait_s: float = 2.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        left_out: Mapping[str, VenueError] | None = None,
        books: Books | None = None,
    ) -> None:
        self.accounts = dict(accounts)
        self.symbols = dict(symbols)
        self.journal = journal
        self.settings = settings
        self.alert = alert
        self.ask_tries = ask_tries
        self.ask_wait_s = ask_wait_s
        self.sleep = sleep
        self.spent = ZERO
        # Books for a remainder (None: a remainder is carried into the next tranche).
        self.books = books
        # Venues of the plan that cannot take orders (no key, not offered): never routed to.
        self._left_out: dict[str, VenueError] = dict(left_out or {})
        self._rules: dict[str, MarketRules] = {}
        self._prior: dict[int, list[tuple[OrderIntent, OrderRecord | None]]] | None = None

    @property
    def left_out(self) -> Mapping[str, VenueError]:
        """Venues left out of this run, with the refusal that did it."""
        return self._left_out

    # -- before the first tranche --------------------------------------------------------

    async def _ready(self, run_id: str) -> None:
        if self._prior is not None:
            return
        self._prior = {}
        for intent, record in await self.journal.orders(run_id):
            self._prior.setdefault(intent.index, []).append((intent, record))
            if record is not None:
                self.spent += record.spent(self.settings.quote)

    async def _rules_of(self, venue: str) -> MarketRules:
        if venue not in self._rules:
            account = self.accounts[venue]
            self._rules[venue] = await account.rules(self.settings.quote, self.symbols[venue])
        return self._rules[venue]

    def _leave_out(self, error: VenueError) -> None:
        if error.venue in self._left_out:
            return
        self._left_out[error.venue] = error
        log.error("%s left out of the run: %s", error.venue, error)
        self._alert(f"{display_name(error.venue)} left out of the live run", str(error))

    def _alert(self, title: str, body: str) -> None:
        if self.alert is not None:
            self.alert(title, body)

    # -- a tranche -----------------------------------------------------------------------

    async def execute(self, run_id: str, index: int, route: Route) -> ExecutionResult:
        """Send tranche ``index``'s orders (or settle the ones a crash left open)."""
        await self._ready(run_id)
        assert self._prior is not None
        prior = self._prior.pop(index, [])
        if prior:
            settled = await self._settle_prior(prior, route)
            if settled is not None:
                return settled
        attempt = max((i.attempt for i, _ in prior), default=0) + 1
        planned = await self._size(route)
        if isinstance(planned, NotExecuted):
            return planned
        records = await self._send_all(run_id, index, attempt, planned)
        if isinstance(records, NotExecuted):
            return records
        records, why = await self._remainder(run_id, index, attempt, route.qty, records)
        return self._result(route, tuple(records), why)

    async def _send_all(
        self, run_id: str, index: int, attempt: int, planned: list[LegOrder]
    ) -> list[OrderRecord] | NotExecuted:
        """Journal every leg's intent (durable) while checking the balances cover them,
        then send them all at once (or none, with why)."""
        intents = [
            OrderIntent(
                run_id,
                index,
                n,
                attempt,
                leg.venue,
                client_order_id(run_id, index, n, attempt),
                leg.rules.symbol,
                leg.qty,
                leg.limit,
            )
            for n, leg in enumerate(planned)
        ]
        # The intents are made durable while the balances are asked: the write hides behind
        # the venues' round trip, and nothing is sent before both are done.
        covered, _ = await asyncio.gather(
            self._balances_cover(planned),
            asyncio.gather(*(self.journal.intend(intent) for intent in intents)),
        )
        if isinstance(covered, NotExecuted):
            for intent in intents:
                await self.journal.settle(intent, self._held_back(intent, covered.detail))
            return covered
        return list(
            await asyncio.gather(
                *(
                    self._send(intent, leg.rules)
                    for intent, leg in zip(intents, planned, strict=True)
                )
            )
        )

    async def _remainder(
        self, run_id: str, index: int, attempt: int, want: Decimal, records: list[OrderRecord]
    ) -> tuple[list[OrderRecord], str]:
        """What the orders left unbought goes to the next best venue not tried yet in this
        tranche, one attempt each, until bought or no venue can take it; returns every
        order and, when some is left, why it is carried."""
        tried = {r.venue for r in records}
        while True:
            if any(r.state is OrderState.UNKNOWN for r in records):
                return records, ""  # its BTC may have been bought: never buy it twice
            if not any(r.state in (OrderState.PARTIAL, OrderState.UNFILLED) for r in records):
                return records, ""
            left = want - sum((r.received_btc for r in records), ZERO)
            if left <= 0:
                return records, ""
            short = f"{left:f} BTC not filled at the limit"
            why = await self._next_venue(left, tried)
            if isinstance(why, str):
                return records, f"{short}; {why}"
            attempt += 1
            tried.update(leg.venue for leg in why)
            log.info(
                "tranche %d: %s BTC left; sent to %s",
                index,
                left,
                ", ".join(leg.venue for leg in why),
            )
            sent = await self._send_all(run_id, index, attempt, why)
            if isinstance(sent, NotExecuted):
                return records, f"{short}; {sent.detail}"
            records += sent

    async def _next_venue(self, left: Decimal, tried: set[str]) -> list[LegOrder] | str:
        """The order for ``left`` BTC at the best venue not in ``tried``, or why none."""
        venues = [v for v in self.accounts if v not in tried and v not in self._left_out]
        if self.books is None or not venues:
            return "no other venue to take it"
        found = await self.books.fresh_books(venues, min_btc=left)
        usable = {v: b for v, b in found.items() if isinstance(b, OrderBook)}
        best = walk(usable, self.books.specs, left, Mode.SINGLE) if usable else None
        names = ", ".join(display_name(v) for v in venues)
        if best is None:
            return f"no other venue's book can fill it ({names})"
        cap = self.settings.max_price
        if cap is not None and best.effective_price > cap:
            return (
                f"{display_name(best.venue)} would pay {best.effective_price:,.2f} "
                f"per BTC, above the maximum price {cap:,.2f}"
            )
        planned = await self._size(best)
        if isinstance(planned, NotExecuted):
            return planned.detail
        return planned

    async def _size(self, route: Route) -> list[LegOrder] | NotExecuted:
        """Size every leg on its venue's rules and check the run's cap."""
        quote = self.settings.quote
        legs: list[LegOrder] = []
        for leg in route.legs:
            try:
                rules = await self._rules_of(leg.venue)
            except VenueError as exc:
                if exc.kind in _LEAVE_OUT:
                    self._leave_out(exc)
                return NotExecuted(SkipReason.ORDER_REFUSED, str(exc))
            order = size_leg(leg, rules, quote, self.settings.max_slippage)
            name = display_name(leg.venue)
            if order.qty < rules.min_qty or order.qty * order.limit < rules.min_notional:
                return NotExecuted(
                    SkipReason.BELOW_MINIMUM,
                    f"{name}: {order.qty:f} BTC at {order.limit:f} is under its minimum "
                    f"({rules.min_qty:f} BTC, {rules.min_notional:f} {quote})",
                )
            legs.append(order)
        worst = sum((order.worst_case for order in legs), ZERO)
        cap = self.settings.max_spend
        if cap is not None and self.spent + worst > cap:
            detail = (
                f"the worst case {worst:,.2f} {quote} on top of {self.spent:,.2f} spent "
                f"would pass max_spend {cap:,} {quote}"
            )
            self._alert("btc-dca: live run reached max_spend", detail)
            return NotExecuted(SkipReason.MAX_SPEND, detail)
        return legs

    async def _balances_cover(self, legs: list[LegOrder]) -> NotExecuted | None:
        """None when every venue's free balance covers its leg's worst case."""
        quote = self.settings.quote
        # Every venue's balance at once: a split tranche waits for one round trip, not one each.
        balances = await asyncio.gather(
            *(self.accounts[order.venue].free() for order in legs), return_exceptions=True
        )
        for order, balance in zip(legs, balances, strict=True):
            if isinstance(balance, VenueError):
                if balance.kind in _LEAVE_OUT:
                    self._leave_out(balance)
                return NotExecuted(SkipReason.BALANCE, f"balance unknown: {balance}")
            if isinstance(balance, BaseException):
                raise balance
            free = balance.get(quote, ZERO)
            if free < order.worst_case:
                detail = (
                    f"{display_name(order.venue)}: free {free:,.2f} {quote} does not cover "
                    f"the worst case {order.worst_case:,.2f} {quote}"
                )
                self._alert("btc-dca: tranche skipped for balance", detail)
                return NotExecuted(SkipReason.BALANCE, detail)
        return None

    @staticmethod
    def _held_back(intent: OrderIntent, why: str) -> OrderRecord:
        """The outcome of a journaled order that was never sent."""
        return OrderRecord(
            intent.venue,
            intent.client_order_id,
            None,
            OrderState.NOT_SENT,
            intent.qty,
            intent.limit_price,
            error=f"not sent: {why}",
        )

    async def _send(self, intent: OrderIntent, rules: MarketRules) -> OrderRecord:
        """Send one order; on an answer that leaves its fate open, ask the venue."""
        account = self.accounts[intent.venue]
        try:
            answer = await account.buy_ioc(
                rules, intent.qty, intent.limit_price, intent.client_order_id
            )
        except VenueError as exc:
            if exc.kind in _LEAVE_OUT:
                self._leave_out(exc)
            if exc.kind not in _UNSURE:
                record = self._refused(intent, exc)
                await self._settle(intent, record)
                return record
            log.warning(
                "%s order %s: %s; asking the venue", intent.venue, intent.client_order_id, exc
            )
            return await self._ask_and_settle(intent, rules, str(exc))
        record = record_of(intent, answer)
        await self._settle(intent, record)
        return record

    async def _settle(self, intent: OrderIntent, record: OrderRecord) -> None:
        self.spent += record.spent(self.settings.quote)
        await self.journal.settle(intent, record)

    def _refused(self, intent: OrderIntent, error: VenueError) -> OrderRecord:
        return OrderRecord(
            intent.venue,
            intent.client_order_id,
            None,
            OrderState.REFUSED,
            intent.qty,
            intent.limit_price,
            error=str(error),
        )

    async def _ask_and_settle(
        self, intent: OrderIntent, rules: MarketRules, why: str
    ) -> OrderRecord:
        """Ask the venue for ``intent``'s order; settle the journal with what it says.

        An order the venue does not have after the request's receive window never reached
        it. When the venue cannot be asked, the order stays unsettled (``unknown``) so a
        later resume asks again; nothing is ever sent in its place.
        """
        error: VenueError | None = None
        for n in range(self.ask_tries):
            try:
                answer = await self.accounts[intent.venue].order(rules, intent.client_order_id)
            except VenueError as exc:
                error = exc
                await self.sleep(self.ask_wait_s * 2**n)
                continue
            if answer is None and n + 1 < self.ask_tries:
                # Not there yet: a request still in flight may land until its receive
                # window (5 s) has passed; the last try (after 2 + 4 s) is conclusive.
                await self.sleep(self.ask_wait_s * 2**n)
                continue
            if answer is None:
                record = OrderRecord(
                    intent.venue,
                    intent.client_order_id,
                    None,
                    OrderState.UNFILLED,
                    intent.qty,
                    intent.limit_price,
                    error=f"the venue never received it ({why})",
                )
            else:
                record = record_of(intent, answer)
            await self._settle(intent, record)
            return record
        return OrderRecord(
            intent.venue,
            intent.client_order_id,
            None,
            OrderState.UNKNOWN,
            intent.qty,
            intent.limit_price,
            error=f"{why}; the venue could not be asked: {error}",
        )

    async def _settle_prior(
        self, prior: Sequence[tuple[OrderIntent, OrderRecord | None]], route: Route
    ) -> ExecutionResult | None:
        """Orders a stopped run left for this tranche: asked about, recorded, never resent.

        None when none of them bought anything (the tranche is then sent afresh).
        """
        records: list[OrderRecord] = []
        for intent, record in prior:
            if record is None or record.state is OrderState.UNKNOWN:
                try:
                    rules = await self._rules_of(intent.venue)
                except VenueError as exc:
                    return NotExecuted(
                        SkipReason.UNCONFIRMED,
                        f"order {intent.client_order_id}: {exc}",
                        carry=False,
                    )
                record = await self._ask_and_settle(intent, rules, "asked after a restart")
            records.append(record)
        if any(r.state is OrderState.UNKNOWN for r in records) or any(r.fills for r in records):
            return self._result(route, tuple(records))
        return None

    def _result(
        self, decision: Route, records: tuple[OrderRecord, ...], why: str = ""
    ) -> ExecutionResult:
        quote = self.settings.quote
        bought = [r for r in records if r.received_btc > 0]
        unknown = [r for r in records if r.state is OrderState.UNKNOWN]
        if not bought:
            if unknown:
                detail = "; ".join(f"{r.venue} {r.client_order_id}: {r.error}" for r in unknown)
                return NotExecuted(SkipReason.UNCONFIRMED, detail, records, carry=False)
            refused = [r for r in records if r.state is OrderState.REFUSED]
            if refused and len(refused) == len(records):
                detail = "; ".join(r.error or "refused" for r in refused)
                return NotExecuted(SkipReason.ORDER_REFUSED, detail, records)
            detail = "; ".join(
                f"{display_name(r.venue)}: nothing at or under {r.limit_price:f}"
                + (f" ({r.error})" if r.error else "")
                for r in records
            )
            if why:
                detail += f"; {why.split('; ', 1)[-1]}"
            return NotExecuted(SkipReason.NOT_FILLED, detail, records)
        legs = tuple(cost_of(r, quote) for r in bought)
        bought_qty = sum((leg.qty for leg in legs), ZERO)
        # Each venue's decision-time total, for the BTC actually received: "saved vs the
        # worst venue" then compares like with like.
        scale = bought_qty / decision.qty
        alternatives = {
            v: (t * scale if t is not None else None) for v, t in decision.alternatives.items()
        }
        route = Route(bought_qty, decision.mode, legs, alternatives)
        return Executed(route, records, decision, carried_why=why)
