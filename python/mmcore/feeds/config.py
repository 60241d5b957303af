"""Feed configuration: venue, symbols, endpoints (production or testnet presets), timings.

Built with :func:`mmcore.config.build` from the ``[feeds]`` TOML table plus ``MMCORE_FEEDS_*``
environment variables (``MMCORE_FEEDS_WS_URL``, ``MMCORE_FEEDS_SYMBOLS=BTCUSDT,ETHUSDT``, ...);
every error is a :class:`~mmcore.config.ConfigError` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from mmcore.config import ConfigError, bounded, build
from mmcore.feeds.session import DEFAULT_VPIN_CALIBRATION_TRADES

__all__ = ["ENDPOINTS", "FEED_VENUES", "FeedConfig", "load_feed_config"]

FEED_VENUES = ("binance-spot", "binance-usdm", "bybit-spot", "bybit-linear", "okx")

# (websocket base, REST base) per venue and environment
ENDPOINTS: Mapping[str, Mapping[str, tuple[str, str]]] = {
    "binance-spot": {
        "production": ("wss://stream.binance.com:9443", "https://api.binance.com"),
        "testnet": ("wss://stream.testnet.binance.vision", "https://testnet.binance.vision"),
    },
    "binance-usdm": {
        "production": ("wss://fstream.binance.com", "https://fapi.binance.com"),
        "testnet": ("wss://fstream.binancefuture.com", "https://testnet.binancefuture.com"),
    },
    "bybit-spot": {
        "production": ("wss://stream.bybit.com/v5/public/spot", "https://api.bybit.com"),
        "testnet": (
            "wss://stream-testnet.bybit.com/v5/public/spot",
            "https://api-testnet.bybit.com",
        ),
    },
    "bybit-linear": {
        "production": ("wss://stream.bybit.com/v5/public/linear", "https://api.bybit.com"),
        "testnet": (
            "wss://stream-testnet.bybit.com/v5/public/linear",
            "https://api-testnet.bybit.com",
        ),
    },
    "okx": {
        "production": ("wss://ws.okx.com:8443/ws/v5/public", "https://www.okx.com"),
        "testnet": ("wss://wspap.okx.com:8443/ws/v5/public", "https://www.okx.com"),
    },
}


@dataclass(frozen=True)
class FeedConfig:
    """One market-data feed: one venue, many symbols on one connection."""

    venue: str = bounded("binance-spot", choices=FEED_VENUES)
    symbols: tuple[str, ...] = ()
    environment: str = bounded("production", choices=("production", "testnet"))
    ws_url: str | None = None  # overrides the preset
    rest_url: str | None = None  # overrides the preset
    book_depth: int = bounded(50, ge=1, le=1000)  # Bybit orderbook.<N> topic
    snapshot_limit: int = bounded(1000, ge=5, le=5000)  # Binance REST depth limit
    heartbeat_interval_s: float = bounded(20.0, gt=0)  # Bybit ping period / OKX idle ping
    stale_timeout_s: float = bounded(30.0, gt=0)  # no frame for this long: reconnect
    quote_stale_after_s: float = bounded(5.0, gt=0)  # book older than this: not safe to quote
    backoff_base_s: float = bounded(0.5, gt=0)
    backoff_max_s: float = bounded(30.0, gt=0)
    resync_timeout_s: float = bounded(10.0, gt=0)  # resubscribe again if no snapshot by then
    max_connection_age_s: float = bounded(23.5 * 3600, gt=0)  # Binance cuts at 24 h
    rotate_sync_timeout_s: float = bounded(30.0, gt=0)  # make-before-break: wait for sync
    connect_timeout_s: float = bounded(10.0, gt=0)
    close_timeout_s: float = bounded(2.0, gt=0)
    rest_timeout_s: float = bounded(10.0, gt=0)
    rest_weight_per_minute: int = bounded(1200, ge=1)  # our share of the venue's IP budget
    rest_ban_default_s: float = bounded(60.0, ge=0)  # 418 without Retry-After
    recv_queue_frames: int = bounded(64, ge=1)  # websockets' bounded receive queue
    max_buffer: int = bounded(1024, ge=1)  # diffs buffered per symbol while unsynced
    latency_sample_every: int = bounded(16, ge=1)
    # VPIN volume per bucket by symbol; a symbol left out derives its bucket from the volume of
    # its first ``vpin_calibration_trades`` trades.
    vpin_bucket_volume: Mapping[str, float] = bounded(default_factory=lambda: MappingProxyType({}))
    vpin_calibration_trades: int = bounded(DEFAULT_VPIN_CALIBRATION_TRADES, ge=1)

    def __post_init__(self) -> None:
        if not self.symbols:
            raise ConfigError("feeds.symbols", "at least one symbol is required")
        if len(set(self.symbols)) != len(self.symbols):
            raise ConfigError("feeds.symbols", "symbols must be unique")
        for i, sym in enumerate(self.symbols):
            if not sym or not sym.replace("-", "").isalnum():
                raise ConfigError(f"feeds.symbols[{i}]", f"not a symbol: {sym!r}")
        for name, schemes in (("ws_url", ("ws", "wss")), ("rest_url", ("http", "https"))):
            url = getattr(self, name)
            if url is not None and (
                urlsplit(url).scheme not in schemes or not urlsplit(url).netloc
            ):
                raise ConfigError(
                    f"feeds.{name}", f"must be a {'/'.join(schemes)} URL, got {url!r}"
                )
        if self.venue.startswith("bybit") and self.book_depth not in (1, 50, 200, 1000):
            raise ConfigError("feeds.book_depth", "Bybit depth must be 1, 50, 200 or 1000")
        for sym, volume in self.vpin_bucket_volume.items():
            if sym not in self.symbols:
                raise ConfigError(f'feeds.vpin_bucket_volume."{sym}"', "not one of feeds.symbols")
            if not volume > 0:
                raise ConfigError(f'feeds.vpin_bucket_volume."{sym}"', f"must be > 0, got {volume}")
        if self.backoff_max_s < self.backoff_base_s:
            raise ConfigError("feeds.backoff_max_s", "must be >= feeds.backoff_base_s")

    @property
    def endpoints(self) -> tuple[str, str]:
        """The (websocket, REST) base URLs: the overrides, else the environment's preset."""
        ws, rest = ENDPOINTS[self.venue][self.environment]
        return (self.ws_url or ws).rstrip("/"), (self.rest_url or rest).rstrip("/")

    def with_overrides(self, **changes: Any) -> FeedConfig:
        """A copy with some fields changed (``None`` values are ignored), validated again."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def load_feed_config(
    data: Mapping[str, Any] | None, env: Mapping[str, str] | None = None
) -> FeedConfig:
    """Build a :class:`FeedConfig` from the ``[feeds]`` table and ``MMCORE_FEEDS_*`` variables."""
    return build(FeedConfig, data, "feeds", env)
