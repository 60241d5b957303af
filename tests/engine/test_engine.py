"""The engine in replay: fills reach the portfolio and journal; shutdown cancels; advice."""

from __future__ import annotations

import pytest

from mmcore.advisors.advice import Advice
from mmcore.advisors.service import AdvisorService
from mmcore.execution import OrderStatus, Side
from mmcore.journal import Journal, load_state
from mmcore.portfolio import Portfolio
from mmcore.risk import TradingState
from mmcore.strategy import Overlay, Quote, QuoteDecision
from mmcore.strategy.calibration import ModelParams

from .conftest import SYMBOL, TICK, make_engine, session


def test_replay_trades_and_keeps_portfolio_consistent_with_fills(journal_path):
    snapshot, items = session(3000)
    journal = Journal(journal_path)
    engine = make_engine(snapshot, journal=journal)
    stats = engine.replay(items)
    assert stats.book_events == 3000 and stats.trades == 1000 and stats.skipped == 0
    assert stats.fills > 0
    engine.shutdown(items[-1][0])
    journal.close()
    state = load_state(journal_path)
    assert state.fill_count == engine.fills
    (pos,) = state.positions
    assert pos.qty == pytest.approx(engine.portfolio.position(SYMBOL).qty)
    assert abs(pos.qty) <= engine.risk.cfg.max_position + 1e-12


def test_replay_is_deterministic():
    snapshot, items = session(1000)
    a, b = make_engine(snapshot), make_engine(snapshot)
    a.replay(items)
    b.replay(items)
    assert a.portfolio.position(SYMBOL).snapshot() == b.portfolio.position(SYMBOL).snapshot()
    assert a.fills == b.fills > 0


def test_shutdown_cancels_every_working_order():
    snapshot, items = session(300)
    engine = make_engine(snapshot)
    engine.replay(items)
    assert engine.orders.orders
    end = items[-1][0]
    assert engine.shutdown(end) > 0
    engine.on_timer(end + 1.0)  # nothing new is quoted
    assert engine.orders.orders == {}


def test_shutdown_cancels_an_order_its_cancel_overtook():
    """A cancel that reaches the venue before its order finds nothing; the order then rests.
    Shutdown cancels again until nothing is left (a forced exit found one order still acked in
    its journal after the demo's latencies got jitter)."""
    snapshot, items = session(300)
    engine = make_engine(snapshot, paper=dict(entry_latency_s=0.05, cancel_latency_s=0.001))
    engine.replay(items)
    end = items[-1][0]
    engine.on_book(end)  # new orders are in flight, 50 ms from the venue
    in_flight = [o for o in engine.orders.orders.values() if o.status.value == "pending_new"]
    assert in_flight
    engine.shutdown(end + 0.001)
    assert engine.orders.orders == {}
    assert list(engine.venue.open_orders(SYMBOL)) == []


def test_circuit_breaker_advice_halts_and_cancels():
    snapshot, items = session(300)
    service = AdvisorService([], min_interval_s=1.0, change_threshold=0.1)
    engine = make_engine(snapshot)
    engine.advisors = service
    engine.replay(items[:200])
    assert engine.orders.orders
    now = items[199][0]
    values = dict(
        risk_score=1.0,
        max_position=0.0,
        spread_adjustment_bps=0.0,
        toxic_flow_probability=0.0,
        circuit_breaker=True,
    )
    service._store("risk", SYMBOL, Advice("risk", SYMBOL, values, now, 60.0, "test"))
    engine.replay(items[200:202])
    assert engine.risk.state is TradingState.HALTED and "circuit_breaker" in engine.risk.reasons
    assert all(o.status is OrderStatus.PENDING_CANCEL for o in engine.orders.orders.values())


def test_portfolio_pnl_average_cost_and_flips():
    p = Portfolio(cash=1000.0)
    for symbol in ("X", "Y"):
        p.instrument(symbol, 0.01, 1e-8)
    p.apply_fill("X", 1.0, 100.0, 0.1)
    p.apply_fill("X", 1.0, 110.0, 0.1)
    assert p.position("X").avg_cost == 105.0
    assert p.apply_fill("X", -3.0, 120.0, 0.1) == pytest.approx(30.0)
    pos = p.position("X")
    assert pos.qty == -1.0 and pos.avg_cost == 120.0  # flipped short at the fill price
    p.mark("X", 100.0)
    p.apply_fill("Y", 2.0, 10.0, 0.0)
    p.mark("Y", 11.0)
    assert p.unrealized == pytest.approx(20.0 + 2.0)
    assert p.fees == pytest.approx(0.3)
    assert p.equity == pytest.approx(1000.0 + 30.0 + 22.0 - 0.3)


def test_restored_position_drives_the_next_quote():
    """The engine holds its Position; a restore must update that object, not replace it."""
    from mmcore.journal import JournalState
    from mmcore.portfolio import PositionSnapshot

    snapshot, items = session(50)
    engine = make_engine(snapshot)
    limit = engine.risk.cfg.max_position
    restored = PositionSnapshot(SYMBOL, limit, 65_000.0, 0.0, 0.0, float("nan"))
    engine.restore(JournalState([restored], [], 0, 0), now=0.0)
    now, payload = items[0]
    engine.book.apply(payload)
    engine.on_book(now)
    assert engine.risk.position == limit
    assert engine.risk.state is TradingState.REDUCING
    assert engine.last_decision is not None
    assert all(o.side.name == "SELL" for o in engine.orders.orders.values())


