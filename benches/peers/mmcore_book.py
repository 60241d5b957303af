"""mmcore's Rust ``OrderBook``: one ``apply`` call per payload, ``features`` from Rust."""

from __future__ import annotations

from collections.abc import Sequence

from .features import FEATURE_NAMES as _CHECKED_FEATURES
from .harness import DEPTH, PeerUnavailable

try:
    from mmcore import FEATURE_NAMES, ApplyStatus, OrderBook
except ImportError as exc:  # the core is not built yet, or this build lacks the book
    OrderBook = None
    _IMPORT_ERROR = f"mmcore.OrderBook is not importable ({exc})"

SYMBOL, VENUE = "BTCUSDT", "binance-spot"


class MmcoreBook:
    """A fresh ``mmcore.OrderBook`` per snapshot; ``apply``/``features`` are its own methods."""

    name = "mmcore OrderBook"

    def __init__(self) -> None:
        if OrderBook is None:
            raise PeerUnavailable(_IMPORT_ERROR)
        self.book = OrderBook(SYMBOL, VENUE)
        self.book.bids(1)  # the first array of a process loads numpy's C API (~0.1 s): not timed

    def load_snapshot(self, body: bytes) -> None:
        """A new book synced from the REST snapshot; rebinds ``apply`` and ``features``."""
        self.book = OrderBook(SYMBOL, VENUE)
        status = self.book.apply_snapshot(body)
        if status != ApplyStatus.APPLIED:
            raise RuntimeError(f"mmcore rejected the snapshot: {status!r}")
        # Bound builtins, so the timing loops call straight into Rust.
        self.apply = self.book.apply
        self.features = self.book.features

    @property
    def last_update_id(self) -> int | None:
        return self.book.last_update_id

    def top(self, depth: int) -> tuple[list, list]:
        return self.book.bids(depth).tolist(), self.book.asks(depth).tolist()

    def feature_values(self, depth: int) -> tuple[float, ...]:
        f = self.book.features(depth)
        return tuple(getattr(f, name) for name in _CHECKED_FEATURES)

    def replay(self, events: Sequence[bytes]) -> tuple:
        """Batch entry point: statuses and a features matrix for the whole stream."""
        return self.book.replay(events, depth=DEPTH)

    def replay_problems(self, snapshot: bytes, events: Sequence[bytes]) -> list[str]:
        """Untimed check of the batch path: every event applied, last row = ``features``."""
        self.load_snapshot(snapshot)
        statuses, matrix = self.replay(events)
        problems = []
        applied = int((statuses == int(ApplyStatus.APPLIED)).sum())
        if applied != len(events):
            problems.append(f"replay applied {applied} of {len(events)} events")
        columns = [FEATURE_NAMES.index(name) for name in _CHECKED_FEATURES]
        last_row = tuple(float(x) for x in matrix[-1, columns])
        if last_row != self.feature_values(DEPTH):
            problems.append(f"replay's last features {last_row} != {self.feature_values(DEPTH)}")
        return problems
