"""Feed configuration, venue wire rules and reconnect backoff."""

from __future__ import annotations

import json

import pytest

from mmcore.config import ConfigError
from mmcore.feeds import load_feed_config, make_protocol


def test_defaults_are_production_and_testnet_is_a_preset() -> None:
    cfg = load_feed_config({"venue": "binance-spot", "symbols": ["BTCUSDT"]}, env={})
    assert cfg.endpoints == ("wss://stream.binance.com:9443", "https://api.binance.com")
    test = load_feed_config(
        {"venue": "bybit-linear", "symbols": ["BTCUSDT"], "environment": "testnet"}, env={}
    )
    assert test.endpoints[0] == "wss://stream-testnet.bybit.com/v5/public/linear"


def test_environment_overrides_the_file() -> None:
    env = {"MMCORE_FEEDS_WS_URL": "ws://127.0.0.1:9/", "MMCORE_FEEDS_SYMBOLS": "BTC-USDT,ETH-USDT"}
    cfg = load_feed_config({"venue": "okx", "symbols": ["XRP-USDT"]}, env=env)
    assert cfg.symbols == ("BTC-USDT", "ETH-USDT")
    assert cfg.endpoints[0] == "ws://127.0.0.1:9"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"venue": "kraken", "symbols": ["X"]}, "feeds.venue"),
        ({"venue": "okx", "symbols": []}, "feeds.symbols"),
        ({"venue": "okx", "symbols": ["BTC-USDT", "BTC-USDT"]}, "feeds.symbols"),
        ({"venue": "okx", "symbols": ["BTC/USDT"]}, "feeds.symbols[0]"),
        ({"venue": "okx", "symbols": ["A"], "ws_url": "http://x"}, "feeds.ws_url"),
        ({"venue": "okx", "symbols": ["A"], "rest_url": "ftp://x"}, "feeds.rest_url"),
        ({"venue": "okx", "symbols": ["A"], "stale_timeout_s": 0}, "feeds.stale_timeout_s"),
        ({"venue": "bybit-spot", "symbols": ["A"], "book_depth": 7}, "feeds.book_depth"),
        ({"venue": "okx", "symbols": ["A"], "backoff_max_s": 0.1}, "feeds.backoff_max_s"),
        ({"venue": "okx", "symbols": ["A"], "colour": "red"}, "feeds.colour"),
    ],
)
def test_bad_config_names_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_feed_config(data, env={})
    assert info.value.path == field


def test_binance_streams_and_snapshot_weights() -> None:
    spot = make_protocol("binance-spot", ("BTCUSDT", "ETHUSDT"), snapshot_limit=1000)
    url = spot.stream_url("wss://h")
    assert url == (
        "wss://h/stream?streams=btcusdt@depth@100ms/btcusdt@trade/ethusdt@depth@100ms/ethusdt@trade"
    )
    assert spot.snapshot_request("BTCUSDT").weight == 50
    assert spot.snapshot_request("BTCUSDT").path == "/api/v3/depth"
    futures = make_protocol("binance-usdm", ("BTCUSDT",), snapshot_limit=1000)
    assert futures.snapshot_request("BTCUSDT").path == "/fapi/v1/depth"
    assert futures.snapshot_request("BTCUSDT").weight == 20
    assert spot.is_shutdown(b'{"stream":"!serverShutdown","data":{"e":"serverShutdown"}}')


def test_bybit_subscribes_at_most_ten_topics_per_request_and_resubscribes() -> None:
    symbols = tuple(f"S{i}USDT" for i in range(7))
    bybit = make_protocol("bybit-spot", symbols, book_depth=50)
    requests = [json.loads(f) for f in bybit.subscribe_frames()]
    assert [len(r["args"]) for r in requests] == [10, 4]
    assert requests[0]["args"][:2] == ["orderbook.50.S0USDT", "publicTrade.S0USDT"]
    unsub, sub = (json.loads(f) for f in bybit.resubscribe_frames("S3USDT"))
    assert (unsub["op"], sub["op"]) == ("unsubscribe", "subscribe")
    assert unsub["args"] == sub["args"] == ["orderbook.50.S3USDT"]


def test_okx_subscribe_frames() -> None:
    okx = make_protocol("okx", ("BTC-USDT",))
    (sub,) = (json.loads(f) for f in okx.subscribe_frames())
    assert sub == {
        "op": "subscribe",
        "args": [
            {"channel": "books", "instId": "BTC-USDT"},
            {"channel": "trades", "instId": "BTC-USDT"},
        ],
    }
    assert okx.is_control(b"pong")
    with pytest.raises(ValueError, match="unknown feed venue"):
        make_protocol("kraken", ("X",))
