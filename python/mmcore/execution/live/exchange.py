"""The ccxt client of a live venue: ``ccxt.pro`` (REST and private websockets in one object),
keys from :mod:`~mmcore.execution.live.keys`, the venue's market type, testnet when asked.

Venue names are the feeds' (``[[venues]] venue``): ``binance-spot``, ``binance-usdm`` (USD-M
perpetuals), ``bybit-spot`` (v5), ``bybit-linear`` (v5 USDT perpetuals); any other name is taken
as a ccxt exchange id (``okx``) and traded as spot through
the generic adapter (no dead-man switch, client ids of 32 letters and digits, fills and orders
through ccxt's unified methods, which the exchange must implement: ``createOrder``,
``cancelOrder``, ``cancelAllOrders``, ``fetchOrder`` by ``clientOrderId``, ``fetchOpenOrders``,
``fetchMyTrades``, ``watchOrders``, ``watchMyTrades``).
"""

from __future__ import annotations

from typing import Any

from mmcore.execution.live.keys import Credentials

__all__ = ["PRESETS", "VenuePreset", "make_exchange", "preset"]


class VenuePreset:
    """How a venue name maps onto ccxt: exchange id, market type, client options."""

    __slots__ = ("exchange_id", "market_type", "options")

    def __init__(self, exchange_id: str, market_type: str, options: dict[str, Any]) -> None:
        self.exchange_id = exchange_id
        self.market_type = market_type
        self.options = options


PRESETS: dict[str, VenuePreset] = {
    "binance-spot": VenuePreset(
        "binance",
        "spot",
        {"fetchMarkets": {"types": ["spot"]}, "defaultType": "spot", "fetchMargins": False},
    ),
    "binance-usdm": VenuePreset(
        "binanceusdm",
        "swap",
        {
            "fetchMarkets": {"types": ["linear"]},
            "defaultType": "future",
            "defaultSubType": "linear",  # account-wide streams: USD-M, not COIN-M
            "fetchMargins": False,
        },
    ),
    "bybit-spot": VenuePreset(
        "bybit", "spot", {"fetchMarkets": {"types": ["spot"]}, "defaultType": "spot"}
    ),
    "bybit-linear": VenuePreset(
        "bybit", "swap", {"fetchMarkets": {"types": ["linear"]}, "defaultType": "swap"}
    ),
}


def preset(venue: str) -> VenuePreset:
    """The preset of a venue name (a bare ccxt id: spot through the generic adapter)."""
    found = PRESETS.get(venue)
    if found is not None:
        return found
    import ccxt.pro

    if venue not in ccxt.pro.exchanges:
        raise ValueError(
            f"venue: {venue!r} is neither a preset ({', '.join(PRESETS)}) nor a ccxt.pro exchange"
        )
    return VenuePreset(venue, "spot", {})


def make_exchange(
    venue: str, credentials: Credentials, *, testnet: bool = False, timeout_ms: int = 5000
) -> Any:
    """A ``ccxt.pro`` client for ``venue`` with ``credentials`` (close it with ``await
    exchange.close()``); ``testnet``: the venue's sandbox URLs."""
    import ccxt.pro

    p = preset(venue)
    exchange = getattr(ccxt.pro, p.exchange_id)(
        {
            "apiKey": credentials.api_key.reveal(),
            "secret": credentials.secret.reveal(),
            "timeout": timeout_ms,
            "enableRateLimit": True,
            "options": {"fetchCurrencies": False, **p.options},
        }
    )
    if testnet:
        exchange.set_sandbox_mode(True)
    return exchange
