"""Build a ccxt exchange (async, with ``ccxt.pro`` websockets) pointed at a running fake venue.

Every URL in ``exchange.urls['api']`` (REST and the nested ``ws`` entries) keeps its path and
gets the fake's host, so ccxt calls exactly the paths it calls on the real venue. Options keep
ccxt from calling anything else at start (docs/exchange-protocols.md §6): only the fake's market
type is loaded, currencies and margin pairs are not fetched.

ccxt picks Binance's per-market error tables by the production host name
(``get_exceptions_by_url``); at a loopback URL they would not apply, so the helper merges the
table of the fake's market type into the general one, and ccxt raises what it raises in
production (e.g. ``-5022`` → ``OrderNotFillable`` on USD-M).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mmcore.testing.fake_venue.server import FakeVenue

if TYPE_CHECKING:
    from mmcore.testing.fake_venue.process import FakeVenueProcess

__all__ = ["ccxt_exchange", "point_urls"]

# ccxt id, the market-type options and Binance's error table per fake (``ccxt_preset``)
_PRESETS: dict[str, tuple[str, dict[str, Any], str | None]] = {
    "binance-spot": (
        "binance",
        {"fetchMarkets": {"types": ["spot"]}, "defaultType": "spot", "fetchMargins": False},
        "spot",
    ),
    "binance-usdm": (
        "binance",
        {
            "fetchMarkets": {"types": ["linear"]},
            "defaultType": "future",
            "defaultSubType": "linear",  # account-wide streams: USD-M, not COIN-M
            "fetchMargins": False,
        },
        "linear",
    ),
    "bybit": ("bybit", {}, None),
}


def point_urls(urls: Any, rest_base: str, ws_base: str) -> Any:
    """``urls`` with every ``http(s)://host`` replaced by ``rest_base`` and every
    ``ws(s)://host`` by ``ws_base``, paths kept, nested dicts walked."""
    if isinstance(urls, dict):
        return {k: point_urls(v, rest_base, ws_base) for k, v in urls.items()}
    if not isinstance(urls, str):
        return urls
    parts = urlsplit(urls)
    base = ws_base if parts.scheme in ("ws", "wss") else rest_base
    return base + parts.path + (f"?{parts.query}" if parts.query else "")


def ccxt_exchange(
    venue: FakeVenue | FakeVenueProcess,
    *,
    timeout_ms: int = 3000,
    lean_http: bool = True,
    **config: Any,
) -> Any:
    """A ``ccxt.pro`` exchange for ``venue`` (started, in this process or a child), with its
    test keys; REST over mmcore's lean HTTP pool as the live run's
    (:func:`~mmcore.execution.live.exchange.make_exchange`), or over ccxt's aiohttp with
    ``lean_http=False``.

    ``config`` is merged into the ccxt constructor config (``options`` are merged into the
    preset options). Close it with ``await exchange.close()``.
    """
    import ccxt.pro

    from mmcore.execution.live.lean_fetch import lean_class

    name = venue.ccxt_preset
    if name not in _PRESETS:
        raise ValueError(f"no ccxt preset for {type(venue).__name__}")
    exchange_id, preset, error_table = _PRESETS[name]
    options = {"fetchCurrencies": False, **preset, **config.pop("options", {})}
    category = getattr(venue, "category", None)
    if category is not None:  # Bybit: one category per fake
        options.setdefault("fetchMarkets", {"types": [category]})
        options.setdefault("defaultType", "spot" if category == "spot" else "swap")
    exchange = lean_class(getattr(ccxt.pro, exchange_id))(
        {
            "apiKey": venue.api_key,
            "secret": venue._secret,
            "timeout": timeout_ms,
            "enableRateLimit": False,
            "options": options,
            **config,
        }
    )
    exchange.lean_http = lean_http
    exchange.urls["api"] = point_urls(exchange.urls["api"], venue.rest_url, venue.ws_url)
    if error_table is not None:
        table = exchange.exceptions.get(error_table, {})
        for match in ("exact", "broad"):
            exchange.exceptions[match] = {**exchange.exceptions[match], **table.get(match, {})}
    return exchange
