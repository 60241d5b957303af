"""Order state machine (every transition, out-of-order events) and the order manager."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from mmcore.execution import (
    AmendRejected,
    CancelRejected,
    ExecutionConfig,
    Order,
    OrderAcked,
    OrderAmended,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderManager,
    OrderRejected,
    OrderStatus,
    Side,
)
from mmcore.strategy import Quote
from mmcore.trader import working_quotes

S = OrderStatus
LOT = 1e-8  # the desk's lot without a gate or paper venue


def quote(price_ticks: int, qty: float) -> Quote:
    """A target of ``qty`` base units, in the desk's lots."""
    return Quote(price_ticks, round(qty / LOT))


class RecordingVenue:
    """Captures what the manager sends (the paper venue is tested on its own)."""

    def __init__(self):
        self.sent: list = []
        self.cancelled: list[str] = []

    def submit(self, request, now):
        self.sent.append(request)

    def cancel(self, client_id, now):
        self.cancelled.append(client_id)

    def poll(self, now):
        return []

    def open_orders(self, symbol):
        return set()


def manager(**cfg) -> tuple[OrderManager, RecordingVenue]:
    venue = RecordingVenue()
    return OrderManager("X", venue, ExecutionConfig(**cfg)), venue


CID = "mm-X-1"  # the first order a manager places
ACK = OrderAcked(CID, 1.0, "v1")


def fill(qty: float, fid: str = "f1") -> OrderFilled:
    return OrderFilled(CID, 1.0, fid, Side.BUY, 100, qty, 0.0, True)


def run(events, cancel_after: int | None = None) -> tuple[OrderManager, Order]:
    """One 1.0 bid placed, then ``events``, with a cancel requested before event
    ``cancel_after``: the manager and the order's last snapshot."""
    m, _ = manager()
    m.reconcile([quote(100, 1.0)], [], 100, 0.0)
    last = m.order(CID)
    for i, ev in enumerate([*events, None]):
        if i == cancel_after:
            assert m.cancel_all(1.0) == 1
            last = m.order(CID)
        if ev is not None:
            order, new = m.on_event(ev)
            assert new
            last = order
    return m, last


@pytest.mark.parametrize(
    ("events", "cancel_after", "expected"),
    [
        ([], None, S.PENDING_NEW),
        ([ACK], None, S.ACKED),
        ([OrderRejected(CID, 1.0, "x")], None, S.REJECTED),
        ([ACK, fill(0.4)], None, S.PARTIALLY_FILLED),
        ([ACK, fill(0.4), fill(0.6, "f2")], None, S.FILLED),
        ([ACK], 1, S.PENDING_CANCEL),
        ([ACK, OrderCancelled(CID, 2.0)], 1, S.CANCELLED),
        ([ACK, fill(0.4), OrderCancelled(CID, 2.0)], 2, S.CANCELLED),
        ([ACK, fill(1.0)], 1, S.FILLED),  # filled while the cancel was in flight
        ([ACK, CancelRejected(CID, 2.0, "x")], 1, S.ACKED),
        ([ACK, fill(0.5), CancelRejected(CID, 2.0, "x")], 2, S.PARTIALLY_FILLED),
        ([ACK, OrderExpired(CID, 2.0)], None, S.EXPIRED),
        ([ACK, fill(0.5), OrderExpired(CID, 2.0)], None, S.EXPIRED),
        ([ACK, OrderCancelled(CID, 2.0)], None, S.CANCELLED),  # unsolicited cancel
    ],
)
def test_every_transition(events, cancel_after, expected):
    m, o = run(events, cancel_after=cancel_after)
    assert o.status is expected
    assert o.anomalies == 0 and m.anomalies == 0
    assert (CID in m.orders) is not expected.terminal  # terminal orders leave the manager


def test_fill_before_ack_then_late_ack_is_absorbed():
    _, o = run([fill(0.4), ACK])
    assert o.status is S.PARTIALLY_FILLED and o.venue_id == "v1" and o.anomalies == 0
    assert o.remaining == pytest.approx(0.6)
    m, o = run([fill(1.0)])
    assert o.status is S.FILLED and o.remaining == 0.0
    assert m.on_event(ACK) == (None, True)  # the order has left: nothing to move


