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

On arrival the venue rejects, as exchanges do, an order whose client id is already resting
(``"duplicate client order id"``; the resting order is untouched), an order for a symbol that
already has ``max_open_orders`` resting (``"too many open orders"``) and a post-only order that
would take liquidity. Our own resting orders are part of the real book even though the view
holds only the market's sizes: an order at or through one of them on the other side is
rejected (post-only: would cross; otherwise ``"self-trade prevented"``, expiring the taker as
Binance's default self-trade prevention does). A marketable order takes only real liquidity
(visible levels with a size above 0; what it takes stays taken until the next book), so no
fill is ever of size 0. An order of size <= 0 (or NaN) is refused at
:meth:`PaperVenue.submit` with ``ValueError``.

State is bounded: resting orders by ``max_open_orders`` per symbol; orders and cancels in
flight, and responses not yet polled, only by what the caller sends between polls.

The simulation runs in Rust (``mmcore._core.PaperSim``); this class keeps the venue interface
and turns its responses into the events of :mod:`mmcore.execution.orders`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mmcore._core import OrderBook, PaperSim
from mmcore.config import bounded
from mmcore.execution.orders import (
    SIDE_BY_SIGN,
    AmendRejected,
    CancelRejected,
    OrderAcked,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    VenueEvent,
)
from mmcore.execution.venue import OrderRequest

__all__ = ["PaperConfig", "PaperVenue", "Trade"]


@dataclass(frozen=True, slots=True)
class PaperConfig:
    """Latencies (seconds), queue model, fees (bps of notional; negative = rebate) and the
    resting orders allowed (Binance's per-symbol open-order limit is 200).

    ``feed_latency_s`` is how far our market data lags the venue (the exchange-to-local
    delay); each entry, cancel and response latency gets a random extra in
    ``[0, latency_jitter_s)`` from a generator seeded with ``seed`` (deterministic)."""

    entry_latency_s: float = bounded(0.005, ge=0)
    cancel_latency_s: float = bounded(0.005, ge=0)
    response_latency_s: float = bounded(0.005, ge=0)
    feed_latency_s: float = bounded(0.0, ge=0)
    latency_jitter_s: float = bounded(0.0, ge=0)
    seed: int = bounded(0, ge=0)
    queue_model: str = bounded("conservative", choices=("conservative", "probabilistic"))
    queue_power: float = bounded(2.0, gt=0)
    maker_fee_bps: float = bounded(1.0, ge=-10, le=100)
    taker_fee_bps: float = bounded(5.0, ge=0, le=100)
    max_open_orders: int = bounded(200, ge=1, le=10_000)


@dataclass(frozen=True, slots=True)
class Trade:
    """A market trade: price in ticks, size, and whether the aggressor bought."""

    price_ticks: int
    qty: float
    buyer_aggressor: bool


# ``PaperSim.poll`` tuples: (kind, client_id, ts, ...); kind 2 is a fill with an int side.
_PLAIN = (
    OrderAcked,
    OrderRejected,
    None,
    OrderCancelled,
    CancelRejected,
    OrderAmended,
    AmendRejected,
)


def fill_from_tuple(fill: tuple) -> OrderFilled:
    """An ``OrderFilled`` from the Rust core's ``(client_id, ts, fill_id, side sign,
    price_ticks, qty, fee, maker)`` tuple (``PaperSim.poll``, ``OrderDesk.take``)."""
    cid, ts, fill_id, side, price_ticks, qty, fee, maker = fill
    return OrderFilled(cid, ts, fill_id, SIDE_BY_SIGN[side], price_ticks, qty, fee, maker)


def _event(raw: tuple) -> VenueEvent:
    kind = raw[0]
    if kind == 2:
        return fill_from_tuple(raw[1:])
    return _PLAIN[kind](*raw[1:])


class PaperVenue:
    """A simulated venue for one instrument (the symbol of its first order); sizes are whole
    lots of ``lot_size`` inside. It can amend an order's size down in place."""

    #: Orders can be reduced in place, keeping their queue position (:meth:`amend`).
    supports_amend = True

    def __init__(
        self, cfg: PaperConfig, tick_size: float, name: str = "paper", lot_size: float = 1e-8
    ) -> None:
        self.cfg = cfg
        self.tick_size = tick_size
        self.name = name
        self._sim = PaperSim(
            tick_size,
            lot_size=lot_size,
            entry_latency_s=cfg.entry_latency_s,
            cancel_latency_s=cfg.cancel_latency_s,
            response_latency_s=cfg.response_latency_s,
            feed_latency_s=cfg.feed_latency_s,
            latency_jitter_s=cfg.latency_jitter_s,
            seed=cfg.seed,
            queue_model=cfg.queue_model,
            queue_power=cfg.queue_power,
            maker_fee_bps=cfg.maker_fee_bps,
            taker_fee_bps=cfg.taker_fee_bps,
            name=name,
            max_open_orders=cfg.max_open_orders,
        )

    @property
    def sim(self) -> PaperSim:
        """The Rust simulator (the order manager talks to it directly)."""
        return self._sim

    @property
    def fills(self) -> int:
        """Fills executed (maker and taker)."""
        return self._sim.fills

    @property
    def rejects(self) -> int:
        """Orders rejected (post-only crossing, duplicate client id, too many open orders)."""
        return self._sim.rejects

    # -- order entry -------------------------------------------------------------------
    def submit(self, request: OrderRequest, now: float) -> None:
        """Send a new order; it reaches the venue after the entry latency.

        Raises ``ValueError`` naming the argument for a size that is not finite and > 0, a
        negative price or a side other than buy/sell; nothing is sent then.
        """
        r = request
        self._sim.submit(r.client_id, r.symbol, r.side, r.price_ticks, r.qty, r.post_only, now)

    def cancel(self, client_id: str, now: float) -> None:
        """Send a cancel; it lands after the cancel latency (fills may happen until then)."""
        self._sim.cancel(client_id, now)

    def amend(self, client_id: str, qty: float, now: float) -> None:
        """Send an amend reducing the order to ``qty`` in total (its filled part included); it
        lands after the cancel latency. The order keeps its queue position; one that has
        filled ``qty`` or more by then is cancelled; an order not resting, or a ``qty`` that
        does not reduce it, gets :class:`AmendRejected`."""
        self._sim.amend(client_id, qty, now)

    def poll(self, now: float) -> list[VenueEvent]:
        """Responses that have reached us by ``now``."""
        raw = self._sim.poll(now)
        if not raw:
            return raw
        return [_event(t) for t in raw]

    def open_orders(self, symbol: str) -> set[str]:
        """Client ids resting (or in flight) at the venue for ``symbol``."""
        return self._sim.open_orders(symbol)

    # -- market data -------------------------------------------------------------------
    def on_book(
        self, bids: npt.NDArray[np.float64], asks: npt.NDArray[np.float64], now: float
    ) -> None:
        """The visible book (``OrderBook.bids(n)`` / ``asks(n)`` arrays) at ``now``.

        The arrays are copied, so the caller may reuse them.
        """
        self._sim.on_book(bids, asks, now)

    def on_book_from(self, book: OrderBook, levels: int, now: float) -> None:
        """The visible book at ``now``: the top ``levels`` of each side of ``book``, read in
        Rust as the book's integers, converted exactly to ticks and lots."""
        self._sim.on_book_from(book, levels, now)

    def on_trade(self, trade: Trade, now: float) -> None:
        """A market trade at ``now``: fills resting orders it reaches, best price first."""
        self._sim.on_trade(trade.price_ticks, trade.qty, trade.buyer_aggressor, now)

    # -- simulation --------------------------------------------------------------------
    def advance(self, now: float) -> None:
        """Process orders and cancels that have reached the venue by ``now``."""
        self._sim.advance(now)
