"""Deterministic synthetic Binance spot diff-depth stream, for benchmarks and tests.

The stream imitates the shape of a liquid spot book (BTCUSDT-like, tick 0.01) without any
captured data: most level changes land near the touch (geometric in distance), levels are
deleted and later re-inserted, a few changes hit deep levels, and the mid wanders slowly as
touch levels empty out and new ones appear inside the spread. The book is never crossed, and the
level count per side is pulled back towards ``levels``.

Only ``random.Random.random()`` (Mersenne Twister, stable across Python versions) and integer
arithmetic feed the output, so a given set of arguments yields the same bytes on every run.
"""

from __future__ import annotations

import math
import random

SYMBOL = "BTCUSDT"
FIRST_EVENT_TIME_MS = 1_700_000_000_000
EVENT_INTERVAL_MS = 100  # the @depth@100ms stream
SNAPSHOT_LAST_UPDATE_ID = 40_000_000_000

_START_BEST_BID_TICKS = 6_500_000  # 65000.00 at a 0.01 tick
_LOTS_PER_UNIT = 100_000  # sizes are drawn in 0.00001 steps and printed with 8 decimals
_MAX_LOTS = 2_000_000  # 20 units
_SIZE_PALETTE = 8192  # distinct sizes drawn once per stream
_ZERO_SIZE = "0.00000000"
_DENSE_LEVELS = 100  # snapshot levels 1 tick apart before the gaps start
_NEAR_TOUCH_P = 0.25  # geometric parameter: mean distance from the touch is 3 ticks
_DEEP_SHARE = 0.03  # share of changes anywhere in the deep part of the book
_INSIDE_SHARE_PER_TICK = 0.05  # chance of a change inside the spread, per empty tick in it
_DELETE_BASE = 0.25  # chance to delete a level that is hit, at exactly the target level count
_COUNT_PULL_POWER = 16  # how hard deletes and inserts pull the level count back to the target


def _price_str(ticks: int) -> str:
    return f"{ticks // 100}.{ticks % 100:02d}000000"


def _qty_str(lots: int) -> str:
    return f"{lots // _LOTS_PER_UNIT}.{lots % _LOTS_PER_UNIT:05d}000"


class _Side:
    """One side of the generator's own book.

    Prices are kept as keys ``sign * ticks`` (bids ``-ticks``, asks ``+ticks``) so that on both
    sides the best level has the smallest key and "deeper" means a larger key.
    """

    def __init__(self, sign: int) -> None:
        self.sign = sign
        self.levels: dict[int, str] = {}  # key -> qty string
        self.best = 0
        self._entry_heads: dict[int, str] = {}  # key -> '["<price>","' (prices repeat a lot)

    def json_levels(self, changes: dict[int, str]) -> str:
        """Levels as a JSON array body, best first, as Binance sends them."""
        heads = self._entry_heads
        parts = []
        for key in sorted(changes):
            head = heads.get(key)
            if head is None:
                head = heads[key] = f'["{_price_str(self.sign * key)}","'
            parts.append(f'{head}{changes[key]}"]')
        return ",".join(parts)


class _Ladder:
    """The generator's book and its random walk."""

    def __init__(self, rng: random.Random, levels: int) -> None:
        self.rng = rng
        self.target = levels
        self.bids = _Side(-1)
        self.asks = _Side(1)
        self.bids.best = -_START_BEST_BID_TICKS
        # Skewed towards small sizes, as real books are.
        self._sizes = [
            _qty_str(1 + int(rng.random() ** 4 * _MAX_LOTS)) for _ in range(_SIZE_PALETTE)
        ]
        self.asks.best = _START_BEST_BID_TICKS + 1
        # Dense near the touch, sparser deeper; deep changes range over the same span.
        offset = 0
        for i in range(levels):
            for side in (self.bids, self.asks):
                side.levels[side.best + offset] = self.random_size()
            offset += 1 if i < _DENSE_LEVELS else 1 + int(rng.random() * 4)
        self.deep_span = offset
        self._log_keep = math.log(1.0 - _NEAR_TOUCH_P)

    def random_size(self) -> str:
        """A size string from the palette (formatting each draw would dominate the run time)."""
        return self._sizes[int(self.rng.random() * _SIZE_PALETTE)]

    def count_pull(self, side: _Side) -> float:
        """(count / target) ** power: above 1 when the side holds too many levels."""
        return (len(side.levels) / self.target) ** _COUNT_PULL_POWER

    def pick_key(self, side: _Side, other: _Side, insert_p: float) -> int:
        """A price key on ``side``: inside the spread, deep, or (mostly) near the touch."""
        rng = self.rng
        r = rng.random()
        empty_ticks = side.best + other.best - 1  # ticks strictly inside the spread
        inside = empty_ticks * _INSIDE_SHARE_PER_TICK
        if r < inside:
            return side.best - 1 - int(rng.random() * empty_ticks)
        if r < inside + _DEEP_SHARE:
            key = side.best + int(rng.random() * self.deep_span)
        else:
            key = side.best + int(math.log(1.0 - rng.random()) / self._log_keep)
        levels = side.levels
        if key not in levels and rng.random() >= insert_p:
            # Too many levels: change an existing one instead of adding one. The best level
            # always exists, so the walk towards the touch ends.
            while key not in levels:
                key -= 1
        return key

    def change(self, side: _Side, key: int, delete_p: float) -> str:
        """Insert, update or delete the level at ``key``; return the new size (zero = deleted)."""
        levels = side.levels
        if key in levels and len(levels) > 1 and self.rng.random() < delete_p:
            del levels[key]
            if key == side.best:
                while key not in levels:
                    key += 1
                side.best = key
            return _ZERO_SIZE
        size = levels[key] = self.random_size()
        if key < side.best:
            side.best = key
        return size


