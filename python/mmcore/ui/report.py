"""The run report: one self-contained HTML file with interactive plots, plus the data as CSV.

The plots are Bokeh's (:mod:`mmcore.ui.plots`); BokehJS is inlined once in the file, so it
opens offline. The time series and the fills come from the :class:`~mmcore.ui.recorder.Recorder`
(every fill the portfolio took, with the mid at that moment); the journal is read for what was
persisted (``journal_fills``, orders). The PnL decomposition (:mod:`mmcore.analytics.pnl`)
marks to each symbol's position mark, so its parts add up to the summary's PnL for a run that
started flat.
"""

from __future__ import annotations

import csv
import math
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import numpy as np
from jinja2 import Template

from mmcore.advisors.factory import AdvisorRuntime
from mmcore.analytics.pnl import (
    Interval,
    Markout,
    MidPath,
    PnlParts,
    PnlPath,
    decompose,
    decompose_path,
    markouts,
    split_by_intervals,
)
from mmcore.execution.live.decode import FEE_ASSET_EVENT
from mmcore.trader import Trader
from mmcore.ui.recorder import FillRow, Recorder, Sample

__all__ = [
    "DECOMPOSITION_HORIZON_S",
    "MARKOUT_HORIZONS_S",
    "RunSummary",
    "SymbolPnl",
    "max_drawdown_of",
    "symbol_pnl",
    "write_report",
]

DECOMPOSITION_HORIZON_S = 1.0  # the markout horizon of the adverse-selection part
MARKOUT_HORIZONS_S = (1.0, 10.0, 60.0)  # shown in the markout table


def _fmt(value: object) -> str:
    """A table cell: ``n/a`` for NaN, thousands separators and 6 significant digits."""
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:,.6g}"
    return str(value)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """The headline figures of a run (quote currency unless stated)."""

    duration_s: float
    stop_reason: str
    pnl: float  # = pnl_spread + pnl_adverse + pnl_inventory - fees
    realized: float
    unrealized: float
    fees: float
    #: fees charged in an asset with no price (``BNB 0.0012``; "" when none): not in ``fees``
    fees_other_assets: str
    pnl_spread: float  # spread captured against the mid at each fill
    pnl_adverse: float  # adverse selection: the 1 s markouts against the mid at each fill
    pnl_inventory: float  # the mid's later moves on the inventory held
    volume: float
    fills: int  # fills the engines processed
    journal_fills: int  # fills persisted in the journal (equal after a clean shutdown)
    orders: int
    fill_ratio: float  # orders with any fill / orders sent
    max_drawdown: float
    markout_1s_bps: float  # mean 1 s markout against the mid at the fill, bps
    max_abs_inventory_pct: float  # of each symbol's max_position, worst symbol
    messages: int
    book_events: int
    quotes: int
    tick_to_quote_p50_us: float  # NaN (shown n/a) when no quote was made
    tick_to_quote_p99_us: float
    llm_mode: str
    llm_calls: int
    llm_cost_usd: float

    def rows(self) -> list[tuple[str, str]]:
        """(name, formatted value) pairs for tables (NaN is ``n/a``)."""
        return [(f.name, _fmt(getattr(self, f.name))) for f in fields(self)]

    def stop_line(self, reason: str) -> str:
        """The closing line of a run."""
        p99 = self.tick_to_quote_p99_us
        latency = "n/a" if math.isnan(p99) else f"{p99:.0f}us"
        return (
            f"mmcore: stopped ({reason}) after {self.duration_s:.1f}s: {self.fills} fills, "
            f"PnL {self.pnl:+.2f}, fees {self.fees:.2f}, max drawdown {self.max_drawdown:.2f}, "
            f"tick-to-quote p99 {latency}"
            + (f"; fees not valued: {self.fees_other_assets}" if self.fees_other_assets else "")
        )


@dataclass(frozen=True)
class SymbolPnl:
    """One symbol's decomposition path, its final parts and markouts."""

    symbol: str
    path: PnlPath
    parts: PnlParts
    markouts: list[Markout]
    portfolio_pnl: float  # the position's net PnL, which ``parts.total`` must equal
    intervals: list[Interval]  # the symbol's marked intervals
    #: the parts of the fills made inside ``intervals`` and of the rest (they add up to
    #: ``parts``); None without intervals
    split: tuple[PnlParts, PnlParts] | None


