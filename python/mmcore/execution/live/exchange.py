"""The ccxt client of a live venue: ``ccxt.pro`` (REST and private websockets in one object),
keys from :mod:`~mmcore.execution.live.keys`, the options of its
:class:`~mmcore.execution.live.profile.VenueProfile`, testnet when asked."""

from __future__ import annotations

from typing import Any

from mmcore.execution.live.keys import Credentials
from mmcore.execution.live.profile import VenueProfile

__all__ = ["make_exchange"]


def make_exchange(
    profile: VenueProfile,
    credentials: Credentials,
    *,
    testnet: bool = False,
    timeout_ms: int = 5000,
    lean_http: bool = True,
) -> Any:
    """A ``ccxt.pro`` client for ``profile`` with ``credentials`` (close it with ``await
    exchange.close()``); ``testnet``: the venue's sandbox URLs.

    Transport: REST goes over mmcore's keep-alive HTTP/1.1 pool
    (:mod:`~mmcore.execution.live.lean_fetch`; ccxt still builds, signs and error-maps every
    request) unless ``lean_http`` is False or a proxy is configured on the client (then
    ccxt's aiohttp ``fetch``); websockets are ccxt.pro's own either way.

    Pacing: a preset venue reports its usage in response headers, which the session's
    :class:`~mmcore.execution.live.ratelimit.RateGuard` reads against the venue's published
    limits, so ccxt's own throttle is off there (it spaces every request by the exchange's
    ``rateLimit``, 50 ms on Binance: a requote of both sides would wait 150 ms behind it while
    staying far from any limit). A generic venue reports nothing, so ccxt's throttle is its
    only pacing and stays on."""
    import ccxt.pro

    from mmcore.execution.live.lean_fetch import lean_class

    exchange = lean_class(getattr(ccxt.pro, profile.exchange_id))(
        {
            "apiKey": credentials.api_key.reveal(),
            "secret": credentials.secret.reveal(),
            "timeout": timeout_ms,
            "enableRateLimit": not profile.usage_headers,
            "options": {"fetchCurrencies": False, **profile.options},
        }
    )
    exchange.lean_http = lean_http
    if testnet:
        exchange.set_sandbox_mode(True)
    return exchange
