"""Per-model rate control: RPM and TPM token buckets plus a concurrency cap."""

from __future__ import annotations

import asyncio

from mmcore.llm.clock import Clock

__all__ = ["ModelLimiter", "TokenBucket"]


class TokenBucket:
    """A token bucket refilled continuously; reservations may run it into debt.

    ``reserve`` takes the amount at once and returns how long the caller must wait until the
    bucket is back to non-negative, so concurrent callers queue fairly without a lock.
    """

    def __init__(self, capacity: float, per_second: float, clock: Clock) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self._clock = clock
        self._level = capacity
        self._stamp = clock.now()

    def _refill(self) -> None:
        now = self._clock.now()
        self._level = min(self.capacity, self._level + (now - self._stamp) * self.per_second)
        self._stamp = now

    def level(self) -> float:
        """Tokens available now (negative while in debt)."""
        self._refill()
        return self._level

    def reserve(self, amount: float) -> float:
        """Take ``amount`` (capped at capacity) and return the seconds to wait before using it."""
        self._refill()
        self._level -= min(amount, self.capacity)
        return 0.0 if self._level >= 0 else -self._level / self.per_second

    def adjust(self, delta: float) -> None:
        """Give back (negative delta) or charge extra tokens after the real usage is known."""
        self._refill()
        self._level = min(self.capacity, self._level - delta)


class ModelLimiter:
    """RPM and TPM buckets and a concurrency semaphore for one model."""

    def __init__(self, rpm: float, tpm: float, max_concurrency: int, clock: Clock) -> None:
        self.requests = TokenBucket(rpm, rpm / 60.0, clock)
        self.tokens = TokenBucket(tpm, tpm / 60.0, clock)
        self.max_concurrency = max_concurrency
        self._semaphore: asyncio.Semaphore | None = None

    @property
    def semaphore(self) -> asyncio.Semaphore:
        """The concurrency cap (created lazily inside the running loop)."""
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.max_concurrency)
        return self._semaphore

    def reserve(self, estimated_tokens: int) -> float:
        """Reserve one request and the estimated tokens; return the wait in seconds."""
        return max(self.requests.reserve(1), self.tokens.reserve(estimated_tokens))

    def cancel(self, estimated_tokens: int) -> None:
        """Undo a reservation that was never sent."""
        self.requests.adjust(-1)
        self.tokens.adjust(-estimated_tokens)

    def reconcile(self, estimated_tokens: int, actual_tokens: int | None) -> None:
        """Correct the token bucket with the usage the relay reported."""
        if actual_tokens is not None:
            self.tokens.adjust(actual_tokens - estimated_tokens)
