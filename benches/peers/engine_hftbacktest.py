"""Engine replay throughput: mmcore's ``Engine.replay`` against hftbacktest, on the same session.

``python benches/peers/engine_hftbacktest.py [--events N] [--rounds R]`` (needs
``pip install -e ".[peers-hftbacktest]"``; hftbacktest pins ``numpy<2.3``).

**Data.** Both replay ``mmcore.testing.trading.session(N, seed=5)``: N Binance spot depth diffs
of the Rust synthetic stream (a 1-tick market, tick 0.01, about 6 level changes per diff) with a
market trade after every third diff, 10 ms apart. hftbacktest gets the same session converted
once, outside the timing, into its event rows: the REST snapshot as ``DEPTH_SNAPSHOT_EVENT``
rows (``initial_snapshot``), one ``DEPTH_EVENT`` row per level change, one ``TRADE_EVENT`` row
per trade with the aggressor side (``BUY_EVENT``/``SELL_EVENT``). Every row is an exchange and a
local event with the same timestamp (no feed latency: mmcore's paper venue and strategy also see
each book at the same instant); a trade has the timestamp of the diff it follows. Events are
counted alike for both: book events + trades (the rows hftbacktest walks are printed too).

**mmcore** is the ``quoting`` scenario of ``benches/test_engine_bench.py``: ``make_engine(snapshot,
risk={"max_drawdown": 1e12}, execution={"tolerance_ticks": 0})``, then ``replay(items)``, which
runs the whole session through the Rust engine step in one call (``EngineCore.run_batch``, no
Python per event). Per book event: JSON parse + book apply, top-5 features, GLFT quote model
(microprice fair value, online calibration of sigma/A/k), risk manager (limits counting working
orders, VPIN toxicity, kill switch, order-rate bucket), order diffing in the order desk, the
paper venue (queue position, partial fills, 5 ms entry/cancel/response latencies, maker 1 /
taker 5 bps) and the exact-integer portfolio on every fill; per trade: calibration input, venue
matching, events.

**hftbacktest** runs a numba-jitted market maker mirroring that strategy, wired like mmcore's
paper venue: ``HashMapMarketDepthBacktest``, tick 0.01, lot 0.0001, ``constant_order_latency``
of 5 ms entry and 5 ms response (cancels use the entry latency), ``risk_adverse_queue_model``
(queue advances only on trades at our price, as mmcore's ``conservative`` model),
``partial_fill_exchange`` (mmcore fills up to the trade's size), ``trading_value_fee_model``
with mmcore's ``PaperConfig`` fees, post-only (GTX) limit orders. The strategy wakes on every
book event (``wait_next_feed``; the trade that follows a diff shares its timestamp, so it is
processed in the same wake-up, before the quotes are priced) and does what mmcore's quote
step does with the same numbers: GLFT half-spread and skew (the same closed form, Δ = 1), top of
book microprice fair value, prices rounded away from fair and clamped post-only, two levels
one tick apart per side, sizes shrunk by ``exp(∓eta·position/max_position)`` to whole lots,
position limit counting working orders, only reducing orders from 80% of it; then it diffs the
working orders (kept when the price matches exactly and the open size is within 25% of the
target and younger than 30 s, as ``ExecutionConfig`` does), cancels the rest and places the
missing targets.

**What is not mirrored (the comparison favours hftbacktest):** the GLFT parameters stay at
mmcore's priors (sigma 1, A 1, k 0.5), with no online calibration; no VPIN or drawdown risk,
no order-rate limiter, no features beyond the top of book, no portfolio marking; the event
rows are pre-parsed binary (mmcore parses JSON inside its replay, ~1 µs of its per-event cost;
the one-off conversion here is printed but not timed against hftbacktest). Simulator
differences: hftbacktest's exchange also fills a resting order when the book crosses it
(mmcore fills only on trades), and a pending new order cannot be cancelled before its ack (it
is cancelled on the next book event instead). Both runs are timed from construction (engine,
or backtest from arrays) to the end of the replay; numba compilation is excluded by a warm-up
on a short slice. The two run interleaved in one process, the order alternating by round.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from typing import Any, NamedTuple

import numpy as np
import orjson

from mmcore.execution import ExecutionConfig, PaperConfig, Trade
from mmcore.strategy.models import glft
from mmcore.testing.trading import PRICE, TICK, make_engine, quote_config, risk_config, session

try:
    import hftbacktest
    from hftbacktest import (
        BUY_EVENT,
        DEPTH_EVENT,
        DEPTH_SNAPSHOT_EVENT,
        EXCH_EVENT,
        GTX,
        LIMIT,
        LOCAL_EVENT,
        SELL_EVENT,
        TRADE_EVENT,
        BacktestAsset,
        HashMapMarketDepthBacktest,
    )
    from hftbacktest.binding import event_dtype
    from numba import njit
except ImportError as exc:  # an optional peer: say why and stop
    sys.exit(
        f"hftbacktest is not importable ({exc}); "
        "`pip install -e '.[peers-hftbacktest]'` (it pins numpy<2.3)"
    )

RISK = {"max_drawdown": 1e12}
EXECUTION = {"tolerance_ticks": 0}
WARMUP_BOOK_EVENTS = 500
NS = 1_000_000_000
# hftbacktest order status / request codes (hftbacktest.order)
_NONE, _NEW, _PARTIALLY_FILLED, _CANCELED = 0, 1, 5, 4
_BUY = 1
_INVALID_MIN, _INVALID_MAX = -(2**63), 2**63 - 1
_LIVE = EXCH_EVENT | LOCAL_EVENT
_clock = time.perf_counter  # what the runs are timed with (``--clock``)


class Strategy(NamedTuple):
    """mmcore's quote, risk and execution numbers, taken from its test configs."""

    half_spread: float  # ticks
    skew: float  # ticks per base size of inventory
    base_size: float
    lot_size: float
    max_position: float
    reduce_at: float
    size_eta: float
    levels: int
    spacing: int
    size_tolerance: float
    max_age_ns: int


