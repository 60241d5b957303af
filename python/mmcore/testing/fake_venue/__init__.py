"""A local fake of Binance spot, Binance USD-M and Bybit v5 private APIs for live-trading tests.

Real HTTP and websockets on loopback, speaking the venues' REST and private-stream formats as
ccxt 4.5.90 calls them (docs/exchange-protocols.md §6): signed requests are checked (key,
HMAC-SHA256 signature, timestamp vs ``recvWindow``), unknown parameters refused, and fills are
scripted by the test (:meth:`FakeVenue.fill`), no matching engine. Faults: throttling (429, then
a 418 ban), accepted-but-unanswered requests, clock offset, dropped and duplicated stream events,
forced post-only rejects, reply latency. :func:`ccxt_exchange` builds a ccxt exchange pointed at
a running fake; :class:`FakeVenueProcess` serves one from a child process (benchmarks).

Example (inside a test's event loop)::

    async with FakeBinanceSpot() as venue:
        venue.seed_balance("USDT", "10000")
        venue.set_quote("BTCUSDT", "100000", "100001")   # only for the post-only cross check
        exchange = ccxt_exchange(venue)                  # ccxt.pro binance, test keys
        order = await exchange.create_order(
            "BTC/USDT", "limit", "buy", 0.001, 99000, {"postOnly": True, "clientOrderId": "a1"}
        )
        venue.fill("a1", "0.0004")                       # partial fill, pushed on the stream
        venue.throttle(n_429=1, n_418=1)                 # next calls: 429, then a 418 ban
        ...                                              # venue.requests: what was sent
        await exchange.close()

Bybit serves one category per instance: ``FakeBybit("spot")`` or ``FakeBybit("linear")``.
"""

from mmcore.testing.fake_venue.binance_common import binance_markets
from mmcore.testing.fake_venue.binance_spot import FakeBinanceSpot
from mmcore.testing.fake_venue.binance_usdm import FakeBinanceUsdm
from mmcore.testing.fake_venue.bybit import FakeBybit, bybit_markets
from mmcore.testing.fake_venue.client import ccxt_exchange, point_urls
from mmcore.testing.fake_venue.ledger import Fill, Ledger, MarketSpec, Order, Reject
from mmcore.testing.fake_venue.process import FakeVenueProcess
from mmcore.testing.fake_venue.server import SERVICE_HEADER, FakeVenue, LoggedRequest

__all__ = [
    "SERVICE_HEADER",
    "FakeBinanceSpot",
    "FakeBinanceUsdm",
    "FakeBybit",
    "FakeVenue",
    "FakeVenueProcess",
    "Fill",
    "Ledger",
    "LoggedRequest",
    "MarketSpec",
    "Order",
    "Reject",
    "binance_markets",
    "bybit_markets",
    "ccxt_exchange",
    "point_urls",
]
