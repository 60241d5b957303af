"""Closed-form half-spread and inventory skew, in ticks (formulas: docs/trading-anchors.md §7).

Both return ``(half_spread, skew)`` so that, with inventory ``q`` in units of the base size,
``bid = fair - (half_spread + skew·q)`` and ``ask = fair + (half_spread - skew·q)``.

- ``glft(gamma, sigma, a, k)``: GLFT (Guéant 2017, eqs 4.6/4.7) with ξ = gamma and Δ = 1, as
  hftbacktest uses it; ``sigma`` in ticks/√s, ``a`` in 1/s, ``k`` in 1/tick.
- ``avellaneda_stoikov(gamma, sigma, k, horizon_s)``: Avellaneda-Stoikov (2008), spread
  gamma·sigma²·tau + (2/gamma)·ln(1 + gamma/k); the reservation price moves by gamma·sigma²·tau
  per unit of inventory (the skew); ``horizon_s`` is T - t (constant: rolling horizon).

Both run in Rust (``rust/quote/models.rs``, the code the quoter uses); ``gamma``, ``a``, ``k``
and ``horizon_s`` must be > 0 (``ValueError`` otherwise).
"""

from __future__ import annotations

from mmcore._core import avellaneda_stoikov, glft

__all__ = ["avellaneda_stoikov", "glft"]