class Run(NamedTuple):
    """One timed replay: seconds, events, book events, orders placed, cancels, fills."""

    seconds: float
    events: int
    book_events: int
    placed: int
    cancels: int
    fills: int

    @property
    def rate(self) -> float:
        """Events (book events + trades) per second."""
        return self.events / self.seconds

    @property
    def per_book(self) -> float:
        """Orders placed per book event."""
        return self.placed / self.book_events


def strategy() -> Strategy:
    """The hftbacktest strategy's parameters, read from mmcore's configs (priors for GLFT)."""
    q, r, x = quote_config(), risk_config(**RISK), ExecutionConfig(**EXECUTION)
    half, skew = glft(q.gamma, q.prior_sigma_bps, q.prior_a, q.prior_k)  # in bps of price
    ticks_per_bps = PRICE * 1e-4 / TICK  # mmcore converts at each decision's fair value
    return Strategy(
        half * ticks_per_bps * q.spread_adj,
        skew * ticks_per_bps * q.skew_adj,
        q.base_size,
        q.lot_size,
        min(q.max_position, r.max_position),
        r.reduce_at,
        q.size_eta,
        q.levels,
        q.level_spacing_ticks,
        x.size_tolerance,
        int(x.max_order_age_s * NS),
    )


def to_events(
    snapshot: bytes, items: list[tuple[float, bytes | Trade]]
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The session as hftbacktest rows: ``(initial snapshot, data, book events, trades)``."""
    snap = orjson.loads(snapshot)
    rows: list[tuple[int, int, int, float, float, int, int, float]] = []
    for flag, side in ((BUY_EVENT, snap["bids"]), (SELL_EVENT, snap["asks"])):
        ev = DEPTH_SNAPSHOT_EVENT | _LIVE | flag
        rows.extend((ev, 0, 0, float(px), float(qty), 0, 0, 0.0) for px, qty in side)
    initial = np.array(rows, dtype=event_dtype)
    bid_ev, ask_ev = DEPTH_EVENT | _LIVE | BUY_EVENT, DEPTH_EVENT | _LIVE | SELL_EVENT
    buy_ev, sell_ev = TRADE_EVENT | _LIVE | BUY_EVENT, TRADE_EVENT | _LIVE | SELL_EVENT
    rows = []
    book_events = trades = 0
    for now, item in items:
        ts = round(now * NS)
        if isinstance(item, Trade):
            ev = buy_ev if item.buyer_aggressor else sell_ev
            rows.append((ev, ts, ts, item.price_ticks * TICK, item.qty, 0, 0, 0.0))
            trades += 1
            continue
        msg = orjson.loads(item)
        rows.extend((bid_ev, ts, ts, float(p), float(q), 0, 0, 0.0) for p, q in msg["b"])
        rows.extend((ask_ev, ts, ts, float(p), float(q), 0, 0, 0.0) for p, q in msg["a"])
        book_events += 1
    return initial, np.array(rows, dtype=event_dtype), book_events, trades


@njit(cache=False)
def _lots(qty: float, lot: float) -> float:
    """Whole lots, rounded down (as mmcore's ``to_lots``)."""
    return math.floor(qty / lot + 1e-9) * lot


@njit(cache=False)
def market_maker(hbt: Any, p: Strategy) -> tuple[int, int, int, int]:
    """Requote on every book event but the last (it ends the data); returns (wake-ups, orders
    placed, cancels, the last ``wait_next_feed`` code: 1 is the end of the data)."""
    steps = placed = cancels = 0
    order_id = 0
    bid_px = np.empty(p.levels, np.int64)
    ask_px = np.empty(p.levels, np.int64)
    bid_have = np.zeros(p.levels, np.bool_)
    ask_have = np.zeros(p.levels, np.bool_)
    while True:
        rc = hbt.wait_next_feed(False, NS)
        if rc != 2:
            break
        steps += 1
        hbt.clear_inactive_orders(0)
        depth = hbt.depth(0)
        bb, ba = depth.best_bid_tick, depth.best_ask_tick
        if bb == _INVALID_MIN or ba == _INVALID_MAX:
            continue
        bq, aq = depth.best_bid_qty, depth.best_ask_qty
        fair = (bb * aq + ba * bq) / (bq + aq) if bq + aq > 0 else 0.5 * (bb + ba)
        position = hbt.position(0)
        q = position / p.base_size
        bid = math.floor(fair - p.half_spread - p.skew * q)  # an int64 in numba
        ask = math.ceil(fair + p.half_spread - p.skew * q)
        if bid >= ba:  # post-only clamp
            bid = ba - 1
        if ask <= bb:
            ask = bb + 1
        frac = min(1.0, max(-1.0, position / p.max_position))
        bid_qty = _lots(p.base_size * math.exp(-p.size_eta * frac), p.lot_size)
        ask_qty = _lots(p.base_size * math.exp(p.size_eta * frac), p.lot_size)
        if position >= p.max_position * p.reduce_at:
            bid_qty = 0.0
        if position <= -p.max_position * p.reduce_at:
            ask_qty = 0.0
        for i in range(p.levels):
            bid_px[i] = bid - i * p.spacing
            ask_px[i] = ask + i * p.spacing
            bid_have[i] = False
            ask_have[i] = False
        # diff the working orders against the targets: keep matches, cancel the rest
        now = hbt.current_timestamp
        working_bid = working_ask = 0.0
        values = hbt.orders(0).values()
        while values.has_next():
            order = values.get()
            buy = order.side == _BUY
            if buy:
                working_bid += order.leaves_qty
            else:
                working_ask += order.leaves_qty
            if order.req == _CANCELED:
                continue
            target = bid_qty if buy else ask_qty
            keep = False
            if (
                target > 0
                and now - order.local_timestamp < p.max_age_ns
                and abs(order.leaves_qty - target) <= p.size_tolerance * target
            ):
                prices, have = (bid_px, bid_have) if buy else (ask_px, ask_have)
                for i in range(p.levels):
                    if not have[i] and prices[i] == order.price_tick:
                        have[i] = True
                        keep = True
                        break
            if not keep and order.cancellable:
                hbt.cancel(0, order.order_id, False)
                cancels += 1
        # place the missing targets through the position limit (working orders count)
        for i in range(p.levels):
            if bid_qty > 0 and not bid_have[i]:
                room = _lots(p.max_position - position - working_bid, p.lot_size)
                qty = min(bid_qty, room)
                if qty > 0:
                    order_id += 1
                    hbt.submit_buy_order(0, order_id, bid_px[i] * TICK, qty, GTX, LIMIT, False)
                    working_bid += qty
                    placed += 1
            if ask_qty > 0 and not ask_have[i]:
                room = _lots(p.max_position + position - working_ask, p.lot_size)
                qty = min(ask_qty, room)
                if qty > 0:
                    order_id += 1
                    hbt.submit_sell_order(0, order_id, ask_px[i] * TICK, qty, GTX, LIMIT, False)
                    working_ask += qty
                    placed += 1
    return steps, placed, cancels, rc


def run_hftbacktest(
    initial: np.ndarray, data: np.ndarray, events: int, book_events: int, p: Strategy
) -> Run:
    """Build a backtest on the rows and run it (hftbacktest takes the arrays by pointer: the
    caller keeps them alive; they are only read, so every round reuses them)."""
    paper = PaperConfig()
    t0 = _clock()
    asset = (
        BacktestAsset()
        .data(data)
        .initial_snapshot(initial)
        .linear_asset(1.0)
        .constant_order_latency(
            round(paper.entry_latency_s * NS), round(paper.response_latency_s * NS)
        )
        .risk_adverse_queue_model()
        .partial_fill_exchange()
        .trading_value_fee_model(paper.maker_fee_bps * 1e-4, paper.taker_fee_bps * 1e-4)
        .tick_size(TICK)
        .lot_size(p.lot_size)
    )
    hbt = HashMapMarketDepthBacktest([asset])
    steps, placed, cancels, rc = market_maker(hbt, p)
    seconds = _clock() - t0
    fills = int(hbt.state_values(0).num_trades)
    hbt.close()
    if rc != 1 or steps != book_events - 1:
        raise RuntimeError(f"hftbacktest: code {rc} after {steps} wake-ups, {book_events} diffs")
    return Run(seconds, events, book_events, placed, cancels, fills)


def run_mmcore(snapshot: bytes, items: list[tuple[float, bytes | Trade]]) -> Run:
    """The ``quoting`` scenario of ``test_engine_bench.py``: build the engine, replay."""
    t0 = _clock()
    engine = make_engine(snapshot, risk=RISK, execution=EXECUTION)
    stats = engine.replay(items)
    seconds = _clock() - t0
    events = stats.book_events + stats.trades
    orders = engine.orders
    return Run(seconds, events, stats.book_events, orders.placed, orders.cancels, stats.fills)


def line(name: str, run: Run) -> str:
    """One printed result."""
    return (
        f"{name:<12} {run.rate:>11,.0f} events/s  {run.seconds * 1e3:8.1f} ms  "
        f"{run.per_book:.2f} orders/book event  {run.cancels:>6} cancels  {run.fills:>5} fills"
    )


def main(argv: list[str] | None = None) -> None:
    """Warm up both, then time them interleaved for ``--rounds`` rounds and print medians."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000, help="book events (default 20000)")
    ap.add_argument("--rounds", type=int, default=5, help="timed rounds (default 5)")
    ap.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall: elapsed time (default); cpu: this thread's CPU time, steadier on a loaded "
        "machine (both run on this thread; the time spent waiting for a core is left out)",
    )
    args = ap.parse_args(argv)
    global _clock
    _clock = time.thread_time if args.clock == "cpu" else time.perf_counter

    snapshot, items = session(args.events, seed=5)
    p = strategy()
    t0 = time.perf_counter()
    initial, data, book_events, trades = to_events(snapshot, items)
    convert_s = time.perf_counter() - t0
    events = book_events + trades
    print(
        f"hftbacktest {hftbacktest.__version__}, numpy {np.__version__}; session: "
        f"{events:,} events ({book_events:,} book, {trades:,} trades) = {len(data):,} "
        f"hftbacktest rows + {len(initial)} snapshot rows (converted once in {convert_s:.2f} s, "
        f"untimed); GLFT prior half-spread {p.half_spread:.3f} ticks, skew {p.skew:.3f}; "
        f"{args.clock} clock"
    )

    # warm-up on a short slice: numba compiles market_maker and the bindings here
    head_items = _head(items, WARMUP_BOOK_EVENTS)
    w_initial, w_data, w_book, w_trades = to_events(snapshot, head_items)
    t0 = time.perf_counter()
    run_hftbacktest(w_initial, w_data, w_book + w_trades, w_book, p)
    print(f"warm-up (numba compile + {len(head_items)} events): {time.perf_counter() - t0:.1f} s")
    run_mmcore(snapshot, head_items)

    mm_runs: list[Run] = []
    hbt_runs: list[Run] = []
    for r in range(args.rounds):
        order = ("mmcore", "hftbacktest") if r % 2 == 0 else ("hftbacktest", "mmcore")
        for name in order:
            if name == "mmcore":
                mm_runs.append(run_mmcore(snapshot, items))
            else:
                hbt_runs.append(run_hftbacktest(initial, data, events, book_events, p))
        mm, hb = mm_runs[-1], hbt_runs[-1]
        print(f"round {r + 1} ({order[0]} first)")
        print("  " + line("mmcore", mm))
        print("  " + line("hftbacktest", hb))
        print(f"  ratio mmcore/hftbacktest: {mm.rate / hb.rate:.3f}")

    mm_rate = statistics.median(run.rate for run in mm_runs)
    hb_rate = statistics.median(run.rate for run in hbt_runs)
    ratios = [m.rate / h.rate for m, h in zip(mm_runs, hbt_runs, strict=True)]
    mm, hb = mm_runs[-1], hbt_runs[-1]
    print(f"median over {args.rounds} rounds ({events:,} events each):")
    print(
        f"  mmcore      {mm_rate:>11,.0f} events/s  {mm.per_book:.2f} orders/book event, "
        f"{mm.fills} fills"
    )
    print(
        f"  hftbacktest {hb_rate:>11,.0f} events/s  {hb.per_book:.2f} orders/book event, "
        f"{hb.fills} fills"
    )
    print(
        f"  ratio mmcore/hftbacktest: {mm_rate / hb_rate:.3f} (of medians); per round "
        f"{min(ratios):.3f}-{max(ratios):.3f}, median {statistics.median(ratios):.3f}"
    )


def _head(items: list[tuple[float, bytes | Trade]], book_events: int) -> list:
    """The items up to and including the trades after the first ``book_events`` diffs."""
    seen = 0
    for i, (_, item) in enumerate(items):
        if not isinstance(item, Trade):
            if seen == book_events:
                return items[:i]
            seen += 1
    return items


if __name__ == "__main__":
    main()
