"""Clock discipline for signed requests: the venue's clock offset, measured at start and
periodically, is what ccxt subtracts from the local clock when it stamps a request.

The offset is the midpoint of the request's round trip against the server's time (ccxt's own
``load_time_difference`` takes the time after the reply, biased by the whole round trip). A
timestamp refusal (Binance ``-1021``, Bybit ``10002``) asks for a new measurement and one retry;
the receive window is never widened.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["ClockSync"]


class ClockSync:
    """Keeps ``exchange.options['timeDifference']`` (ms, local minus server) current."""

    def __init__(self, exchange: Any, every_s: float = 60.0, enabled: bool = True) -> None:
        if not every_s > 0:
            raise ValueError(f"clock_every_s: must be > 0, got {every_s!r}")
        self.exchange = exchange
        self.every_s = every_s
        #: False: the venue tells no server time (generic venues without ``fetchTime``):
        #: requests are stamped with the local clock, nothing is measured
        self.enabled = enabled
        self.offset_ms: float | None = None
        self.rtt_ms: float | None = None
        self.measured_at: float | None = None  # time.monotonic() of the last measurement
        self.measurements = 0

    def due(self, now: float) -> bool:
        """True when a periodic measurement is due (or none was made)."""
        if not self.enabled:
            return False
        return self.measured_at is None or now - self.measured_at >= self.every_s

    async def measure(self) -> float:
        """Measure the offset (one ``fetch_time`` request) and apply it; returns it in ms
        (0 without a server time)."""
        if not self.enabled:
            return 0.0
        before = time.time() * 1000.0
        server = await self.exchange.fetch_time()
        after = time.time() * 1000.0
        if not isinstance(server, int | float) or server <= 0:
            raise ValueError(f"server time: not a timestamp: {server!r}")
        self.rtt_ms = after - before
        self.offset_ms = (before + after) / 2.0 - float(server)
        self.exchange.options["timeDifference"] = round(self.offset_ms)
        self.measured_at = time.monotonic()
        self.measurements += 1
        return self.offset_ms
