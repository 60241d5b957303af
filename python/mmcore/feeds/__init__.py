"""Live market-data feeds (Binance spot/USD-M, Bybit v5, OKX v5) that stay synced through faults.

Raw websocket frames go straight to the Rust ``BookRouter``; this package only moves bytes,
keeps connections alive and decides when a symbol needs a resync.
"""

from mmcore.feeds.config import ENDPOINTS, FEED_VENUES, FeedConfig, load_feed_config
from mmcore.feeds.feed import Feed
from mmcore.feeds.health import BookUpdates, FeedMetrics, FeedState, SymbolHealth
from mmcore.feeds.protocols import make_protocol

__all__ = [
    "ENDPOINTS",
    "FEED_VENUES",
    "BookUpdates",
    "Feed",
    "FeedConfig",
    "FeedMetrics",
    "FeedState",
    "SymbolHealth",
    "load_feed_config",
    "make_protocol",
]
