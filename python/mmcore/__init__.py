"""mmcore: a crypto market-making engine with a Rust core.

The order-book module stands on its own::

    from mmcore import OrderBook
    book = OrderBook("BTCUSDT", "binance-spot")
    book.apply_snapshot(rest_body)          # REST /api/v3/depth body
    status = book.apply(ws_payload)         # one call per websocket message
    book.best_bid(), book.features(depth=5).microprice
"""

from mmcore._core import (
    DECODE_ERROR_KINDS,
    FEATURE_NAMES,
    VENUES,
    ApplyStatus,
    BookRouter,
    BookState,
    DecodeError,
    Features,
    OrderBook,
    __version__,
)

__all__ = [
    "DECODE_ERROR_KINDS",
    "FEATURE_NAMES",
    "VENUES",
    "ApplyStatus",
    "BookRouter",
    "BookState",
    "DecodeError",
    "Features",
    "OrderBook",
    "__version__",
]
