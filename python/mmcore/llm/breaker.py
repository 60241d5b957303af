"""A failure-rate circuit breaker per model, on monotonic time."""

from __future__ import annotations

from collections import deque

from mmcore.llm.clock import Clock

__all__ = ["CircuitBreaker"]


class CircuitBreaker:
    """Opens when the failure rate over ``window_s`` exceeds ``failure_rate``.

    States: ``closed`` (calls flow), ``open`` (calls refused until the cooldown ends), and
    ``half_open`` (one trial call; success closes, failure re-opens). A failure while open or
    half-open extends the cooldown from *now*, never keeping an earlier, shorter deadline.
    """

    def __init__(
        self, window_s: float, failure_rate: float, min_calls: int, cooldown_s: float, clock: Clock
    ) -> None:
        self.window_s = window_s
        self.failure_rate = failure_rate
        self.min_calls = min_calls
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._events: deque[tuple[float, bool]] = deque()
        self._failures = 0  # failures among _events, kept incrementally
        self._open_until: float | None = None
        self._trial_in_flight = False
        self.opened_count = 0

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half_open``."""
        if self._open_until is None:
            return "closed"
        return "open" if self._clock.now() < self._open_until else "half_open"

    @property
    def open_until(self) -> float | None:
        """Monotonic time when the cooldown ends, or None when closed."""
        return self._open_until

    def allow(self) -> bool:
        """May a call go to this model now? In half-open state, only one trial at a time."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def record(self, ok: bool) -> None:
        """Record the outcome of a call that :meth:`allow` let through."""
        now = self._clock.now()
        if self._open_until is not None:
            self._trial_in_flight = False
            if ok:
                self._open_until = None
                self._events.clear()
                self._failures = 0
            else:
                self._trip(now)
            return
        self._events.append((now, ok))
        self._failures += not ok
        while self._events and self._events[0][0] < now - self.window_s:
            self._failures -= not self._events.popleft()[1]
        calls = len(self._events)
        if calls >= self.min_calls and self._failures / calls > self.failure_rate:
            self._trip(now)

    def release(self) -> None:
        """A call allowed by :meth:`allow` ended without a verdict (e.g. cancelled)."""
        self._trial_in_flight = False

    def _trip(self, now: float) -> None:
        self._open_until = max(self._open_until or 0.0, now + self.cooldown_s)
        self.opened_count += 1
