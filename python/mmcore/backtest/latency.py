"""Latencies for a backtest: the feed's from the data, the orders' from config or a file.

**Feed latency.** Every exchange message carries its event time (``E`` on Binance, ``ts`` on
Bybit/OKX; a trade frame's book event time is its last trade's) and every recorded line its
local receive time; their difference is how long the message took to reach us, and the venue
sees the market that much earlier than we do. ``[backtest] feed_latency`` chooses the model:

- ``per_message`` (the default): the paper venue dates each market event at its own exchange
  time, on our clock (``Engine.exchange_clock_offset_s``), while the engine sees it at its
  receive time: bursts of delay and quiet spells are replayed as they were;
- ``median``: one constant for every event, the median delay;
- ``config``: the constant ``[symbols.paper] feed_latency_s`` as written.

A negative delay is impossible, so it means the two clocks disagree (the collector's clock
behind the exchange's). :func:`measure_feed_delays` estimates the disagreement robustly as the
1st percentile of the delays when that is negative (one outlier does not move it; the 1 %
below it are clock noise): the exchange's clock is taken to run that far ahead of ours
(``clock_offset_s``) and every exchange time is moved back by it, as hftbacktest's
``correct_local_timestamp`` shifts a data set whose delays go negative. A delay still negative
after that is taken as 0 (the venue never dates an event after we see it). The estimate uses
the session's first messages, so a clock that drifts during a long session is not followed.

**Order latency file** (``[backtest] latency_file``): a CSV of measured round trips, one per
line, with a header::

    kind,round_trip_s
    order,0.0123      # new order sent -> its ack received
    cancel,0.0101     # cancel sent -> its answer received

The paper venue draws each latency as ``base + U[0, jitter)`` from a generator seeded with
``[symbols.paper] seed`` (deterministic). :func:`fit_latency_file` fits that model: a path is
taken as symmetric (one way = half the round trip), the bases are the 5th percentiles of the
one-way times (entry and response from orders, cancel from cancels) and the jitter is the
widest 5th-to-95th percentile range of the two kinds. Heavier tails than uniform are not
reproduced: the fit keeps 90 % of the measured spread.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import orjson

from mmcore.config import ConfigError

__all__ = ["FeedDelays", "LatencyFit", "fit_latency_file", "measure_feed_delays"]


class LatencyFit(NamedTuple):
    """Paper-venue latencies (seconds) fitted from measured round trips."""

    entry_latency_s: float
    cancel_latency_s: float
    response_latency_s: float
    latency_jitter_s: float
    orders: int
    cancels: int


def fit_latency_file(path: str | Path, field: str = "backtest.latency_file") -> LatencyFit:
    """Fit the paper venue's latencies to the round trips in ``path`` (module docstring);
    :class:`~mmcore.config.ConfigError` naming ``field`` and the line for a bad file."""
    p = Path(path)
    samples: dict[str, list[float]] = {"order": [], "cancel": []}
    try:
        with p.open(newline="") as fh:
            rows = csv.reader(line for line in fh if not line.lstrip().startswith("#"))
            header = next(rows, None)
            if header is None or [h.strip() for h in header] != ["kind", "round_trip_s"]:
                raise ConfigError(field, f"{p}: the header must be 'kind,round_trip_s'")
            for n, row in enumerate(rows, 2):
                if not row:
                    continue
                kind = row[0].strip()
                try:
                    value = float(row[1].split("#")[0])
                except (IndexError, ValueError):
                    raise ConfigError(field, f"{p}:{n}: not a number of seconds: {row}") from None
                if kind not in samples:
                    raise ConfigError(field, f"{p}:{n}: kind must be order or cancel, got {kind!r}")
                if not (math.isfinite(value) and value >= 0):
                    raise ConfigError(field, f"{p}:{n}: round trip must be >= 0, got {value}")
                samples[kind].append(value)
    except FileNotFoundError:
        raise ConfigError(field, f"{p}: no such file") from None
    if not samples["order"] or not samples["cancel"]:
        raise ConfigError(field, f"{p}: needs at least one order and one cancel round trip")
    order = np.asarray(samples["order"]) / 2
    cancel = np.asarray(samples["cancel"]) / 2
    o5, o95 = np.percentile(order, [5, 95])
    c5, c95 = np.percentile(cancel, [5, 95])
    return LatencyFit(
        entry_latency_s=float(o5),
        cancel_latency_s=float(c5),
        response_latency_s=float(o5),
        latency_jitter_s=float(max(o95 - o5, c95 - c5)),
        orders=len(order),
        cancels=len(cancel),
    )


def _event_time_ms(payload: bytes) -> int | None:
    """The exchange event time of one message (whole ms), None when it has none."""
    try:
        msg = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(msg, dict):
        return None
    data = msg.get("data", msg)
    if isinstance(data, list):  # Bybit/OKX carry it beside the data
        data = msg
    value = data.get("E", data.get("ts")) if isinstance(data, dict) else None
    if value is None:
        return None
    try:
        return int(value)  # ms since the epoch: exact, where a float would lose the µs
    except (TypeError, ValueError):
        return None


class FeedDelays(NamedTuple):
    """The data's exchange-to-local delays (module docstring), seconds."""

    #: How far the exchange's clock runs ahead of the collector's (>= 0).
    clock_offset_s: float
    #: The median delay once the clock offset is removed (>= 0).
    median_s: float
    #: Messages with an event time the estimate is based on.
    samples: int


def measure_feed_delays(
    messages: Iterable[tuple[int, bytes]], limit: int = 5000, low_percentile: float = 1.0
) -> FeedDelays:
    """The clock offset and median delay (module docstring) over the first ``limit`` messages
    with an event time; all 0 when none has one."""
    lags = []
    for ts_ns, payload in messages:
        event_ms = _event_time_ms(payload)
        if event_ms is not None:
            lags.append((ts_ns - event_ms * 1_000_000) / 1e6)
            if len(lags) >= limit:
                break
    if not lags:
        return FeedDelays(0.0, 0.0, 0)
    ms = np.asarray(lags)
    offset_ms = max(0.0, -float(np.percentile(ms, low_percentile)))
    median_ms = max(0.0, float(np.median(ms)) + offset_ms)
    return FeedDelays(offset_ms / 1e3, median_ms / 1e3, len(lags))
