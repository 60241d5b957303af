"""The generic adapter (``ccxt:<id>``): ccxt's Binance class pointed at the fake Binance spot
venue, but traded through the generic profile, so none of mmcore's Binance code runs (client
ids by the generic rule, cancels by the venue's order id, queries by scanning the unified
order lists, no usage headers, no venue error codes): submit, ack, fill via the stream, cancel,
an accepted-then-unanswered order resolved by query, restart reconciliation, and REST polling
where the venue has no private streams."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

from mmcore.execution import Order, OrderStatus, Side
from mmcore.execution.live.client_ids import VenueIds
from mmcore.execution.live.config import LiveConfig
from mmcore.execution.live.profile import resolve
from mmcore.journal import JournalState
from mmcore.live_run import describe, plan_live

from .conftest import SYMBOL, Live, live_on, spot
from .test_live_run import ENV, setup

GENERIC = resolve("ccxt:binance")
ORDER = "/api/v3/order"


def venue_fills(live: Live) -> Decimal:
    return sum((f.qty if f.side == "buy" else -f.qty for f in live.fake.ledger.fills), Decimal(0))


def position(live: Live) -> Decimal:
    return Decimal(repr(live.engine.portfolio.position(SYMBOL).qty))


def test_a_venue_is_a_preset_or_a_ccxt_exchange_and_an_unknown_one_names_the_field() -> None:
    assert GENERIC.generic and GENERIC.exchange_id == "binance"
    assert (GENERIC.deadman, GENERIC.amend, GENERIC.usage_headers) == ("none", False, False)
    assert not resolve("binance-spot").generic
    assert resolve("okx").name == "ccxt:okx"  # a bare ccxt id that is no preset
    with pytest.raises(ValueError, match=r'live\.order_venue\."x": \'ccxt:nosuch\''):
        resolve("ccxt:nosuch", 'live.order_venue."x"')
    live = LiveConfig(order_venue={"binance-spot": "ccxt:nosuch"})
    with pytest.raises(ValueError, match=r'live\.order_venue\."binance-spot"'):
        plan_live([setup()], live, testnet=True, environ=ENV)
    with pytest.raises(ValueError, match=r'live\.order_venue\."okx": no symbol trades on okx'):
        plan_live([setup()], LiveConfig(order_venue={"okx": "okx"}), testnet=True, environ=ENV)
    plan = plan_live(
        [setup()],
        LiveConfig(order_venue={"binance-spot": "ccxt:binance"}),
        testnet=True,
        environ=ENV,
    )
    assert plan.profiles["binance-spot"] == GENERIC
    assert "generic adapter" in describe(plan)
    fees = LiveConfig(spot_baseline={"BTC": 0.5}, fee_prices={"BNB": 600.0})
    text = describe(plan_live([setup()], fees, testnet=True, environ=ENV))
    assert "baseline: BTC 0.5" in text and "valued at: BNB 600" in text


async def test_submit_ack_fill_and_cancel_through_the_unified_api_only() -> None:
    async with live_on(spot(), profile=GENERIC, deadman_s=60.0) as live:
        assert live.session.deadman.kind == "none"
        cid = live.place(+1, 99_000.0, 0.003)
        await live.until(lambda: live.engine.orders.order(cid).status is OrderStatus.ACKED)
        vid = live.venue.orders[cid].venue_client_id
        assert vid.isalnum() and len(vid) <= 32 and vid != cid  # the generic id rule
        live.fake.fill(vid, "0.001")  # pushed on the stream; the trade is matched by order id
        await live.until(lambda: live.engine.fills == 1)
        assert position(live) == venue_fills(live) == Decimal("0.001")
        live.engine.orders.cancel_all(time.monotonic(), "test")
        await live.until(lambda: live.engine.orders.order(cid) is None)
        assert not live.fake.order(vid).is_open
        (cancel,) = [r for r in live.fake.requests if r.method == "DELETE" and r.path == ORDER]
        assert "orderId" in cancel.params and "origClientOrderId" not in cancel.params
        assert live.session.guard.used_weight == 0  # Binance's usage headers are not read
        assert live.count("POST", ORDER) == 1


async def test_an_unanswered_order_is_unknown_until_found_by_its_client_id() -> None:
    async with live_on(spot(), profile=GENERIC, timeout_ms=400) as live:
        live.fake.hang_after_accept(ORDER, "POST")
        cid = live.place(+1, 99_000.0, 0.002)
        await asyncio.sleep(0.5)
        assert live.venue.orders[cid].state in ("unknown", "open")
        await live.until(lambda: live.engine.orders.order(cid).status is OrderStatus.ACKED)
        assert live.count("POST", ORDER) == 1  # queried, never sent again
        assert live.count("GET", "/api/v3/openOrders") >= 2  # the generic query: open orders
        live.fake.fill(live.venue.orders[cid].venue_client_id, "0.002")
        await live.until(lambda: live.engine.fills == 1)
        assert position(live) == venue_fills(live) == Decimal("0.002")


async def test_an_unanswered_order_filled_at_once_is_found_among_the_recent_orders() -> None:
    """No stream tells (polled venue): the order is not open any more, so the query finds it
    in the order history, and its fill, polled meanwhile, waits until it is known as ours."""
    no_streams = {"watchOrders": False, "watchMyTrades": False}
    async with live_on(
        spot(), profile=GENERIC, timeout_ms=400, has=no_streams, poll_every_s=0.05
    ) as live:
        live.fake.hang_after_accept(ORDER, "POST")
        cid = live.place(+1, 99_000.0, 0.002)
        vid = live.venue.orders[cid].venue_client_id
        await asyncio.sleep(0.05)
        live.fake.fill(vid, "0.002")  # filled before its reply would have come
        await live.until(lambda: live.engine.orders.order(cid) is None)
        assert live.engine.fills == 1
        assert position(live) == venue_fills(live) == Decimal("0.002")
        assert live.count("POST", ORDER) == 1
        assert live.count("GET", "/api/v3/allOrders") >= 1  # found among the recent orders


async def test_restart_cancels_foreign_orders_and_counts_earlier_fills_once() -> None:
    fake = spot()
    fake.seed_open_order(SYMBOL, "sell", "0.001", "101000", client_id="someoneelse1")
    fake.seed_open_order(SYMBOL, "buy", "0.02", "99000", client_id="byhand1")
    fake.fill("byhand1", "0.02")
    async with live_on(fake, profile=GENERIC, spot_baseline={"BTC": 1.0}) as live:
        await live.settle(0.2)
        assert live.report.cancelled == ["someoneelse1"]
        assert not live.fake.order("someoneelse1").is_open
        assert live.engine.fills == 0
        assert live.engine.portfolio.position(SYMBOL).qty == pytest.approx(0.01998)


async def test_an_own_order_of_an_earlier_run_is_found_by_its_hashed_id_and_cancelled() -> None:
    earlier = VenueIds(GENERIC.id_rule).venue_id("mm-BTCUSDT-7")  # what that run sent
    fake = spot()
    fake.seed_open_order(SYMBOL, "buy", "0.01", "99000", client_id=earlier)
    async with live_on(fake, profile=GENERIC) as live:
        assert live.report.own_open[SYMBOL] and not live.report.cancelled  # ours: left to us
        previous = Order("mm-BTCUSDT-7", SYMBOL, Side.BUY, 9_900_000, 0.01, 0.0, 0.0,
                         status=OrderStatus.ACKED)  # fmt: skip
        state = JournalState([], [previous], fill_count=0, last_client_seq=7)
        assert live.engine.restore(state, time.monotonic()) == []
        await live.until(lambda: not live.fake.order(earlier).is_open)
        assert live.engine.orders.next_client_id() == "mm-BTCUSDT-8"


async def test_without_private_streams_orders_and_fills_are_polled() -> None:
    no_streams = {"watchOrders": False, "watchMyTrades": False}
    async with live_on(spot(), profile=GENERIC, has=no_streams, poll_every_s=0.1) as live:
        assert not live.session.exchange.clients  # no websocket opened
        cid = live.place(+1, 99_000.0, 0.003)
        await live.until(lambda: live.engine.orders.order(cid).status is OrderStatus.ACKED)
        live.fake.fill(live.venue.orders[cid].venue_client_id, "0.003")
        await live.until(lambda: live.engine.fills == 1)  # found by fetch_my_trades
        await live.until(lambda: live.engine.orders.order(cid) is None)
        assert position(live) == venue_fills(live) == Decimal("0.003")
        assert not live.session.exchange.clients


async def test_a_venue_lacking_a_required_method_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="does not implement fetchMyTrades"):
        async with live_on(spot(), profile=GENERIC, has={"fetchMyTrades": False}):
            pass


async def test_a_429_backs_off_for_its_retry_after_and_the_order_is_not_sent_twice() -> None:
    async with live_on(spot(), profile=GENERIC) as live:
        live.fake.throttle(n_429=1, retry_after_s=2.0)
        cid = live.place(+1, 99_000.0, 0.002)
        await live.until(lambda: live.engine.orders.order(cid) is None)  # refused: throttled
        guard = live.session.guard
        assert guard.throttled == 1 and guard.wait_s() > 1.0  # the venue's Retry-After
        reason, lasts_s = guard.order_refusal()
        assert reason == "rate:backoff" and 1.0 < lasts_s <= 2.0
        assert not [o for o in live.fake.ledger.orders.values() if o.client_id.isalnum()]


async def test_a_cut_stream_is_reconciled_over_rest_before_the_venue_is_ready_again() -> None:
    async with live_on(spot(), profile=GENERIC) as live:
        cid = live.place(+1, 99_000.0, 0.003)
        await live.until(lambda: live.engine.orders.order(cid).status is OrderStatus.ACKED)
        vid = live.venue.orders[cid].venue_client_id
        live.fake.drop_stream_after(1)
        live.fake.fill(vid, "0.001")  # reaches us, then the stream is cut
        await asyncio.sleep(0.05)
        live.fake.fill(vid, "0.001")  # while the stream is down: only REST can tell
        await live.until(lambda: live.session.stream_drops >= 1)
        await live.until(lambda: live.venue.ready and live.engine.fills == 2, timeout_s=8)
        assert position(live) == venue_fills(live) == Decimal("0.002")
        live.fake.fill(vid, "0.001")  # the re-subscribed stream delivers again
        await live.until(lambda: live.engine.fills == 3)
        assert position(live) == venue_fills(live) == Decimal("0.003")