def test_cancel_ack_before_new_ack_and_late_ack_after_cancel():
    m, _ = manager()
    m.reconcile([quote(100, 1.0)], [], 100, 0.0)
    m.cancel_all(0.5)
    order, _ = m.on_event(OrderCancelled(CID, 1.0))
    assert order.status is S.CANCELLED and m.orders == {}
    assert m.on_event(ACK) == (None, True) and m.anomalies == 0


def test_impossible_event_is_an_anomaly_and_changes_no_state():
    m, o = run([ACK, CancelRejected(CID, 2.0, "no cancel was asked")])
    assert o.status is S.ACKED and o.anomalies == 1 and m.anomalies == 1


def test_snapshots_carry_what_was_sent():
    m, _ = run([ACK, fill(0.25)])
    (o,) = m.orders.values()
    assert (o.client_id, o.symbol, o.side, o.price_ticks, o.qty) == (CID, "X", Side.BUY, 100, 1.0)
    assert (o.filled, o.created, o.updated, o.status) == (0.25, 0.0, 1.0, S.PARTIALLY_FILLED)
    assert m.working(Side.BUY) == 0.75 and m.working(Side.SELL) == 0.0


def test_hysteresis_keeps_orders_within_tolerance_and_replaces_beyond():
    m, venue = manager(tolerance_ticks=2)
    m.reconcile([quote(100, 1.0)], [quote(110, 1.0)], 105, 0.0)
    assert len(venue.sent) == 2
    m.reconcile([quote(102, 1.0)], [quote(109, 1.1)], 105, 0.1)  # within 2 ticks, 10 % size
    assert len(venue.sent) == 2 and venue.cancelled == []
    m.reconcile([quote(103, 1.0)], [quote(109, 1.0)], 105, 0.2)  # bid moved 3 ticks
    assert len(venue.sent) == 3 and venue.cancelled == ["mm-X-1"]
    assert venue.sent[-1].price_ticks == 103


def test_tolerance_in_bps_and_max_order_age():
    m, venue = manager(tolerance_bps=10.0, max_order_age_s=5.0)
    m.reconcile([quote(10_000, 1.0)], [], 10_000, 0.0)
    m.reconcile([quote(10_009, 1.0)], [], 10_000, 1.0)  # 9 bps: kept
    assert len(venue.sent) == 1
    m.reconcile([quote(10_009, 1.0)], [], 10_000, 6.0)  # too old: replaced
    assert len(venue.sent) == 2 and venue.cancelled == ["mm-X-1"]


def test_unique_client_ids_duplicate_fills_ignored_and_terminal_orders_dropped():
    m, venue = manager()
    m.reconcile([quote(100, 1.0), quote(99, 1.0)], [], 100, 0.0)
    ids = [r.client_id for r in venue.sent]
    assert len(set(ids)) == 2
    f = OrderFilled(ids[0], 1.0, "f1", Side.BUY, 100, 1.0, 0.0, True)
    assert m.on_event(f)[1] is True
    assert m.on_event(f)[1] is False  # duplicate
    assert ids[0] not in m.orders and m.working(Side.BUY) == 1.0


def test_unknown_order_fill_is_still_reported():
    m, _ = manager()
    order_, new = m.on_event(OrderFilled("ghost", 1.0, "f9", Side.SELL, 100, 1.0, 0.0, True))
    assert order_ is None and new is True


def test_risk_gate_trims_and_vetoes():
    venue = RecordingVenue()
    m = OrderManager("X", venue, ExecutionConfig(), lambda side, p, q, w, now: min(q, 1.5 - w))
    m.reconcile([quote(100, 1.0), quote(99, 1.0), quote(98, 1.0)], [], 100, 0.0)
    assert [r.qty for r in venue.sent] == [1.0, 0.5]
    assert m.vetoed == 1


def test_zero_size_targets_are_never_sent_even_without_a_gate():
    m, venue = manager()
    m.reconcile([quote(100, 0.0), quote(99, 1.0)], [quote(101, 0.0)], 100, 0.0)
    assert [r.price_ticks for r in venue.sent] == [99]
    assert m.vetoed == 2


