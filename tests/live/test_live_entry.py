"""Order entry per venue family (``mmcore.execution.live.entry``): the implicit endpoints send
what each venue expects for a post-only and a plain limit order and a cancel by client id, ask
for the smallest answer, and the adapter acks from it with the venue's order id."""

from __future__ import annotations

import time
from typing import Any

import pytest
from tests.live.conftest import SYMBOL, live_on, spot

from mmcore.execution import OrderAcked, OrderCancelled, OrderRequest, Side
from mmcore.execution.live.entry import (
    BinanceSpotEntry,
    BinanceUsdmEntry,
    BybitEntry,
    OrderEntry,
    order_entry,
)
from mmcore.testing.fake_venue import FakeBinanceUsdm, FakeBybit


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


CASES = {
    "binance-spot": (
        spot,
        BinanceSpotEntry,
        ("POST", "/api/v3/order"),
        {"type": "LIMIT_MAKER", "newOrderRespType": "ACK", "side": "BUY"},
        {"type": "LIMIT", "timeInForce": "GTC", "newOrderRespType": "RESULT", "side": "SELL"},
        ("DELETE", "/api/v3/order", "origClientOrderId"),
    ),
    "binance-usdm": (
        usdm,
        BinanceUsdmEntry,
        ("POST", "/fapi/v1/order"),
        {"type": "LIMIT", "timeInForce": "GTX", "newOrderRespType": "ACK", "side": "BUY"},
        {"type": "LIMIT", "timeInForce": "GTC", "newOrderRespType": "ACK", "side": "SELL"},
        ("DELETE", "/fapi/v1/order", "origClientOrderId"),
    ),
    "bybit-spot": (
        lambda: bybit("spot"),
        BybitEntry,
        ("POST", "/v5/order/create"),
        {"category": "spot", "orderType": "Limit", "timeInForce": "PostOnly", "side": "Buy"},
        {"category": "spot", "orderType": "Limit", "side": "Sell"},
        ("POST", "/v5/order/cancel", "orderLinkId"),
    ),
    "bybit-linear": (
        lambda: bybit("linear"),
        BybitEntry,
        ("POST", "/v5/order/create"),
        {"category": "linear", "orderType": "Limit", "timeInForce": "PostOnly", "side": "Buy"},
        {"category": "linear", "orderType": "Limit", "side": "Sell"},
        ("POST", "/v5/order/cancel", "orderLinkId"),
    ),
}


def _sent(fake: Any, method: str, path: str) -> list[dict[str, str]]:
    return [r.params for r in fake.requests if r.method == method and r.path == path]


@pytest.mark.parametrize("venue", sorted(CASES))
async def test_entry_sends_the_venue_its_own_order_and_cancel(venue: str) -> None:
    make, entry_cls, (method, path), maker, plain, (c_method, c_path, c_key) = CASES[venue]
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
        assert cancel[c_key] == sent[0].get("newClientOrderId", sent[0].get("orderLinkId"))
        assert not live.fake.order(cancel[c_key]).is_open


async def test_an_exchange_mmcore_has_no_family_for_goes_through_ccxt_unified() -> None:
    class Okx:
        id = "okx"

    entry = order_entry(Okx(), {"symbol": "BTC/USDT", "id": "BTC-USDT", "spot": True})
    assert type(entry) is OrderEntry
