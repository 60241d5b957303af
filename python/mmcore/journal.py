"""Durable trading journal: SQLite in WAL mode, written by a background thread.

The hot path only puts small tuples on a bounded queue (when it is full the caller waits and
the wait is counted: nothing is dropped). The writer thread commits in batches; a fill and
the position it produced go in one statement group of the same transaction, so after a crash
(even ``kill -9``) every committed fill has its position. :func:`load_state` restores
positions and the orders that were still open.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from mmcore.execution.orders import Order, OrderFilled, OrderStatus, Side
from mmcore.portfolio import ExactPosition, PositionSnapshot

__all__ = ["Journal", "JournalState", "load_state"]

log = logging.getLogger("mmcore.journal")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    client_id TEXT PRIMARY KEY, symbol TEXT NOT NULL, side INTEGER NOT NULL,
    price_ticks INTEGER NOT NULL, qty REAL NOT NULL, filled REAL NOT NULL,
    status TEXT NOT NULL, venue_id TEXT, created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS order_events (
    id INTEGER PRIMARY KEY, client_id TEXT NOT NULL, kind TEXT NOT NULL, ts REAL NOT NULL,
    detail TEXT);
CREATE TABLE IF NOT EXISTS fills (
    fill_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, symbol TEXT NOT NULL,
    side INTEGER NOT NULL, price_ticks INTEGER NOT NULL, price REAL NOT NULL, qty REAL NOT NULL,
    fee REAL NOT NULL, maker INTEGER NOT NULL, ts REAL NOT NULL);
CREATE TABLE IF NOT EXISTS positions (
    symbol TEXT PRIMARY KEY, qty REAL NOT NULL, avg_cost REAL NOT NULL, realized REAL NOT NULL,
    fees REAL NOT NULL, mark REAL, ts REAL NOT NULL, exact TEXT);
CREATE TABLE IF NOT EXISTS pnl_snapshots (
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, realized REAL NOT NULL, unrealized REAL NOT NULL,
    fees REAL NOT NULL, equity REAL NOT NULL);
CREATE TABLE IF NOT EXISTS advice (
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, symbol TEXT NOT NULL, kind TEXT NOT NULL,
    source TEXT NOT NULL, ttl_s REAL NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS llm_usage (
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, model TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, cost_usd REAL NOT NULL);
"""

_SQL = {
    "order": "INSERT INTO orders VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(client_id) DO UPDATE "
    "SET filled=excluded.filled, status=excluded.status, venue_id=excluded.venue_id, "
    "updated=excluded.updated, qty=excluded.qty",
    "event": "INSERT INTO order_events (client_id, kind, ts, detail) VALUES (?,?,?,?)",
    "fill": "INSERT OR IGNORE INTO fills VALUES (?,?,?,?,?,?,?,?,?,?)",
    "position": "INSERT OR REPLACE INTO positions VALUES (?,?,?,?,?,?,?,?)",
    "pnl": "INSERT INTO pnl_snapshots (ts, realized, unrealized, fees, equity) VALUES (?,?,?,?,?)",
    "advice": "INSERT INTO advice (ts, symbol, kind, source, ttl_s, payload) VALUES (?,?,?,?,?,?)",
    "llm": "INSERT INTO llm_usage (ts, model, prompt_tokens, completion_tokens, cost_usd) "
    "VALUES (?,?,?,?,?)",
}


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: commits survive a process crash
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def _create_schema(conn: sqlite3.Connection) -> None:
    """Create the tables; a journal from before exact positions gains their column."""
    conn.executescript(_SCHEMA)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(positions)")}
    if "exact" not in columns:
        conn.execute("ALTER TABLE positions ADD COLUMN exact TEXT")


def _exact_text(e: ExactPosition | None) -> str | None:
    """A position's integers and grid as stored (integers may exceed SQLite's 64 bits)."""
    if e is None:
        return None
    return " ".join(repr(v) for v in e)


def _exact_parse(text: str | None) -> ExactPosition | None:
    if text is None:
        return None
    lots, cash, basis, fee_units, tick, lot = text.split()
    return ExactPosition(int(lots), int(cash), int(basis), int(fee_units), float(tick), float(lot))


class JournalState(NamedTuple):
    """What a restart needs: positions, orders still open, and how many fills exist."""

    positions: list[PositionSnapshot]
    open_orders: list[Order]
    fill_count: int
    last_client_seq: int


