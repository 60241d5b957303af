"""Advice: an immutable, time-stamped recommendation that decays to neutral."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mmcore.advisors.schema import field_spec

__all__ = ["Advice", "AdviceOutcome"]


@dataclass(frozen=True, slots=True)
class Advice:
    """Validated advice from one advisor for one symbol.

    ``created`` is monotonic seconds. The advice holds at full strength for the first half of
    ``ttl_s``, then fades linearly to neutral at ``created + ttl_s``.
    """

    kind: str
    symbol: str
    values: Mapping[str, Any]
    created: float
    ttl_s: float
    source: str
    flags: tuple[str, ...] = ()

    @property
    def expires_at(self) -> float:
        """Monotonic time at which the advice is fully neutral."""
        return self.created + self.ttl_s

    def weight(self, now: float) -> float:
        """Strength in [0, 1] at monotonic time ``now``."""
        age = now - self.created
        half = self.ttl_s / 2
        if age <= half:
            return 1.0
        return max(0.0, 1.0 - (age - half) / half)

    def value(self, name: str, now: float, baseline: Any = None) -> Any:
        """The field decayed towards neutral (or towards ``baseline`` when given).

        Numbers blend linearly; enums and booleans keep their value until expiry, then
        become neutral. Fields without a neutral (``spread_bps``) need a ``baseline``.
        """
        spec = field_spec(self.kind, name)
        if spec is None:
            raise KeyError(f"{self.kind} advice has no field {name!r}")
        neutral = spec.neutral if baseline is None else baseline
        w = self.weight(now)
        if spec.kind != "number":
            return self.values[name] if w > 0 else neutral
        if neutral is None:
            raise ValueError(f"{name} has no neutral value: pass the caller's baseline")
        return neutral + w * (self.values[name] - neutral)


@dataclass(frozen=True, slots=True)
class AdviceOutcome:
    """What one advisor call produced: advice, or None with the reason (``status``)."""

    advice: Advice | None
    status: str
    detail: str = ""
