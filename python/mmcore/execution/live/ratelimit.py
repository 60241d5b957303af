"""Rate-limit safety: usage read from every response's headers, back-off on 429, halt on a ban.

Fed by every HTTP response (status and headers) the exchange client receives. Binance reports
its request weight (``X-MBX-USED-WEIGHT-1M``) and order counts (``X-MBX-ORDER-COUNT-10S``,
``-1D``); Bybit the requests left in the current window (``X-Bapi-Limit-Status``) and when it
resets (``X-Bapi-Limit-Reset-Timestamp``). A 429 backs off for its ``Retry-After`` (or an
exponentially growing pause without one); a 418 (Binance's IP ban) or a ban message stops every
request until its ``Retry-After`` has passed and calls ``on_ban`` once, which halts trading.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mmcore.config import bounded

__all__ = ["RateGuard", "RateLimits"]

log = logging.getLogger("mmcore.live.rate")


@dataclass(frozen=True)
class RateLimits:
    """Published limits and how close to them new orders may go (cancels are always let
    through unless banned or backing off: they reduce risk). Binance spot: 6000 weight/min,
    100 orders/10 s; USD-M: 2400 weight/min, 300 orders/10 s."""

    weight_per_min: int = bounded(6000, ge=1)
    orders_per_10s: int = bounded(100, ge=1)
    orders_per_day: int = bounded(200_000, ge=1)
    headroom: float = bounded(0.9, gt=0, le=1)  # new orders stop at this share of a limit
    backoff_s: float = bounded(1.0, gt=0)  # the first pause after a 429 without Retry-After
    max_backoff_s: float = bounded(60.0, gt=0)
    ban_s: float = bounded(120.0, gt=0)  # a ban without Retry-After


def _number(headers: Mapping[str, str], name: str) -> float | None:
    for key, value in headers.items():
        if key.lower() == name:
            try:
                return float(value)
            except ValueError:
                return None
    return None


class RateGuard:
    """Tells the adapter whether a request may be sent now, from what the venue reported."""

    def __init__(
        self,
        limits: RateLimits,
        on_ban: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self.on_ban = on_ban
        self.clock = clock
        self.used_weight = 0.0
        self.orders_10s = 0.0
        self.orders_day = 0.0
        self.bybit_left: float | None = None
        self.backoff_until = 0.0
        self.banned_until = 0.0
        self.banned = False  # latched: a ban halts trading until an operator resumes
        self.throttled = 0  # 429s seen
        self.bans = 0  # 418s / ban messages seen
        self.requests_while_banned = 0  # requests attempted while banned (must stay 0)
        self._pause = limits.backoff_s
        self._seen_at = 0.0  # Unix time of the last response (the venue's windows are UTC)

    # -- input ---------------------------------------------------------------------------
    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """One HTTP response: its status code and headers."""
        now = self.clock()
        self._seen_at = time.time()
        weight = _number(headers, "x-mbx-used-weight-1m")
        if weight is not None:
            self.used_weight = weight
        for name, attr in (
            ("x-mbx-order-count-10s", "orders_10s"),
            ("x-mbx-order-count-1d", "orders_day"),
        ):
            count = _number(headers, name)
            if count is not None:
                setattr(self, attr, count)
        left = _number(headers, "x-bapi-limit-status")
        if left is not None:
            self.bybit_left = left
            reset_ms = _number(headers, "x-bapi-limit-reset-timestamp")
            if left <= 1 and reset_ms is not None:
                wait = max(0.0, reset_ms / 1000.0 - time.time())
                self.backoff_until = max(self.backoff_until, now + wait)
        retry_after = _number(headers, "retry-after")
        if status == 418:
            self.ban(retry_after if retry_after is not None else self.limits.ban_s, "http_418")
        elif status == 429:
            self.throttled += 1
            pause = retry_after if retry_after is not None else self._pause
            self._pause = min(self._pause * 2, self.limits.max_backoff_s)
            self.backoff_until = max(self.backoff_until, now + pause)
            log.warning("rate_limited retry_after_s=%.1f", pause)
        elif 200 <= status < 300:
            self._pause = self.limits.backoff_s

    def ban(self, seconds: float, reason: str) -> None:
        """The venue banned us (418 or a ban message): no request for ``seconds``; halts."""
        now = self.clock()
        self.bans += 1
        self.banned_until = max(self.banned_until, now + seconds)
        log.error("venue_ban reason=%s for_s=%.0f", reason, seconds)
        if not self.banned:
            self.banned = True
            if self.on_ban is not None:
                self.on_ban(reason)

    # -- decisions -----------------------------------------------------------------------
    def wait_s(self) -> float:
        """Seconds until any request may be sent (0: now)."""
        return max(0.0, max(self.banned_until, self.backoff_until) - self.clock())

    def may_send(self) -> bool:
        """True when a request (a cancel or query) may be sent now."""
        return self.wait_s() == 0.0

    def order_refusal(self) -> tuple[str, float] | None:
        """Why a new order may not be sent now and for how many seconds more at most (the
        ban, the back-off or the venue's counting window); None: it may."""
        now = self.clock()
        if now < self.banned_until:
            return "rate:banned", self.banned_until - now
        if now < self.backoff_until:
            return "rate:backoff", self.backoff_until - now
        lim = self.limits
        # a count belongs to the window it was reported in: a new window starts from zero
        wall, seen = time.time(), self._seen_at
        if wall // 60 == seen // 60 and self.used_weight >= lim.headroom * lim.weight_per_min:
            return "rate:weight_per_min", 60.0 - wall % 60.0
        if wall // 10 == seen // 10 and self.orders_10s >= lim.headroom * lim.orders_per_10s:
            return "rate:orders_per_10s", 10.0 - wall % 10.0
        if self.orders_day >= lim.headroom * lim.orders_per_day:
            return "rate:orders_per_day", 86_400.0 - wall % 86_400.0
        return None

    def sent(self) -> None:
        """Count a request the adapter is about to send (refused while banned: see
        :attr:`requests_while_banned`)."""
        if self.clock() < self.banned_until:
            self.requests_while_banned += 1