def test_pairing_keeps_every_order_some_pairing_can_keep():
    """Orders at 100 and 98, targets 99 and 98, tolerance 1: 100↔99 and 98↔98 keep both.
    A nearest-first search gave 99 the order at 98 (a tie) and then replaced the one at 100."""
    m, venue = manager(tolerance_ticks=1)
    m.reconcile([quote(100, 1.0), quote(98, 1.0)], [quote(103, 1.0), quote(105, 1.0)], 101, 0.0)
    assert len(venue.sent) == 4
    m.reconcile([quote(99, 1.0), quote(98, 1.0)], [quote(104, 1.0), quote(105, 1.0)], 101, 0.1)
    assert len(venue.sent) == 4 and venue.cancelled == []
    # beyond the tolerance the worst-placed order goes and the missing target is placed
    m.reconcile([quote(97, 1.0), quote(96, 1.0)], [quote(104, 1.0), quote(105, 1.0)], 101, 0.2)
    assert [r.price_ticks for r in venue.sent[4:]] == [96]
    assert venue.cancelled == ["mm-X-1"]  # the bid at 100; 98 is kept for 97


def test_manager_counts_each_anomaly_once():
    """A late ack changes nothing and is no anomaly, even on an order that had one before."""
    m, venue = manager()
    m.reconcile([quote(100, 1.0)], [], 100, 0.0)
    cid = venue.sent[0].client_id
    m.on_event(OrderAcked(cid, 0.1))
    m.on_event(CancelRejected(cid, 0.2, "no cancel was asked"))  # impossible: an anomaly
    assert m.anomalies == 1
    m.on_event(OrderAcked(cid, 0.3))  # a repeated ack: changes nothing
    assert m.anomalies == 1 and m.orders[cid].anomalies == 1


class ScriptedVenue(RecordingVenue):
    """A venue with the Python interface whose responses are scripted by the test."""

    def __init__(self):
        super().__init__()
        self.responses: list = []

    def poll(self, now):
        out, self.responses = self.responses, []
        return out


def test_events_from_a_python_venue_reach_fills_and_the_listener():
    venue = ScriptedVenue()
    m = OrderManager("X", venue, ExecutionConfig())
    seen = []
    m.listener = lambda order, kind, ts, detail: seen.append((order.status, kind, ts))
    m.reconcile([quote(100, 1.0)], [], 100, 0.0)
    cid = venue.sent[0].client_id
    assert seen == [(S.PENDING_NEW, "submitted", 0.0)]
    first = OrderFilled(cid, 0.2, "f1", Side.BUY, 100, 0.4, 0.0, True)
    ghost = OrderFilled("gone", 0.3, "f2", Side.SELL, 101, 1.0, 0.0, True)
    venue.responses = [OrderAcked(cid, 0.1, "v1"), first, first, ghost]
    assert m.take_events(0.5) == [first, ghost]  # the duplicate is dropped, the ghost kept
    assert seen[1:] == [(S.ACKED, "OrderAcked", 0.1), (S.PARTIALLY_FILLED, "OrderFilled", 0.2)]
    m.cancel_all(0.6, "why")
    assert seen[-1] == (S.PENDING_CANCEL, "cancel_sent", 0.6)


class AmendingVenue(ScriptedVenue):
    """A scripted venue that can amend: records the amends it is asked for."""

    supports_amend = True

    def __init__(self):
        super().__init__()
        self.amended: list[tuple[str, float]] = []

    def amend(self, client_id, qty, now):
        self.amended.append((client_id, qty))


