"""REST snapshot fetching that respects the venue's request weights and Retry-After.

A sliding one-minute window keeps our own weight under ``weight_per_minute``; a 429 or 418
answer blocks *every* call until its Retry-After has passed (Binance bans IPs that keep
calling after a 429), so snapshots are never hammered.

Calls run concurrently (200 symbols sync in a few round trips, not 200), under a window of
calls in flight that starts at one, doubles with every success up to ``max_concurrency`` and
falls back to one on a 429/418: when the venue says stop, at most one call can be in flight
after the first probe, and no call starts until the Retry-After has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable

import httpx

from mmcore.feeds.venue import SnapshotRequest

__all__ = ["RestSnapshots", "SnapshotError"]

log = logging.getLogger(__name__)
_WINDOW_S = 60.0
_RETRY_AFTER_MAX_S = 3600.0


class SnapshotError(RuntimeError):
    """The venue answered a snapshot call with an error that retrying will not fix."""


class RestSnapshots:
    """Fetches snapshot bodies (raw bytes, never parsed here) from one REST base URL."""

    def __init__(
        self,
        base_url: str,
        *,
        weight_per_minute: int,
        timeout_s: float,
        ban_default_s: float,
        max_attempts: int = 8,
        max_concurrency: int = 16,
        on_rate_limited: Callable[[], None] | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        limits = httpx.Limits(max_connections=max_concurrency)
        self._client = httpx.AsyncClient(
            base_url=base_url, timeout=timeout_s, trust_env=False, limits=limits
        )
        self._max_concurrency = max_concurrency
        self._window = 1  # calls allowed in flight (slow start, see the module docstring)
        self.in_flight = 0
        self.peak_in_flight = 0
        self._changed = asyncio.Condition()
        self._budget = weight_per_minute
        self._ban_default_s = ban_default_s
        self._max_attempts = max_attempts
        self._spent: deque[tuple[float, int]] = deque()
        self._blocked_until = 0.0
        self._on_rate_limited = on_rate_limited  # told of every 429 / 418 answer

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()

    async def fetch(self, request: SnapshotRequest) -> bytes:
        """GET the snapshot, waiting for a call slot, weight budget and any Retry-After;
        return the body."""
        for _ in range(self._max_attempts):
            await self._admit(request.weight)
            try:
                response = await self._client.get(request.path, params=request.params)
            except httpx.HTTPError as exc:
                log.warning("snapshot_request_failed path=%s error=%r", request.path, exc)
                await self._release(ok=False)
                await asyncio.sleep(min(1.0, self._ban_default_s))
                continue
            except BaseException:  # cancelled (the connection went away): no verdict on the venue
                await self._release(ok=None)
                raise
            if response.status_code in (429, 418):
                if self._on_rate_limited is not None:
                    self._on_rate_limited()
                wait = self._retry_after(response)
                self._blocked_until = max(self._blocked_until, time.monotonic() + wait)
                log.warning(
                    "snapshot_rate_limited status=%d retry_after_s=%.3f",
                    response.status_code,
                    wait,
                )
                await self._release(ok=False)
                continue
            # only a 429/418 says "slow down"; another error says nothing about the rate
            await self._release(ok=True if response.status_code == 200 else None)
            if response.status_code != 200:
                raise SnapshotError(
                    f"{request.path} {request.params} -> HTTP {response.status_code}: "
                    f"{response.text[:200]}"
                )
            return response.content
        raise SnapshotError(
            f"{request.path} {request.params}: gave up after {self._max_attempts} tries"
        )

    def _retry_after(self, response: httpx.Response) -> float:
        default = 1.0 if response.status_code == 429 else self._ban_default_s
        raw = response.headers.get("Retry-After")
        try:
            value = float(raw) if raw is not None else default
        except ValueError:
            value = default
        return min(max(value, 0.0), _RETRY_AFTER_MAX_S)

    async def _admit(self, weight: int) -> None:
        """Wait for a free call slot, the weight budget and the end of any Retry-After."""
        async with self._changed:
            while True:
                now = time.monotonic()
                while self._spent and now - self._spent[0][0] >= _WINDOW_S:
                    self._spent.popleft()
                used = sum(w for _, w in self._spent)
                if now < self._blocked_until:
                    timeout: float | None = self._blocked_until - now
                elif used + weight > self._budget and self._spent:
                    timeout = _WINDOW_S - (now - self._spent[0][0])
                elif self.in_flight >= self._window:
                    timeout = None  # a call finishing notifies
                else:
                    self._spent.append((now, weight))
                    self.in_flight += 1
                    self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout)

    async def _release(self, *, ok: bool | None) -> None:
        """A call finished: widen the window after a success (``ok``), shut it to one after a
        rate limit or a failed request (``False``), leave it otherwise (``None``)."""
        async with self._changed:
            self.in_flight -= 1
            if ok:
                self._window = min(self._window * 2, self._max_concurrency)
            elif ok is False:
                self._window = 1
            self._changed.notify_all()
