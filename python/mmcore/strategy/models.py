"""Closed-form half-spread and inventory skew, in ticks (formulas: docs/trading-anchors.md §7).

Both return ``(half_spread, skew)`` so that, with inventory ``q`` in units of the base size,
``bid = fair - (half_spread + skew·q)`` and ``ask = fair + (half_spread - skew·q)``.
"""

from __future__ import annotations

import math

__all__ = ["avellaneda_stoikov", "glft"]


def glft(gamma: float, sigma: float, a: float, k: float) -> tuple[float, float]:
    """GLFT (Guéant 2017, eqs 4.6/4.7) with ξ = gamma and Δ = 1, as hftbacktest uses it.

    ``sigma`` in ticks/√s, ``a`` in 1/s, ``k`` in 1/tick.
    """
    c1 = math.log1p(gamma / k) / gamma
    c2 = math.sqrt(gamma / (2.0 * a * k) * (1.0 + gamma / k) ** (k / gamma + 1.0))
    return c1 + 0.5 * sigma * c2, sigma * c2


def avellaneda_stoikov(
    gamma: float, sigma: float, k: float, horizon_s: float
) -> tuple[float, float]:
    """Avellaneda-Stoikov (2008): spread gamma*sigma^2*tau + (2/gamma)*ln(1 + gamma/k).

    The reservation price moves by gamma*sigma^2*tau per unit of inventory (the skew).

    ``sigma`` in ticks/√s, ``k`` in 1/tick, ``horizon_s`` is T - t (constant: rolling horizon).
    """
    risk = gamma * sigma * sigma * horizon_s
    return 0.5 * (risk + (2.0 / gamma) * math.log1p(gamma / k)), risk
