"""What a failed request means for the order it carried, from ccxt's exception classes and
the venue's error code (ccxt maps codes per venue; a few need the code itself).

* ``timestamp``: refused for its timestamp (Binance -1021, Bybit 10002): re-measure the clock,
  retry once.
* ``ambiguous``: the request may or may not have reached the venue (timeout, connection
  reset, 5xx, a reply cut or garbled in transit): an order becomes UNKNOWN and is queried by
  client id.
* ``rate``: throttled (429 and rate-limit codes): not executed.
* ``ban``: an IP ban (418) or ban message: stop sending, halt.
* ``not_found``: the order is unknown to the venue or already final (cancel of a filled order).
* ``rejected``: refused for good (post-only would cross, insufficient balance, bad parameter,
  bad key): not executed.
"""

from __future__ import annotations

import re

import aiohttp
import ccxt

from mmcore.execution.live.http_pool import HttpError

__all__ = ["classify", "venue_code"]

_CODE = re.compile(r'"(?:code|retCode|ret_code)"\s*:\s*"?(-?\d+)')
_TIMESTAMP_CODES = {"-1021", "10002"}
_NOT_FOUND_CODES = {"-2011", "-2013", "110001", "170213", "20001"}
_BAN_WORDS = ("banned", "ip ban", "way too many requests")


def venue_code(exc: BaseException) -> str:
    """The venue's error code quoted in a ccxt error message ("" when none)."""
    m = _CODE.search(str(exc))
    return m.group(1) if m else ""


def classify(
    exc: BaseException, last_status: int | None = None, *, venue_codes: bool = True
) -> str:
    """One of ``timestamp``, ``ambiguous``, ``rate``, ``ban``, ``not_found``, ``rejected``.
    ``last_status``: the HTTP status of the reply that raised it, when known (418 is a ban
    whatever class ccxt chose); ``venue_codes``: read Binance's and Bybit's numeric codes
    (False for a generic venue, whose codes mean something else: ccxt's classes only)."""
    if last_status == 418:
        return "ban"
    code = venue_code(exc) if venue_codes else ""
    text = str(exc).lower()
    if isinstance(exc, ccxt.InvalidNonce) or code in _TIMESTAMP_CODES:
        return "timestamp"
    if any(word in text for word in _BAN_WORDS):
        return "ban"
    if isinstance(exc, ccxt.RateLimitExceeded) or last_status == 429:
        return "rate"
    if isinstance(exc, ccxt.OrderNotFound) or code in _NOT_FOUND_CODES:
        return "not_found"
    if isinstance(exc, ccxt.RequestTimeout | ccxt.ExchangeNotAvailable | ccxt.NetworkError):
        # DDoSProtection is a NetworkError in ccxt; without a 418 it is Binance's -2015 quirk
        # (a bad key after one good call), a refusal
        if isinstance(exc, ccxt.DDoSProtection):
            return "rejected"
        return "ambiguous"
    if type(exc) is ccxt.ExchangeError and isinstance(
        exc.__cause__, aiohttp.ClientError | HttpError
    ):
        # ccxt's fetch raises the bare class for a reply broken in transit (aiohttp's
        # ClientPayloadError: cut mid-body; a malformed reply): the venue had the request
        return "ambiguous"
    if isinstance(exc, ccxt.ExchangeError):
        return "rejected"
    if isinstance(exc, TimeoutError | ConnectionError | OSError):
        return "ambiguous"
    return "rejected"
