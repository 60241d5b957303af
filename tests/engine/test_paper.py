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
    OrderStatus,
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


def _replay_events(direct: bool, probabilistic: bool) -> list:
    from mmcore import OrderBook
    from mmcore.testing.trading import SYMBOL, session
    from mmcore.testing.trading import TICK as SESSION_TICK

    snapshot, items = session(2000, seed=3)
    book = OrderBook(SYMBOL, "binance-spot", tick_size=SESSION_TICK)
    book.apply_snapshot(snapshot)
    model = "probabilistic" if probabilistic else "conservative"
    v = PaperVenue(PaperConfig(queue_model=model), SESSION_TICK)
    events: list = []
    n = 0
    for i, (now, item) in enumerate(items):
        if isinstance(item, Trade):
            v.on_trade(item, now)
        else:
            book.apply(item)
            if direct:
                v.on_book_from(book, 10, now)
            else:
                v.on_book(book.bids(10), book.asks(10), now)
        if i % 97 == 0:  # a few orders at and around the touch, some marketable
            n += 1
            bid_ticks = round(book.best_bid()[0] / SESSION_TICK)
            ask_ticks = round(book.best_ask()[0] / SESSION_TICK)
            offset = n % 3
            v.submit(OrderRequest(f"b{n}", SYMBOL, Side.BUY, bid_ticks - offset, 0.02), now)
            v.submit(
                OrderRequest(f"s{n}", SYMBOL, Side.SELL, ask_ticks - (n % 5 == 0), 0.02, False),
                now,
            )
            if n % 4 == 0:
                v.cancel(f"b{n}", now)
        events += v.poll(now)
    return [*events, *v.poll(1e9), v.open_orders(SYMBOL)]


@pytest.mark.parametrize("probabilistic", [False, True])
def test_on_book_from_matches_on_book_with_the_same_levels(probabilistic):
    direct = _replay_events(True, probabilistic)
    arrays = _replay_events(False, probabilistic)
    assert direct == arrays
    kinds = {type(e) for e in direct}
    assert {OrderAcked, OrderFilled, OrderCancelled} <= kinds  # the stream exercises fills
    assert any(isinstance(e, OrderFilled) and e.maker for e in direct)
    assert any(isinstance(e, OrderFilled) and not e.maker for e in direct)


def test_events_are_the_dataclasses_with_exact_fields():
    v = venue(taker_fee_bps=5.0)
    bid(v, price_ticks=10_001, qty=1.0, post_only=False)
    ack, fill = v.poll(0.1)
    assert ack == OrderAcked("b1", ack.ts, "paper-b1")
    assert fill == OrderFilled("b1", fill.ts, "paper-f1", Side.BUY, 10_001, 1.0, fill.fee, False)
    assert fill.side is Side.BUY and v.fills == 1 and v.rejects == 0
    v.cancel("b1", 0.1)
    (rej,) = v.poll(0.2)
    assert rej == CancelRejected("b1", rej.ts, "unknown order (filled or not open)")


