"""Per-model "not before" times set by the relay's Retry-After answers.

A relay that answers one request with ``429`` (or ``503``, or a ``402`` in-flight-budget
answer) and ``Retry-After: 2`` means the key, or that model on the key, not that one request:
every call to the model waits until the time has passed, or goes to its next model.
"""

from __future__ import annotations

from mmcore.llm.clock import Clock

__all__ = ["Cooldowns"]


class Cooldowns:
    """Not-before times keyed by ``(base_url, model)`` on a monotonic clock.

    A new hold never shortens an earlier, longer one. Expired entries are dropped as they are
    read, so the map holds only models cooling down now.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._until: dict[tuple[str, str], float] = {}

    def hold(self, base_url: str, model: str, seconds: float) -> float:
        """Keep calls away from ``model`` for ``seconds`` from now; return the not-before time."""
        if not seconds >= 0:  # also refuses NaN
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        key = (base_url, model)
        until = max(self._until.get(key, 0.0), self._clock.now() + seconds)
        self._until[key] = until
        return until

    def wait_s(self, base_url: str, model: str) -> float:
        """Seconds until ``model`` may be called again (0 when it is not cooling down)."""
        key = (base_url, model)
        until = self._until.get(key)
        if until is None:
            return 0.0
        left = until - self._clock.now()
        if left <= 0:
            del self._until[key]
            return 0.0
        return left

    def active(self, base_url: str, now: float) -> dict[str, float]:
        """Seconds left at ``now`` (this clock's time) per model of ``base_url`` still cooling."""
        return {
            model: until - now
            for (url, model), until in sorted(self._until.items())
            if url == base_url and until > now
        }
