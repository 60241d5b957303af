"""The fake venue's own contract: its control API fails closed, bad input gets the venue's error
and never kills the server, the log carries timings and no credentials."""

from __future__ import annotations

import asyncio
import json
import random
from decimal import Decimal

import ccxt
import pytest
from tests.venue.conftest import within
from websockets.asyncio.client import connect

from mmcore.testing.fake_venue import (
    FakeBinanceSpot,
    FakeBinanceUsdm,
    FakeBybit,
    Reject,
    ccxt_exchange,
    point_urls,
)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda v: v.seed_balance("USDT", "nan"), "free must be finite"),
        (lambda v: v.seed_balance("USDT", "-1"), "must not be negative"),
        (lambda v: v.seed_balance("USDT", "abc"), "free must be a decimal number"),
        (lambda v: v.set_quote("BTCUSDT", "101", "100"), "bid 101 must be below ask 100"),
        (lambda v: v.set_quote("BTCUSDT", "0", "100"), "bid must be a finite number above"),
        (lambda v: v.set_quote("NOPE", "1", "2"), "unknown market 'NOPE'"),
        (lambda v: v.seed_open_order("BTCUSDT", "long", "1", "1"), "side must be 'buy'"),
        (lambda v: v.seed_open_order("BTCUSDT", "buy", "inf", "1"), "qty must be finite"),
        (lambda v: v.seed_position("BTCUSDT", "1", "100"), "not a linear market"),
    ],
)
def test_control_api_refuses_bad_values(call, message):
    venue = FakeBinanceSpot()
    with pytest.raises((ValueError, KeyError), match=message):
        call(venue)
    assert venue.ledger.balances == {} and venue.ledger.orders == {}


def test_fills_fail_closed():
    venue = FakeBinanceUsdm()
    venue.seed_balance("USDT", "1000")
    venue.seed_open_order("BTCUSDT", "buy", "0.002", "99000", client_id="o1")
    for qty, price, message in [
        ("0", None, "fill qty must be a finite number above zero"),
        ("-0.001", None, "fill qty must be a finite number above zero"),
        ("0.003", None, "outside"),
        ("0.001", "nan", "price must be finite"),
        ("0.001", "-5", "fill price must be a finite number above zero"),
    ]:
        with pytest.raises(ValueError, match=message):
            venue.fill("o1", qty, price)
    with pytest.raises(Reject, match=r"unknown order.*'nope'"):
        venue.fill("nope", "0.001")
    assert venue.ledger.fills == [] and venue.ledger.position("BTCUSDT").qty == 0
    venue.fill("o1", "0.002")
    with pytest.raises(ValueError, match="is filled, it cannot fill"):
        venue.fill("o1", "0.001")
    venue.seed_position("BTCUSDT", "-0.5", "100")
    with pytest.raises(ValueError, match="entry must be above zero"):
        venue.seed_position("BTCUSDT", "1", "0")
    assert venue.ledger.position("BTCUSDT").qty == Decimal("-0.5")


def test_point_urls_keeps_paths_and_nesting():
    urls = {
        "public": "https://api.binance.com/api/v3",
        "ws": {"ws-api": {"spot": "wss://ws-api.binance.com:443/ws-api/v3"}},
        "bybit": "https://api.{hostname}",
    }
    assert point_urls(urls, "http://h:1", "ws://h:2") == {
        "public": "http://h:1/api/v3",
        "ws": {"ws-api": {"spot": "ws://h:2/ws-api/v3"}},
        "bybit": "http://h:1",
    }


async def _raw_http(venue, request: bytes) -> bytes:
    host, port = venue.rest_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request)
    await writer.drain()
    reply = await within(reader.read(65536))
    writer.close()
    return reply


