"""Runs advisors in background tasks; the quote loop reads the latest advice without waiting.

The quote loop calls :meth:`AdvisorService.submit` with fresh features (a slot write, newest
wins) and :meth:`AdvisorService.latest` for current advice (a dict lookup). One worker task
per advisor and symbol does the asking, so at most one call is in flight per pair; a call is
skipped while features have not materially changed and the current advice is still fresh.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol

from mmcore.advisors.advice import Advice, AdviceOutcome
from mmcore.advisors.features import FeatureError, materially_changed, snapshot
from mmcore.llm.clock import Clock, MonotonicClock

__all__ = ["Advisor", "AdvisorService", "LatestAdvice"]

log = logging.getLogger("mmcore.advisors")
_NEUTRALISING = {"latched", "budget_exhausted"}


class Advisor(Protocol):
    """Anything that turns features into advice (LLM-backed or rules)."""

    kind: str

    async def advise(
        self, symbol: str, features: Mapping[str, float], previous: Advice | None
    ) -> AdviceOutcome:
        """Produce advice for ``symbol`` or say why not."""
        ...


class LatestAdvice(NamedTuple):
    """Current advice per kind; None means neutral (none yet, expired or switched off)."""

    signal: Advice | None
    risk: Advice | None


_NONE = LatestAdvice(None, None)


class _Slot:
    __slots__ = ("asked", "event", "features", "last_call")

    def __init__(self) -> None:
        self.features: Mapping[str, float] | None = None
        self.asked: Mapping[str, float] | None = None
        self.event = asyncio.Event()
        self.last_call: float | None = None


class AdvisorService:
    """Owns advisor workers; ``latest`` and ``submit`` never block or await."""

    def __init__(
        self,
        advisors: Sequence[Advisor],
        *,
        min_interval_s: float,
        change_threshold: float,
        clock: Clock | None = None,
    ) -> None:
        self.advisors = {a.kind: a for a in advisors}
        self.min_interval_s = min_interval_s
        self.change_threshold = change_threshold
        self.clock = clock or MonotonicClock()
        self.stats: Counter[str] = Counter()
        self._latest: dict[str, LatestAdvice] = {}
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}

    def latest(self, symbol: str, now: float) -> LatestAdvice:
        """Advice for ``symbol`` at monotonic ``now``; expired entries read as None."""
        cur = self._latest.get(symbol, _NONE)
        sig, risk = cur
        if (sig is None or now < sig.created + sig.ttl_s) and (
            risk is None or now < risk.created + risk.ttl_s
        ):
            return cur
        return LatestAdvice(
            sig if sig is not None and now < sig.expires_at else None,
            risk if risk is not None and now < risk.expires_at else None,
        )

    def submit(self, symbol: str, features: Mapping[str, float]) -> None:
        """Hand fresh features to the workers of ``symbol`` (starting them on first use).

        Must be called from the event loop thread. Never waits; older unprocessed features
        are replaced by the newest.
        """
        for kind in self.advisors:
            key = (kind, symbol)
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot()
                self._tasks[key] = asyncio.get_running_loop().create_task(
                    self._worker(kind, symbol, slot), name=f"advisor-{kind}-{symbol}"
                )
            slot.features = features
            slot.event.set()

    async def stop(self) -> None:
        """Cancel all workers and wait for them to end."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._slots.clear()

    def _store(self, kind: str, symbol: str, advice: Advice | None) -> None:
        cur = self._latest.get(symbol, _NONE)
        self._latest[symbol] = cur._replace(**{kind: advice})

    async def _worker(self, kind: str, symbol: str, slot: _Slot) -> None:
        advisor = self.advisors[kind]
        while True:
            await slot.event.wait()
            slot.event.clear()
            if slot.last_call is not None:
                wait = slot.last_call + self.min_interval_s - self.clock.now()
                if wait > 0:
                    await self.clock.sleep(wait)
            raw = slot.features
            if raw is None:
                continue
            try:
                features = snapshot(raw)
            except FeatureError as exc:
                self.stats["bad_features"] += 1
                log.warning("advisor skipped kind=%s symbol=%s: %s", kind, symbol, exc)
                continue
            previous = self._latest.get(symbol, _NONE)._asdict()[kind]
            now = self.clock.now()
            fresh = previous is not None and now < previous.created + previous.ttl_s / 2
            if fresh and not materially_changed(slot.asked, features, self.change_threshold):
                self.stats["skipped_unchanged"] += 1
                continue
            slot.asked = features
            slot.last_call = now
            self.stats["calls"] += 1
            try:
                outcome = await advisor.advise(symbol, features, previous)
            except Exception:  # an advisor bug must not kill the worker
                log.exception("advisor crashed kind=%s symbol=%s", kind, symbol)
                self.stats["crashed"] += 1
                continue
            self.stats[f"outcome_{outcome.status}"] += 1
            if outcome.advice is not None:
                self._store(kind, symbol, outcome.advice)
            elif outcome.status in _NEUTRALISING:
                self._store(kind, symbol, None)