def test_a_fill_of_no_size_moves_only_its_fee():
    """It used to divide by zero on a flat position (and crash the engine's event loop)."""
    p = Portfolio()
    p.instrument("X", 0.01, 1e-8)
    assert p.apply_fill("X", 0.0, 100.0, 0.01) == 0.0
    pos = p.position("X")
    assert (pos.qty, pos.avg_cost, pos.realized, pos.fees) == (0.0, 0.0, 0.0, 0.01)
    p.apply_fill("X", 1.0, 100.0, 0.0)
    p.apply_fill("X", 0.0, 90.0, 0.0)
    assert (pos.qty, pos.avg_cost) == (1.0, 100.0)


def test_rate_limited_asks_are_not_starved():
    """When the order-rate bucket runs dry the desk placed bids first, so asks were refused
    2-5x more often (a long bias). Sides now take turns while flat, the reducing side first
    otherwise: over a session both sides get about the same number of orders."""
    snapshot, items = session(3000)
    engine = make_engine(snapshot, risk={"max_orders_per_s": 5.0, "order_burst": 1})
    placed: list[int] = []
    engine.orders.listener = lambda order, kind, now, detail: (
        placed.append(int(order.side)) if kind == "submitted" else None
    )
    engine.replay(items)
    assert engine.risk.gate.rate_limited > 100  # the bucket ran dry
    bids, asks = placed.count(1), placed.count(-1)
    assert bids > 20 and asks > 20
    assert 0.75 < asks / bids < 1.33, (bids, asks)


def test_paper_ids_are_formatted_at_the_edge():
    """Inside the core acks carry no venue id; the orders the engine sees still carry the ids
    the paper venue's wire would."""
    snapshot, items = session(600)
    engine = make_engine(snapshot)
    seen = []
    engine.orders.listener = lambda order, kind, now, detail: seen.append(order)
    engine.replay(items)
    acked = [o for o in seen if o.status is OrderStatus.ACKED]
    assert acked and all(o.venue_id == f"paper-{o.client_id}" for o in acked)


def test_a_batch_replay_in_rust_fills_as_the_per_event_steps_do():
    """``replay`` runs the Rust engine step over the whole batch; the per-event path (here
    forced by a resync hook) gives the same fills, byte for byte, and the same books."""
    snapshot, items = session(2000, seed=5)

    def run(batch: bool) -> tuple:
        engine = make_engine(snapshot, risk={"max_drawdown": 1e12})
        fills: list = []
        engine.on_fill = lambda *args: fills.append(args)
        if not batch:
            engine.request_resync = lambda symbol: False
        assert engine._batchable() is batch
        stats = engine.replay(items)
        pos = engine.portfolio.position(SYMBOL)
        return stats, fills, pos.exact(), engine.orders.placed, engine.orders.cancels

    batch, steps = run(True), run(False)
    assert batch[1], "the session trades"
    assert batch == steps


class _OutsideTheTouch:
    """A strategy written in Python (the slow path): one bid a tick under the best bid, one
    ask a tick over the best ask, of different sizes."""

    def __init__(self) -> None:
        self.calls = 0

    def decide(self, f, position: float, now: float, overlay: Overlay) -> QuoteDecision:
        self.calls += 1
        bid, ask = round(f.best_bid / TICK) - 1, round(f.best_ask / TICK) + 1
        params = ModelParams(1.0, 1.0, 0.5, "prior")
        return QuoteDecision(
            (Quote(bid, 100),), (Quote(ask, 200),), (bid + ask) / 2, 1.0, 0.0, params, "quoting"
        )


def test_a_python_strategy_quotes_through_the_rust_step():
    """``Engine.strategy`` replaces the quote model; risk, gate, desk, venue and portfolio
    stay the Rust step's (replays then go event by event)."""
    snapshot, items = session(600)
    engine = make_engine(snapshot, risk={"max_drawdown": 1e12}, execution={"tolerance_ticks": 0})
    strategy = engine.strategy = _OutsideTheTouch()
    assert not engine._batchable()
    stats = engine.replay(items)
    assert strategy.calls == stats.book_events and stats.fills > 0
    decision = engine.last_decision
    assert decision is not None and decision.bids[0].price_ticks < decision.asks[0].price_ticks
    book_bid, book_ask = engine.book.best_bid()[0], engine.book.best_ask()[0]
    for order in engine.orders.orders.values():
        if order.status is OrderStatus.PENDING_CANCEL:
            continue
        if order.side is Side.BUY:
            assert (order.price_ticks, order.qty) == (round(book_bid / TICK) - 1, 0.01)
        else:
            assert (order.price_ticks, order.qty) == (round(book_ask / TICK) + 1, 0.02)
    assert engine.portfolio.position(SYMBOL).qty != 0.0


def test_a_bad_item_stops_a_batch_naming_it_and_keeps_what_ran():
    snapshot, items = session(30)
    engine = make_engine(snapshot)
    with pytest.raises(TypeError, match=r"items\[5\]: expected a payload"):
        engine.replay([*items[:5], (1.0, 42)])
    assert engine.orders.placed > 0  # the five items before it ran
