"""The top-N features every peer computes, from its own best-first levels."""

from __future__ import annotations

FEATURE_NAMES = ("best_bid", "best_ask", "mid", "spread_bps", "microprice", "imbalance")


def top_features(bids, asks) -> tuple:
    """best bid/ask, mid, spread (bps of mid), microprice, top-N size imbalance.

    ``bids`` and ``asks`` are best-first ``(price, size)`` pairs of one number type (float or
    Decimal); the result has that type. Microprice weights each side's price by the other
    side's best size; imbalance is ``(bid size - ask size) / (bid size + ask size)`` over the
    given levels. Both sides must be non-empty.
    """
    bid, bid_size = bids[0]
    ask, ask_size = asks[0]
    mid = (bid + ask) / 2
    bid_depth = sum(size for _, size in bids)
    ask_depth = sum(size for _, size in asks)
    return (
        bid,
        ask,
        mid,
        (ask - bid) / mid * 10_000,
        (bid * ask_size + ask * bid_size) / (bid_size + ask_size),
        (bid_depth - ask_depth) / (bid_depth + ask_depth),
    )
