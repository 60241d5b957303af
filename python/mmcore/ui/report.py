"""The run report: one self-contained HTML file with inline SVG plots, plus the raw data as CSV.

Fills and orders are read back from the run's journal (so the report shows what was
persisted); the time series come from the :class:`~mmcore.ui.recorder.Recorder`. Markouts are
the mid ``h`` seconds after a fill against the fill price, in bps, positive when the fill
made money (buys: mid rose; sells: mid fell).
"""

from __future__ import annotations

import bisect
import csv
import math
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from mmcore.advisors.factory import AdvisorRuntime
from mmcore.trader import Trader
from mmcore.ui.recorder import Recorder, Sample
from mmcore.ui.svg import Markers, Series, line_chart

__all__ = ["MARKOUT_HORIZONS_S", "Fill", "RunSummary", "write_report"]

MARKOUT_HORIZONS_S = (1.0, 5.0)


@dataclass(frozen=True, slots=True)
class Fill:
    """One fill from the journal, with its time since start and its markouts (bps)."""

    t: float
    symbol: str
    side: str
    price: float
    qty: float
    fee: float
    maker: bool
    markout_1s_bps: float
    markout_5s_bps: float


@dataclass(frozen=True, slots=True)
class RunSummary:
    """The headline figures of a run (quote currency unless stated)."""

    duration_s: float
    stop_reason: str
    pnl: float
    realized: float
    unrealized: float
    fees: float
    volume: float
    fills: int  # fills the engines processed
    journal_fills: int  # fills persisted in the journal (equal after a clean shutdown)
    orders: int
    fill_ratio: float  # orders with any fill / orders sent
    max_drawdown: float
    markout_1s_bps: float
    markout_5s_bps: float
    max_abs_inventory_pct: float  # of each symbol's max_position, worst symbol
    messages: int
    book_events: int
    quotes: int
    tick_to_quote_p50_us: float
    tick_to_quote_p99_us: float
    llm_mode: str
    llm_calls: int
    llm_cost_usd: float

    def rows(self) -> list[tuple[str, str]]:
        """(name, formatted value) pairs for tables."""
        out = []
        for f in fields(self):
            v = getattr(self, f.name)
            out.append((f.name, f"{v:,.6g}" if isinstance(v, float) else str(v)))
        return out


def _read_fills(journal: Path, started: float, mids: dict[str, tuple[list, list]]) -> list[Fill]:
    with sqlite3.connect(journal) as conn:
        rows = conn.execute(
            "SELECT ts, symbol, side, price, qty, fee, maker FROM fills ORDER BY ts"
        ).fetchall()
    fills = []
    for ts, symbol, side, price, qty, fee, maker in rows:
        t = ts - started
        sign = 1 if side > 0 else -1
        marks = []
        for h in MARKOUT_HORIZONS_S:
            times, values = mids.get(symbol, ([], []))
            i = bisect.bisect_left(times, t + h)
            mid = values[i] if i < len(values) else math.nan
            marks.append(sign * (mid - price) / price * 1e4)
        buy = "buy" if sign > 0 else "sell"
        fills.append(Fill(round(t, 4), symbol, buy, price, qty, fee, bool(maker), *marks))
    return fills


def _order_counts(journal: Path) -> tuple[int, int]:
    with sqlite3.connect(journal) as conn:
        sent, filled = conn.execute(
            "SELECT count(*), coalesce(sum(filled > 0), 0) FROM orders"
        ).fetchone()
    return int(sent), int(filled)


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if v == v]
    return sum(finite) / len(finite) if finite else math.nan


def _max_drawdown(equity: Sequence[float]) -> float:
    peak, worst = -math.inf, 0.0
    for e in equity:
        peak = max(peak, e)
        worst = max(worst, peak - e)
    return worst


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as fh:
        if not rows:
            return
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def summarize(
    trader: Trader,
    recorder: Recorder,
    runtime: AdvisorRuntime,
    fills: list[Fill],
    orders: tuple[int, int],
    reason: str,
) -> RunSummary:
    """The headline figures from the trader's final state, the samples and the fills."""
    rows = list(recorder.rows)
    by_t: dict[float, float] = {}
    for s in rows:
        by_t[s.t] = by_t.get(s.t, 0.0) + s.pnl
    equity = [by_t[t] for t in sorted(by_t)]
    p50, p99 = trader.stats.tick_to_quote_us()
    ledger_cost = 0.0
    if runtime.client is not None:
        ledger_cost = sum(u.cost_usd for u in runtime.client.ledger.models.values())
    worst_inv = max(
        (abs(s.position) / trader.setups[s.symbol].quote.max_position for s in rows), default=0.0
    )
    pf = trader.portfolio
    return RunSummary(
        duration_s=round(rows[-1].t if rows else 0.0, 2),
        stop_reason=reason,
        pnl=pf.equity,
        realized=pf.realized,
        unrealized=pf.unrealized,
        fees=pf.fees,
        volume=sum(f.price * f.qty for f in fills),
        fills=sum(e.fills for e in trader.engines.values()),
        journal_fills=len(fills),
        orders=orders[0],
        fill_ratio=orders[1] / orders[0] if orders[0] else math.nan,
        max_drawdown=_max_drawdown(equity),
        markout_1s_bps=_mean([f.markout_1s_bps for f in fills]),
        markout_5s_bps=_mean([f.markout_5s_bps for f in fills]),
        max_abs_inventory_pct=round(worst_inv * 100, 2),
        messages=sum(f.metrics.msgs for f in trader.feeds.values()),
        book_events=trader.stats.book_events,
        quotes=trader.stats.quotes,
        tick_to_quote_p50_us=round(p50, 1),
        tick_to_quote_p99_us=round(p99, 1),
        llm_mode="rules (offline)" if runtime.client is None else "relay",
        llm_calls=runtime.service.stats["calls"],
        llm_cost_usd=ledger_cost,
    )