class Journal:
    """Asynchronous writer; all ``record_*`` methods are cheap and never touch the disk."""

    def __init__(self, path: str | Path, *, max_queue: int = 10_000, batch: int = 1000) -> None:
        self.path = Path(path)
        self.batch = batch
        self.stalls = 0  # puts that had to wait for a full queue
        self.errors = 0
        self.written = 0
        with _connect(self.path) as conn:
            _create_schema(conn)
        conn.close()
        self._queue: queue.Queue[tuple[str, tuple[Any, ...]] | None] = queue.Queue(max_queue)
        self._thread = threading.Thread(target=self._run, name="mmcore-journal", daemon=True)
        self._thread.start()

    # -- producers (hot path) --------------------------------------------------------------
    def record_order(self, order: Order) -> None:
        """Insert or update an order's row."""
        self._put(
            "order",
            (
                order.client_id,
                order.symbol,
                int(order.side),
                order.price_ticks,
                order.qty,
                order.filled,
                order.status.value,
                order.venue_id,
                order.created,
                order.updated,
            ),
        )

    def record_event(self, client_id: str, kind: str, ts: float, detail: str = "") -> None:
        """Append an order event (submitted, acked, rejected, cancel sent, …)."""
        self._put("event", (client_id, kind, ts, detail))

    def record_fill(
        self, symbol: str, fill: OrderFilled, price: float, position: PositionSnapshot, ts: float
    ) -> None:
        """A fill together with the position it produced (committed atomically; the
        position's exact integers with it)."""
        row = (
            fill.fill_id,
            fill.client_id,
            symbol,
            int(fill.side),
            fill.price_ticks,
            price,
            fill.qty,
            fill.fee,
            int(fill.maker),
            fill.ts,
        )
        p = position
        pos_row = (
            p.symbol,
            p.qty,
            p.avg_cost,
            p.realized,
            p.fees,
            p.mark,
            ts,
            _exact_text(p.exact),
        )
        self._put("fill+position", (row, pos_row))

    def record_pnl(
        self, ts: float, realized: float, unrealized: float, fees: float, equity: float
    ) -> None:
        """A PnL snapshot."""
        self._put("pnl", (ts, realized, unrealized, fees, equity))

    def record_advice(
        self,
        ts: float,
        symbol: str,
        kind: str,
        source: str,
        ttl_s: float,
        values: Mapping[str, Any],
    ) -> None:
        """Advice received from an advisor."""
        self._put("advice", (ts, symbol, kind, source, ttl_s, json.dumps(dict(values))))

    def record_llm_usage(
        self, ts: float, model: str, prompt_tokens: int, completion_tokens: int, cost_usd: float
    ) -> None:
        """Tokens and cost of one LLM call."""
        self._put("llm", (ts, model, prompt_tokens, completion_tokens, cost_usd))

    # -- control -------------------------------------------------------------------------
    def flush(self) -> None:
        """Block until everything recorded so far is committed."""
        self._queue.join()

    def close(self) -> None:
        """Commit what is queued and stop the writer."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _put(self, kind: str, params: tuple[Any, ...]) -> None:
        try:
            self._queue.put_nowait((kind, params))
        except queue.Full:
            self.stalls += 1
            self._queue.put((kind, params))

    def _run(self) -> None:
        conn = _connect(self.path)
        q = self._queue
        try:
            while True:
                items = [q.get()]
                while len(items) < self.batch:
                    try:
                        items.append(q.get_nowait())
                    except queue.Empty:
                        break
                stop = None in items
                self._write(conn, [i for i in items if i is not None])
                for _ in items:
                    q.task_done()
                if stop:
                    return
        finally:
            conn.close()

    def _write(self, conn: sqlite3.Connection, items: list[tuple[str, tuple[Any, ...]]]) -> None:
        conn.execute("BEGIN")
        for kind, params in items:
            try:
                if kind == "fill+position":
                    conn.execute(_SQL["fill"], params[0])
                    conn.execute(_SQL["position"], params[1])
                else:
                    conn.execute(_SQL[kind], params)
                self.written += 1
            except sqlite3.Error:
                self.errors += 1
                log.exception("journal write failed kind=%s", kind)
        conn.execute("COMMIT")


def load_state(path: str | Path) -> JournalState:
    """Read positions, open orders and the fill count from a journal (after a restart)."""
    conn = _connect(Path(path))
    try:
        _create_schema(conn)
        positions = [
            PositionSnapshot(
                symbol,
                qty,
                avg,
                realized,
                fees,
                math.nan if mark is None else mark,
                _exact_parse(exact),
            )
            for symbol, qty, avg, realized, fees, mark, exact in conn.execute(
                "SELECT symbol, qty, avg_cost, realized, fees, mark, exact FROM positions"
            )
        ]
        active = tuple(s.value for s in OrderStatus if not s.terminal)
        rows = conn.execute(
            "SELECT client_id, symbol, side, price_ticks, qty, filled, status, venue_id, created, "
            f"updated FROM orders WHERE status IN ({','.join('?' * len(active))})",
            active,
        ).fetchall()
        orders = [
            Order(
                cid,
                symbol,
                Side(side),
                price,
                qty,
                created,
                updated,
                filled,
                OrderStatus(status),
                venue_id or "",
            )
            for cid, symbol, side, price, qty, filled, status, venue_id, created, updated in rows
        ]
        fill_count = conn.execute("SELECT COUNT(*) FROM fills").fetchone()[0]
        tails = (r[0].rsplit("-", 1)[-1] for r in conn.execute("SELECT client_id FROM orders"))
        last_seq = max((int(t) for t in tails if t.isdigit()), default=0)
        return JournalState(positions, orders, fill_count, last_seq)
    finally:
        conn.close()