def symbol_pnl(
    trader: Trader,
    symbol: str,
    rows: list[Sample],
    fills: list[FillRow],
    intervals: list[Interval] | None = None,
) -> SymbolPnl:
    """The decomposition at each sample and at the end, marked to the position's last mark;
    with ``intervals``, also split between the fills made inside them and the rest."""
    intervals = list(intervals or ())
    pos = trader.portfolio.position(symbol)
    end = max([s.t for s in rows] + [f.t for f in fills], default=0.0)
    # a fill's mid is the mark it was applied at; a sample at the same moment was taken after
    # it, so at equal times the sample's mark wins (MidPath keeps the later point)
    points = [(f.t, f.mid) for f in fills] + [(s.t, s.mark) for s in rows] + [(end, pos.mark)]
    times = [s.t for s in rows] + [end]
    if not any(m == m for _, m in points):  # never marked, so never quoted nor filled
        zeros = np.zeros(len(times))
        path = PnlPath(np.array(times), zeros, zeros, zeros, zeros)
        none = PnlParts(0.0, 0.0, 0.0, 0.0)
        split = (none, none) if intervals else None
        return SymbolPnl(symbol, path, path.last(), [], pos.net, intervals, split)
    mids = MidPath(points)
    path = decompose_path(fills, mids, DECOMPOSITION_HORIZON_S, times)
    split = None
    if intervals:
        inside, outside = split_by_intervals(fills, intervals)
        split = (
            decompose(inside, mids, DECOMPOSITION_HORIZON_S),
            decompose(outside, mids, DECOMPOSITION_HORIZON_S),
        )
    marks = markouts(fills, mids, MARKOUT_HORIZONS_S)
    return SymbolPnl(symbol, path, path.last(), marks, pos.net, intervals, split)


def _order_counts(journal: Path) -> tuple[int, int, int]:
    """(orders sent, orders with any fill, fills persisted)."""
    with sqlite3.connect(journal) as conn:
        sent, filled = conn.execute(
            "SELECT count(*), coalesce(sum(filled > 0), 0) FROM orders"
        ).fetchone()
        persisted = conn.execute("SELECT count(*) FROM fills").fetchone()[0]
    return int(sent), int(filled), int(persisted)


def _fees_other_assets(journal: Path) -> str:
    """Fees the live venues could not value (journal ``venue_fee_asset`` events), summed per
    asset: ``BNB 0.0012, ...``."""
    totals: dict[str, float] = {}
    with sqlite3.connect(journal) as conn:
        rows = conn.execute(
            "SELECT detail FROM order_events WHERE kind = ?", (FEE_ASSET_EVENT,)
        ).fetchall()
    for (detail,) in rows:
        asset, amount, *_ = (detail or "").split()
        totals[asset] = totals.get(asset, 0.0) + float(amount)
    return ", ".join(f"{a} {v:.12g}" for a, v in sorted(totals.items()))


def max_drawdown_of(equity: Sequence[float]) -> float:
    """The largest fall of ``equity`` from a running peak (0 for a series that never falls)."""
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
    pnl: Sequence[SymbolPnl],
    orders: tuple[int, int, int],
    reason: str,
    fees_other_assets: str = "",
) -> RunSummary:
    """The headline figures from the trader's final state, the samples, fills and PnL parts."""
    rows = list(recorder.rows)
    fills = recorder.fills
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
    one_s = [m for p in pnl for m in p.markouts if m.horizon_s == 1.0 and m.fills]
    marked = sum(m.fills for m in one_s)
    pf = trader.portfolio
    return RunSummary(
        duration_s=round(rows[-1].t if rows else 0.0, 2),
        stop_reason=reason,
        pnl=pf.equity,
        realized=pf.realized,
        unrealized=pf.unrealized,
        fees=pf.fees,
        fees_other_assets=fees_other_assets,
        pnl_spread=sum(p.parts.spread for p in pnl),
        pnl_adverse=sum(p.parts.adverse for p in pnl),
        pnl_inventory=sum(p.parts.inventory for p in pnl),
        volume=sum(f.price * f.qty for f in fills),
        fills=sum(e.fills for e in trader.engines.values()),
        journal_fills=orders[2],
        orders=orders[0],
        fill_ratio=orders[1] / orders[0] if orders[0] else math.nan,
        max_drawdown=max_drawdown_of(equity),
        markout_1s_bps=sum(m.mean_bps * m.fills for m in one_s) / marked if marked else math.nan,
        max_abs_inventory_pct=round(worst_inv * 100, 2),
        messages=sum(f.metrics.msgs for f in trader.feeds.values()),
        book_events=trader.stats.book_events,
        quotes=trader.stats.quotes,
        tick_to_quote_p50_us=round(p50, 1),
        tick_to_quote_p99_us=round(p99, 1),
        llm_mode=(
            "none (not replayed)"
            if not runtime.service.advisors
            else "rules (offline)"
            if runtime.client is None
            else "relay"
        ),
        llm_calls=runtime.service.stats["calls"],
        llm_cost_usd=ledger_cost,
    )


