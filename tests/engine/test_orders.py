"""Order state machine (every transition, out-of-order events) and the order manager."""

from __future__ import annotations

import pytest

from mmcore.execution import (
    CancelRejected,
    ExecutionConfig,
    Order,
    OrderAcked,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderManager,
    OrderRejected,
    OrderStatus,
    Side,
)
from mmcore.strategy import Quote

S = OrderStatus


def order(qty: float = 1.0) -> Order:
    return Order("c1", "X", Side.BUY, 100, qty, 0.0)


def fill(qty: float, fid: str = "f1") -> OrderFilled:
    return OrderFilled("c1", 1.0, fid, Side.BUY, 100, qty, 0.0, True)


def run(events, start: Order | None = None, cancel_after: int | None = None) -> Order:
    o = start or order()
    for i, ev in enumerate([*events, None]):
        if i == cancel_after:
            assert o.request_cancel(1.0)
        if ev is not None:
            o.apply(ev)
    return o


ACK = OrderAcked("c1", 1.0, "v1")


@pytest.mark.parametrize(
    ("events", "cancel_after", "expected"),
    [
        ([ACK], None, S.ACKED),
        ([OrderRejected("c1", 1.0, "x")], None, S.REJECTED),
        ([ACK, fill(0.4)], None, S.PARTIALLY_FILLED),
        ([ACK, fill(0.4), fill(0.6, "f2")], None, S.FILLED),
        ([ACK], 1, S.PENDING_CANCEL),
        ([ACK, OrderCancelled("c1", 2.0)], 1, S.CANCELLED),
        ([ACK, fill(0.4), OrderCancelled("c1", 2.0)], 2, S.CANCELLED),
        ([ACK, fill(1.0)], 1, S.FILLED),  # filled while the cancel was in flight
        ([ACK, CancelRejected("c1", 2.0, "x")], 1, S.ACKED),
        ([ACK, fill(0.5), CancelRejected("c1", 2.0, "x")], 2, S.PARTIALLY_FILLED),
        ([ACK, OrderExpired("c1", 2.0)], None, S.EXPIRED),
        ([ACK, fill(0.5), OrderExpired("c1", 2.0)], None, S.EXPIRED),
        ([ACK, OrderCancelled("c1", 2.0)], None, S.CANCELLED),  # unsolicited cancel
    ],
)
def test_every_transition(events, cancel_after, expected):
    o = run(events, cancel_after=cancel_after)
    assert o.status is expected
    assert o.anomalies == 0


def test_fill_before_ack_then_late_ack_is_absorbed():
    o = run([fill(0.4), ACK])
    assert o.status is S.PARTIALLY_FILLED and o.venue_id == "v1" and o.anomalies == 0
    o = run([fill(1.0), ACK])
    assert o.status is S.FILLED and o.remaining == 0.0


def test_cancel_ack_before_new_ack_and_late_ack_after_cancel():
    o = order()
    o.request_cancel(0.5)
    o.apply(OrderCancelled("c1", 1.0))
    assert o.apply(ACK) is False and o.status is S.CANCELLED


def test_fill_after_cancel_is_kept_and_counted_as_anomaly():
    o = run([ACK, OrderCancelled("c1", 2.0), fill(0.3)])
    assert o.status is S.CANCELLED and o.filled == 0.3 and o.anomalies == 1


def test_impossible_events_do_not_change_a_terminal_state():
    o = run([ACK, fill(1.0), OrderRejected("c1", 3.0, "late"), OrderCancelled("c1", 3.0)])
    assert o.status is S.FILLED and o.anomalies == 2
    assert not o.request_cancel(4.0)


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


def test_hysteresis_keeps_orders_within_tolerance_and_replaces_beyond():
    m, venue = manager(tolerance_ticks=2)
    m.reconcile([Quote(100, 1.0)], [Quote(110, 1.0)], 105, 0.0)
    assert len(venue.sent) == 2
    m.reconcile([Quote(102, 1.0)], [Quote(109, 1.1)], 105, 0.1)  # within 2 ticks, 10 % size
    assert len(venue.sent) == 2 and venue.cancelled == []
    m.reconcile([Quote(103, 1.0)], [Quote(109, 1.0)], 105, 0.2)  # bid moved 3 ticks
    assert len(venue.sent) == 3 and venue.cancelled == ["mm-X-1"]
    assert venue.sent[-1].price_ticks == 103


def test_tolerance_in_bps_and_max_order_age():
    m, venue = manager(tolerance_bps=10.0, max_order_age_s=5.0)
    m.reconcile([Quote(10_000, 1.0)], [], 10_000, 0.0)
    m.reconcile([Quote(10_009, 1.0)], [], 10_000, 1.0)  # 9 bps: kept
    assert len(venue.sent) == 1
    m.reconcile([Quote(10_009, 1.0)], [], 10_000, 6.0)  # too old: replaced
    assert len(venue.sent) == 2 and venue.cancelled == ["mm-X-1"]


def test_unique_client_ids_duplicate_fills_ignored_and_terminal_orders_dropped():
    m, venue = manager()
    m.reconcile([Quote(100, 1.0), Quote(99, 1.0)], [], 100, 0.0)
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
    m.reconcile([Quote(100, 1.0), Quote(99, 1.0), Quote(98, 1.0)], [], 100, 0.0)
    assert [r.qty for r in venue.sent] == [1.0, 0.5]
    assert m.vetoed == 1


def test_zero_size_targets_are_never_sent_even_without_a_gate():
    m, venue = manager()
    m.reconcile([Quote(100, 0.0), Quote(99, 1.0)], [Quote(101, float("nan"))], 100, 0.0)
    assert [r.price_ticks for r in venue.sent] == [99]
    assert m.vetoed == 2


def test_pairing_keeps_every_order_some_pairing_can_keep():
    """Orders at 100 and 98, targets 99 and 98, tolerance 1: 100↔99 and 98↔98 keep both.
    A nearest-first search gave 99 the order at 98 (a tie) and then replaced the one at 100."""
    m, venue = manager(tolerance_ticks=1)
    m.reconcile([Quote(100, 1.0), Quote(98, 1.0)], [Quote(103, 1.0), Quote(105, 1.0)], 101, 0.0)
    assert len(venue.sent) == 4
    m.reconcile([Quote(99, 1.0), Quote(98, 1.0)], [Quote(104, 1.0), Quote(105, 1.0)], 101, 0.1)
    assert len(venue.sent) == 4 and venue.cancelled == []
    # beyond the tolerance the worst-placed order goes and the missing target is placed
    m.reconcile([Quote(97, 1.0), Quote(96, 1.0)], [Quote(104, 1.0), Quote(105, 1.0)], 101, 0.2)
    assert [r.price_ticks for r in venue.sent[4:]] == [96]
    assert venue.cancelled == ["mm-X-1"]  # the bid at 100; 98 is kept for 97


def test_manager_counts_each_anomaly_once():
    """A late ack changes nothing and is no anomaly, even on an order that had one before."""
    m, venue = manager()
    m.reconcile([Quote(100, 1.0)], [], 100, 0.0)
    cid = venue.sent[0].client_id
    m.on_event(OrderAcked(cid, 0.1))
    m.on_event(CancelRejected(cid, 0.2, "no cancel was asked"))  # impossible: an anomaly
    assert m.anomalies == 1
    m.on_event(OrderAcked(cid, 0.3))  # a repeated ack: changes nothing
    assert m.anomalies == 1 and m.orders[cid].anomalies == 1
