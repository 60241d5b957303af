"""The fake Binance spot venue, driven by ccxt 4.5.90 itself (REST and ``ccxt.pro`` streams)."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal

import ccxt
import pytest
from tests.venue.conftest import within

from mmcore.testing.fake_venue import FakeBinanceSpot, ccxt_exchange

POST_ONLY = {"postOnly": True}


async def place(ex, cid: str, side: str = "buy", qty: float = 0.001, price: float = 99000.0):
    return await ex.create_order(
        "BTC/USDT", "limit", side, qty, price, {**POST_ONLY, "clientOrderId": cid}
    )


async def watching(ex, symbol: str = "BTC/USDT"):
    """Start watching my trades and orders; return the two pending watches once subscribed."""
    trades = asyncio.create_task(ex.watch_my_trades(symbol))
    orders = asyncio.create_task(ex.watch_orders(symbol))
    await asyncio.sleep(0.2)  # the private stream subscription is acknowledged
    return trades, orders


async def test_markets_carry_the_filters(spot):
    _, ex = spot
    await ex.load_markets()
    market = ex.markets["BTC/USDT"]
    assert market["precision"]["price"] == 0.01
    assert market["precision"]["amount"] == 0.00001
    assert market["limits"]["cost"]["min"] == 5
    assert market["limits"]["amount"]["min"] == 0.00001
    assert set(ex.markets) == {"BTC/USDT", "ETH/USDT"}
    server_time = await ex.fetch_time()
    assert abs(server_time - time.time() * 1000) < 2000


async def test_post_only_order_lifecycle(spot):
    venue, ex = spot
    order = await place(ex, "mm-1")
    assert order["clientOrderId"] == "mm-1" and order["status"] == "open"
    sent = next(r for r in venue.requests if r.path == "/api/v3/order" and r.method == "POST")
    assert sent.params["type"] == "LIMIT_MAKER" and "timeInForce" not in sent.params
    assert venue.order("mm-1").is_open
    assert Decimal(venue.ledger.balance("USDT").locked) == Decimal("99.000")
    fetched = await ex.fetch_order(None, "BTC/USDT", {"origClientOrderId": "mm-1"})
    assert fetched["id"] == order["id"] and fetched["amount"] == 0.001
    assert [o["clientOrderId"] for o in await ex.fetch_open_orders("BTC/USDT")] == ["mm-1"]
    canceled = await ex.cancel_order(order["id"], "BTC/USDT")
    assert canceled["status"] == "canceled"
    # like the venue, the cancel reply's clientOrderId is the cancel's; the order's is orig…
    assert canceled["info"]["origClientOrderId"] == "mm-1"
    assert venue.ledger.balance("USDT").locked == 0
    assert await ex.fetch_open_orders("BTC/USDT") == []


async def test_cancel_all_and_cancel_unknown(spot):
    venue, ex = spot
    await place(ex, "a1", price=99000)
    await place(ex, "a2", side="sell", price=101000)
    canceled = await ex.cancel_all_orders("BTC/USDT")
    assert sorted(o["info"]["origClientOrderId"] for o in canceled) == ["a1", "a2"]
    assert venue.ledger.open_orders() == []
    with pytest.raises(ccxt.OrderNotFound):
        await ex.cancel_order("424242", "BTC/USDT")
    with pytest.raises(ccxt.OrderNotFound):
        await ex.fetch_order(None, "BTC/USDT", {"origClientOrderId": "never-sent"})


async def test_cancel_of_a_filled_order_is_order_not_found(spot):
    venue, ex = spot
    order = await place(ex, "f1")
    venue.fill("f1", "0.001")
    with pytest.raises(ccxt.OrderNotFound):
        await ex.cancel_order(order["id"], "BTC/USDT")
    assert (await ex.fetch_order(order["id"], "BTC/USDT"))["status"] == "closed"


async def test_post_only_that_would_cross_is_refused(spot):
    venue, ex = spot
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        await place(ex, "x1", price=100001.0)
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        await place(ex, "x2", side="sell", price=100000.0)
    venue.reject_post_only()
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        await place(ex, "x3", price=90000.0)
    assert venue.ledger.orders == {}
    assert (await place(ex, "x4", price=90000.0))["status"] == "open"


async def test_duplicate_open_client_id_refused_and_filters_enforced(spot):
    venue, ex = spot
    await place(ex, "dup")
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        await place(ex, "dup", price=98000)
    assert len(venue.ledger.orders) == 1
    with pytest.raises(ccxt.BadRequest, match="NOTIONAL"):
        await ex.create_order("BTC/USDT", "limit", "buy", 0.00001, 90000, POST_ONLY)
    with pytest.raises(ccxt.InsufficientFunds):
        await ex.create_order("BTC/USDT", "limit", "buy", 1, 90000, POST_ONLY)


async def test_signature_key_clock_and_params_are_checked(spot):
    venue, ex = spot
    await ex.load_markets()
    bad_secret = ccxt_exchange(venue, secret="not-the-secret")
    bad_key = ccxt_exchange(venue, apiKey="not-the-key")
    try:
        with pytest.raises(ccxt.AuthenticationError, match="Signature"):
            await bad_secret.fetch_balance()
        with pytest.raises(ccxt.AuthenticationError, match="Invalid API-key"):
            await bad_key.fetch_balance()
    finally:
        await bad_secret.close()
        await bad_key.close()
    venue.clock_offset_ms = -15_000  # our clock runs ahead of the venue's by more than 1 s
    with pytest.raises(ccxt.InvalidNonce):
        await ex.fetch_balance()
    venue.clock_offset_ms = 11_000  # the request is older than ccxt's recvWindow (10 s)
    with pytest.raises(ccxt.InvalidNonce):
        await ex.fetch_balance()
    venue.clock_offset_ms = 0
    with pytest.raises(ccxt.BadRequest, match="-1104"):
        await ex.fetch_balance({"notAParam": "1"})
    codes = [r.code for r in venue.requests if r.path == "/api/v3/account"]
    assert codes == [-1022, -2015, -1021, -1021, -1104]
    assert ex.last_response_headers["X-MBX-USED-WEIGHT-1M"].isdigit()


async def test_usage_headers_count_weight_and_orders(spot):
    venue, ex = spot
    await place(ex, "w1")
    headers = ex.last_response_headers
    assert headers["X-MBX-ORDER-COUNT-10S"] == "1" and headers["X-MBX-ORDER-COUNT-1D"] == "1"
    await place(ex, "w2", price=98000)
    assert ex.last_response_headers["X-MBX-ORDER-COUNT-10S"] == "2"
    before = int(ex.last_response_headers["X-MBX-USED-WEIGHT-1M"])
    await ex.fetch_balance()
    assert int(ex.last_response_headers["X-MBX-USED-WEIGHT-1M"]) == before + 20
    assert venue.used_weight() == before + 20


async def test_429_then_418_ban(spot):
    venue, ex = spot
    await ex.load_markets()
    venue.throttle(n_429=1, n_418=1, retry_after_s=1.0)
    with pytest.raises(ccxt.DDoSProtection, match="429"):
        await ex.fetch_balance()
    assert ex.last_response_headers["Retry-After"] == "1"
    with pytest.raises(ccxt.DDoSProtection, match="418"):
        await place(ex, "b1")
    assert venue.banned
    with pytest.raises(ccxt.DDoSProtection, match="418"):
        await ex.fetch_open_orders("BTC/USDT")
    assert venue.ledger.orders == {}  # nothing was carried out while throttled
    assert [r.status for r in venue.requests[-3:]] == [429, 418, 418]
    venue.banned_until_ms = 0
    assert await ex.fetch_open_orders("BTC/USDT") == []


async def test_order_accepted_but_never_answered_is_found_by_client_id(spot):
    venue, ex = spot
    await ex.load_markets()
    venue.hang_after_accept("/api/v3/order", "POST")
    ex.timeout = 300  # ms: the unanswered request times out quickly
    with pytest.raises(ccxt.RequestTimeout):
        await place(ex, "lost-1")
    assert venue.requests[-1].status == -1
    found = await ex.fetch_order(None, "BTC/USDT", {"origClientOrderId": "lost-1"})
    assert found["status"] == "open" and found["clientOrderId"] == "lost-1"


async def test_latency_is_added_to_replies(spot):
    venue, ex = spot
    await ex.load_markets()
    venue.delay_replies(0.3)
    started = time.perf_counter()
    await ex.fetch_open_orders("BTC/USDT")
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    await ex.fetch_open_orders("BTC/USDT")
    assert time.perf_counter() - started < 0.3


async def test_streams_report_partial_and_full_fills(spot):
    venue, ex = spot
    order = await place(ex, "s1")
    trades, orders = await watching(ex)
    assert any(r.method == "userDataStream.subscribe.signature" for r in venue.requests)
    venue.fill("s1", "0.0004", "99000", maker=True)
    first = await within(trades)
    assert [(t["order"], t["amount"], t["takerOrMaker"]) for t in first] == [
        (order["id"], 0.0004, "maker")
    ]
    partial = await within(orders)
    assert partial[-1]["filled"] == 0.0004 and partial[-1]["status"] == "open"
    trades, orders = await watching(ex)
    venue.fill("s1", "0.0006", "98999.5")
    second = await within(trades)
    assert second[-1]["amount"] == 0.0006 and second[-1]["price"] == 98999.5
    final = await within(orders)
    assert final[-1]["status"] == "closed" and final[-1]["filled"] == 0.001
    rest = await ex.fetch_my_trades("BTC/USDT")
    assert [t["amount"] for t in rest] == [0.0004, 0.0006]
    assert [(t["fee"]["currency"], t["fee"]["cost"]) for t in rest] == [
        ("BTC", 0.0000004),
        ("BTC", 0.0000006),
    ]
    # a buy pays its 0.1% fee in the base asset it receives
    btc = venue.ledger.balance("BTC")
    assert btc.free == Decimal("1.001") * 1 - Decimal("0.001") * Decimal("0.001")
    # the buy locked 99 USDT at 99000; the fills cost 39.6 + 59.3997 (0.0003 price improvement)
    usdt = venue.ledger.balance("USDT")
    assert usdt.locked == 0
    assert usdt.free == Decimal("10000") - Decimal("39.6") - Decimal("59.3997")


async def test_a_fill_reported_twice(spot):
    venue, ex = spot
    await place(ex, "d1")
    trades = asyncio.create_task(ex.watch_my_trades("BTC/USDT", params={}))
    await asyncio.sleep(0.2)
    venue.duplicate_fill_events()
    venue.fill("d1", "0.0005")
    await within(trades)
    await asyncio.sleep(0.1)
    # the stream carried the same trade twice (ccxt's cache keeps it once, by trade id); the
    # venue's history has it once
    events = [json.loads(frame)["event"] for frame in venue.pushed]
    reports = [e for e in events if e["e"] == "executionReport" and e["x"] == "TRADE"]
    assert [r["t"] for r in reports] == [venue.ledger.fills[0].trade_id] * 2
    assert [t["id"] for t in ex.myTrades] == [str(venue.ledger.fills[0].trade_id)]
    assert len(await ex.fetch_my_trades("BTC/USDT")) == 1


async def test_private_stream_dropped_mid_fill(spot):
    venue, ex = spot
    await place(ex, "m1")
    trades = asyncio.create_task(ex.watch_my_trades("BTC/USDT"))
    await asyncio.sleep(0.2)
    venue.drop_stream_after(1)  # the first fill's executionReport goes out, then the cut
    venue.fill("m1", "0.0004")
    await within(trades)
    with pytest.raises(ccxt.NetworkError):
        await within(ex.watch_my_trades("BTC/USDT"))
    venue.fill("m1", "0.0006")  # happens while the stream is down
    rest = await ex.fetch_my_trades("BTC/USDT")
    assert [t["amount"] for t in rest] == [0.0004, 0.0006]


async def test_restart_with_orders_and_balances_the_engine_did_not_place(spot):
    venue, ex = spot
    venue.seed_open_order("BTCUSDT", "sell", "0.01", "105000", client_id="old-1")
    venue.seed_open_order("BTCUSDT", "buy", "0.01", "95000")
    opened = await ex.fetch_open_orders("BTC/USDT")
    assert [o["side"] for o in opened] == ["sell", "buy"]
    balance = await ex.fetch_balance()
    assert balance["BTC"]["used"] == 0.01 and balance["USDT"]["used"] == 950.0


async def test_ws_api_subscribe_checks_signature_and_clock(spot):
    venue, _ = spot
    # ccxt 4.5.90 surfaces a refused userDataStream.subscribe as KeyError('spot') (§6)
    wrong = ccxt_exchange(venue, secret="not-the-secret")
    try:
        with pytest.raises(KeyError, match="spot"):
            await within(wrong.watch_orders("BTC/USDT"))
    finally:
        await wrong.close()
    venue.clock_offset_ms = -20_000
    skewed = ccxt_exchange(venue)
    try:
        with pytest.raises(KeyError, match="spot"):
            await within(skewed.watch_orders("BTC/USDT"))
    finally:
        await skewed.close()
    refused = [r for r in venue.requests if r.method == "userDataStream.subscribe.signature"]
    assert [r.code for r in refused] == [-1022, -1021]
    assert not any(c.topics for c in venue.streams)


async def test_no_secret_in_the_request_log(spot):
    venue, ex = spot
    await place(ex, "sec-1")
    watch = asyncio.create_task(ex.watch_orders("BTC/USDT"))
    await asyncio.sleep(0.2)
    watch.cancel()
    text = repr(venue.requests) + repr(venue)
    assert venue.api_key not in text and "fake-api-secret" not in text
    assert all("signature" not in r.params for r in venue.requests)


def test_spot_has_no_amend_route():
    assert ("PUT", "order") not in FakeBinanceSpot.routes


async def test_my_trades_since_an_id_or_a_time(spot):
    venue, ex = spot
    await place(ex, "h1", qty=0.003)
    venue.fill("h1", "0.001")
    await asyncio.sleep(0.01)
    venue.fill("h1", "0.001")
    venue.fill("h1", "0.001")
    first, second, third = venue.ledger.fills
    after_id = await ex.fetch_my_trades("BTC/USDT", params={"fromId": second.trade_id})
    assert [t["id"] for t in after_id] == [str(second.trade_id), str(third.trade_id)]
    since = await ex.fetch_my_trades("BTC/USDT", since=second.time_ms)
    assert [t["id"] for t in since] == [str(second.trade_id), str(third.trade_id)]
    of_order = await ex.fetch_my_trades("BTC/USDT", params={"orderId": first.order_id})
    assert len(of_order) == 3


async def test_published_limits_are_enforced(spot):
    venue, ex = spot
    venue.order_limit_10s = 2
    info = await ex.publicGetExchangeInfo()
    orders = [r for r in info["rateLimits"] if r["rateLimitType"] == "ORDERS"]
    assert orders[0]["limit"] == 2
    await ex.load_markets()
    await place(ex, "l1")
    await place(ex, "l2", price=98000)
    with pytest.raises(ccxt.DDoSProtection, match="-1015"):
        await place(ex, "l3", price=97000)
    assert ex.last_response_headers["X-MBX-ORDER-COUNT-10S"] == "3"
    assert [o.client_id for o in venue.ledger.orders.values()] == ["l1", "l2"]
    venue.weight_limit_1m = venue.used_weight() + 6
    await ex.fetch_open_orders("BTC/USDT")  # weight 6: exactly at the limit
    with pytest.raises(ccxt.DDoSProtection, match="-1003"):
        await ex.fetch_open_orders("BTC/USDT")


async def test_user_stream_terminated_by_the_venue(spot):
    venue, ex = spot
    await place(ex, "z1")
    stale, _ = await watching(ex)
    assert venue.terminate_user_streams() == 1
    venue.fill("z1", "0.0001")  # nobody is subscribed any more: nothing pushed
    await asyncio.sleep(0.1)
    assert not stale.done()  # ccxt 4.5.90: pending watches stay silent, they do not fail
    assert not any('"x":"TRADE"' in frame for frame in venue.pushed)
    trades, _ = await watching(ex)  # a new watch subscribes again
    subscribes = [r for r in venue.requests if r.method == "userDataStream.subscribe.signature"]
    assert len(subscribes) == 2
    venue.fill("z1", "0.0002")
    assert (await within(trades))[-1]["amount"] == 0.0002
    stale.cancel()
