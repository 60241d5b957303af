"""Paper venue: fills simulated against the live book and the trade stream, never on touch.

A resting order fills only when a market trade reaches it: a trade at our price first eats the
queue ahead of us, a trade through our price fills us (up to the trade's size). One trade's
size is shared by our orders best price first, so the same liquidity never fills twice.

Queue position: on arrival an order joins the back of its level (the visible size at its price
is ahead of it). ``conservative`` advances only on trades at our price (the queue ahead can
never exceed the level's visible size, so a level shrinking below it caps it);
``probabilistic`` also credits part of each size decrease not explained by trades as cancels
ahead of us, with probability ``ahead^n / (ahead^n + behind^n)`` (a power queue model).

Latency is simulated time: an order reaches the venue ``entry_latency_s`` after it is sent,
a cancel ``cancel_latency_s`` after; every response reaches us ``response_latency_s`` later.
Until a cancel lands the order can still fill. Everything is deterministic.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mmcore.config import bounded
from mmcore.execution.orders import (
    CancelRejected,
    OrderAcked,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    Side,
    VenueEvent,
)
from mmcore.execution.venue import OrderRequest

__all__ = ["PaperConfig", "PaperVenue", "Trade"]


@dataclass(frozen=True, slots=True)
class PaperConfig:
    """Latencies (seconds), queue model and fees (bps of notional; negative = rebate)."""

    entry_latency_s: float = bounded(0.005, ge=0)
    cancel_latency_s: float = bounded(0.005, ge=0)
    response_latency_s: float = bounded(0.005, ge=0)
    queue_model: str = bounded("conservative", choices=("conservative", "probabilistic"))
    queue_power: float = bounded(2.0, gt=0)
    maker_fee_bps: float = bounded(1.0, ge=-10, le=100)
    taker_fee_bps: float = bounded(5.0, ge=0, le=100)


@dataclass(frozen=True, slots=True)
class Trade:
    """A market trade: price in ticks, size, and whether the aggressor bought."""

    price_ticks: int
    qty: float
    buyer_aggressor: bool


class _Resting:
    __slots__ = ("ahead", "level", "remaining", "request", "traded")

    def __init__(self, request: OrderRequest, remaining: float, level: float) -> None:
        self.request = request
        self.remaining = remaining
        self.level = level  # visible size at our price at the last book view
        self.ahead = level  # joins the back of the queue
        self.traded = 0.0  # volume traded at our price since that view


class PaperVenue:
    """A simulated venue for one or more symbols sharing one tick size."""

    def __init__(self, cfg: PaperConfig, tick_size: float, name: str = "paper") -> None:
        self.cfg = cfg
        self.tick_size = tick_size
        self.name = name
        self._inv_tick = 1.0 / tick_size
        self._seq = itertools.count()
        self._fill_seq = itertools.count(1)
        self._actions: list[tuple[float, int, str, OrderRequest | str]] = []
        self._outbox: list[tuple[float, int, VenueEvent]] = []
        self._resting: dict[str, _Resting] = {}
        # The book view arrives as float64 bytes (price, size pairs) and becomes tick-keyed
        # dicts only when an order needs it; a side is rebuilt only when its bytes changed
        # (``_*_from`` is None once a taker fill ate into that side's dict).
        self._bid_raw = self._ask_raw = b""
        self._bids_from: bytes | None = b""
        self._asks_from: bytes | None = b""
        self._view_current = True
        self._bids: dict[int, float] = {}
        self._asks: dict[int, float] = {}
        self._bid_floor = 0  # deepest visible bid: below it sizes are unknown
        self._ask_ceiling = 0
        self._probabilistic = cfg.queue_model == "probabilistic"
        self.fills = 0
        self.rejects = 0

    # -- order entry -------------------------------------------------------------------
    def submit(self, request: OrderRequest, now: float) -> None:
        """Send a new order; it reaches the venue after the entry latency."""
        due = now + self.cfg.entry_latency_s
        heapq.heappush(self._actions, (due, next(self._seq), "new", request))

    def cancel(self, client_id: str, now: float) -> None:
        """Send a cancel; it lands after the cancel latency (fills may happen until then)."""
        due = now + self.cfg.cancel_latency_s
        heapq.heappush(self._actions, (due, next(self._seq), "cancel", client_id))

    def poll(self, now: float) -> list[VenueEvent]:
        """Responses that have reached us by ``now``."""
        self.advance(now)
        out: list[VenueEvent] = []
        box = self._outbox
        while box and box[0][0] <= now:
            out.append(heapq.heappop(box)[2])
        return out

    def open_orders(self, symbol: str) -> set[str]:
        """Client ids resting (or in flight) at the venue for ``symbol``."""
        live = {cid for cid, r in self._resting.items() if r.request.symbol == symbol}
        live.update(
            a[3].client_id
            for a in self._actions
            if a[2] == "new" and isinstance(a[3], OrderRequest) and a[3].symbol == symbol
        )
        return live

    # -- market data -------------------------------------------------------------------
    def on_book(
        self, bids: npt.NDArray[np.float64], asks: npt.NDArray[np.float64], now: float
    ) -> None:
        """The visible book (``OrderBook.bids(n)`` / ``asks(n)`` arrays) at ``now``.

        The arrays are copied, so the caller may reuse them.
        """
        self.advance(now)
        self._bid_raw = bids.astype(np.float64, copy=False).tobytes()
        self._ask_raw = asks.astype(np.float64, copy=False).tobytes()
        self._view_current = False
        if not self._resting:
            return  # nothing queued: the view is built when an order arrives
        self._sync_view()
        probabilistic = self._probabilistic
        for r in self._resting.values():
            level = self._visible(r.request.side, r.request.price_ticks)
            if level is None:
                continue  # beyond the visible depth: nothing known
            if probabilistic:
                self._credit_cancels(r, level)
            if r.ahead > level:
                r.ahead = level
            r.level = level
            r.traded = 0.0

    def on_trade(self, trade: Trade, now: float) -> None:
        """A market trade at ``now``: fills resting orders it reaches, best price first."""
        self.advance(now)
        side = Side.SELL if trade.buyer_aggressor else Side.BUY  # the passive side
        price = trade.price_ticks
        hit = [
            r
            for r in self._resting.values()
            if r.request.side is side
            and (
                r.request.price_ticks <= price
                if side is Side.SELL
                else r.request.price_ticks >= price
            )
        ]
        if not hit:
            return
        hit.sort(key=lambda r: side * -r.request.price_ticks)  # best price first
        available = trade.qty
        for r in hit:
            if available <= 0:
                break
            if r.request.price_ticks == price:
                r.traded += available
                eaten = min(r.ahead, available)
                r.ahead -= eaten
                available -= eaten
            qty = min(r.remaining, available)
            if qty > 0:
                available -= qty
                self._fill(r, r.request.price_ticks, qty, now, maker=True)

    # -- simulation --------------------------------------------------------------------
    def advance(self, now: float) -> None:
        """Process orders and cancels that have reached the venue by ``now``."""
        actions = self._actions
        while actions and actions[0][0] <= now:
            due, _, kind, item = heapq.heappop(actions)
            if kind == "new":
                assert isinstance(item, OrderRequest)
                self._arrive(item, due)
            else:
                assert isinstance(item, str)
                self._cancel_arrives(item, due)

    def _arrive(self, req: OrderRequest, ts: float) -> None:
        self._sync_view()
        price = req.price_ticks
        if req.side is Side.BUY:
            book = self._asks
            crossing = sorted(p for p in book if p <= price) if book and min(book) <= price else []
        else:
            book = self._bids
            crossing = (
                sorted((p for p in book if p >= price), reverse=True)
                if book and max(book) >= price
                else []
            )
        if crossing and req.post_only:
            self.rejects += 1
            self._respond(OrderRejected(req.client_id, self._at(ts), "post-only order would cross"))
            return
        self._respond(OrderAcked(req.client_id, self._at(ts), f"{self.name}-{req.client_id}"))
        level = self._visible(req.side, req.price_ticks) or 0.0
        r = _Resting(req, req.qty, level)
        for level_price in crossing:  # marketable part takes liquidity, best price first
            qty = min(r.remaining, book[level_price])
            book[level_price] -= qty
            self._mark_eaten(req.side)
            self._fill(r, level_price, qty, ts, maker=False)
            if r.remaining <= 0:
                return
        self._resting[req.client_id] = r

    def _cancel_arrives(self, client_id: str, ts: float) -> None:
        if self._resting.pop(client_id, None) is None:
            self._respond(
                CancelRejected(client_id, self._at(ts), "unknown order (filled or not open)")
            )
        else:
            self._respond(OrderCancelled(client_id, self._at(ts)))

    def _fill(self, r: _Resting, price_ticks: int, qty: float, ts: float, maker: bool) -> None:
        r.remaining -= qty
        if r.remaining <= 1e-12:
            r.remaining = 0.0
            self._resting.pop(r.request.client_id, None)
        bps = self.cfg.maker_fee_bps if maker else self.cfg.taker_fee_bps
        fee = price_ticks * self.tick_size * qty * bps * 1e-4
        self.fills += 1
        fill_id = f"{self.name}-f{next(self._fill_seq)}"
        req = r.request
        self._respond(
            OrderFilled(
                req.client_id, self._at(ts), fill_id, req.side, price_ticks, qty, fee, maker
            )
        )

    def _at(self, ts: float) -> float:
        """When a response produced at venue time ``ts`` reaches us."""
        return ts + self.cfg.response_latency_s

    def _respond(self, event: VenueEvent) -> None:
        heapq.heappush(self._outbox, (event.ts, next(self._seq), event))

    def _sync_view(self) -> None:
        """Bring the tick-keyed view up to the last :meth:`on_book` (changed sides only)."""
        if self._view_current:
            return
        self._view_current = True
        inv = self._inv_tick
        if self._bid_raw != self._bids_from:
            self._bids = _levels(self._bid_raw, inv)
            self._bids_from = self._bid_raw
            self._bid_floor = min(self._bids, default=0)
        if self._ask_raw != self._asks_from:
            self._asks = _levels(self._ask_raw, inv)
            self._asks_from = self._ask_raw
            self._ask_ceiling = max(self._asks, default=0)

    def _mark_eaten(self, taker_side: Side) -> None:
        """A taker fill reduced a level of the view: rebuild that side on the next book."""
        if taker_side is Side.BUY:
            self._asks_from = None
        else:
            self._bids_from = None

    def _visible(self, side: Side, price: int) -> float | None:
        if side is Side.BUY:
            if not self._bids or price < self._bid_floor:
                return None
            return self._bids.get(price, 0.0)
        if not self._asks or price > self._ask_ceiling:
            return None
        return self._asks.get(price, 0.0)

    def _credit_cancels(self, r: _Resting, level: float) -> None:
        cancelled = (r.level - r.traded) - level
        if cancelled <= 0:
            return
        ahead = r.ahead
        behind = max(0.0, r.level - r.traded - ahead)
        n = self.cfg.queue_power
        wa, wb = ahead**n, behind**n
        if wa + wb > 0:
            r.ahead = max(0.0, ahead - cancelled * wa / (wa + wb))


def _levels(raw: bytes, inv_tick: float) -> dict[int, float]:
    """``{price_ticks: size}`` from float64 bytes of (price, size) pairs."""
    flat = iter(memoryview(raw).cast("d").tolist())
    return {int(p * inv_tick + 0.5): q for p, q in zip(flat, flat, strict=True)}
