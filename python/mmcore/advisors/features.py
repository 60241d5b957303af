"""Feature snapshots handed to advisors, and the "materially changed" test."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["FEATURE_KEYS", "FeatureError", "materially_changed", "snapshot"]

# mid/microprice in quote currency; spread and volatility in bps; imbalance in [-1, 1];
# vpin in [0, 1]; inventory as a signed fraction of the position limit; pnl in quote currency.
FEATURE_KEYS = (
    "mid",
    "spread_bps",
    "microprice",
    "imbalance",
    "volatility_bps",
    "vpin",
    "inventory",
    "pnl",
)

# Changes smaller than these absolute amounts never count as material.
_FLOORS = {
    "imbalance": 0.05,
    "vpin": 0.02,
    "inventory": 0.02,
    "spread_bps": 0.5,
    "volatility_bps": 0.5,
}


class FeatureError(ValueError):
    """A feature value is missing, not a number, or not finite."""


def snapshot(features: Mapping[str, float]) -> Mapping[str, float]:
    """A read-only copy holding the known keys; every value must be a finite number."""
    out: dict[str, float] = {}
    for key in FEATURE_KEYS:
        if key not in features:
            continue
        value = features[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise FeatureError(f"feature {key!r} must be a finite number, got {value!r}")
        out[key] = float(value)
    if "mid" not in out or out["mid"] <= 0:
        raise FeatureError("feature 'mid' must be present and positive")
    return MappingProxyType(out)


def materially_changed(
    before: Mapping[str, float] | None, after: Mapping[str, float], threshold: float
) -> bool:
    """True when any feature moved by more than ``threshold`` (relative) and its floor."""
    if before is None or before.keys() != after.keys():
        return True
    for key, new in after.items():
        old = before[key]
        delta = abs(new - old)
        if delta <= _FLOORS.get(key, 0.0):
            continue
        if delta > threshold * max(abs(old), abs(new), 1e-12):
            return True
    return False