def test_a_venue_that_can_amend_gets_a_size_reduced_in_place():
    venue = AmendingVenue()
    m = OrderManager("X", venue, ExecutionConfig())
    seen = []
    m.listener = lambda order, kind, ts, detail: seen.append((kind, order.qty))
    m.reconcile([quote(100, 1.0)], [], 100, 0.0)
    cid = venue.sent[0].client_id
    venue.responses = [OrderAcked(cid, 0.1, "v1")]
    m.take_events(0.1)
    m.reconcile([quote(100, 0.5)], [], 100, 0.2)  # same price, half the size
    assert venue.amended == [(cid, 0.5)] and venue.cancelled == [] and len(venue.sent) == 1
    assert m.amends == 1 and seen[-1] == ("amend_sent", 1.0)  # the old size until confirmed
    venue.responses = [OrderAmended(cid, 0.3, 0.5)]
    m.take_events(0.3)
    assert m.order(cid).qty == 0.5 and seen[-1] == ("OrderAmended", 0.5)
    assert m.working(Side.BUY) == 0.5
    # a refused amend leaves the order as it was
    m.reconcile([quote(100, 0.25)], [], 100, 0.4)
    venue.responses = [AmendRejected(cid, 0.5, "unknown order")]
    m.take_events(0.5)
    assert m.order(cid).qty == 0.5 and m.anomalies == 0


def test_a_venue_that_cannot_amend_gets_cancel_and_new():
    m, venue = manager()
    m.reconcile([quote(100, 1.0)], [], 100, 0.0)
    m.on_event(OrderAcked("mm-X-1", 0.1, "v1"))
    m.reconcile([quote(100, 0.5)], [], 100, 0.2)
    assert venue.cancelled == ["mm-X-1"] and [r.qty for r in venue.sent] == [1.0, 0.5]


def test_a_failing_gate_still_sends_what_was_decided_before():
    venue = RecordingVenue()

    def gate(side, price, qty, working, now):
        if working >= 1.0:
            raise RuntimeError("risk service down")
        return qty

    m = OrderManager("X", venue, ExecutionConfig(), gate)
    with pytest.raises(RuntimeError, match="risk service down"):
        m.reconcile([quote(100, 1.0), quote(99, 1.0)], [], 100, 0.0)
    assert [r.price_ticks for r in venue.sent] == [100]
    assert list(m.orders) == [venue.sent[0].client_id]  # tracked exactly as sent
    m.gate = None
    m.reconcile([quote(100, 1.0), quote(99, 1.0)], [], 100, 0.1)  # retried, not skipped
    assert [r.price_ticks for r in venue.sent] == [100, 99]


def test_something_that_is_not_a_venue_event_is_refused_by_name():
    m, _ = manager()
    with pytest.raises(TypeError, match="not a venue event: 'ack'"):
        m.on_event("ack")  # type: ignore[arg-type]


def test_targets_that_are_not_quotes_are_refused_with_the_argument_named():
    m, venue = manager()
    with pytest.raises(TypeError, match="bids"):
        m.reconcile([100], [], 100, 0.0)
    with pytest.raises(TypeError, match="asks"):
        m.reconcile([], 5, 100, 0.0)
    with pytest.raises(TypeError, match="bids"):  # sizes are lots, never floats
        m.reconcile([(100, 1.0)], [], 100, 0.0)
    with pytest.raises(ValueError, match="asks"):
        m.reconcile([], [(101, -1)], 100, 0.0)
    assert venue.sent == [] and m.orders == {}
    m.reconcile((q for q in [quote(100, 1.0)]), iter([]), 100, 0.0)  # any iterable will do
    assert [r.price_ticks for r in venue.sent] == [100]


def test_restore_adopts_open_orders_and_forget_expires_them():
    m, venue = manager()
    kept = Order("mm-X-7", "X", Side.SELL, 105, 1.0, 0.0, 0.5, 0.25, S.ACKED, "v7")
    done = kept._replace(client_id="mm-X-6", status=S.FILLED)
    m.restore([kept, done], 7)
    assert m.orders == {"mm-X-7": kept}  # the terminal one is not adopted
    assert m.next_client_id() == "mm-X-8"
    gone = m.forget("mm-X-7", 3.0)
    assert gone == kept._replace(status=S.EXPIRED, updated=3.0)
    assert m.orders == {} and m.forget("mm-X-7", 4.0) is None and venue.cancelled == []


