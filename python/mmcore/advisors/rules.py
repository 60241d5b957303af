"""The decision rules, evaluated in process: the offline ``rules`` advisor.

The same rules are written into the LLM prompts (see :mod:`mmcore.advisors.prompts`), so the
offline default and the LLM advisors aim at the same behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mmcore.advisors.advice import Advice, AdviceOutcome
from mmcore.advisors.schema import fields_for
from mmcore.llm.clock import Clock, MonotonicClock

__all__ = ["RULES_TEXT", "RulesAdvisor", "risk_rules", "signal_rules"]

RULES_TEXT = {
    "signal": (
        "spread_bps = clamp(max(2 * spread_bps_market, 20 + 1.5 * volatility_bps"
        " + 100 * max(0, vpin - 0.3)), 20, 200). "
        "action = ask if inventory > 0.7; bid if inventory < -0.7; otherwise bid if "
        "imbalance > 0.3 and microprice >= mid, ask if imbalance < -0.3 and microprice <= mid, "
        "else hold. quantity_factor = clamp(1 - 1.5 * max(0, vpin - 0.3), 0.3, 2.5) "
        "(inventory does not shrink both sides: the lean and the model's skew handle it). "
        "confidence = max(|inventory|, min(1, |imbalance|)) for bid/ask, 0.5 for hold."
    ),
    "risk": (
        "toxic_flow_probability = clamp((vpin - 0.2) / 0.6, 0, 1). market_risk = clamp(0.4 * "
        "toxic_flow_probability + 0.3 * min(1, volatility_bps / 100), 0, 1). risk_score = "
        "clamp(market_risk + 0.3 * min(1, |inventory|), 0, 1). max_position = clamp(1 - "
        "risk_score, 0, 1). spread_adjustment_bps = clamp(80 * market_risk - 20, -50, 100) "
        "(market risk only: inventory is not a reason to widen both sides). circuit_breaker = "
        "toxic_flow_probability > 0.9 or volatility_bps > 300."
    ),
}


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, x))


def signal_rules(f: Mapping[str, float]) -> dict[str, Any]:
    """Signal advice values from a feature snapshot (missing features count as neutral)."""
    vol = f.get("volatility_bps", 0.0)
    vpin = f.get("vpin", 0.0)
    inv = f.get("inventory", 0.0)
    imb = f.get("imbalance", 0.0)
    mid = f["mid"]
    micro = f.get("microprice", mid)
    spread = _clamp(
        max(2 * f.get("spread_bps", 0.0), 20 + 1.5 * vol + 100 * max(0.0, vpin - 0.3)), 20, 200
    )
    if inv > 0.7 or (inv >= -0.7 and imb < -0.3 and micro <= mid):
        action = "ask"  # shed long inventory, or lean with selling pressure
    elif inv < -0.7 or (imb > 0.3 and micro >= mid):
        action = "bid"
    else:
        action = "hold"
    qty = _clamp(1 - 1.5 * max(0.0, vpin - 0.3), 0.3, 2.5)
    confidence = 0.5 if action == "hold" else max(min(1.0, abs(inv)), min(1.0, abs(imb)))
    return {
        "action": action,
        "spread_bps": spread,
        "quantity_factor": qty,
        "confidence": confidence,
    }


def risk_rules(f: Mapping[str, float]) -> dict[str, Any]:
    """Risk advice values from a feature snapshot."""
    vol = f.get("volatility_bps", 0.0)
    toxic = _clamp((f.get("vpin", 0.0) - 0.2) / 0.6, 0, 1)
    market = _clamp(0.4 * toxic + 0.3 * min(1.0, vol / 100), 0, 1)
    risk = _clamp(market + 0.3 * min(1.0, abs(f.get("inventory", 0.0))), 0, 1)
    return {
        "risk_score": risk,
        "max_position": _clamp(1 - risk, 0, 1),
        "spread_adjustment_bps": _clamp(80 * market - 20, -50, 100),
        "toxic_flow_probability": toxic,
        "circuit_breaker": toxic > 0.9 or vol > 300,
    }


_RULES = {"signal": signal_rules, "risk": risk_rules}


class RulesAdvisor:
    """Deterministic in-process advisor with the LLM advisors' interface."""

    def __init__(self, kind: str, ttl_s: float, clock: Clock | None = None) -> None:
        fields_for(kind)  # validates the kind
        self.kind = kind
        self.ttl_s = ttl_s
        self.clock = clock or MonotonicClock()

    async def advise(
        self, symbol: str, features: Mapping[str, float], previous: Advice | None
    ) -> AdviceOutcome:
        """Compute advice now; never fails for a valid snapshot."""
        values = _RULES[self.kind](features)
        return AdviceOutcome(
            Advice(self.kind, symbol, values, self.clock.now(), self.ttl_s, "rules"), "ok"
        )