_CSS = """
body{font-family:system-ui,sans-serif;margin:20px 28px;color:#222}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 6px}
h3{font-size:14px;margin:14px 0 4px}.tables{display:flex;flex-wrap:wrap;gap:18px 36px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #d5d5d5;padding:3px 9px}
th{background:#f4f4f4;text-align:left;font-weight:600}td.v{text-align:right;
font-variant-numeric:tabular-nums}tr.total td{font-weight:600;border-top:2px solid #999}
p.note{color:#555;font-size:13px;max-width:1000px}pre{background:#f6f6f6;padding:8px;font-size:12px}
"""

_PAGE = Template(
    """{% extends base %}
{% block preamble %}<style>{{ css }}</style>{% endblock %}
{% block contents %}
{{ header }}
{% for section in sections %}
<h2>{{ section.title }}</h2>
{{ embed(roots[section.symbol]) }}
{% endfor %}
{% endblock %}"""
)


def _table(head: Sequence[str], rows: Sequence[Sequence[object]], total: bool = False) -> str:
    """An HTML table; numbers right-aligned; with ``total`` the last row is emphasised."""
    out = ["<table><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr>"]
    for i, row in enumerate(rows):
        cls = " class='total'" if total and i == len(rows) - 1 else ""
        cells = (
            f"<td class='v'>{escape(_fmt(v))}</td>"
            if isinstance(v, float | int)
            else f"<td>{escape(str(v))}</td>"
            for v in row
        )
        out += [f"<tr{cls}>", *cells, "</tr>"]
    return "".join([*out, "</table>"])


def _decomposition_table(pnl: Sequence[SymbolPnl]) -> str:
    head = (
        "symbol",
        "spread captured",
        f"adverse selection ({DECOMPOSITION_HORIZON_S:g} s)",
        "inventory",
        "fees",
        "total",
        "portfolio PnL",
    )
    rows: list[list[object]] = []
    totals: list[list[object]] = []
    for p in pnl:
        row: list[object] = [p.symbol, *p.parts, p.parts.total, p.portfolio_pnl]
        rows.append(row)
        totals.append(row)
        if p.split is not None:
            label = p.intervals[0].label
            seconds = sum(i.end - i.start for i in p.intervals)
            inside, outside = p.split
            rows.append(
                [
                    f"  fills in {label} ({len(p.intervals)}, {seconds:.1f} s)",
                    *inside,
                    inside.total,
                    "",
                ]
            )
            rows.append(["  fills elsewhere", *outside, outside.total, ""])
    sums = [sum(float(r[i]) for r in totals) for i in range(1, len(head))]  # type: ignore[arg-type]
    return _table(head, [*rows, ["all symbols", *sums]], total=True)


def _markout_table(pnl: Sequence[SymbolPnl]) -> str:
    head = ("symbol", "horizon", "markout PnL", "mean markout (bps)", "fills", "capped at end")
    rows = [
        [p.symbol, f"{m.horizon_s:g} s", m.pnl, m.mean_bps, m.fills, m.capped]
        for p in pnl
        for m in p.markouts
    ]
    return _table(head, rows)


