"""The live venue's configuration (``[live]`` in ``mm.toml``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from mmcore.config import ConfigError, bounded
from mmcore.execution.live.ratelimit import RateLimits

__all__ = ["LiveConfig", "RateLimits"]


@dataclass(frozen=True)
class LiveConfig:
    """How the live venue behaves (``[live]``).

    ``foreign_orders``: at start, orders on the account the engine did not place are
    ``cancel``led or ``adopt``ed (left working; their fills count in the position).
    ``recv_window_ms``: the receive window of signed requests (never widened on a timestamp
    error). ``deadman_s``: the venue's cancel-on-disconnect countdown (0: off).
    """

    foreign_orders: str = bounded("cancel", choices=("cancel", "adopt"))
    recv_window_ms: int = bounded(5000, ge=100, le=60_000)
    clock_every_s: float = bounded(60.0, gt=0)
    query_every_s: float = bounded(0.5, gt=0)  # an UNKNOWN order's queries
    poll_every_s: float = bounded(1.0, gt=0)  # REST polling of a venue without private streams
    unknown_grace_s: float = bounded(2.0, ge=0)  # beyond the receive window, before "absent"
    reconcile_every_s: float = bounded(30.0, gt=0)  # the REST safety net while streaming
    stream_settle_s: float = bounded(0.2, ge=0)  # streams connected -> REST reconciliation
    stream_timeout_s: float = bounded(10.0, gt=0)  # for the streams to connect
    retries: int = bounded(5, ge=0, le=50)  # of a cancel or query that failed ambiguously
    retry_pause_s: float = bounded(0.2, ge=0)
    deadman_s: float = bounded(60.0, ge=0)
    market_type: str = bounded("spot", choices=("spot", "swap"))
    rate: RateLimits = field(default_factory=RateLimits)
    order_venue: Mapping[str, str] = field(default_factory=dict)
    spot_baseline: Mapping[str, float] = field(default_factory=dict)
    fee_prices: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # the generic checks do not reach into tables
        for asset, amount in self.spot_baseline.items():
            if not (math.isfinite(amount) and amount >= 0):
                raise ConfigError(f'live.spot_baseline."{asset}"', f"must be >= 0, got {amount!r}")
        for asset, price in self.fee_prices.items():
            if not (math.isfinite(price) and price > 0):
                raise ConfigError(f'live.fee_prices."{asset}"', f"must be > 0, got {price!r}")
