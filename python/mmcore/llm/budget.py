"""Prices and hard spending caps: reserve before a call, settle with the real cost after."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from mmcore.llm.clock import Clock
from mmcore.llm.config import Price
from mmcore.llm.errors import BudgetExhausted

__all__ = ["Budget", "PriceBook", "Reservation"]

_HOUR = 3600.0
_DAY = 86400.0


class PriceBook:
    """Per-model prices: built-in list prices, overlaid by ``/models`` pricing, then config."""

    def __init__(self, prices: Mapping[str, Price]) -> None:
        self._prices = dict(prices)

    def update_from_listing(
        self, listing: Mapping[str, Mapping[str, object]], keep: set[str]
    ) -> None:
        """Take ``pricing.prompt``/``completion`` (decimal strings, USD per token) from /models.

        Models in ``keep`` (explicitly configured prices) are not overwritten.
        """
        for model_id, entry in listing.items():
            pricing = entry.get("pricing")
            if model_id in keep or not isinstance(pricing, Mapping):
                continue
            try:
                prompt = float(pricing["prompt"]) * 1e6  # type: ignore[arg-type]
                completion = float(pricing["completion"]) * 1e6  # type: ignore[arg-type]
            except (KeyError, TypeError, ValueError):
                continue
            if prompt >= 0 and completion >= 0:
                self._prices[model_id] = Price(prompt, completion)

    def get(self, model: str) -> Price | None:
        """The price of ``model``, or None when unknown."""
        return self._prices.get(model)

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        """USD for the given tokens (completion includes reasoning), None when unpriced."""
        price = self._prices.get(model)
        if price is None:
            return None
        return (
            prompt_tokens * price.input_per_mtok + completion_tokens * price.output_per_mtok
        ) / 1e6

    def estimate(self, models: tuple[str, ...], prompt_tokens: int, max_tokens: int) -> float:
        """Worst-case USD of one attempt on any of ``models``; unpriced models use the dearest
        known price so the cap still holds."""
        prices = [self._prices.get(m) for m in models]
        fallback = max(self._prices.values(), key=lambda p: p.output_per_mtok, default=Price(0, 0))
        return max(
            (p or fallback).input_per_mtok * prompt_tokens / 1e6
            + (p or fallback).output_per_mtok * max_tokens / 1e6
            for p in prices
        )


@dataclass(slots=True)
class Reservation:
    """Money held for one call in flight; settle it exactly once."""

    amount: float
    settled: bool = False


class _Window:
    """A rolling sum over the last ``span_s`` seconds, O(1) amortised per update."""

    __slots__ = ("_entries", "span_s", "total")

    def __init__(self, span_s: float) -> None:
        self.span_s = span_s
        self._entries: deque[tuple[float, float]] = deque()
        self.total = 0.0

    def add(self, now: float, usd: float) -> None:
        self._entries.append((now, usd))
        self.total += usd

    def sum(self, now: float) -> float:
        while self._entries and self._entries[0][0] <= now - self.span_s:
            self.total -= self._entries.popleft()[1]
        if not self._entries:
            self.total = 0.0  # drop accumulated float error
        return max(0.0, self.total)


class Budget:
    """Hourly and daily caps over rolling windows, counting spent and reserved money."""

    def __init__(self, hourly_usd: float, daily_usd: float, clock: Clock) -> None:
        self.hourly_usd = hourly_usd
        self.daily_usd = daily_usd
        self._clock = clock
        self._hour = _Window(_HOUR)
        self._day = _Window(_DAY)
        self._reserved = 0.0
        self.refused = 0

    def spent_hour(self) -> float:
        """USD settled within the last hour."""
        return self._hour.sum(self._clock.now())

    def spent_day(self) -> float:
        """USD settled within the last 24 hours."""
        return self._day.sum(self._clock.now())

    @property
    def reserved(self) -> float:
        """USD held by calls in flight."""
        return self._reserved

    def reserve(self, amount: float) -> Reservation:
        """Hold ``amount`` or raise :class:`BudgetExhausted` if a cap would be exceeded."""
        hour = self.spent_hour() + self._reserved + amount
        day = self.spent_day() + self._reserved + amount
        if hour > self.hourly_usd or day > self.daily_usd:
            self.refused += 1
            raise BudgetExhausted(
                f"budget cap reached (hour {hour:.6f}/{self.hourly_usd} USD, "
                f"day {day:.6f}/{self.daily_usd} USD including this call)"
            )
        self._reserved += amount
        return Reservation(amount)

    def settle(self, reservation: Reservation, cost_usd: float | None) -> None:
        """Turn the reservation into spending; an unknown cost keeps the reserved amount."""
        if reservation.settled:
            return
        reservation.settled = True
        self._reserved -= reservation.amount
        spend = reservation.amount if cost_usd is None else cost_usd
        now = self._clock.now()
        self._hour.add(now, spend)
        self._day.add(now, spend)

    def release(self, reservation: Reservation) -> None:
        """Return the reservation unspent (the call was never billed)."""
        if not reservation.settled:
            reservation.settled = True
            self._reserved -= reservation.amount