@pytest.mark.parametrize(
    ("call", "arg"),
    [
        (lambda v: bid(v, qty=float("nan")), "qty"),
        (lambda v: bid(v, qty=-1.0), "qty"),
        (lambda v: bid(v, qty=0.0), "qty"),
        (lambda v: bid(v, qty=0.0, post_only=False, price_ticks=10_001), "qty"),
        (lambda v: bid(v, price_ticks=-5), "price_ticks"),
        (lambda v: v.submit(OrderRequest("x", "X", 0, 10_000, 1.0), 0.0), "side"),
        (lambda v: v.submit(OrderRequest("x", "X", 2, 10_000, 1.0), 0.0), "side"),
        (lambda v: v.on_trade(Trade(10_000, float("nan"), False), 0.1), "qty"),
        (lambda v: v.on_trade(Trade(10_000, -1.0, False), 0.1), "qty"),
        (lambda v: v.on_trade(Trade(-1, 1.0, False), 0.1), "price_ticks"),
        (lambda v: v.on_book(side((100.0, float("nan"))), ASKS, 0.1), "bids"),
        (lambda v: v.on_book(BIDS, side((-100.0, 1.0)), 0.1), "asks"),
        (lambda v: v.on_book(np.zeros((2, 3)), ASKS, 0.1), "bids"),
        (lambda v: v.on_book(BIDS, np.zeros(4), 0.1), "asks"),
        (lambda v: v.on_book(BIDS, "not numbers", 0.1), "asks"),
        (lambda v: v.on_book(BIDS, ASKS, float("nan")), "now"),
        (lambda v: v.on_book_from(None, 10, 0.1), "book"),
        (lambda v: v.advance(0.1) or v.cancel("b1", float("nan")), "now"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, arg):
    v = venue()
    bid(v)
    with pytest.raises((ValueError, TypeError), match=arg):
        call(v)
    assert v.open_orders("X") == {"b1"}  # nothing changed
    (ack,) = v.poll(0.1)
    assert isinstance(ack, OrderAcked)


def test_on_book_from_rejects_negative_levels_and_bad_config():
    from mmcore import OrderBook

    v = venue()
    with pytest.raises(ValueError, match="levels"):
        v.on_book_from(OrderBook("X", "binance-spot"), -1, 0.1)
    with pytest.raises(ValueError, match="tick_size"):
        PaperVenue(PaperConfig(), 0.0)
    with pytest.raises(ValueError, match="queue_power"):
        PaperVenue(PaperConfig(queue_power=float("nan")), TICK)


def test_book_arrays_of_other_dtypes_and_layouts_are_accepted():
    v = venue()
    v.on_book(np.asfortranarray(BIDS), ASKS.astype(np.float32), 0.001)
    v.on_book([[100.00, 1.0]], ASKS[::-1][::-1], 0.002)  # a list, a strided view
    bid(v, now=0.002)
    v.on_trade(Trade(10_000, 1.5, buyer_aggressor=False), 0.1)
    (f,) = fills(v.poll(0.2))
    assert f.qty == pytest.approx(0.5)


def test_a_level_eaten_to_zero_is_no_liquidity_and_no_fill_is_of_size_zero():
    v = venue()
    bid(v, price_ticks=10_001, qty=4.0, cid="t1", post_only=False)  # eats 4.0 @ 100.01
    (f,) = fills(v.poll(0.1))
    assert (f.price_ticks, f.qty) == (10_001, 4.0)
    bid(v, price_ticks=10_001, cid="p1", now=0.1)  # post-only: nothing left to take there
    (ack,) = v.poll(0.2)
    assert isinstance(ack, OrderAcked) and ack.client_id == "p1"
    bid(v, price_ticks=10_002, cid="t2", now=0.2, post_only=False)  # skips the emptied level
    (f,) = fills(v.poll(0.3))
    assert (f.client_id, f.price_ticks, f.qty) == ("t2", 10_002, 1.0)
    v.on_book(BIDS, side((100.01, 0.0), (100.03, 1.0)), 0.3)  # a zero-size level is none either
    bid(v, price_ticks=10_003, qty=2.0, cid="t3", now=0.3, post_only=False)
    (f,) = fills(v.poll(0.4))
    assert (f.client_id, f.price_ticks, f.qty) == ("t3", 10_003, 1.0)
    assert v.open_orders("X") == {"p1", "t3"} and v.rejects == 0


def test_a_duplicate_client_id_is_rejected_and_the_resting_order_untouched():
    v = venue()
    bid(v, price_ticks=9_999, cid="b1")  # 3.0 ahead at 99.99
    bid(v, price_ticks=9_998, qty=2.0, cid="b1")  # arrives after the first
    v.submit(OrderRequest("b1", "X", Side.SELL, 10_000, 1.0, False), 0.0)  # even marketable
    ack, *rejects = v.poll(0.1)
    assert isinstance(ack, OrderAcked)
    assert [(type(e), e.reason) for e in rejects] == [
        (OrderRejected, "duplicate client order id")
    ] * 2
    assert v.rejects == 2 and v.fills == 0
    v.on_trade(Trade(9_999, 4.5, buyer_aggressor=False), 0.2)
    (f,) = fills(v.poll(0.3))
    assert (f.price_ticks, f.qty) == (9_999, 1.0)  # the first b1: its price, size and queue
    bid(v, price_ticks=9_990, cid="b1", now=0.3)  # filled and gone: the id may be used again
    assert [type(e) for e in v.poll(0.4)] == [OrderAcked]


def test_client_ids_of_any_shape_come_back_exactly():
    """Ids are integers inside the venue: a prefix then a sequence, or a whole id when its
    tail is no canonical number. Either way the events carry the exact string sent, and ids
    that differ as strings are different orders."""
    v = venue()
    ids = ["b1", "b01", "x", "mm-X-12", "mm-X-18446744073709551616", "7"]
    for i, cid in enumerate(ids):
        bid(v, price_ticks=9_990 - i, cid=cid)
    bid(v, price_ticks=9_980, cid="b01")  # a duplicate of b01, not of b1
    events = v.poll(0.1)
    acked = [e.client_id for e in events if isinstance(e, OrderAcked)]
    assert acked == ids
    assert [(e.client_id, e.reason) for e in events if isinstance(e, OrderRejected)] == [
        ("b01", "duplicate client order id")
    ]
    assert v.open_orders("X") == set(ids)
    v.cancel("b01", 0.1)
    assert [(type(e), e.client_id) for e in v.poll(0.2)] == [(OrderCancelled, "b01")]
    assert v.open_orders("X") == set(ids) - {"b01"}


def test_resting_orders_are_bounded():
    v = venue(max_open_orders=2)
    for i, now in enumerate((0.0, 0.0, 0.001)):
        bid(v, price_ticks=9_990 + i, cid=f"b{i}", now=now)
    v.submit(OrderRequest("t", "X", Side.SELL, 10_000, 1.0, False), 0.001)  # would fill at once
    rejected = [e for e in v.poll(0.1) if isinstance(e, OrderRejected)]
    assert [(e.client_id, e.reason) for e in rejected] == [
        ("b2", "too many open orders"),
        ("t", "too many open orders"),
    ]
    assert v.open_orders("X") == {"b0", "b1"} and v.fills == 0
    v.cancel("b0", 0.1)
    bid(v, price_ticks=9_993, cid="b3", now=0.2)  # the cancel freed a place
    v.poll(0.3)
    assert v.open_orders("X") == {"b1", "b3"}


def test_max_open_orders_is_validated():
    from mmcore._core import PaperSim
    from mmcore.config import ConfigError, build

    assert PaperConfig().max_open_orders == 200
    for bad in (0, 20_000):
        with pytest.raises(ConfigError, match="max_open_orders"):
            build(PaperConfig, {"max_open_orders": bad}, "paper", env={})
    with pytest.raises(ValueError, match="max_open_orders"):
        PaperVenue(PaperConfig(max_open_orders=0), TICK)
    with pytest.raises(ValueError, match="max_open_orders"):
        PaperSim(TICK, max_open_orders=-1)


def test_an_order_crossing_our_own_resting_order_is_rejected_as_on_a_real_book():
    """Our resting orders are part of the real book: a post-only bid at our own ask would
    cross it, and a marketable one would trade with ourselves (self-trade prevention)."""
    v = venue()
    v.on_book(side((99.95, 5.0)), side((100.05, 5.0)), 0.0)  # a wide market
    v.submit(OrderRequest("a1", "X", Side.SELL, 10_002, 1.0), 0.0)
    v.poll(0.1)
    bid(v, 10_002, cid="b1", now=0.1)
    bid(v, 10_003, cid="t1", now=0.1, post_only=False)
    bid(v, 10_001, cid="b2", now=0.1)
    events = v.poll(0.2)
    rejected = {e.client_id: e.reason for e in events if isinstance(e, OrderRejected)}
    assert rejected == {"b1": "post-only order would cross", "t1": "self-trade prevented"}
    assert fills(events) == [] and v.open_orders("X") == {"a1", "b2"}


def test_one_instrument_per_venue_so_another_symbols_print_never_fills_ours():
    """An ETH print used to fill a BTC order: the venue now simulates one instrument (its first
    order's symbol) and refuses orders for another, naming the argument."""
    v = venue()
    bid(v, price_ticks=9_990)
    with pytest.raises(ValueError, match="symbol"):
        v.submit(OrderRequest("e1", "ETHUSDT", Side.BUY, 9_990, 1.0), 0.0)
    assert v.open_orders("ETHUSDT") == set() and v.sim.symbol == "X"


def test_an_order_beyond_the_visible_depth_never_fills_by_joining_an_empty_queue():
    """Priced below the deepest visible bid, nothing is known of the queue ahead: a trade at
    its price fills nothing until a book shows the level; a trade through its price does."""
    v = venue()
    bid(v, price_ticks=9_990)  # visible bids go down to 99.98
    v.poll(0.02)
    v.on_trade(Trade(9_990, 5.0, buyer_aggressor=False), 0.03)
    assert fills(v.poll(0.1)) == []
    v.on_book(side((99.91, 1.0), (99.90, 2.0)), ASKS, 0.1)  # now visible: 2.0 ahead
    v.on_trade(Trade(9_990, 2.5, buyer_aggressor=False), 0.11)
    assert [f.qty for f in fills(v.poll(0.2))] == [0.5]
    v.on_trade(Trade(9_989, 5.0, buyer_aggressor=False), 0.21)  # through our price
    assert [f.qty for f in fills(v.poll(0.3))] == [0.5]


def test_feed_latency_our_view_lags_the_venue():
    """With a 50 ms feed latency a book we see at 0.07 is the venue's at 0.02, and an order
    sent at 0.0 (at the venue at 0.01) is processed only once market data reaches 0.01."""
    v = venue(feed_latency_s=0.05)
    bid(v, price_ticks=9_999, now=0.0)
    assert v.poll(0.03) == []  # the venue's clock is at -0.02: the order has not arrived
    v.on_book(BIDS, ASKS, 0.07)  # venue time 0.02: the order arrived at 0.01
    (ack,) = v.poll(0.07)
    assert isinstance(ack, OrderAcked) and ack.ts == pytest.approx(0.015)
    # a trade we see at 0.08 happened at 0.03, through our price: it fills us then
    v.on_trade(Trade(9_998, 1.0, buyer_aggressor=False), 0.08)
    assert [f.ts for f in fills(v.poll(0.1))] == [pytest.approx(0.035)]


def test_random_latencies_are_seeded_and_deterministic():
    def acks(seed: int) -> list[float]:
        v = venue(latency_jitter_s=0.02, seed=seed)
        for i in range(5):
            bid(v, price_ticks=9_990 - i, cid=f"b{i}", now=0.0)
        return [e.ts for e in v.poll(1.0)]

    assert acks(1) == acks(1) != acks(2)
    assert all(0.015 <= ts < 0.055 for ts in acks(1))


def test_sizes_are_whole_lots_so_two_part_fills_leave_nothing_open():
    v = PaperVenue(PaperConfig(entry_latency_s=0.0, response_latency_s=0.0), TICK, lot_size=0.001)
    v.on_book(side((100.0, 0.0)), ASKS, 0.0)
    v.submit(OrderRequest("b1", "X", Side.BUY, 10_000, 129579.556), 0.0)
    v.poll(0.0)
    v.on_trade(Trade(10_000, 34024.903, buyer_aggressor=False), 0.1)
    v.on_trade(Trade(10_000, 129579.556 - 34024.903, buyer_aggressor=False), 0.2)
    got = fills(v.poll(0.3))
    assert [f.qty for f in got] == [34024.903, 95554.653]
    assert v.open_orders("X") == set()


def test_an_amend_keeps_the_queue_position_through_the_order_manager():
    """The desk amends a size down on the paper venue: the order keeps its place in the queue
    (a cancel and new order would wait behind the whole level again)."""
    from mmcore.execution import ExecutionConfig, OrderManager
    from mmcore.strategy import Quote

    v = venue()
    m = OrderManager("X", v, ExecutionConfig(tolerance_ticks=0))
    lots = round(1 / v.sim.lot_size)  # lots per unit
    m.reconcile([Quote(10_000, 2 * lots)], [], 10_000, 0.0)  # joins behind 5.0
    m.take_events(0.02)
    v.on_trade(Trade(10_000, 4.0, buyer_aggressor=False), 0.03)  # 1.0 left ahead
    m.take_events(0.03)
    m.reconcile([Quote(10_000, lots)], [], 10_000, 0.04)
    assert m.amends == 1 and m.cancels == 0 and m.placed == 1
    m.take_events(0.1)
    (order,) = m.orders.values()
    assert order.qty == 1.0 and order.status is OrderStatus.ACKED
    v.on_trade(Trade(10_000, 1.5, buyer_aggressor=False), 0.1)  # 1.0 ahead, 0.5 for us
    (f,) = m.take_events(0.2)
    assert f.qty == pytest.approx(0.5)
