"""Order entry per venue family (``mmcore.execution.live.entry``): the implicit endpoints send
what each venue expects for a post-only and a plain limit order and a cancel by client id, ask
for the smallest answer, and the adapter acks from it with the venue's order id."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from tests.live.conftest import FAST, SYMBOL, live_on, spot

from mmcore.execution import OrderAcked, OrderCancelled, OrderFilled, OrderRequest, Side
from mmcore.execution.live.config import LiveConfig
from mmcore.execution.live.entry import (
    BinanceSpotEntry,
    BinanceUsdmEntry,
    BybitEntry,
    OrderEntry,
    order_entry,
)
from mmcore.execution.live.session import LiveSession
from mmcore.testing.fake_venue import FakeBinanceUsdm, FakeBybit, ccxt_exchange


def usdm() -> FakeBinanceUsdm:
    fake = FakeBinanceUsdm()
    fake.seed_balance("USDT", "100000")
    fake.set_quote(SYMBOL, "100000", "100000.1")
    return fake


def bybit(category: str) -> FakeBybit:
    fake = FakeBybit(category)
    fake.seed_balance("USDT", "100000")
    fake.seed_balance("BTC", "1")  # a spot sell needs the coin
    fake.set_quote(SYMBOL, "100000", "100000.1")
    return fake


def _bybit_case(category: str) -> tuple[Any, ...]:
    cancel_extra = {"orderFilter": "Order"} if category == "spot" else {}
    return (
        lambda: bybit(category),
        BybitEntry,
        ("POST", "/v5/order/create"),
        {"category": category, "orderType": "Limit", "timeInForce": "PostOnly", "side": "Buy"},
        {"category": category, "orderType": "Limit", "side": "Sell"},
        ("POST", "/v5/order/cancel", "orderLinkId", cancel_extra),
    )


CASES = {
    "binance-spot": (
        spot,
        BinanceSpotEntry,
        ("POST", "/api/v3/order"),
        {"type": "LIMIT_MAKER", "newOrderRespType": "ACK", "side": "BUY"},
        {"type": "LIMIT", "timeInForce": "GTC", "newOrderRespType": "RESULT", "side": "SELL"},
        ("DELETE", "/api/v3/order", "origClientOrderId", {}),
    ),
    "binance-usdm": (
        usdm,
        BinanceUsdmEntry,
        ("POST", "/fapi/v1/order"),
        {"type": "LIMIT", "timeInForce": "GTX", "newOrderRespType": "ACK", "side": "BUY"},
        {"type": "LIMIT", "timeInForce": "GTC", "newOrderRespType": "ACK", "side": "SELL"},
        ("DELETE", "/fapi/v1/order", "origClientOrderId", {}),
    ),
    **{f"bybit-{category}": _bybit_case(category) for category in ("spot", "linear")},
}


def _sent(fake: Any, method: str, path: str) -> list[dict[str, str]]:
    return [r.params for r in fake.requests if r.method == method and r.path == path]


@pytest.mark.parametrize("venue", sorted(CASES))
async def test_entry_sends_the_venue_its_own_order_and_cancel(venue: str) -> None:
    make, entry_cls, (method, path), maker, plain, cancel_case = CASES[venue]
    c_method, c_path, c_key, c_extra = cancel_case
    market_type = "swap" if venue in ("binance-usdm", "bybit-linear") else "spot"
    async with live_on(make(), market_type=market_type) as live:
        assert type(live.venue.entry) is entry_cls
        tick = live.venue.rules.tick
        bid = round(99_000 / float(tick))
        ask = round(101_000 / float(tick))
        qty = 0.01  # above every fake market's minimum size and notional
        live.venue.submit(OrderRequest("e-1", SYMBOL, Side.BUY, bid, qty), time.monotonic())
        live.venue.submit(
            OrderRequest("e-2", SYMBOL, Side.SELL, ask, qty, post_only=False), time.monotonic()
        )
        await live.session.settle()
        events = live.venue.poll(time.monotonic())
        acks = {e.client_id: e for e in events if isinstance(e, OrderAcked)}
        assert set(acks) == {"e-1", "e-2"}, events
        sent = _sent(live.fake, method, path)
        assert len(sent) == 2
        assert maker.items() <= sent[0].items() and plain.items() <= sent[1].items()
        # the venue's order ids, as ccxt reads them back
        opens = await live.session.exchange.fetch_open_orders(live.venue.market_symbol)
        ids = {o["clientOrderId"]: o["id"] for o in opens}
        for ack, params in zip((acks["e-1"], acks["e-2"]), sent, strict=True):
            client_id = params.get("newClientOrderId") or params.get("orderLinkId")
            assert ack.venue_id == ids[client_id] != ""
        live.venue.cancel("e-1", time.monotonic())
        await live.session.settle()
        assert [e for e in live.venue.poll(time.monotonic()) if isinstance(e, OrderCancelled)]
        (cancel,) = _sent(live.fake, c_method, c_path)
        assert c_extra.items() <= cancel.items()
        assert cancel[c_key] == sent[0].get("newClientOrderId", sent[0].get("orderLinkId"))
        assert not live.fake.order(cancel[c_key]).is_open


def test_an_exchange_without_a_family_or_a_generic_venue_goes_through_ccxt_unified() -> None:
    class Okx:
        id = "okx"

    entry = order_entry(Okx(), {"symbol": "BTC/USDT", "id": "BTC-USDT", "spot": True})
    assert type(entry) is OrderEntry

    class Binance:
        id = "binance"

    spot_market = {"symbol": "BTC/USDT", "id": "BTCUSDT", "spot": True}
    assert type(order_entry(Binance(), spot_market)) is BinanceSpotEntry
    # Binance traded through the generic profile: the unified API only
    assert type(order_entry(Binance(), spot_market, generic=True)) is OrderEntry


async def test_one_account_stream_feeds_each_symbol_its_own_events() -> None:
    fake = spot()
    fake.set_quote("ETHUSDT", "3000", "3001")
    fake.seed_balance("ETH", "10")
    async with fake:
        exchange = ccxt_exchange(fake, timeout_ms=700)
        session = LiveSession(exchange, "fake", LiveConfig(**FAST))
        try:
            await session.start([SYMBOL])  # ETHUSDT is on the account, not traded here
            assert [t.get_name() for t in session._tasks if "watch" in t.get_name()].count(
                "fake:watch_orders"
            ) == 1  # one stream for the account, not one per symbol
            btc = session.venue(SYMBOL)
            btc.submit(OrderRequest("b-1", SYMBOL, Side.BUY, 9_900_000, 0.01), time.monotonic())
            await session.settle()
            fake.seed_open_order("ETHUSDT", "buy", "0.1", "2900", client_id="someone-eth")
            fake.fill("someone-eth", "0.1")
            fake.fill(btc.orders["b-1"].venue_client_id, "0.004")
            deadline = time.monotonic() + 3
            while btc.fills < 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)  # the ETH fill was pushed first: it had its chance
            fills = [e for e in btc.poll(time.monotonic()) if isinstance(e, OrderFilled)]
            assert [(f.client_id, f.qty) for f in fills] == [("b-1", 0.004)]
            assert btc.fills == 1
        finally:
            await session.close()