async def test_bad_input_gets_an_answer_and_the_server_lives_on():
    async with FakeBinanceSpot() as venue:
        garbage = await _raw_http(venue, b"NONSENSE\r\n\r\n")
        assert garbage.startswith(b"HTTP/1.1 400")
        ex = ccxt_exchange(venue)
        try:
            await ex.load_markets()
            with pytest.raises(Exception, match="-1100"):
                await ex.fetch_my_trades("BTC/USDT", params={"fromId": "abc"})
            assert await ex.fetch_my_trades("BTC/USDT") == []
        finally:
            await ex.close()
        async with connect(venue.ws_api_url) as ws:
            await ws.send("{not json")
            assert json.loads(await within(ws.recv()))["error"]["code"] == -1102
            await ws.send(json.dumps({"id": "7", "method": "nope", "params": {}}))
            assert json.loads(await within(ws.recv()))["status"] == 400


async def test_bybit_bad_frames_and_params():
    async with FakeBybit("linear") as venue:
        async with connect(venue.private_ws_url) as ws:
            await ws.send("[1,2")
            assert json.loads(await within(ws.recv()))["success"] is False
            await ws.send(json.dumps({"op": "ping", "req_id": "9"}))
            pong = json.loads(await within(ws.recv()))
            assert pong["op"] == "pong" and pong["req_id"] == "9"
        ex = ccxt_exchange(venue)
        try:
            with pytest.raises(Exception, match="10001"):
                await ex.fetch_my_trades("BTC/USDT:USDT", params={"startTime": "soon"})
        finally:
            await ex.close()


async def test_log_has_service_times_and_no_credentials():
    async with FakeBybit("spot") as venue:
        venue.seed_balance("USDT", "1000")
        venue.delay_replies(0.05)
        ex = ccxt_exchange(venue)
        try:
            await ex.create_order("BTC/USDT", "limit", "buy", 0.001, 90000, {"postOnly": True})
        finally:
            await ex.close()
        delayed, *rest = venue.requests
        assert delayed.service_s >= 0.05
        assert all(0 < r.service_s < 0.05 for r in rest if r.path.startswith("/v5/"))
        text = repr(venue.requests) + repr(venue)
        assert venue.api_key not in text and "fake-api-secret" not in text


async def test_every_fault_can_be_injected_and_shows():
    rng = random.Random(7)
    async with FakeBinanceUsdm() as venue:
        venue.seed_balance("USDT", "10000")
        ex = ccxt_exchange(venue, timeout_ms=400)
        try:
            await ex.load_markets()
            venue.inject_fault("throttle")
            with pytest.raises(ccxt.DDoSProtection, match="429"):
                await ex.fetch_open_orders("BTC/USDT:USDT")
            venue.inject_fault("unanswered_order")
            with pytest.raises(ccxt.RequestTimeout):
                await ex.create_order("BTC/USDT:USDT", "limit", "buy", 0.002, 90000.0)
            assert venue.requests[-1].status == -1 and len(venue.ledger.orders) == 1
            venue.inject_fault("slow_reply", rng)
            await ex.fetch_open_orders("BTC/USDT:USDT")
            assert venue.requests[-1].service_s >= 0.05
            venue.inject_fault("post_only_reject")
            with pytest.raises(ccxt.OrderNotFillable):
                await ex.create_order(
                    "BTC/USDT:USDT", "limit", "buy", 0.002, 90000.0, {"postOnly": True}
                )
            venue.inject_fault("clock_jump", rng)
            assert abs(venue.clock_offset_ms) == 3000
            with pytest.raises(ccxt.InvalidNonce):
                await ex.fetch_open_orders("BTC/USDT:USDT")
        finally:
            await ex.close()
        venue.inject_fault("duplicate_fill")
        venue.inject_fault("stream_cut", rng)
        assert venue._duplicate_fills == 1 and venue._drop_after in (1, 2, 3)
        with pytest.raises(ValueError, match="unknown fault 'meteor'"):
            venue.inject_fault("meteor")
    drawn = {FakeBybit("spot").inject_random_fault(random.Random(s)) for s in range(40)}
    assert drawn == set(FakeBybit.FAULTS)
