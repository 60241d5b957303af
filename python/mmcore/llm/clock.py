"""Monotonic time for limiters, breakers and backoff, injectable so tests never really sleep."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

__all__ = ["Clock", "MonotonicClock", "SkippingClock"]


class Clock(Protocol):
    """A monotonic clock in seconds with an awaitable sleep."""

    def now(self) -> float:
        """Current monotonic time in seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class MonotonicClock:
    """The real clock: ``time.monotonic`` and ``asyncio.sleep``."""

    def now(self) -> float:
        """Current monotonic time in seconds."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Sleep for real."""
        await asyncio.sleep(max(0.0, seconds))


class SkippingClock:
    """Real monotonic time plus an offset; ``sleep`` advances the offset instead of waiting.

    Network time still passes for real (so deadlines on hung sockets work), while backoff and
    rate-limit waits are instant and recorded in :attr:`sleeps` for assertions.
    """

    def __init__(self) -> None:
        self.offset = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        """Real monotonic time plus all skipped sleeps."""
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        """Move time forward without sleeping."""
        self.offset += seconds

    async def sleep(self, seconds: float) -> None:
        """Record the wait, advance time, and yield once to the event loop."""
        seconds = max(0.0, seconds)
        self.sleeps.append(seconds)
        self.offset += seconds
        await asyncio.sleep(0)
