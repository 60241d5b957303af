"""Type stubs for the Rust extension `mmcore._core` (exchange payloads → synced L2 books)."""

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

__version__: Final[str]

#: Column names of a features record / the replay features matrix, in order.
FEATURE_NAMES: Final[tuple[str, ...]]
#: Accepted venue names.
VENUES: Final[tuple[str, ...]]

Payload = bytes | str

class DecodeError(ValueError):
    """A malformed, truncated or unrepresentable payload; the message names the field.
    The book is left exactly as it was."""

class ApplyStatus:
    """Outcome of one payload. Compares equal to its int value."""

    APPLIED: Final[ApplyStatus]
    BUFFERED: Final[ApplyStatus]
    STALE: Final[ApplyStatus]
    GAP: Final[ApplyStatus]
    SNAPSHOT_TOO_OLD: Final[ApplyStatus]
    CHECKSUM_MISMATCH: Final[ApplyStatus]
    IGNORED: Final[ApplyStatus]
    TRADE: Final[ApplyStatus]
    TICKER: Final[ApplyStatus]
    BUFFER_OVERFLOW: Final[ApplyStatus]
    MALFORMED: Final[ApplyStatus]
    def __int__(self) -> int: ...

class BookState:
    """Whether a book is synced with its venue."""

    UNSYNCED: Final[BookState]
    SYNCED: Final[BookState]
    def __int__(self) -> int: ...

class Features:
    """Features of one book; NaN where undefined. Prices/sizes in venue units."""

    best_bid: float
    best_ask: float
    bid_size: float
    ask_size: float
    mid: float
    spread: float
    spread_bps: float
    #: Size-weighted mid: (bid * ask_size + ask * bid_size) / (bid_size + ask_size).
    microprice: float
    #: (bid_depth - ask_depth) / (bid_depth + ask_depth) over the top `depth` levels.
    imbalance: float
    bid_depth: float
    ask_depth: float
    #: Size within ±band_bps of mid (NaN when band_bps is None).
    bid_band_depth: float
    ask_band_depth: float
    #: Order-flow imbalance (Cont, Kukanov, Stoikov) of the last book update, and its running sum.
    ofi: float
    ofi_total: float
    #: EWMA (half-life in updates) std of mid log-returns, in bps.
    volatility_bps: float
    buy_volume: float
    sell_volume: float
    #: Mean |buy - sell| / V over the last full volume buckets (NaN if not configured).
    vpin: float
    trade_count: float
    crossed: float
    synced: float
    event_time_ms: float
    def as_dict(self) -> dict[str, float]: ...

class OrderBook:
    """A local L2 book for one symbol, kept in sync from raw venue payloads."""

    def __init__(
        self,
        symbol: str,
        venue: str,
        *,
        tick_size: str | float | int | None = None,
        lot_size: str | float | int | None = None,
        max_buffer: int = 1024,
        vol_halflife: float = 100.0,
        vpin_bucket_volume: float | None = None,
        vpin_buckets: int = 50,
    ) -> None: ...
    def apply(self, payload: Payload) -> ApplyStatus:
        """Apply one websocket payload; raises DecodeError (book unchanged) when malformed."""
    def apply_snapshot(self, payload: Payload) -> ApplyStatus:
        """Apply a REST depth snapshot body and replay buffered diffs."""
    def best_bid(self) -> tuple[float, float] | None: ...
    def best_ask(self) -> tuple[float, float] | None: ...
    def bids(self, n: int = 10) -> npt.NDArray[np.float64]:
        """Best `n` bids, shape (k, 2): price, size; best first."""
    def asks(self, n: int = 10) -> npt.NDArray[np.float64]:
        """Best `n` asks, shape (k, 2): price, size; best first."""
    def features(self, depth: int = 5, band_bps: float | None = None) -> Features: ...
    def replay(
        self, payloads: Sequence[Payload], depth: int = 5, band_bps: float | None = None
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float64]]:
        """Apply many payloads: (statuses[n], features[n, len(FEATURE_NAMES)])."""
    def reset(self) -> None: ...
    def counters(self) -> dict[str, int]: ...
    def ticker(self) -> tuple[float, float, float, float, int | None] | None: ...
    @property
    def state(self) -> BookState: ...
    @property
    def symbol(self) -> str: ...
    @property
    def venue(self) -> str: ...
    @property
    def last_update_id(self) -> int | None: ...
    @property
    def last_event_time_ms(self) -> int | None: ...
    @property
    def is_crossed(self) -> bool: ...
    @property
    def depth(self) -> tuple[int, int]: ...
    @property
    def scales(self) -> tuple[int, int]: ...
    @property
    def buffered_len(self) -> int: ...
    @property
    def heap_bytes(self) -> int: ...
    @property
    def applied(self) -> int: ...
    @property
    def stale(self) -> int: ...
    @property
    def gaps(self) -> int: ...
    @property
    def buffered(self) -> int: ...
    @property
    def malformed(self) -> int: ...

class BookRouter:
    """One call per message for many symbols of one venue, routed by symbol in Rust."""

    def __init__(
        self,
        venue: str,
        symbols: list[str],
        *,
        tick_size: str | float | int | None = None,
        lot_size: str | float | int | None = None,
        max_buffer: int = 1024,
        vol_halflife: float = 100.0,
        vpin_bucket_volume: float | None = None,
        vpin_buckets: int = 50,
    ) -> None: ...
    def apply(self, payload: Payload) -> tuple[str | None, ApplyStatus]: ...
    def apply_snapshot(self, symbol: str, payload: Payload) -> ApplyStatus: ...
    def book(self, symbol: str) -> OrderBook: ...
    def replay(
        self, payloads: Sequence[Payload], depth: int = 5, band_bps: float | None = None
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.uint8], npt.NDArray[np.float64]]: ...
    @property
    def symbols(self) -> list[str]: ...
    @property
    def venue(self) -> str: ...
    @property
    def unrouted(self) -> int: ...
    @property
    def malformed(self) -> int: ...

def synthetic_binance_stream(
    events: int = 200_000, levels: int = 1000, changes: int = 6, seed: int = 1
) -> tuple[bytes, list[bytes]]:
    """Deterministic synthetic Binance diff stream for benchmarks: (snapshot body, payloads)."""
