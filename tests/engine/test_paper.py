"""Paper venue: queue position (both models), partial fills, fees, latency, no touch fills."""

from __future__ import annotations

import numpy as np
import pytest

from mmcore.execution import (
    CancelRejected,
    OrderAcked,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderRequest,
    PaperConfig,
    PaperVenue,
    Side,
    Trade,
)

TICK = 0.01


def side(*levels):
    return np.array(levels, dtype=np.float64).reshape(-1, 2)


BIDS = side((100.00, 5.0), (99.99, 3.0), (99.98, 2.0))
ASKS = side((100.01, 4.0), (100.02, 3.0))


def venue(**cfg) -> PaperVenue:
    base = dict(entry_latency_s=0.01, cancel_latency_s=0.01, response_latency_s=0.005)
    base.update(cfg)
    v = PaperVenue(PaperConfig(**base), TICK)
    v.on_book(BIDS, ASKS, 0.0)
    return v


def bid(v: PaperVenue, price_ticks=10_000, qty=1.0, cid="b1", now=0.0, post_only=True):
    v.submit(OrderRequest(cid, "X", Side.BUY, price_ticks, qty, post_only), now)


def fills(events):
    return [e for e in events if isinstance(e, OrderFilled)]


def test_entry_latency_then_ack_after_response_latency():
    v = venue()
    bid(v)
    assert v.poll(0.009) == []
    assert v.poll(0.014) == []  # at the venue since 0.01, the ack is still on its way
    (ack,) = v.poll(0.015)
    assert isinstance(ack, OrderAcked) and ack.ts == pytest.approx(0.015)


def test_touch_alone_never_fills_and_queue_ahead_must_trade_first():
    v = venue()
    bid(v)  # joins behind 5.0 at 100.00
    v.poll(0.02)
    v.on_book(side((100.00, 5.0)), side((100.00 + TICK, 1.0)), 0.03)  # ask touches our bid
    assert fills(v.poll(0.1)) == []
    v.on_trade(Trade(10_000, 4.0, buyer_aggressor=False), 0.2)  # 4 of 5 ahead traded
    assert fills(v.poll(0.3)) == []
    v.on_trade(Trade(10_000, 1.5, buyer_aggressor=False), 0.4)  # 1 ahead + 0.5 for us
    (f,) = fills(v.poll(0.5))
    assert f.qty == pytest.approx(0.5) and f.maker  # partial fill
    v.on_trade(Trade(10_000, 2.0, buyer_aggressor=False), 0.6)
    (f,) = fills(v.poll(0.7))
    assert f.qty == pytest.approx(0.5)  # the rest, then nothing more
    assert v.open_orders("X") == set()


def test_buy_trades_do_not_fill_bids():
    v = venue()
    bid(v, price_ticks=10_000)
    v.on_trade(Trade(10_000, 100.0, buyer_aggressor=True), 0.1)
    assert fills(v.poll(0.2)) == []


def test_trade_through_our_price_fills_up_to_its_size_best_price_first():
    v = venue()
    bid(v, price_ticks=9_999, qty=1.0, cid="b1")
    bid(v, price_ticks=9_998, qty=1.0, cid="b2")
    v.poll(0.02)
    v.on_trade(Trade(9_997, 1.5, buyer_aggressor=False), 0.1)
    got = {f.client_id: f.qty for f in fills(v.poll(0.2))}
    assert got == {"b1": pytest.approx(1.0), "b2": pytest.approx(0.5)}  # liquidity used once


def _queue_after_cancels(model: str) -> float:
    v = venue(queue_model=model)
    bid(v)  # 5.0 ahead
    v.poll(0.02)
    v.on_book(side((100.00, 7.0)), ASKS, 0.03)  # 2.0 joins behind us
    v.on_book(side((100.00, 3.0)), ASKS, 0.04)  # 4.0 cancelled somewhere in the queue
    v.on_trade(Trade(10_000, 3.0, buyer_aggressor=False), 0.05)
    return sum(f.qty for f in fills(v.poll(0.1)))


def test_conservative_queue_ignores_cancels_but_probabilistic_credits_them():
    # conservative: ahead = min(5, 3) = 3, a 3.0 trade leaves nothing for us
    assert _queue_after_cancels("conservative") == 0.0
    # probabilistic: part of the 4.0 cancelled was ahead of us, so we get filled
    assert _queue_after_cancels("probabilistic") > 0.0


def test_trade_at_our_price_before_the_book_update_is_not_counted_twice():
    v = venue(queue_model="probabilistic")
    bid(v)
    v.poll(0.02)
    v.on_trade(Trade(10_000, 2.0, buyer_aggressor=False), 0.03)  # ahead 5 → 3
    v.on_book(side((100.00, 3.0)), ASKS, 0.04)  # the book shows the same 2.0 gone
    v.on_trade(Trade(10_000, 3.0, buyer_aggressor=False), 0.05)
    assert fills(v.poll(0.1)) == []  # still exactly 3 were ahead


