"""The fake Binance USD-M venue, driven by ccxt 4.5.90 itself (REST and ``ccxt.pro`` streams)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import ccxt
import pytest
from tests.venue.conftest import within
from websockets.asyncio.client import connect

SYMBOL = "BTC/USDT:USDT"


async def place(ex, cid: str, side: str = "buy", qty: float = 0.002, price: float = 99000.0, **p):
    return await ex.create_order(
        SYMBOL, "limit", side, qty, price, {"postOnly": True, "clientOrderId": cid, **p}
    )


async def watching(ex):
    trades = asyncio.create_task(ex.watch_my_trades(SYMBOL))
    orders = asyncio.create_task(ex.watch_orders(SYMBOL))
    await asyncio.sleep(0.3)  # listenKey created, private stream connected
    return trades, orders


async def test_markets_and_post_only_gtx(usdm):
    venue, ex = usdm
    await ex.load_markets()
    market = ex.markets[SYMBOL]
    assert market["linear"] and market["swap"]
    assert market["precision"]["price"] == 0.1 and market["precision"]["amount"] == 0.001
    assert market["limits"]["cost"]["min"] == 100
    order = await place(ex, "g1")
    sent = next(r for r in venue.requests if r.path == "/fapi/v1/order" and r.method == "POST")
    assert sent.params["timeInForce"] == "GTX" and sent.params["type"] == "LIMIT"
    assert order["postOnly"] and order["clientOrderId"] == "g1"
    assert ex.last_response_headers["X-MBX-ORDER-COUNT-10S"] == "1"
    assert ex.last_response_headers["X-MBX-USED-WEIGHT-1M"].isdigit()
    with pytest.raises(ccxt.OrderNotFillable):  # -5022, as on fapi.binance.com
        await place(ex, "g2", price=100000.1)
    with pytest.raises(ccxt.OrderNotFillable):
        await place(ex, "g3", side="sell", price=100000.0)
    venue.reject_post_only()
    with pytest.raises(ccxt.OrderNotFillable):
        await place(ex, "g4", price=90000.0)
    assert [o.client_id for o in venue.ledger.orders.values()] == ["g1"]


async def test_modify_cancel_and_lookups(usdm):
    venue, ex = usdm
    order = await place(ex, "m1")
    edited = await ex.edit_order(order["id"], SYMBOL, "limit", "buy", 0.003, 98000.0)
    assert edited["price"] == 98000.0 and edited["amount"] == 0.003
    assert venue.order("m1").price == Decimal("98000")
    with pytest.raises(ccxt.OrderNotFillable):  # a modify that would cross is refused too
        await ex.edit_order(order["id"], SYMBOL, "limit", "buy", 0.003, 100000.1)
    fetched = await ex.fetch_order(None, SYMBOL, {"origClientOrderId": "m1"})
    assert fetched["id"] == order["id"] and fetched["price"] == 98000.0
    with pytest.raises(ccxt.InvalidOrder):  # -4116 ClientOrderId is duplicated
        await place(ex, "m1", price=97000.0)
    await ex.cancel_order(order["id"], SYMBOL)
    with pytest.raises(ccxt.OrderNotFound):
        await ex.cancel_order(order["id"], SYMBOL)
    with pytest.raises(ccxt.OrderNotFound):
        await ex.fetch_order(None, SYMBOL, {"origClientOrderId": "nope"})
    await place(ex, "m2")
    await place(ex, "m3", side="sell", price=101000.0)
    await ex.cancel_all_orders(SYMBOL)
    assert venue.ledger.open_orders() == [] and await ex.fetch_open_orders(SYMBOL) == []


async def test_position_is_the_sum_of_fills_and_streams_report_them(usdm):
    venue, ex = usdm
    await place(ex, "p1", qty=0.003)
    trades, orders = await watching(ex)
    venue.fill("p1", "0.001", "99000")
    assert (await within(trades))[-1]["amount"] == 0.001
    assert (await within(orders))[-1]["filled"] == 0.001
    trades, orders = await watching(ex)
    venue.fill("p1", "0.002", "98990", maker=False)
    assert (await within(trades))[-1]["takerOrMaker"] == "taker"
    assert (await within(orders))[-1]["status"] == "closed"
    await place(ex, "p2", side="sell", qty=0.001, price=101000.0)
    venue.fill("p2", "0.001")
    (position,) = [p for p in await ex.fetch_positions([SYMBOL]) if p["contracts"]]
    fills = await ex.fetch_my_trades(SYMBOL)
    signed = sum(t["amount"] * (1 if t["side"] == "buy" else -1) for t in fills)
    assert position["side"] == "long" and position["contracts"] == pytest.approx(signed)
    assert position["contracts"] == pytest.approx(0.002)
    # realised on the 0.001 sold at 101000 against the average entry of the buys
    entry = (Decimal("0.001") * 99000 + Decimal("0.002") * Decimal("98990")) / Decimal("0.003")
    assert Decimal(fills[-1]["info"]["realizedPnl"]) == pytest.approx(
        (Decimal(101000) - entry) * Decimal("0.001")
    )


async def test_countdown_cancel_all_fires_unless_refreshed(usdm):
    venue, ex = usdm
    await place(ex, "c1")
    await ex.fapiPrivatePostCountdownCancelAll({"symbol": "BTCUSDT", "countdownTime": 300})
    await asyncio.sleep(0.2)
    await ex.fapiPrivatePostCountdownCancelAll({"symbol": "BTCUSDT", "countdownTime": 300})
    await asyncio.sleep(0.2)
    assert venue.order("c1").is_open  # refreshed in time
    await asyncio.sleep(0.25)
    assert venue.order("c1").status == "canceled"
    assert [s for _, s in venue.countdown_fired] == ["BTCUSDT"]
    await place(ex, "c2")
    await ex.fapiPrivatePostCountdownCancelAll({"symbol": "BTCUSDT", "countdownTime": 200})
    await ex.fapiPrivatePostCountdownCancelAll({"symbol": "BTCUSDT", "countdownTime": 0})
    await asyncio.sleep(0.3)
    assert venue.order("c2").is_open  # 0 disarms


async def test_stream_cut_mid_fill_then_reconnect_with_the_same_listen_key(usdm):
    venue, ex = usdm
    await place(ex, "r1", qty=0.003)
    trades, orders = await watching(ex)
    venue.drop_stream_after(2)  # ORDER_TRADE_UPDATE and ACCOUNT_UPDATE of the first fill
    venue.fill("r1", "0.001")
    await within(trades)
    await within(orders)
    with pytest.raises(ccxt.NetworkError):
        await within(ex.watch_my_trades(SYMBOL))
    venue.fill("r1", "0.001")  # missed by the stream, in the history
    assert [t["amount"] for t in await ex.fetch_my_trades(SYMBOL)] == [0.001, 0.001]
    trades, _ = await watching(ex)
    venue.fill("r1", "0.001")
    assert (await within(trades))[-1]["amount"] == 0.001


async def test_listen_key_paths_and_refusal(usdm):
    venue, ex = usdm
    key = (await ex.fapiPrivatePostListenKey())["listenKey"]
    await place(ex, "k1")
    async with connect(f"{venue.ws_url}/ws/{key}") as ws:
        await asyncio.sleep(0.05)
        venue.fill("k1", "0.001")
        event = json.loads(await within(ws.recv()))
        assert event["e"] == "ORDER_TRADE_UPDATE" and event["o"]["x"] == "TRADE"
        assert event["o"]["c"] == "k1" and event["o"]["l"] == "0.001"
    async with connect(f"{venue.ws_url}/ws/not-a-key") as ws:
        with pytest.raises(Exception, match="invalid listenKey"):
            await within(ws.recv())


async def test_restart_with_a_position_and_orders_not_placed_by_the_engine(usdm):
    venue, ex = usdm
    venue.seed_position("BTCUSDT", "-0.005", "101000")
    venue.seed_open_order("BTCUSDT", "buy", "0.002", "98000", client_id="old-9")
    (position,) = [p for p in await ex.fetch_positions([SYMBOL]) if p["contracts"]]
    assert position["side"] == "short" and position["contracts"] == 0.005
    assert position["entryPrice"] == 101000.0
    assert [o["clientOrderId"] for o in await ex.fetch_open_orders(SYMBOL)] == ["old-9"]
    with pytest.raises(ccxt.InvalidOrder):  # reduce-only that would grow the short
        await place(ex, "ro", side="sell", price=101000.0, reduceOnly=True)
    assert (await place(ex, "ro2", qty=0.005, price=98000.0, reduceOnly=True))["reduceOnly"]


async def test_clock_skew_throttle_and_signature(usdm):
    venue, ex = usdm
    await ex.load_markets()
    venue.clock_offset_ms = -5_000
    with pytest.raises(ccxt.InvalidNonce):
        await place(ex, "t1")
    venue.clock_offset_ms = 0
    venue.throttle(n_429=1, n_418=1, retry_after_s=2)
    # ccxt 4.5.90 raises DDoSProtection for both statuses, before it reads the body's -1003
    with pytest.raises(ccxt.DDoSProtection, match="429"):
        await place(ex, "t2")
    with pytest.raises(ccxt.DDoSProtection, match="418"):
        await place(ex, "t3")
    assert venue.banned and venue.ledger.orders == {}
    venue.banned_until_ms = 0
    venue.hang_after_accept("/fapi/v1/order")
    ex.timeout = 300  # ms: the unanswered request times out quickly
    with pytest.raises(ccxt.RequestTimeout):
        await place(ex, "t4")
    assert (await ex.fetch_order(None, SYMBOL, {"origClientOrderId": "t4"}))["status"] == "open"


async def test_listen_key_expiry(usdm):
    venue, ex = usdm
    await place(ex, "e1", qty=0.003)
    trades, _ = await watching(ex)
    assert venue.expire_listen_keys() == 1
    await asyncio.sleep(0.1)
    assert not venue.streams  # the stream was closed after listenKeyExpired
    with pytest.raises(ccxt.AuthenticationError, match="-1125"):  # keep-alive of a dead key
        await ex.fapiPrivatePutListenKey()
    venue.fill("e1", "0.001")  # missed by every stream, in the history
    assert [t["amount"] for t in await ex.fetch_my_trades(SYMBOL)] == [0.001]
    trades.cancel()