def binance_diff_stream(
    n_events: int = 200_000,
    levels: int = 1000,
    changes_per_event: int = 6,
    seed: int = 1,
) -> tuple[bytes, list[bytes]]:
    """Build a REST depth snapshot body and the diff-depth payloads that follow it.

    Returns ``(snapshot, events)``: ``snapshot`` is a Binance spot ``/api/v3/depth`` body
    (``{"lastUpdateId":..,"bids":[[p,q],..],"asks":[..]}``, best first) with ``levels`` levels
    per side; ``events`` are raw ``depthUpdate`` payloads with contiguous update ids (the first
    has ``U == lastUpdateId + 1``, then ``U == previous u + 1``), absolute quantities, zero
    meaning delete. Each event carries between 1 and ``2 * changes_per_event - 1`` level changes
    (``changes_per_event`` on average), each price at most once per side. Prices and sizes are
    Binance-style strings with 8 decimals. The output depends only on the arguments.
    """
    if n_events < 0:
        raise ValueError(f"n_events must be >= 0, got {n_events}")
    if levels < 10:
        raise ValueError(f"levels must be >= 10, got {levels}")
    if changes_per_event < 1:
        raise ValueError(f"changes_per_event must be >= 1, got {changes_per_event}")

    rng = random.Random(seed)
    ladder = _Ladder(rng, levels)
    bids, asks = ladder.bids, ladder.asks
    snapshot = (
        f'{{"lastUpdateId":{SNAPSHOT_LAST_UPDATE_ID},'
        f'"bids":[{bids.json_levels(bids.levels)}],"asks":[{asks.json_levels(asks.levels)}]}}'
    ).encode()

    max_changes = 2 * changes_per_event - 1
    events: list[bytes] = []
    next_id = SNAPSHOT_LAST_UPDATE_ID + 1
    for i in range(n_events):
        n_changes = 1 + int(rng.random() * max_changes)
        # The count pull moves little within one event, so it is computed once per event.
        bid_pull, ask_pull = ladder.count_pull(bids), ladder.count_pull(asks)
        changes: tuple[dict[int, str], dict[int, str]] = ({}, {})
        done = 0
        while done < n_changes:
            if rng.random() < 0.5:
                side, other, pull, side_changes = bids, asks, bid_pull, changes[0]
            else:
                side, other, pull, side_changes = asks, bids, ask_pull, changes[1]
            key = ladder.pick_key(side, other, 1.0 / pull)
            if key not in side_changes:  # Binance sends a price at most once per side per event
                side_changes[key] = ladder.change(side, key, _DELETE_BASE * pull)
                done += 1
        first_id = next_id
        # One event folds several venue-side updates, so u - U is often > n_changes - 1.
        last_id = first_id + n_changes - 1 + int(rng.random() * 4)
        next_id = last_id + 1
        events.append(
            (
                f'{{"e":"depthUpdate","E":{FIRST_EVENT_TIME_MS + i * EVENT_INTERVAL_MS},'
                f'"s":"{SYMBOL}","U":{first_id},"u":{last_id},'
                f'"b":[{bids.json_levels(changes[0])}],"a":[{asks.json_levels(changes[1])}]}}'
            ).encode()
        )
    return snapshot, events