def _symbol_section(symbol: str, rows: list[Sample], fills: list[Fill]) -> str:
    t = [s.t for s in rows]
    mine = [f for f in fills if f.symbol == symbol]
    buys = [f for f in mine if f.side == "buy"]
    sells = [f for f in mine if f.side == "sell"]

    def col(name: str) -> list[float]:
        return [getattr(s, name) for s in rows]

    charts = [
        line_chart(
            f"{symbol}: mid, our quotes and fills",
            [
                Series("mid", t, col("mid"), "#444"),
                Series("our bid", t, col("our_bid"), "#2a9d55", step=True),
                Series("our ask", t, col("our_ask"), "#d1495b", step=True),
            ],
            [
                Markers("we bought", [f.t for f in buys], [f.price for f in buys], "#1b7a3d"),
                Markers(
                    "we sold", [f.t for f in sells], [f.price for f in sells], "#a11d33", up=False
                ),
            ],
            "price",
        ),
        line_chart(
            f"{symbol}: inventory", [Series("position", t, col("position"), "#3366cc", True)]
        ),
        line_chart(f"{symbol}: PnL (net of fees)", [Series("pnl", t, col("pnl"), "#7b3fa0")]),
        line_chart(
            f"{symbol}: market spread", [Series("spread bps", t, col("spread_bps"), "#c77c02")]
        ),
        line_chart(
            f"{symbol}: advice over time",
            [
                Series("signal spread bps", t, col("advice_spread_bps"), "#c77c02", True),
                Series("signal size x", t, col("advice_size_factor"), "#2a9d55", True),
                Series("risk score", t, col("advice_risk_score"), "#d1495b", True),
                Series("toxic prob", t, col("advice_toxic_prob"), "#7b3fa0", True),
            ],
        ),
    ]
    return f"<h2>{escape(symbol)}</h2>" + "".join(f'<div class="plot">{c}</div>' for c in charts)


_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 10px;text-align:left}
td.v{text-align:right;font-family:monospace}.chart{width:100%;height:auto;margin:6px 0}
.chart .frame{fill:none;stroke:#999}.chart .grid{stroke:#eee}
.chart .line{fill:none;stroke-width:1.4}
.chart text{font-size:11px;fill:#333}.chart .ylab{text-anchor:end}.chart .xlab{text-anchor:middle}
.chart .title{font-size:13px;font-weight:600}.chart .empty{text-anchor:middle;fill:#999}
pre{background:#f6f6f6;padding:8px}
"""


def write_report(
    out: Path,
    trader: Trader,
    recorder: Recorder,
    runtime: AdvisorRuntime,
    *,
    reason: str,
    usage: str = "",
) -> tuple[RunSummary, Path]:
    """Write ``report.html``, ``samples.csv``, ``fills.csv`` and ``summary.csv`` into ``out``."""
    rows = list(recorder.rows)
    mids: dict[str, tuple[list, list]] = {}
    for s in rows:
        times, values = mids.setdefault(s.symbol, ([], []))
        times.append(s.t)
        values.append(s.mid)
    journal = out / "journal.sqlite"
    fills = _read_fills(journal, trader.started_at, mids)
    summary = summarize(trader, recorder, runtime, fills, _order_counts(journal), reason)
    _write_csv(out / "samples.csv", [s.as_row() for s in rows])
    _write_csv(out / "fills.csv", [asdict(f) for f in fills])
    _write_csv(out / "summary.csv", [dict(summary.rows())])
    table = "".join(
        f"<tr><th>{escape(k)}</th><td class='v'>{escape(v)}</td></tr>" for k, v in summary.rows()
    )
    sections = "".join(
        _symbol_section(sym, [s for s in rows if s.symbol == sym], fills) for sym in trader.engines
    )
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    note = (
        f"<p>{recorder.dropped} oldest samples were dropped (ring full).</p>"
        if recorder.dropped
        else ""
    )
    html = (
        "<!doctype html><html><head><meta charset='utf-8'><title>mmcore run report</title>"
        f"<style>{_CSS}</style></head><body><h1>mmcore run report</h1>"
        f"<p>{escape(created)} &middot; symbols {escape(', '.join(trader.engines))} &middot; "
        f"data: samples.csv, fills.csv, summary.csv, journal.sqlite</p>{note}"
        f"<h2>Summary</h2><table>{table}</table><pre>{escape(usage)}</pre>{sections}"
        "</body></html>"
    )
    report = out / "report.html"
    report.write_text(html, encoding="utf-8")
    return summary, report