def test_maker_and_taker_fees():
    v = venue(maker_fee_bps=1.0, taker_fee_bps=5.0)
    bid(v, price_ticks=10_001, qty=2.0, post_only=False)  # crosses 4.0 @ 100.01
    (taker,) = fills(v.poll(0.1))
    assert not taker.maker and taker.qty == 2.0
    assert taker.fee == pytest.approx(100.01 * 2.0 * 5e-4)
    bid(v, price_ticks=9_998, qty=1.0, cid="b2", now=0.1)
    v.poll(0.2)
    v.on_trade(Trade(9_997, 1.0, buyer_aggressor=False), 0.3)
    (maker,) = fills(v.poll(0.4))
    assert maker.maker and maker.fee == pytest.approx(99.98 * 1.0 * 1e-4)


def test_negative_maker_fee_is_a_rebate():
    v = venue(maker_fee_bps=-0.5)
    bid(v, price_ticks=9_998)
    v.poll(0.1)
    v.on_trade(Trade(9_990, 1.0, buyer_aggressor=False), 0.2)
    (f,) = fills(v.poll(0.3))
    assert f.fee < 0


def test_post_only_order_that_would_cross_is_rejected():
    v = venue()
    bid(v, price_ticks=10_001)
    (rej,) = v.poll(0.1)
    assert isinstance(rej, OrderRejected) and "post-only" in rej.reason


def test_order_can_fill_until_its_cancel_lands():
    v = venue(cancel_latency_s=0.05)
    bid(v, price_ticks=9_998)
    v.poll(0.02)
    v.cancel("b1", 0.03)  # lands at 0.08
    v.on_trade(Trade(9_990, 1.0, buyer_aggressor=False), 0.05)
    events = v.poll(0.2)
    assert [type(e) for e in events[-2:]] == [OrderFilled, CancelRejected]


def test_cancel_lands_after_latency():
    v = venue(cancel_latency_s=0.05)
    bid(v, price_ticks=9_998)
    v.poll(0.02)
    v.cancel("b1", 0.03)
    v.on_trade(Trade(9_990, 1.0, buyer_aggressor=False), 0.09)  # after it landed
    events = v.poll(0.2)
    assert isinstance(events[-1], OrderCancelled) and fills(events) == []


def test_an_order_arriving_after_quiet_books_sees_the_latest_book():
    v = venue()  # nothing rests: the views below are kept, not yet used
    v.on_book(side((100.00, 9.0)), side((100.03, 1.0)), 0.001)
    v.on_book(side((100.00, 2.0)), side((100.00 + TICK, 1.0)), 0.002)
    bid(v, price_ticks=10_001, cid="cross")  # crosses the latest ask (100.01), not 100.03
    bid(v, cid="joins", now=0.001)  # joins behind the latest 2.0 at 100.00, not 9.0
    (rej,) = [e for e in v.poll(0.1) if isinstance(e, OrderRejected)]
    assert rej.client_id == "cross"
    v.on_trade(Trade(10_000, 2.5, buyer_aggressor=False), 0.2)
    (f,) = fills(v.poll(0.3))
    assert f.client_id == "joins" and f.qty == pytest.approx(0.5)


def test_the_book_arrays_are_copied():
    v = venue()
    bids = side((100.00, 1.0))
    v.on_book(bids, ASKS, 0.001)
    bids[0, 1] = 50.0  # the caller reuses its array
    bid(v, now=0.001)
    v.on_trade(Trade(10_000, 1.5, buyer_aggressor=False), 0.1)
    (f,) = fills(v.poll(0.2))
    assert f.qty == pytest.approx(0.5)  # 1.0 was ahead, not 50.0


def test_liquidity_taken_stays_taken_until_the_next_book_even_an_identical_one():
    v = venue(taker_fee_bps=0.0)
    bid(v, price_ticks=10_001, qty=3.0, cid="t1", post_only=False)
    bid(v, price_ticks=10_001, qty=3.0, cid="t2", post_only=False, now=0.005)
    events = v.poll(0.1)
    taken = {e.client_id: e.qty for e in fills(events)}
    assert taken == {"t1": pytest.approx(3.0), "t2": pytest.approx(1.0)}  # 4.0 at 100.01
    v.on_book(BIDS, ASKS, 0.2)  # the same book again: 100.01 shows 4.0 once more
    v.cancel("t2", 0.2)
    bid(v, price_ticks=10_001, qty=3.0, cid="t3", post_only=False, now=0.2)
    (f,) = fills(v.poll(0.5))
    assert f.client_id == "t3" and f.qty == pytest.approx(3.0)