def test_only_the_desks_own_client_ids_are_tracked():
    """The desk keeps sequence numbers; a client id is its prefix then a number. An id of
    another shape is not its order, and restoring one is refused naming it."""
    m, venue = manager()
    m.reconcile([quote(100, 1.0)], [], 100, 0.0)
    assert list(m.orders) == ["mm-X-1"]
    for foreign in ["mm-X-01", "mm-Y-1", "mm-X-", "mm-X-1x", "1"]:
        assert m.forget(foreign, 1.0) is None
    assert list(m.orders) == ["mm-X-1"] and venue.cancelled == []
    kept = Order("mm-Y-7", "X", Side.SELL, 105, 1.0, 0.0, 0.5, 0.25, S.ACKED, "v7")
    with pytest.raises(ValueError, match="client_id"):
        m.restore([kept], 7)
    assert list(m.orders) == ["mm-X-1"] and m.next_client_id() == "mm-X-2"


def test_tracked_orders_are_bounded_when_the_venue_goes_quiet():
    """A venue that stops answering leaves every cancel pending: requotes must not pile up
    orders without end. At ``max_open_orders`` tracked, new targets are refused (vetoed)."""
    m, venue = manager(max_open_orders=6)
    for i in range(20):  # the market moves every time; nothing is ever acked or cancelled
        m.reconcile([quote(100 + 2 * i, 1.0)], [quote(200 + 2 * i, 1.0)], 150, i * 0.1)
    assert len(m.orders) == 6 and len(venue.sent) == 6
    assert m.vetoed == 40 - 6


def test_the_rust_cores_refuse_bad_arguments_by_name():
    """OrderDesk and PreTradeGate are public in ``mmcore._core``: bad input is a ValueError
    naming the argument, never a panic."""
    from mmcore._core import OrderDesk, PreTradeGate

    desk = OrderDesk("X", "mm-X-")
    with pytest.raises(ValueError, match="kind"):
        desk.apply(9, "c1", 0.0)
    with pytest.raises(ValueError, match="status"):
        desk.restore([("c1", 1, 100, 1.0, 0.0, 0.0, 0.0, 42, "", 0)], 0)
    with pytest.raises(ValueError, match="side"):
        desk.working(0)
    with pytest.raises(ValueError, match="max_order_age_s"):
        OrderDesk("X", "mm-X-", max_order_age_s=0.0)
    with pytest.raises(ValueError, match="max_open_orders"):
        OrderDesk("X", "mm-X-", max_open_orders=0)
    gate = PreTradeGate(
        max_notional=1e6, tick_size=0.01, lot_size=0.001, max_orders_per_s=1.0, order_burst=1
    )
    with pytest.raises(ValueError, match="state"):
        gate.set(3, 0.0, 1.0)
    with pytest.raises(ValueError, match="side"):
        gate.allow(0, 100, 1.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="lot_size"):
        PreTradeGate(
            max_notional=1e6, tick_size=0.01, lot_size=-1.0, max_orders_per_s=1.0, order_burst=1
        )


def test_working_quotes_are_shown_at_the_tick_without_float_noise() -> None:
    # ticks * 0.01 is 100008.90000000001 in binary floating point; rounding to 12 decimals
    # kept that noise in the status line and the dashboard (100008.90000000001)
    def order(cid: str, side: Side, ticks: int, status: OrderStatus) -> Order:
        return Order(cid, "BTCUSDT", side, ticks, 0.001, 0.0, 0.0, status=status)

    orders = {
        o.client_id: o
        for o in (
            order("b1", Side.BUY, 10_000_890, OrderStatus.ACKED),
            order("b2", Side.BUY, 10_000_889, OrderStatus.PENDING_NEW),
            order("b3", Side.BUY, 10_000_999, OrderStatus.CANCELLED),  # not working
            order("a1", Side.SELL, 10_001_017, OrderStatus.ACKED),
        )
    }
    engine: Any = SimpleNamespace(orders=SimpleNamespace(orders=orders))
    bid, ask = working_quotes(engine, 0.01)
    assert (repr(bid), repr(ask)) == ("100008.9", "100010.17")
    assert repr(working_quotes(engine, 0.00001)[0]) == "100.0089"
    assert repr(working_quotes(engine, 0.5)[1]) == "5000508.5"
