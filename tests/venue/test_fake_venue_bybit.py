"""The fake Bybit v5 venue (spot and linear), driven by ccxt 4.5.90 itself."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import ccxt
import pytest
from tests.venue.conftest import within
from websockets.asyncio.client import connect

from mmcore.testing.fake_venue import ccxt_exchange
from mmcore.testing.fake_venue.server import hmac_sha256_hex

SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"


async def place(ex, symbol: str, cid: str, side="buy", qty=0.002, price=99000.0, **params):
    return await ex.create_order(
        symbol, "limit", side, qty, price, {"postOnly": True, "clientOrderId": cid, **params}
    )


async def watching(ex, symbol: str):
    trades = asyncio.create_task(ex.watch_my_trades(symbol))
    orders = asyncio.create_task(ex.watch_orders(symbol))
    await asyncio.sleep(0.3)  # authenticated and subscribed
    return trades, orders


async def test_spot_markets_and_order_lifecycle(bybit_spot):
    venue, ex = bybit_spot
    await ex.load_markets()
    market = ex.markets[SPOT]
    assert market["precision"]["price"] == 0.01 and market["precision"]["amount"] == 0.000001
    assert market["limits"]["amount"]["min"] == 0.000048 and market["limits"]["cost"]["min"] == 1
    order = await place(ex, SPOT, "b1")
    sent = next(r for r in venue.requests if r.path == "/v5/order/create")
    assert sent.params["timeInForce"] == "PostOnly" and sent.params["orderLinkId"] == "b1"
    fetched = await ex.fetch_order(order["id"], SPOT, {"acknowledged": True})
    assert fetched["clientOrderId"] == "b1" and fetched["postOnly"]
    by_link = await ex.fetch_open_order(None, SPOT, {"orderLinkId": "b1"})
    assert by_link["id"] == order["id"]
    await ex.edit_order(order["id"], SPOT, "limit", "buy", 0.003, 98000.0)
    amended = venue.order("b1")
    assert (amended.qty, amended.price) == (Decimal("0.003"), Decimal("98000"))
    await ex.cancel_order(order["id"], SPOT)
    with pytest.raises(ccxt.OrderNotFound):
        await ex.cancel_order(order["id"], SPOT)
    with pytest.raises(ccxt.OrderNotFound):
        await ex.edit_order(order["id"], SPOT, "limit", "buy", 0.003, 97000.0)
    closed = await ex.fetch_closed_orders(SPOT)
    assert [(o["clientOrderId"], o["status"]) for o in closed] == [("b1", "canceled")]
    await place(ex, SPOT, "b2")
    await place(ex, SPOT, "b3", side="sell", price=101000.0)
    await ex.cancel_all_orders(SPOT)
    assert venue.ledger.open_orders() == []


async def test_post_only_crossing_is_accepted_then_cancelled(bybit_spot):
    venue, ex = bybit_spot
    trades, orders = await watching(ex, SPOT)
    crossing = await place(ex, SPOT, "x1", price=100000.01)
    assert crossing["id"]  # like the venue: the create succeeds...
    update = (await within(orders))[-1]
    assert update["clientOrderId"] == "x1" and update["status"] == "canceled"
    assert update["info"]["rejectReason"] == "EC_PostOnlyWillTakeLiquidity"  # ...then cancels
    venue.reject_post_only()
    await place(ex, SPOT, "x2", price=90000.0)
    assert venue.order("x2").status == "canceled" and venue.ledger.open_orders() == []
    trades.cancel()
    assert venue.ledger.balance("USDT").locked == 0


async def test_refusals_map_to_ccxt_errors(bybit_spot):
    venue, ex = bybit_spot
    await place(ex, SPOT, "d1")
    with pytest.raises(ccxt.InvalidOrder):  # 170141 duplicate orderLinkId while open
        await place(ex, SPOT, "d1", price=98000.0)
    venue.fill("d1", "0.002")
    with pytest.raises(ccxt.OrderNotFound):  # cancel of an already-filled order
        await ex.cancel_order(None, SPOT, {"orderLinkId": "d1"})
    with pytest.raises(ccxt.InsufficientFunds):
        await place(ex, SPOT, "big", qty=5.0)
    with pytest.raises(ccxt.BadRequest):  # unknown parameter
        await place(ex, SPOT, "u1", notAParam="1")
    venue.clock_offset_ms = -10_000
    with pytest.raises(ccxt.InvalidNonce):
        await ex.fetch_balance()
    venue.clock_offset_ms = 0
    wrong = ccxt_exchange(venue, secret="wrong-secret")
    try:
        with pytest.raises(ccxt.AuthenticationError):
            await wrong.fetch_balance()
    finally:
        await wrong.close()
    codes = [r.code for r in venue.requests if r.code is not None]
    assert codes == [170141, 170213, 170131, 10001, 10002, 10004]


async def test_throttle_ban_and_unanswered_order(bybit_spot):
    venue, ex = bybit_spot
    await ex.load_markets()
    venue.throttle(n_429=1, n_418=1, retry_after_s=2)
    with pytest.raises(ccxt.RateLimitExceeded, match="10006"):
        await place(ex, SPOT, "t1")
    assert ex.last_response_headers["X-Bapi-Limit-Status"] == "0"
    with pytest.raises(ccxt.RateLimitExceeded):  # the ban: HTTP 403 on everything
        await place(ex, SPOT, "t2")
    with pytest.raises(ccxt.RateLimitExceeded):
        await ex.fetch_open_orders(SPOT)
    assert venue.ledger.orders == {}
    venue.banned_until_ms = 0
    venue.hang_after_accept("/v5/order/create")
    ex.timeout = 300  # ms: the unanswered request times out quickly
    with pytest.raises(ccxt.RequestTimeout):
        await place(ex, SPOT, "t3")
    found = await ex.fetch_open_order(None, SPOT, {"orderLinkId": "t3"})
    assert found["clientOrderId"] == "t3" and found["status"] == "open"


async def test_spot_fills_on_the_private_stream(bybit_spot):
    venue, ex = bybit_spot
    await place(ex, SPOT, "f1", qty=0.003)
    trades, orders = await watching(ex, SPOT)
    subscribed = {r.params.get("args") for r in venue.requests if r.method == "subscribe"}
    assert subscribed == {"order", "execution"}
    venue.fill("f1", "0.001", maker=True)
    first = await within(trades)
    assert [t["info"]["orderLinkId"] for t in first] == ["f1"]
    assert first[-1]["amount"] == 0.001 and first[-1]["takerOrMaker"] == "maker"
    assert (await within(orders))[-1]["filled"] == 0.001
    trades, orders = await watching(ex, SPOT)
    venue.duplicate_fill_events()
    venue.fill("f1", "0.002", "98999.99", maker=False)
    await within(trades)
    await asyncio.sleep(0.1)
    executions = [json.loads(f) for f in venue.pushed if '"topic":"execution"' in f]
    assert [e["data"][0]["execQty"] for e in executions] == ["0.001", "0.002", "0.002"]
    history = await ex.fetch_my_trades(SPOT)
    assert sorted(t["amount"] for t in history) == [0.001, 0.002]
    assert venue.ledger.balance("BTC").free == Decimal("1.003") - Decimal("0.003") * Decimal(
        "0.001"
    )


async def test_linear_position_is_the_sum_of_fills(bybit_linear):
    venue, ex = bybit_linear
    await place(ex, PERP, "p1", qty=0.003)
    assert await within(ex.watch_positions([PERP])) == []  # the REST snapshot: flat
    positions = asyncio.create_task(ex.watch_positions([PERP]))
    trades, _ = await watching(ex, PERP)
    venue.fill("p1", "0.003", "99000")
    await within(trades)
    pushed = await within(positions)
    assert pushed[-1]["contracts"] == 0.003 and pushed[-1]["side"] == "long"
    await place(ex, PERP, "p2", side="sell", qty=0.001, price=101000.0, reduceOnly=True)
    venue.fill("p2", "0.001")
    (position,) = await ex.fetch_positions([PERP])
    fills = await ex.fetch_my_trades(PERP)
    signed = sum(t["amount"] * (1 if t["side"] == "buy" else -1) for t in fills)
    assert position["contracts"] == pytest.approx(signed) == pytest.approx(0.002)
    assert position["entryPrice"] == 99000.0
    sell = next(t for t in fills if t["side"] == "sell")
    assert Decimal(sell["info"]["execPnl"]) == Decimal("2.000")  # (101000-99000)*0.001
    with pytest.raises(ccxt.InvalidOrder):  # 110017 reduce-only would flip the position
        await place(ex, PERP, "p3", side="sell", qty=0.01, price=101000.0, reduceOnly=True)


async def test_linear_stream_cut_mid_fill(bybit_linear):
    venue, ex = bybit_linear
    await place(ex, PERP, "c1", qty=0.003)
    trades, orders = await watching(ex, PERP)
    venue.drop_stream_after(2)  # order + execution of the first fill, then the cut
    venue.fill("c1", "0.001")
    await within(trades)
    await within(orders)
    await asyncio.sleep(0.1)
    assert not any(c.authed for c in venue.streams)  # the private stream is gone
    venue.fill("c1", "0.001")  # while it is down: only the history has this one
    trades, _ = await watching(ex, PERP)  # ccxt connects and authenticates again
    assert [r.method for r in venue.requests].count("auth") == 2
    venue.fill("c1", "0.001")
    assert (await within(trades))[-1]["amount"] == 0.001
    assert [t["amount"] for t in await ex.fetch_my_trades(PERP)] == [0.001] * 3


async def _dcp_stream(venue):
    """A raw private stream: authenticated and subscribed to the ``dcp`` topic."""
    ws = await connect(venue.private_ws_url)
    expires = str(venue.now_ms() + 5000)
    sign = hmac_sha256_hex("fake-api-secret", f"GET/realtime{expires}")
    await ws.send(json.dumps({"op": "auth", "args": [venue.api_key, expires, sign]}))
    assert json.loads(await within(ws.recv()))["success"]
    await ws.send(json.dumps({"op": "subscribe", "args": ["dcp"], "req_id": "1"}))
    assert json.loads(await within(ws.recv()))["success"]
    return ws


async def test_disconnection_protection(bybit_linear):
    venue, ex = bybit_linear
    await ex.privatePostV5OrderDisconnectedCancelAll({"timeWindow": 3})  # 3 x 50 ms here
    with pytest.raises(ccxt.BadRequest):
        await ex.privatePostV5OrderDisconnectedCancelAll({"timeWindow": 1})
    await place(ex, PERP, "k1")
    ws = await _dcp_stream(venue)
    await ws.close()
    await asyncio.sleep(0.05)
    ws = await _dcp_stream(venue)  # back within the window: nothing cancelled
    await asyncio.sleep(0.3)
    assert venue.order("k1").is_open and venue.dcp_fired == []
    ws.transport.abort()  # the connection is lost
    await asyncio.sleep(0.3)
    assert venue.order("k1").status == "canceled" and len(venue.dcp_fired) == 1


async def test_private_stream_auth_is_checked(bybit_linear):
    venue, _ = bybit_linear
    async with connect(venue.private_ws_url) as ws:
        expires = str(venue.now_ms() + 5000)
        bad = hmac_sha256_hex("not-the-secret", f"GET/realtime{expires}")
        await ws.send(json.dumps({"op": "auth", "args": [venue.api_key, expires, bad]}))
        assert not json.loads(await within(ws.recv()))["success"]
        await ws.send(json.dumps({"op": "subscribe", "args": ["order"]}))
        assert not json.loads(await within(ws.recv()))["success"]
    venue.seed_open_order("BTCUSDT", "buy", "0.002", "98000", client_id="s1")
    venue.fill("s1", "0.002")
    assert venue.pushed == []  # nobody authenticated, nothing sent


async def test_restart_with_a_position_and_orders_not_placed_by_the_engine(bybit_linear):
    venue, ex = bybit_linear
    venue.seed_position("BTCUSDT", "-0.004", "100500")
    venue.seed_open_order("BTCUSDT", "buy", "0.002", "98000", client_id="old-1")
    (position,) = await ex.fetch_positions([PERP])
    assert position["side"] == "short" and position["contracts"] == 0.004
    assert [o["clientOrderId"] for o in await ex.fetch_open_orders(PERP)] == ["old-1"]
    balance = await ex.fetch_balance()
    assert balance["USDT"]["total"] == 10000


async def test_executions_since_a_time(bybit_linear):
    venue, ex = bybit_linear
    await place(ex, PERP, "e1", qty=0.003)
    venue.fill("e1", "0.001")
    await asyncio.sleep(0.01)
    venue.fill("e1", "0.002")
    first, second = venue.ledger.fills
    since = await ex.fetch_my_trades(PERP, since=second.time_ms)
    assert [t["amount"] for t in since] == [0.002]
    by_link = await ex.fetch_my_trades(PERP, params={"orderLinkId": "e1"})
    assert len(by_link) == 2 and first.client_id == "e1"
