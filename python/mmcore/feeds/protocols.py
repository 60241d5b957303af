"""Which wire rules (:class:`~mmcore.feeds.venue.VenueProtocol`) each feed venue speaks.

Shared by the live :class:`~mmcore.feeds.feed.Feed` and the tape replay
(:func:`mmcore.tape.replay_tape`), which must decode frames exactly as the live feed does
without depending on it.
"""

from __future__ import annotations

from mmcore.feeds.binance import BinanceProtocol
from mmcore.feeds.bybit import BybitProtocol
from mmcore.feeds.okx import OkxProtocol
from mmcore.feeds.venue import VenueProtocol

__all__ = ["make_protocol"]

_PROTOCOLS: dict[str, type[VenueProtocol]] = {
    "binance-spot": BinanceProtocol,
    "binance-usdm": BinanceProtocol,
    "bybit-spot": BybitProtocol,
    "bybit-linear": BybitProtocol,
    "okx": OkxProtocol,
}


def make_protocol(
    venue: str, symbols: tuple[str, ...], book_depth: int = 50, snapshot_limit: int = 1000
) -> VenueProtocol:
    """The wire rules for ``venue``."""
    try:
        cls = _PROTOCOLS[venue]
    except KeyError:
        raise ValueError(f"unknown feed venue {venue!r}; known: {', '.join(_PROTOCOLS)}") from None
    return cls(venue, symbols, book_depth, snapshot_limit)
