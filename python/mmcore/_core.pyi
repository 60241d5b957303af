"""Type stubs for the Rust extension `mmcore._core` (exchange payloads → synced L2 books)."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

__version__: Final[str]

#: Column names of a features record / the replay features matrix, in order.
FEATURE_NAMES: Final[tuple[str, ...]]
#: Accepted venue names.
VENUES: Final[tuple[str, ...]]

Payload = bytes | str

#: Every `DecodeError.kind`, e.g. "not_a_number", "missing_field", "off_grid".
DECODE_ERROR_KINDS: Final[tuple[str, ...]]

class DecodeError(ValueError):
    """A malformed, truncated or unrepresentable payload; the message names the field.
    The book is left exactly as it was."""

    #: What was wrong, one of `DECODE_ERROR_KINDS`: "bad_json", "bad_type", "missing_field",
    #: "not_a_number", "too_large", "bad_value", "off_grid", "scale_overflow",
    #: "duplicate_price", "not_a_snapshot", "venue_error".
    kind: str

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
        vpin_calibration_trades: int = 0,
    ) -> None:
        """Without `vpin_bucket_volume`, the first `vpin_calibration_trades` trades set it
        (their total volume is one bucket); with neither, VPIN is NaN."""
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
    def features(self, depth: int = 5, band_bps: float | None = None) -> Features:
        """Features now; a record the caller still holds never changes (an unheld one is reused)."""
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
        vpin_bucket_volume: float | Mapping[str, float] | None = None,
        vpin_buckets: int = 50,
        vpin_calibration_trades: int = 0,
    ) -> None:
        """`vpin_bucket_volume`: one volume for every symbol or one per symbol (a symbol left
        out derives its own from its first `vpin_calibration_trades` trades)."""
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
    def counters(self) -> dict[str, int]:
        """`routed`, `unrouted`, `unknown_symbol`, `malformed`, and `refused_<kind>` for every
        kind of `DECODE_ERROR_KINDS` (grid/scale errors, missing `pu`, duplicate prices, ...)."""

def synthetic_binance_stream(
    events: int = 200_000, levels: int = 1000, changes: int = 6, seed: int = 1
) -> tuple[bytes, list[bytes]]:
    """Deterministic synthetic Binance diff stream for benchmarks: (snapshot body, payloads)."""

#: ``PaperSim.poll`` items, ``(kind, client_id, ts, ...)`` by kind: 0 acked ``(…, venue_id)``,
#: 1 rejected ``(…, reason)``, 2 filled ``(…, fill_id, side, price_ticks, qty, fee, maker)``
#: (side +1 buy / -1 sell), 3 cancelled (nothing more), 4 cancel rejected ``(…, reason)``,
#: 5 amended ``(…, new total size)``, 6 amend rejected ``(…, reason)``; ``ts`` is when the
#: response reaches us.
PaperEventTuple = (
    tuple[int, str, float]
    | tuple[int, str, float, str]
    | tuple[int, str, float, float]
    | tuple[int, str, float, str, int, int, float, float, bool]
)

class PaperSim:
    """The paper venue's simulation of one instrument, the symbol of its first order
    (``PaperVenue`` wraps it): latency-delayed order entry and cancels, a feed that lags the
    venue by ``feed_latency_s`` (``EngineCore`` may date each event by its own exchange time
    instead: ``exchange_clock_offset_s``), optional seeded latency jitter, post-only rejects,
    taker fills against the visible book, queue-position maker fills (conservative or
    probabilistic power model) and fees. Sizes are whole lots of ``lot_size`` inside: a
    visible size rounds down as liquidity to take and up as the queue ahead; trade sizes round
    down. An order beyond the
    visible depth has an unknown queue ahead: only trades through its price fill it until a
    view shows its level. Rejects on arrival a client id already resting (``"duplicate client
    order id"``) and an order beyond ``max_open_orders`` resting (``"too many open orders"``);
    an order for another symbol is refused at ``submit``. Deterministic. Bad arguments raise
    ``ValueError`` naming the argument; nothing changes."""

    def __init__(
        self,
        tick_size: float,
        *,
        lot_size: float = 1e-8,
        entry_latency_s: float = 0.005,
        cancel_latency_s: float = 0.005,
        response_latency_s: float = 0.005,
        feed_latency_s: float = 0.0,
        latency_jitter_s: float = 0.0,
        seed: int = 0,
        queue_model: str = "conservative",
        queue_power: float = 2.0,
        maker_fee_bps: float = 1.0,
        taker_fee_bps: float = 5.0,
        name: str = "paper",
        max_open_orders: int = 200,
    ) -> None:
        """``queue_model``: ``"conservative"`` or ``"probabilistic"``; fees in bps of notional
        (negative: rebate); ``name`` prefixes venue ids (``name-client_id``) and fill ids;
        ``max_open_orders`` (>= 1) bounds the resting orders (orders in flight are bounded only
        by what the caller sends); each latency gets a random extra in
        ``[0, latency_jitter_s)`` drawn from a generator seeded with ``seed``."""
    def submit(
        self,
        client_id: str,
        symbol: str,
        side: int,
        price_ticks: int,
        qty: float,
        post_only: bool,
        now: float,
    ) -> None:
        """Send a limit order (``side`` +1 buy, -1 sell, ``qty`` finite and at least half a lot,
        rounded to the nearest lot); it reaches the venue after the entry latency. An order for
        another symbol than the venue's raises ``ValueError`` naming ``symbol``."""
    def cancel(self, client_id: str, now: float) -> None:
        """Send a cancel; it lands after the cancel latency (the order may fill until then)."""
    def amend(self, client_id: str, qty: float, now: float) -> None:
        """Send an amend reducing the order to ``qty`` in total (filled part included, > 0,
        rounded to the nearest lot); it lands after the cancel latency. The order keeps its
        queue position; one that filled ``qty`` or more by then is cancelled; an order not
        resting, or a ``qty`` that does not reduce it, gets an amend reject."""
    def advance(self, now: float) -> None:
        """Process orders and cancels that have reached the venue by ``now``."""
    def poll(self, now: float) -> list[PaperEventTuple]:
        """Responses that have reached us by ``now``, in order (``PaperEventTuple``)."""
    def on_trade(self, price_ticks: int, qty: float, buyer_aggressor: bool, now: float) -> None:
        """A market trade seen at ``now`` (the venue's at ``now - feed_latency_s``; size rounded
        down to lots): fills the resting orders it reaches, best price first."""
    def on_book(
        self, bids: npt.NDArray[np.float64], asks: npt.NDArray[np.float64], now: float
    ) -> None:
        """The visible book at ``now``: (k, 2) price, size arrays, best first (copied).
        Actions due by ``now`` are processed against the previous view first."""
    def on_book_from(self, book: OrderBook, levels: int, now: float) -> None:
        """The top ``levels`` of each side of ``book``, read directly in Rust as the book's
        integers and converted exactly to ticks and lots: a size that is not a whole number of
        lots (a book grid finer than the lot) counts rounded down as liquidity and rounded up
        as the queue ahead. Sizes beyond 2^53 lots raise ``ValueError``."""
    def open_orders(self, symbol: str) -> set[str]:
        """Client ids resting (or in flight) at the venue for ``symbol``. Inside the venue an
        id is a prefix and a sequence number (or, without a canonical decimal tail, the whole
        id); every id comes back as the exact string sent."""
    @property
    def fills(self) -> int: ...
    @property
    def rejects(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def tick_size(self) -> float: ...
    @property
    def lot_size(self) -> float: ...
    @property
    def symbol(self) -> str | None:
        """The instrument simulated (None before the first order)."""

#: ``OrderDesk`` order tuples: ``(client_id, side, price_ticks, qty, filled, created, updated,
#: status_code, venue_id, anomalies)``; ``status_code`` indexes ``OrderStatus`` in definition
#: order (0 pending_new … 7 expired).
OrderRow = tuple[str, int, int, float, float, float, float, int, str, int]
#: ``OrderDesk.take`` fills: ``(client_id, ts, fill_id, side, price_ticks, qty, fee, maker)``.
FillTuple = tuple[str, float, str, int, int, float, float, bool]

class OrderDesk:
    """The working orders of one symbol kept close to target quotes (``OrderManager`` wraps it):
    requote hysteresis (ticks or bps, size, maximum age), best-price-first pairing of targets
    and orders, client ids, the order state machine and duplicate-fill detection. Orders go to a
    ``PaperSim`` directly, or to any object with ``send_order(client_id, side, price_ticks, qty,
    now)``, ``send_cancel(client_id, now)`` and, with ``can_amend``, ``send_amend(client_id,
    qty, now)``. Sizes are whole lots of ``lot_size`` inside (an
    order is filled when its filled lots equal its lots); sizes cross as floats. Fails closed:
    NaN, ±inf and negative sizes and times raise ``ValueError`` naming the argument before
    anything changes (counted in ``refused``). Bad configuration raises ``ValueError`` naming
    the field."""

    def __init__(
        self,
        symbol: str,
        id_prefix: str,
        *,
        lot_size: float = 1e-8,
        tolerance_ticks: float = 0.0,
        tolerance_bps: float = 0.0,
        size_tolerance: float = 0.25,
        max_order_age_s: float = 30.0,
        recent_fill_ids: int = 10_000,
        max_open_orders: int = 200,
        can_amend: bool = False,
    ) -> None:
        """Client ids are ``id_prefix`` followed by 1, 2, …; at most ``max_open_orders`` are
        tracked (pending cancels included), beyond it new targets are vetoed. ``can_amend``:
        the venue reduces sizes in place, so an order at the right price whose open size is
        too large is amended down to its target (queue position kept) instead of cancelled
        and replaced."""
    def reconcile(
        self,
        bids: Iterable[tuple[int, int]],
        asks: Iterable[tuple[int, int]],
        fair_ticks: float,
        now: float,
        gate: PreTradeGate | Callable[[int, int, float, float, float], float] | None,
        venue: object,
    ) -> list[list[str]]:
        """Diff the targets (any iterables of ``(price_ticks, lots)`` integers) against working
        orders, send cancels, then amends, then new orders to ``venue``; the client ids
        ``[placed, cancelled, amended]``. A float size raises ``TypeError``, one below zero or
        beyond 2^53 lots ``ValueError``. New orders go out one per side in turn, the side that
        reduces the ``PreTradeGate``'s position first (alternating while flat), so a dry
        order-rate bucket starves neither side. ``gate(side, price_ticks, qty,
        working, now)`` returns the size allowed (0 vetoes; NaN, ±inf or negative raise); if
        it raises, what was decided before is sent first. A ``PreTradeGate`` counting other
        lots than the desk is refused. No order of no size or at a price <= 0 is sent, nor one
        beyond ``max_open_orders`` tracked."""
    def flush(self, venue: object, now: float) -> list[list[str]]:
        """Send the actions the engine step left (cancels, amends, new orders) to ``venue``:
        the client ids of the new orders, of the cancels and of the amends."""
    def cancel_all(self, venue: object, now: float) -> list[str]:
        """Cancel every working order; the client ids of the cancels sent."""
    def take(
        self, sim: PaperSim, now: float, record: bool
    ) -> tuple[list[FillTuple], list[tuple[str, float, OrderRow]] | None]:
        """Apply ``sim``'s responses due by ``now``: the new fills (for orders no longer tracked
        too) and, with ``record``, ``(event kind, ts, order after it)`` per event on a tracked
        order."""
    def apply(
        self, kind: int, client_id: str, ts: float, text: str = "", qty: float = 0.0
    ) -> tuple[OrderRow | None, bool]:
        """Apply one event (0 acked, ``text`` = venue id; 1 rejected; 2 filled, ``text`` = fill
        id, ``qty`` rounded to the nearest lot; 3 cancelled; 4 cancel rejected; 5 expired;
        6 amended, ``qty`` = the new total size; 7 amend rejected):
        ``(order after it or None, new)``. A NaN, ±inf or negative ``qty`` or a ``ts`` that is
        not finite raises ``ValueError`` before anything changes."""
    def orders(self) -> list[OrderRow]:
        """Active orders, in the order they were placed."""
    def order(self, client_id: str) -> OrderRow | None: ...
    def working(self, side: int) -> float:
        """Open size on ``side`` (+1 buy, -1 sell), pending cancels included."""
    def next_client_id(self) -> str: ...
    def restore(self, orders: list[OrderRow], last_client_seq: int) -> None:
        """Adopt open orders from a journal; client ids continue after ``last_client_seq``.
        A row whose client id is not this desk's (``{id_prefix}{n}``) raises ``ValueError``
        naming ``client_id``; nothing is adopted then."""
    def forget(self, client_id: str, ts: float) -> OrderRow | None:
        """Drop an order the venue no longer holds, marked expired at ``ts``."""
    @property
    def placed(self) -> int: ...
    @property
    def cancels(self) -> int: ...
    @property
    def amends(self) -> int:
        """Amends sent (sizes reduced in place)."""
    @property
    def vetoed(self) -> int: ...
    @property
    def anomalies(self) -> int: ...
    @property
    def refused(self) -> int:
        """Inputs refused (bad sizes, times, a gate or venue counting other lots)."""
    @property
    def lot_size(self) -> float: ...

class PreTradeGate:
    """The pre-trade gate of one symbol (``RiskManager.gate``): trading state, position and
    notional limits counting working orders, lot rounding and an order-rate token bucket.
    ``OrderDesk`` consults it in Rust. Bad configuration raises ``ValueError`` naming the
    field."""

    def __init__(
        self,
        *,
        max_notional: float,
        tick_size: float,
        lot_size: float,
        max_orders_per_s: float,
        order_burst: float,
    ) -> None:
        """Active, flat, with a position limit of 0 until :meth:`set`."""
    def set(self, state: int, position: float, limit: float) -> None:
        """State (0 active, 1 reducing, 2 halted), signed position and position limit. A
        position that is not finite, or a limit that is not finite and >= 0, raises
        ``ValueError`` naming it and halts the gate (``state`` 2, nothing passes) until a valid
        ``set``: the risk manager halts the symbol on it."""
    def allow(self, side: int, price_ticks: int, qty: float, working: float, now: float) -> float:
        """The size a new order of ``side`` (+1 buy, -1 sell) may have (0 refuses it), in whole
        lots: allowed only when the room left under every limit is a positive number of lots.
        NaN, ±inf or negative sizes raise ``ValueError`` (no token taken)."""
    def pause_new_orders(self, until: float) -> None:
        """No new order passes before ``until`` (the clock of :meth:`allow`'s ``now``): the
        venue refuses new orders until then (its rate window or back-off). A later pause
        extends an earlier one, never shortens it; an ``until`` that is not finite raises
        ``ValueError`` naming it."""
    @property
    def rate_limited(self) -> int: ...
    @property
    def paused(self) -> int:
        """Orders refused while paused by :meth:`pause_new_orders`."""
    @property
    def refused(self) -> int:
        """Bad ``set``, ``allow`` or ``pause_new_orders`` arguments refused."""
    @property
    def lot_size(self) -> float: ...
    @property
    def position(self) -> float:
        """The signed position last set (base units, whole lots)."""
    @property
    def position_lots(self) -> int:
        """The signed position last set, in lots."""
    def lots(self, qty: float) -> int:
        """``qty`` (base units, finite and >= 0) in whole lots, rounded down (a size from the
        configuration as a cap in lots); bad sizes raise ``ValueError`` naming ``qty``."""
    @property
    def state(self) -> int:
        """The state code last set (2 after a refused ``set``)."""

#: ``QuoteCore.decide``: ``(status, bid, ask, bid_lots, ask_lots, fair, half, skew, fits)``.
QuoteTuple = tuple[int, int, int, int, int, float, float, float, int]

#: A paper fill: ``(client_id, ts, fill_id, side, price_ticks, qty, fee, maker)``.
_FillTuple = tuple[str, float, str, int, int, float, float, bool]

class RiskCore:
    """The risk state machine of one symbol (``rust/risk/``; ``RiskManager`` wraps it): limits,
    kill switch and session stop, toxicity, stale/lagging feed, resume rules; hands the state
    and limits to ``gate``. Bad configuration raises ``ValueError`` naming the field."""

    def __init__(
        self,
        gate: PreTradeGate,
        *,
        max_position: float,
        max_drawdown: float,
        session_loss_limit: float,
        kill_action: str,
        flatten_max_qty: float,
        flatten_max_bps: float,
        reduce_at: float,
        stale_book_s: float,
        max_feed_lag_s: float,
        toxic_widen: float,
        toxic_pull: float,
        toxic_widen_mult: float,
        kill_switch_resume: str,
        kill_switch_cooldown_s: float,
        resume_delay_s: float,
        lot_size: float,
        tick_size: float,
    ) -> None: ...
    def evaluate(
        self,
        vpin: float,
        synced: float,
        crossed: float,
        now: float,
        book_age_s: float,
        position: float,
        pnl: float,
        feed_lag_s: float,
        feed_safe: bool,
        limit_mult: float,
        toxic_probability: float,
        halt: bool,
    ) -> int:
        """The new state's code (0 active, 1 reducing, 2 halted), handed to the gate."""
    def flatten_target(self, best_bid: float, best_ask: float) -> tuple[int, int, int] | None:
        """``(side, price_ticks, lots)`` of the capped marketable order while flattening."""
    def set_override(self, source: str, state: int, flatten: bool) -> None:
        """Hold the state at ``state`` (a code) or worse for ``source``."""
    def clear_override(self, source: str) -> None: ...
    def resume(self) -> None: ...
    def reset_session(self) -> None: ...
    @property
    def state(self) -> int: ...
    @property
    def reasons(self) -> tuple[str, ...]: ...
    @property
    def position(self) -> float: ...
    @property
    def limit(self) -> float: ...
    @property
    def spread_mult(self) -> float: ...
    @property
    def peak(self) -> float | None: ...
    @property
    def killed_at(self) -> float | None: ...
    @property
    def drawdown(self) -> float: ...
    @property
    def session_start(self) -> float | None: ...
    @property
    def session_loss(self) -> float: ...
    @property
    def session_stopped(self) -> bool: ...
    @property
    def flattening(self) -> bool: ...
    @property
    def gate_error(self) -> str: ...

class PositionCore:
    """A position in exact integers on its grid (``rust/portfolio.rs``;
    ``mmcore.portfolio.Position`` extends it). Bad fills and marks raise ``ValueError`` naming
    the argument before anything changes."""

    def __new__(
        cls,
        tick_num: int,
        tick_den: int,
        lot_num: int,
        lot_den: int,
        tick_size: float,
        lot_size: float,
    ) -> PositionCore: ...
    def _set_grid(
        self,
        tick_num: int,
        tick_den: int,
        lot_num: int,
        lot_den: int,
        tick_size: float,
        lot_size: float,
    ) -> None: ...
    def apply_fill(self, signed_qty: float, price: float, fee: float) -> float:
        """Apply a fill (+ buys, - sells); the PnL it realized."""
    def set_mark(self, mid: float) -> None:
        """Mark to ``mid`` (NaN: no mark; ±inf or negative: ``ValueError``)."""
    def _load(self, lots: int, cash: int, basis: int, fee_units: int) -> None: ...
    @property
    def lots(self) -> int: ...
    @property
    def cash(self) -> int: ...
    @property
    def basis(self) -> int: ...
    @property
    def fee_units(self) -> int: ...
    mark: float
    @property
    def qty(self) -> float: ...
    @property
    def avg_cost(self) -> float: ...
    @property
    def realized(self) -> float: ...
    @property
    def fees(self) -> float: ...
    @property
    def unrealized(self) -> float: ...
    @property
    def net(self) -> float: ...

class EngineCore:
    """The engine step of one symbol in Rust (``rust/engine/``) over the Python-owned
    components; ``Engine`` calls it once per event, or runs a backtest batch in one call."""

    def __init__(
        self,
        book: OrderBook,
        quoter: QuoteCore,
        desk: OrderDesk,
        risk: RiskCore,
        position: PositionCore,
        sim: PaperSim | None = None,
        *,
        symbol: str,
        depth: int,
        sim_levels: int,
        tick_size: float,
        levels: int,
        spacing: int,
        microprice_weight: float,
        flow_alpha_bps: float,
        flow_halflife_s: float,
        lean_bps: float,
        wall_clock_offset_s: float | None = None,
        exchange_clock_offset_s: float | None = None,
    ) -> None: ...
    def set_overlay(
        self,
        spread_mult: float,
        size_mult: float,
        limit_mult: float,
        toxic_probability: float,
        halt: bool,
        lean: float,
    ) -> None: ...
    def step(
        self, now: float, received: bool, feed_safe: bool = True
    ) -> tuple[
        int,
        tuple[int, float, float, float, int, list[tuple[int, int]], list[tuple[int, int]]] | None,
    ]:
        """``(kind, decision)``: kind 0 stopped, 1 halted, 2 halted now, 3 flatten, 4 quoted
        with ``(status, fair, half, skew, fits, bids, asks)``. Orders are left on the desk
        (``OrderDesk.flush``)."""
    def assess(self, now: float, received: bool, feed_safe: bool = True) -> int:
        """The step up to the decision (kind as ``step``, 4: decide now)."""
    def submit(
        self,
        bids: list[tuple[int, int]],
        asks: list[tuple[int, int]],
        fair_ticks: float,
        now: float,
    ) -> None:
        """Diff the desk towards a Python strategy's targets after :meth:`assess`."""
    def run_batch(
        self, items: object, collect_fills: bool = True
    ) -> tuple[
        int,
        int,
        int,
        list[tuple[_FillTuple, float, float, float, float]],
    ]:
        """Run ``(time_s, payload | Trade)`` items with the paper venue: ``(book_events,
        trades, skipped, fills)``, fills as ``(fill tuple, price, signed_qty, mark, now)``."""
    def show_book(self, now: float) -> None:
        """The paper venue sees the book at ``now``, dated as ``exchange_clock_offset_s``
        says (the per-event path's half of ``run_batch``'s book step)."""
    def show_trade(self, price_ticks: int, qty: float, buyer_aggressor: bool, now: float) -> None:
        """The paper venue sees a market trade at ``now``, dated as ``exchange_clock_offset_s``
        says (the book's event time is the trade frame's)."""
    wall_clock_offset_s: float | None
    #: None: the paper venue dates market events by its ``feed_latency_s``; ``c``: by the
    #: frame's event time, ``event time - wall_clock_offset_s - c`` on our clock.
    exchange_clock_offset_s: float | None
    book: OrderBook
    @property
    def crossed(self) -> bool: ...
    @property
    def fills(self) -> int: ...
    @property
    def flow_signal(self) -> float: ...
    stopped: bool

class FlowSignal:
    """Order-flow imbalance in [-1, 1], decayed with a half-life in seconds."""

    def __init__(self, halflife_s: float) -> None: ...
    def update(self, ofi_total: float, now: float) -> float: ...

def fair_price(mid: float, microprice: float, weight: float, shift_bps: float) -> float | None:
    """The fair value in place of the microprice (None: the microprice stands)."""

def ladder_prices(best: int, direction: int, levels: int, spacing: int) -> list[int]:
    """A ladder's prices from ``best`` away from fair, none at or below zero."""

class QuoteCore:
    """The quote model of one symbol and its online calibration (``strategy.Quoter`` wraps it):
    calibration (sigma, A, k), fair value from microprice and imbalance, GLFT or
    Avellaneda-Stoikov half-spread and skew, fee floor, tick rounding away from fair, post-only
    clamps, position limit and inventory-shaped sizes in whole lots. Bad configuration values
    raise ``ValueError`` naming the field."""

    def __init__(
        self,
        tick_size: float,
        lot_size: float,
        base_size: float,
        max_position: float,
        *,
        model: str = "glft",
        gamma: float = 0.05,
        as_horizon_s: float = 1.0,
        spread_adj: float = 1.0,
        skew_adj: float = 1.0,
        size_eta: float = 1.0,
        imbalance_alpha_ticks: float = 0.0,
        min_spread_bps: float = 0.0,
        maker_fee_bps: float = 0.0,
        fee_margin_bps: float = 0.5,
        warmup: str = "fallback",
        prior_sigma_bps: float = 1.0,
        prior_a: float = 1.0,
        prior_k: float = 0.5,
        interval_s: float = 0.1,
        window_s: float = 600.0,
        refresh_s: float = 5.0,
        min_intervals: int = 300,
        min_trade_intervals: int = 20,
        max_depth_ticks: int = 70,
    ) -> None:
        """The ``QuoteConfig`` / ``CalibrationConfig`` fields of the same names; ``model`` is
        ``"glft"`` or ``"as"``, ``warmup`` ``"fallback"`` or ``"wait"``. The window
        (``window_s / interval_s``) is at most 10,000,000 samples, ``max_depth_ticks`` at most
        1,000,000."""
    def decide(
        self,
        features: Features,
        position: float,
        now: float,
        spread_mult: float = 1.0,
        size_mult: float = 1.0,
        limit_mult: float = 1.0,
        halt: bool = False,
    ) -> QuoteTuple:
        """Feeds the calibration the mid and prices the best bid and ask: ``(status, bid, ask,
        bid_lots, ask_lots, fair, half, skew, fits)``; status 0 quoting, 1 no_book, 2 halted,
        3 warming_up; prices in ticks, sizes in whole lots of ``lot_size``, rounded down (0: no
        order on that side);
        ``fits`` counts calibration fits (``params`` changes only with it). A ``Features``
        record is read directly, any other object by attribute (``best_bid``, ``best_ask``,
        ``mid``, ``microprice``, ``imbalance``). Fails closed: ``ValueError`` naming the input,
        before anything changes (counted in ``refused``), for ±inf or negative prices (NaN
        marks an absent field), a ``now`` or (unless halted) a position that is not finite, and
        multipliers that are not finite and >= 0."""
    def on_trade(self, price_ticks: float) -> None:
        """A market trade's price in ticks (intensity calibration input)."""
    def on_mid(self, mid_ticks: float, now: float) -> None:
        """A mid in ticks at ``now`` (s); ``decide`` does this for every book it prices."""
    def model_spread_ticks(self) -> float:
        """The model's own total spread in ticks: ``2 · half-spread · spread_adj``."""
    @property
    def ready(self) -> bool:
        """True once the calibration has fitted."""
    @property
    def progress(self) -> float:
        """Warm-up progress in [0, 1]."""
    @property
    def params(self) -> tuple[float, float, float, bool]:
        """``(sigma, a, k, calibrated)`` in bps of price (sigma bps/√s, k 1/bps): the priors
        blended with the latest fit, or the priors alone."""
    @property
    def fits(self) -> int:
        """Successful calibration fits so far."""
    @property
    def refused(self) -> int:
        """Decisions refused for bad inputs (nothing changed for them)."""
    @property
    def samples(self) -> int:
        """Closed calibration intervals in the rolling window."""

def glft(gamma: float, sigma: float, a: float, k: float) -> tuple[float, float]:
    """GLFT ``(half_spread, skew)`` in ticks (Guéant 2017, ξ = gamma, Δ = 1); ``sigma`` in
    ticks/√s, ``a`` in 1/s, ``k`` in 1/tick; ``gamma``, ``a``, ``k`` > 0."""

def avellaneda_stoikov(
    gamma: float, sigma: float, k: float, horizon_s: float
) -> tuple[float, float]:
    """Avellaneda-Stoikov ``(half_spread, skew)`` in ticks; ``gamma``, ``k``, ``horizon_s`` > 0."""

def fit_intensity(
    depths: Sequence[float] | npt.NDArray[np.float64], seconds: float, max_depth: int
) -> tuple[float, float] | None:
    """Least-squares ``(A, k)`` of ln λ(δ) = ln A - k·δ, δ = 0, 1, … below ``max_depth``, with
    λ(δ) = depths greater than δ per ``seconds``; None with fewer than two such δ or a slope
    that is not negative. NaN depths are not counted."""
