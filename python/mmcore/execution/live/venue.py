"""The live venue of one symbol, behind the engine's :class:`~mmcore.execution.venue.Venue`
interface: orders go out as ccxt calls run as tasks on the session's loop, and everything the
venue says (REST replies, private streams, reconciliation) comes back as the same
:class:`~mmcore.execution.orders.VenueEvent` objects the paper venue produces, taken by
:meth:`LiveVenue.poll`.

Never losing an order: each order is sent once under a client id derived from the engine's; a
request that timed out or failed ambiguously leaves the order UNKNOWN (still PENDING_NEW to the
engine, so it counts against limits) and it is queried by client id until its fate is known; it
is declared absent only once the venue could no longer accept it (its request's timestamp is
older than the receive window). A cancel of an order whose fate is unknown waits for it.
Every request and its outcome is journalled before its event reaches the engine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mmcore.execution.live.client_ids import VenueIds
from mmcore.execution.live.decode import (
    FEE_ASSET_EVENT,
    STATUS_DONE,
    Fee,
    client_id_of,
    fill_of,
    status_event,
)
from mmcore.execution.live.entry import order_entry
from mmcore.execution.live.generic import cancel_each
from mmcore.execution.live.port import SessionPort
from mmcore.execution.live.rules import MarketRules, RuleViolation
from mmcore.execution.orders import (
    AmendRejected,
    CancelRejected,
    OrderAcked,
    OrderAmended,
    OrderCancelled,
    OrderRejected,
    Side,
    VenueEvent,
)
from mmcore.execution.venue import OrderRequest

__all__ = ["LiveOrder", "LiveVenue"]

log = logging.getLogger("mmcore.live.venue")


@dataclass
class LiveOrder:
    """What the adapter knows of one order it sent. ``state``: ``sending`` (request in
    flight), ``unknown`` (its fate is being queried), ``open``, ``done``."""

    client_id: str
    venue_client_id: str
    side: Side
    price_ticks: int
    lots: int
    post_only: bool
    sent_server_ms: float  # the venue's clock when it was sent (for the receive window)
    state: str = "sending"
    order_id: str = ""
    filled_lots: int = 0
    cancel_wanted: bool = False
    reported: set[str] = field(default_factory=set)  # event kinds already given the engine


class LiveVenue:
    """One symbol's orders on a live venue (see the module docstring). Built by
    :meth:`LiveSession.venue`."""

    def __init__(
        self,
        session: SessionPort,
        symbol: str,
        market: dict[str, Any],
        rules: MarketRules,
        reference: Callable[[], float] | None = None,
    ) -> None:
        self.session = session
        self.symbol = symbol  # the engine's symbol (the venue's market id)
        self.market = market
        self.market_symbol: str = market["symbol"]  # ccxt's unified symbol
        self.rules = rules
        #: The price the venue's price bands are relative to (e.g. the book's mid), or None.
        self.reference = reference
        self.name = f"{session.name}-{symbol}"
        self.orders: dict[str, LiveOrder] = {}
        self._by_order_id: dict[str, str] = {}  # venue order id -> engine client id
        self._open_at_venue: set[str] = set()  # engine ids the venue held at the last look
        self._events: list[VenueEvent] = []
        self.refused = 0  # orders refused before sending (rules, rate, readiness)
        self.fills = 0  # fills handed to the engine (each venue trade once)
        #: Fees charged in an asset with no configured price, per asset (not in the PnL).
        self.fees_unvalued: dict[str, float] = {}
        self._fee_warned: set[str] = set()
        profile = session.profile
        # the ccxt parameter naming a client id in a cancel ("": by the venue's order id)
        self._id_param: str = profile.cancel_param
        self._id_keys: tuple[str, ...] = profile.client_id_keys
        self._generic: bool = profile.generic
        #: creates and cancels: the venue family's signed endpoints, or ccxt's unified
        #: methods on a generic venue (see ``entry``)
        self.entry = order_entry(session.exchange, market, generic=profile.generic)
        #: Orders can be reduced in place (the order manager then amends instead of cancelling
        #: and replacing): Bybit v5 (``/v5/order/amend``) and Binance USD-M (``PUT
        #: /fapi/v1/order``); Binance spot's keep-priority amend is not in ccxt 4.5.90, and a
        #: generic venue's ``editOrder`` may be a cancel-and-replace.
        self.supports_amend = profile.amend

    # -- the Venue interface --------------------------------------------------------------
    def submit(self, request: OrderRequest, now: float) -> None:
        """Check the order against the market's rules and the rate limits, then send it."""
        cid = request.client_id
        if cid in self.orders:  # engine ids are never reused: refuse rather than duplicate
            self._refuse(cid, now, "duplicate_client_id")
            return
        try:
            lots = self.rules.lots_near(request.qty)
            ref = self.reference() if self.reference is not None else None
            self.rules.check(request.price_ticks, lots, ref)
        except RuleViolation as exc:
            self._refuse(cid, now, f"rule:{exc}")
            return
        refusal = self.session.refusal()
        if refusal is not None:
            self._refuse(cid, now, *refusal)
            return
        order = LiveOrder(
            cid,
            self.session.ids.venue_id(cid),
            request.side,
            request.price_ticks,
            lots,
            request.post_only,
            self.session.server_ms(),
        )
        self.orders[cid] = order
        if len(self.orders) > _KEEP_ORDERS + _PRUNE_BATCH:
            self._prune()
        self.session.spawn(self._create(order), f"create {cid}")

    def _prune(self) -> None:
        """Forget the oldest finished orders (a long run would otherwise keep every order it
        ever sent); a late fill of one still counts, under the venue's ids."""
        done = [c for c, o in self.orders.items() if o.state == "done"][:_PRUNE_BATCH]
        for cid in done:
            order = self.orders.pop(cid)
            self._by_order_id.pop(order.order_id, None)

    def cancel(self, client_id: str, now: float) -> None:
        """Cancel by client id (an order of a previous run included); an order whose fate is
        still unknown is cancelled once it is known to be open."""
        order = self.orders.get(client_id)
        if order is not None and order.state in ("sending", "unknown"):
            order.cancel_wanted = True
            return
        self.session.spawn(self._cancel(client_id), f"cancel {client_id}")

    def amend(self, client_id: str, qty: float, now: float) -> None:
        """Reduce an open order to ``qty`` in total (its filled part included), keeping its
        price and queue position; answered by ``OrderAmended`` or ``AmendRejected``."""
        order = self.orders.get(client_id)
        if not self.supports_amend or order is None or order.state != "open":
            why = "not_supported" if not self.supports_amend else "not_open"
            self._deliver(order, AmendRejected(client_id, now, why), "amend", client_id)
            return
        try:
            lots = self.rules.lots_near(qty)
            self.rules.check(order.price_ticks, lots)
        except RuleViolation as exc:
            self._deliver(order, AmendRejected(client_id, now, f"rule:{exc}"), "amend", client_id)
            return
        self.session.spawn(self._amend(order, lots), f"amend {client_id}")

    def cancel_all(self, symbol: str, now: float) -> None:
        """Cancel every open order of the symbol at the venue, ours or not (halt, feed loss,
        shutdown); the outcome of each order arrives on the stream or by reconciliation."""
        if symbol != self.symbol:
            raise ValueError(f"symbol: this venue trades {self.symbol}, not {symbol}")
        self.session.spawn(self._cancel_all(), f"cancel_all {symbol}")

    def resume(self) -> None:
        """An operator resumes: lift the session's halt after a ban (see
        :meth:`LiveSession.resume`)."""
        self.session.resume()

    def poll(self, now: float) -> list[VenueEvent]:
        """The events that arrived since the last poll, in order."""
        events, self._events = self._events, []
        return events

    def open_orders(self, symbol: str) -> set[str]:
        """Client ids (the engine's) the venue held open for ``symbol`` at the last look. An
        order of an earlier run is held under its venue id (a hashed one cannot be read back):
        ``in`` also finds it by the engine's id that hashes to it (the engine's restore)."""
        if symbol != self.symbol:
            return set()
        return _HeldIds(self._open_at_venue, self.session.ids)

    @property
    def ready(self) -> bool:
        """False while the private streams are being reconciled or the venue banned us: the
        engine must not quote."""
        return self.session.ready

    # -- from the venue -------------------------------------------------------------------
    def engine_id(self, item: dict[str, Any]) -> str:
        """The engine's client id of a venue order or trade: ours by order id or derived
        client id; an order we did not send keeps the venue's client id (or its order id)."""
        order_id = str(item.get("order") or item.get("id") or "")
        known = self._by_order_id.get(order_id)
        if known is not None:
            return known
        vid = client_id_of(item, self._id_keys)
        if vid is not None:
            return self.session.ids.engine_id(vid) or vid
        return f"{_FOREIGN}{order_id}"

    def on_order(self, item: dict[str, Any], source: str) -> None:
        """An order update (REST reply, stream, reconciliation)."""
        cid = self.engine_id(item)
        order = self.orders.get(cid)
        order_id = str(item.get("id") or "")
        status = item.get("status")
        if order_id:
            self._by_order_id[order_id] = cid
        if status == "open":
            self._open_at_venue.add(cid)
        elif status in STATUS_DONE:
            self._open_at_venue.discard(cid)
            self._open_at_venue.discard(client_id_of(item, self._id_keys) or "")
        if order is None:
            return  # not ours: its fills still count (on_trade), its states do not
        order.order_id = order_id or order.order_id
        was_unresolved = order.state in ("sending", "unknown")
        if status == "open":
            order.state = "open"
        elif status in STATUS_DONE:
            order.state = "done"
        event = status_event(item, cid, self.session.clock())
        if (
            status in ("canceled", "cancelled", "expired")
            and order.post_only
            and order.filled_lots == 0
            and not order.cancel_wanted
            and source == "create"
        ):  # a post-only order the venue took off instead of letting it cross
            event = OrderRejected(cid, self.session.clock(), "post_only_would_cross")
        if event is not None:
            self._deliver(order, event, source)
        if was_unresolved:
            self._cancel_if_wanted(order)

    def _cancel_if_wanted(self, order: LiveOrder) -> None:
        """Send the cancel asked for while ``order``'s create was in flight or its fate unknown,
        now that it is known to be open (called once, when it stops being unresolved)."""
        if order.state == "open" and order.cancel_wanted:
            self.session.spawn(self._cancel(order.client_id), f"cancel {order.client_id}")

    def on_trade(self, trade: dict[str, Any], source: str) -> None:
        """A trade on this symbol (stream or REST): one fill per venue trade id."""
        cid = self.engine_id(trade)
        if self._generic and cid.startswith(_FOREIGN) and self._unresolved():
            # a generic venue's trade names only the venue's order id, which an order of ours
            # whose reply was lost does not have yet: left for the REST look that follows
            # once its fate is known, rather than counted as another's fill
            self.session.journal_event(cid, "venue_fill_deferred", f"{source} {trade.get('id')}")
            return
        if not self.session.first_sight(self.market_symbol, str(trade.get("id"))):
            return
        try:
            fill, fee = fill_of(
                trade,
                cid,
                self.rules,
                self.session.name,
                self.session.clock(),
                self.market.get("quote", ""),
                self.market.get("base", ""),
                self.session.cfg.fee_prices,
            )
        except ValueError as exc:
            self.session.journal_event(cid, "venue_bad_trade", f"{source}: {exc}")
            log.error("bad trade symbol=%s source=%s: %s", self.symbol, source, exc)
            return
        order = self.orders.get(cid)
        if order is not None:
            order.filled_lots += self.rules.lots_of(trade.get("amount"), "trade.amount")
            if order.state == "unknown":
                order.state = "open"  # a fill proves it reached the venue
        self.session.note_trade(trade)
        self.session.journal_event(
            cid,
            "venue_fill",
            f"{source} {fill.fill_id} {fill.side.name} {fill.qty}@{fill.price_ticks} "
            f"fee {fee.amount!r} {fee.asset} = {fill.fee!r}",
        )
        if not fee.valued:
            self._fee_unvalued(cid, fill.fill_id, fee)
        self.fills += 1
        self._events.append(fill)

    def _unresolved(self) -> bool:
        return any(o.state in ("sending", "unknown") for o in self.orders.values())

    def _fee_unvalued(self, cid: str, fill_id: str, fee: Fee) -> None:
        """A fee in an asset without a price: kept in that asset (the run report sums the
        journal's ``venue_fee_asset`` rows), never counted as 0 in silence."""
        self.fees_unvalued[fee.asset] = self.fees_unvalued.get(fee.asset, 0.0) + fee.amount
        self.session.journal_event(cid, FEE_ASSET_EVENT, f"{fee.asset} {fee.amount!r} {fill_id}")
        if fee.asset not in self._fee_warned:
            self._fee_warned.add(fee.asset)
            log.warning(
                "fee_not_valued symbol=%s asset=%s: not in the PnL; set [live.fee_prices] %s",
                self.symbol,
                fee.asset,
                fee.asset,
            )

    def resolve_absent(self, order: LiveOrder) -> None:
        """An UNKNOWN order the venue does not hold and can no longer accept."""
        order.state = "done"
        self._deliver(
            order, OrderRejected(order.client_id, self.session.clock(), "not_at_venue"), "query"
        )

    # -- requests -------------------------------------------------------------------------
    async def _create(self, order: LiveOrder) -> None:
        rules = self.rules
        qty, price = rules.qty_text(order.lots), rules.price_text(order.price_ticks)
        side = "buy" if order.side is Side.BUY else "sell"
        detail = (
            f"create {side} {qty}@{price} post_only={order.post_only} id={order.venue_client_id}"
        )
        result, kind = await self.session.request(
            order.client_id,
            detail,
            lambda: self.entry.create(side, qty, price, order.post_only, order.venue_client_id),
        )
        now = self.session.clock()
        if kind == "ok":
            self.on_order({**result, "clientOrderId": order.venue_client_id}, "create")
            if order.state == "sending":  # a reply without a status: the venue took it
                order.state = "open"
                self._deliver(
                    order, OrderAcked(order.client_id, now, str(result.get("id") or "")), "create"
                )
                self._cancel_if_wanted(order)
        elif order.state != "sending":
            # the stream told its fate while the request hung (it reached the venue): that
            # news stands, whatever became of the request
            self.session.journal_event(order.client_id, "venue_create_late", str(result))
        elif kind == "ambiguous":
            order.state = "unknown"
            self.session.spawn(
                self.session.resolve_unknown(self, order), f"resolve {order.client_id}"
            )
        else:
            order.state = "done"
            reason = "post_only_would_cross" if _crosses(result) else str(result)
            self._deliver(order, OrderRejected(order.client_id, now, reason), "create")

    async def _cancel(self, client_id: str) -> None:
        order = self.orders.get(client_id)
        vid = order.venue_client_id if order is not None else self.session.ids.venue_id(client_id)
        order_id, params = await self._cancel_target(vid, order)
        if order_id is None and not params:
            result, kind = "not_found:no order with this client id", "not_found"
        else:
            result, kind = await self.session.request(
                client_id,
                f"cancel id={vid}",
                lambda: self.entry.cancel(vid, order_id, params),
                retry_ambiguous=True,
            )
        now = self.session.clock()
        if kind == "ok":
            if order is not None:
                order.state = "done"
            self._open_at_venue.difference_update((client_id, vid))
            self._deliver(order, OrderCancelled(client_id, now), "cancel", client_id)
            return
        # already filled or gone: its fills come by the trades (fetched now), the engine hears
        # that the cancel failed
        self._deliver(order, CancelRejected(client_id, now, str(result)), "cancel", client_id)
        if kind == "not_found":
            self.session.spawn(self.session.reconcile_symbol(self), f"reconcile {self.symbol}")

    async def _cancel_target(
        self, vid: str, order: LiveOrder | None
    ) -> tuple[str | None, dict[str, Any]]:
        """``(order id, params)`` of a cancel: by client id where the venue cancels by it, else
        by the venue's order id, looked up by client id when not known (``(None, {})``: the
        venue has no such order, or the look-up failed and the reconciliation will tell)."""
        if self._id_param:
            return None, {self._id_param: vid}
        if order is not None and order.order_id:
            return order.order_id, {}
        try:
            found = await self.session.fetch_by_client_id(self, vid)
        except RuntimeError:
            return None, {}
        return (str(found["id"]), {}) if found and found.get("id") else (None, {})

    async def _amend(self, order: LiveOrder, lots: int) -> None:
        rules = self.rules
        side = "buy" if order.side is Side.BUY else "sell"
        qty, price = rules.qty_text(lots), rules.price_text(order.price_ticks)
        params = {self._id_param: order.venue_client_id} if self._id_param == "orderLinkId" else {}
        result, kind = await self.session.request(
            order.client_id,
            f"amend {side} {qty}@{price} id={order.venue_client_id}",
            lambda: self.session.exchange.edit_order(
                order.order_id, self.market_symbol, "limit", side, qty, price, params
            ),
        )
        now = self.session.clock()
        if kind == "ok":
            order.lots = lots
            amended = OrderAmended(order.client_id, now, float(rules.qty(lots)))
            self._deliver(order, amended, "amend", order.client_id)
            return
        self._deliver(order, AmendRejected(order.client_id, now, str(result)), "amend")
        if kind in ("not_found", "ambiguous"):  # learn what became of it
            self.session.spawn(self.session.reconcile_symbol(self), f"reconcile {self.symbol}")

    async def _cancel_all(self) -> None:
        if self._generic and not self.session.exchange.has.get("cancelAllOrders"):
            await cancel_each(self.session, self)
            self.session.spawn(self.session.reconcile_symbol(self), f"reconcile {self.symbol}")
            return
        result, kind = await self.session.request(
            f"*{self.symbol}",
            "cancel_all",
            lambda: self.session.exchange.cancel_all_orders(self.market_symbol),
            retry_ambiguous=True,
        )
        if kind == "ok" and isinstance(result, list):
            for item in result:
                if isinstance(item, dict):
                    self.on_order({**item, "status": "canceled"}, "cancel_all")
        self.session.spawn(self.session.reconcile_symbol(self), f"reconcile {self.symbol}")

    # -- events to the engine -------------------------------------------------------------
    def _deliver(
        self, order: LiveOrder | None, event: VenueEvent, source: str, client_id: str = ""
    ) -> None:
        """Journal the outcome, then queue the event (each kind once per order)."""
        kind = type(event).__name__
        if order is not None:
            if kind in order.reported and kind not in _REPEATABLE:
                return
            order.reported.add(kind)
        cid = event.client_id or client_id
        self.session.journal_event(cid, "venue_outcome", f"{source} {kind} {_detail(event)}")
        self._events.append(event)

    def _refuse(self, cid: str, now: float, reason: str, retry_after_s: float = 0.0) -> None:
        self.refused += 1
        self.session.journal_event(cid, "venue_refused", reason)
        self._events.append(OrderRejected(cid, now, reason, retry_after_s))


