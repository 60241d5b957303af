"""Venue profiles: what mmcore knows of a venue beyond ccxt's unified API, one object per venue
that the session, its symbols' venues and the dead-man switch read instead of testing the
exchange id.

The presets (``binance-spot``, ``binance-usdm``, ``bybit-spot``, ``bybit-linear``) know each
venue's client id rules, how it cancels and queries by client id, its usage headers, its error
codes, its dead-man switch and whether it amends in place. Any other exchange ccxt supports is
traded through the **generic profile** (``ccxt:<exchange id>``), spot only, with ccxt's unified
API and nothing else (:mod:`mmcore.execution.live.generic` holds its venue-neutral parts):

* client ids of at most 32 letters and digits (the strictest common rule; the engine's ids are
  hashed to fit), found again in the unified ``clientOrderId`` field only;
* cancels by the venue's order id (learned from the create reply or the stream; an order whose
  id is not known is first looked up by its client id);
* an order's fate looked up by client id among the open orders, then the recent orders
  (``fetchOrders``, ``fetchCanceledAndClosedOrders`` or ``fetchClosedOrders``, whichever
  ``has``);
* private streams where ``has['watchOrders']`` / ``has['watchMyTrades']``, else REST polling
  (``fetchOpenOrders``, ``fetchMyTrades``) every ``poll_every_s``; ``cancelAllOrders`` where
  ``has`` it, else one cancel per open order; the clock offset where ``has['fetchTime']``;
* pacing by ccxt's own ``rateLimit`` (``enableRateLimit``), no usage headers read (only a
  429/418 and its Retry-After), error meaning from ccxt's exception classes only;
* no dead-man switch, and no amend: ccxt's ``editOrder`` is a cancel-and-replace on many
  venues (a new order id, the queue position lost), so the order manager cancels and replaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mmcore.execution.live.client_ids import GENERIC_RULE, ID_RULES, IdRule

__all__ = ["GENERIC_PREFIX", "PRESETS", "VenueProfile", "profile_for", "resolve"]

#: ``ccxt:<exchange id>`` selects the generic profile.
GENERIC_PREFIX = "ccxt:"


@dataclass(frozen=True)
class VenueProfile:
    """How one venue is traded through ccxt (see the module docstring).

    ``name``: the preset's name or ``ccxt:<id>``; ``options``: ccxt client options;
    ``cancel_param``: the ccxt parameter that names a client id in a cancel ("" : cancel by
    the venue's order id); ``query``: how an order is found by client id (``fetch_order``,
    ``bybit``, ``generic``); ``deadman``: ``binance_countdown``, ``bybit_dcp`` or ``none``;
    ``amend``: orders can be reduced in place; ``usage_headers``: the venue's usage headers
    are read; ``venue_codes``: its numeric error codes are read; ``client_id_keys``: keys of
    the client id in a raw (``info``) payload."""

    name: str
    exchange_id: str
    market_type: str = "spot"
    options: Mapping[str, Any] = field(default_factory=dict)
    id_rule: IdRule = GENERIC_RULE
    cancel_param: str = ""
    query: str = "generic"
    deadman: str = "none"
    amend: bool = False
    usage_headers: bool = False
    venue_codes: bool = False
    client_id_keys: tuple[str, ...] = ()

    @property
    def generic(self) -> bool:
        """Traded through ccxt's unified API only."""
        return self.name.startswith(GENERIC_PREFIX)

    def describe(self) -> str:
        """One line for the start-up summary."""
        text = f"ccxt {self.exchange_id} {self.market_type}"
        if self.generic:
            text += " (generic adapter: unified API only, no dead-man switch, no amend)"
        return text


def _binance(name: str, exchange_id: str, market_type: str, ccxt_type: str) -> VenueProfile:
    contracts = market_type == "swap"
    return VenueProfile(
        name,
        exchange_id,
        market_type,
        {
            "fetchMarkets": {"types": ["linear" if contracts else "spot"]},
            "defaultType": ccxt_type,
            # the account-wide private streams of USD-M, not COIN-M (without a symbol ccxt
            # would send subType=None to /fapi/v1/listenKey)
            **({"defaultSubType": "linear"} if contracts else {}),
            "fetchMargins": False,
        },
        ID_RULES[exchange_id],
        cancel_param="clientOrderId",
        query="fetch_order",
        # USD-M's countdownCancelAll; its PUT /fapi/v1/order keeps the priority of an order
        # that shrinks (spot's keep-priority amend is not in ccxt 4.5.90)
        deadman="binance_countdown" if contracts else "none",
        amend=contracts,
        usage_headers=True,
        venue_codes=True,
        client_id_keys=("clientOrderId", "c", "newClientOrderId"),
    )


def _bybit(name: str, market_type: str, category: str) -> VenueProfile:
    return VenueProfile(
        name,
        "bybit",
        market_type,
        {"fetchMarkets": {"types": [category]}, "defaultType": market_type},
        ID_RULES["bybit"],
        cancel_param="orderLinkId",
        query="bybit",
        deadman="bybit_dcp",
        amend=True,  # /v5/order/amend
        usage_headers=True,
        venue_codes=True,
        client_id_keys=("orderLinkId",),
    )


PRESETS: dict[str, VenueProfile] = {
    "binance-spot": _binance("binance-spot", "binance", "spot", "spot"),
    "binance-usdm": _binance("binance-usdm", "binanceusdm", "swap", "future"),
    "bybit-spot": _bybit("bybit-spot", "spot", "spot"),
    "bybit-linear": _bybit("bybit-linear", "swap", "linear"),
}


def resolve(spec: str, field_path: str = "venue") -> VenueProfile:
    """The profile of ``spec``: a preset name, ``ccxt:<exchange id>`` (generic), or a bare
    ccxt exchange id that is no preset (``okx``: generic). Anything else raises
    ``ValueError`` naming ``field_path``."""
    found = PRESETS.get(spec)
    if found is not None:
        return found
    import ccxt.pro

    exchange_id = spec.removeprefix(GENERIC_PREFIX)
    if exchange_id not in ccxt.pro.exchanges:
        raise ValueError(
            f"{field_path}: {spec!r} is neither a preset ({', '.join(PRESETS)}) nor "
            f"ccxt:<id> of a ccxt.pro exchange (ccxt:okx, ccxt:kraken, ...)"
        )
    return VenueProfile(GENERIC_PREFIX + exchange_id, exchange_id)


def profile_for(exchange_id: str, market_type: str) -> VenueProfile:
    """The preset of a ccxt client by its exchange id and market type (a client built
    without a venue name, as in tests), else the generic profile."""
    if exchange_id.startswith("binance"):
        return PRESETS["binance-usdm" if market_type == "swap" else "binance-spot"]
    if exchange_id == "bybit":
        return PRESETS["bybit-linear" if market_type == "swap" else "bybit-spot"]
    return VenueProfile(GENERIC_PREFIX + exchange_id, exchange_id, market_type)
