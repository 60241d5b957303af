"""Journal: WAL mode, restore after kill -9, nothing committed is lost."""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from tests.child_lines import lines_within

from mmcore.execution import Order, OrderFilled, OrderStatus, Side
from mmcore.journal import Journal, load_state
from mmcore.portfolio import Portfolio

from .conftest import SYMBOL, make_engine, session

CHILD = Path(__file__).parent / "journal_child.py"
CHILD_TIMEOUT_S = 60.0  # per line: start-up and one 500-item chunk on a loaded machine


def _signed_fill_sum(path: Path) -> float:
    with sqlite3.connect(path) as conn:
        (total,) = conn.execute("SELECT COALESCE(SUM(side * qty), 0) FROM fills").fetchone()
    return total


def test_kill_9_mid_run_then_restart_keeps_committed_fills_and_positions(journal_path):
    cmd = [sys.executable, str(CHILD), str(journal_path)]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    try:
        committed = 0
        assert child.stdout is not None
        for line in lines_within(child.stdout, CHILD_TIMEOUT_S):
            committed = int(line)
            if committed >= 30:
                break
        assert committed >= 30, f"the child exited with {child.wait()} after {committed} fills"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL

    with sqlite3.connect(journal_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    state = load_state(journal_path)
    assert state.fill_count >= committed
    (pos,) = [p for p in state.positions if p.symbol == SYMBOL]
    assert pos.qty == pytest.approx(_signed_fill_sum(journal_path), abs=1e-9)

    snapshot, _ = session(10, seed=11)
    engine = make_engine(snapshot, journal=Journal(journal_path))
    lost = engine.restore(state, now=0.0)
    assert engine.portfolio.position(SYMBOL).qty == pytest.approx(pos.qty)
    assert engine.portfolio.position(SYMBOL).avg_cost == pytest.approx(pos.avg_cost)
    assert {o.client_id for o in lost} == {o.client_id for o in state.open_orders}
    assert all(o.status is OrderStatus.EXPIRED for o in lost)  # the paper venue died with it
    next_id = engine.orders.next_client_id()
    assert int(next_id.rsplit("-", 1)[1]) == state.last_client_seq + 1  # ids are not reused
    engine.shutdown(0.0)
    engine.journal.close()
    assert load_state(journal_path).open_orders == []  # the expiries were journalled


def test_records_every_table_and_restores_open_orders(journal_path):
    j = Journal(journal_path)
    o = Order("mm-X-7", "X", Side.SELL, 10_000, 2.0, 1.0, 1.0)
    j.record_order(o)
    j.record_event(o.client_id, "submitted", 1.0)
    j.record_order(o._replace(status=OrderStatus.ACKED, updated=1.5))
    p = Portfolio()
    p.instrument("X", 0.01, 0.1)
    p.apply_fill("X", -0.5, 100.0, 0.01)
    fill = OrderFilled(o.client_id, 2.0, "f1", Side.SELL, 10_000, 0.5, 0.01, True)
    j.record_fill("X", fill, 100.0, p.position("X").snapshot(), 2.0)
    j.record_fill("X", fill, 100.0, p.position("X").snapshot(), 2.0)  # duplicate: ignored
    j.record_pnl(2.0, 0.0, 0.0, 0.01, -0.01)
    j.record_advice(2.0, "X", "risk", "rules", 30.0, {"risk_score": 0.2})
    j.record_llm_usage(2.0, "gpt-x", 100, 20, 0.001)
    j.close()
    state = load_state(journal_path)
    (restored,) = state.open_orders
    assert (restored.client_id, restored.status, restored.side) == (
        "mm-X-7",
        OrderStatus.ACKED,
        Side.SELL,
    )
    assert state.fill_count == 1 and state.last_client_seq == 7
    (pos,) = state.positions
    assert pos.qty == -0.5 and pos.avg_cost == 100.0 and math.isnan(pos.mark)
    with sqlite3.connect(journal_path) as conn:
        for table in ("order_events", "pnl_snapshots", "advice", "llm_usage"):
            assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 1


def test_a_full_queue_makes_the_writer_wait_but_loses_nothing(journal_path):
    j = Journal(journal_path, max_queue=4, batch=2)
    for i in range(200):
        j.record_event(f"c{i}", "submitted", float(i))
    j.close()
    with sqlite3.connect(journal_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM order_events").fetchone()[0] == 200


def test_every_order_event_is_journalled_including_requote_cancels(journal_path):
    """Requotes cancel orders as well as place them: each cancel request is an order event
    (with the order row in ``pending_cancel``), as are submissions and every venue response."""
    snapshot, items = session(1500, seed=3)
    engine = make_engine(snapshot, risk={"max_drawdown": 1e12}, journal=Journal(journal_path))
    engine.replay(items)
    end = items[-1][0] + 1.0  # orders sent on the last events are acked by then
    engine.take_venue_events(end)
    working = sum(o.status is not OrderStatus.PENDING_CANCEL for o in engine.orders.orders.values())
    engine.shutdown(end)
    engine.journal.close()
    m = engine.orders
    assert m.cancels > 50 and working > 0  # requotes happened, and orders were left to cancel
    with sqlite3.connect(journal_path) as conn:
        kinds = dict(conn.execute("SELECT kind, COUNT(*) FROM order_events GROUP BY kind"))
        (orders,) = conn.execute("SELECT COUNT(*) FROM orders").fetchone()
        (at_shutdown,) = conn.execute(
            "SELECT COUNT(*) FROM order_events WHERE kind = 'cancel_sent' AND detail = 'shutdown'"
        ).fetchone()
    assert at_shutdown == working
    assert kinds["submitted"] == m.placed == orders
    assert kinds["cancel_sent"] == m.cancels
    assert kinds["OrderAcked"] + kinds.get("OrderRejected", 0) == m.placed