_DEFINITIONS = (
    "Spread captured: per fill, side x (mid at fill - price) x qty. Adverse selection: per fill, "
    "side x (mid {h:g} s later - mid at fill) x qty, the later mid capped at the end of the run. "
    "Inventory: per fill, side x (last mark - mid {h:g} s after the fill) x qty, the mid's later "
    "moves on what was held. Fees: paid (negative) or rebated (positive). The four add up to the "
    "portfolio's net PnL (realized + unrealized - fees, marked to the last mid). Mids between "
    "samples are the latest sample's or fill's."
)
_SPLIT_NOTE = (
    " Shaded on the plots: {label} ({n} intervals). The rows under a symbol split its fills "
    "between those made inside them and the rest; the two add up to the symbol's row."
)


def _definitions(intervals: Sequence[Interval]) -> str:
    text = _DEFINITIONS.format(h=DECOMPOSITION_HORIZON_S)
    if intervals:
        text += _SPLIT_NOTE.format(label=intervals[0].label, n=len(intervals))
    return text


def write_report(
    out: Path,
    trader: Trader,
    recorder: Recorder,
    runtime: AdvisorRuntime,
    *,
    reason: str,
    usage: str = "",
    intervals: Sequence[Interval] = (),
) -> tuple[RunSummary, Path]:
    """Write ``report.html``, ``samples.csv``, ``fills.csv`` and ``summary.csv`` into ``out``.

    ``intervals`` (seconds since the trader started, as the samples) are shaded on their
    symbol's panels and split its PnL decomposition: the fills made inside them and the rest.
    """
    # Bokeh here, not at the top: importing it costs about a CPU second, and the backtest's
    # metrics (every sweep worker) import this module for its PnL functions only
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    from mmcore.ui.plots import shared_time_range, symbol_panels

    rows = list(recorder.rows)
    fills = list(recorder.fills)
    by_symbol = {sym: [s for s in rows if s.symbol == sym] for sym in trader.engines}
    fills_of = {sym: [f for f in fills if f.symbol == sym] for sym in trader.engines}
    marked = {sym: [i for i in intervals if i.symbol == sym] for sym in trader.engines}
    pnl = [
        symbol_pnl(trader, sym, by_symbol[sym], fills_of[sym], marked[sym])
        for sym in trader.engines
    ]
    journal = out / "journal.sqlite"
    summary = summarize(
        trader, recorder, runtime, pnl, _order_counts(journal), reason, _fees_other_assets(journal)
    )
    _write_csv(out / "samples.csv", [s.as_row() for s in rows])
    _write_csv(out / "fills.csv", [f.as_row() for f in fills])
    _write_csv(out / "summary.csv", [dict(summary.rows())])

    x_range = shared_time_range(rows, fills)
    panels = [
        symbol_panels(
            p.symbol,
            by_symbol[p.symbol],
            fills_of[p.symbol],
            p.path,
            x_range,
            DECOMPOSITION_HORIZON_S,
            p.intervals,
        )
        for p in pnl
    ]
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    dropped = (
        f"<p class='note'>{recorder.dropped} oldest samples were dropped (ring full).</p>"
        if recorder.dropped
        else ""
    )
    header = (
        "<h1>mmcore run report</h1>"
        f"<p class='note'>{escape(created)} &middot; symbols {escape(', '.join(trader.engines))}"
        " &middot; data: samples.csv, fills.csv, summary.csv, journal.sqlite &middot; "
        "drag to zoom into a box; pan and wheel zoom are in each toolbar (right), reset "
        "undoes; all panels share the time axis; hover for values; click a legend entry to "
        "hide its line</p>"
        f"{dropped}<div class='tables'><div><h3>Summary</h3>"
        f"{_table(('figure', 'value'), summary.rows())}</div><div>"
        f"<h3>PnL decomposition (quote currency)</h3>{_decomposition_table(pnl)}"
        f"<p class='note'>{escape(_definitions(intervals))}</p>"
        f"<h3>Markouts</h3>{_markout_table(pnl)}</div></div><pre>{escape(usage)}</pre>"
    )
    html = file_html(
        panels,
        INLINE,
        "mmcore run report",
        template=_PAGE,
        template_variables={
            "css": _CSS,
            "header": header,
            "sections": [{"symbol": p.symbol, "title": escape(p.symbol)} for p in pnl],
        },
    )
    report = out / "report.html"
    report.write_text(html, encoding="utf-8")
    return summary, report