class _HeldIds(set[str]):
    """Engine ids held at the venue, where an engine id also counts when its venue id is
    held (see :meth:`LiveVenue.open_orders`)."""

    def __init__(self, held: set[str], ids: VenueIds) -> None:
        super().__init__(held)
        self._ids = ids

    def __contains__(self, client_id: object) -> bool:
        if super().__contains__(client_id):
            return True
        return isinstance(client_id, str) and super().__contains__(self._ids.venue_id(client_id))


#: The engine id of an order we did not send and whose client id we do not know.
_FOREIGN = "venue-order:"
#: Finished orders kept (for late events), and how many are forgotten at a time beyond that.
_KEEP_ORDERS = 5000
_PRUNE_BATCH = 1000
#: Events an order may see more than once (each amend and each failed cancel has its answer).
_REPEATABLE = frozenset({"CancelRejected", "OrderAmended", "AmendRejected"})


def _crosses(reason: object) -> bool:
    text = str(reason).lower()
    # ccxt: Binance spot -2010 "would immediately match" and USD-M -5022 (GTX)
    return any(k in text for k in ("orderimmediatelyfillable", "ordernotfillable", "immediately"))


def _detail(event: VenueEvent) -> str:
    extra = getattr(event, "reason", "") or getattr(event, "venue_id", "")
    return str(extra)
