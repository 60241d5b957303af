"""A backtest's figures: PnL, risk-adjusted returns, drawdown, fills, inventory, markouts.

The equity curve is the portfolio's net PnL (realized + unrealized - fees, quote currency)
summed over symbols at each report sample (every ``[backtest] sample_s``). Returns are its
changes over fixed intervals of ``return_interval_s`` (the last sample at or before each
interval's end); there is no capital base, so they are in quote currency, which the ratios
do not mind. With ``n = 365 * 86400 / return_interval_s`` intervals a year (crypto trades
every day):

- Sharpe = mean(r) / std(r, ddof=1) * √n;
- Sortino = mean(r) / √mean(min(r, 0)²) * √n;

both NaN with fewer than two intervals or no variation (Sortino: no losing interval).
Spread captured, adverse selection and inventory PnL are :mod:`mmcore.analytics.pnl`'s
decomposition as the run report computes it (:func:`mmcore.ui.report.symbol_pnl`); markouts
at 1, 10 and 60 s are its :func:`~mmcore.analytics.pnl.markouts` (mean bps, fill-weighted over
symbols). Fill ratio: orders with at least one fill / orders placed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from mmcore.ui.recorder import FillRow, Sample
from mmcore.ui.report import MARKOUT_HORIZONS_S, max_drawdown_of, symbol_pnl

__all__ = ["SECONDS_PER_YEAR", "equity_curve", "interval_returns", "ratios", "summarize_run"]

SECONDS_PER_YEAR = 365 * 86400


def equity_curve(rows: Sequence[Sample]) -> tuple[np.ndarray, np.ndarray]:
    """(times, total net PnL) from the samples, one point per sample time."""
    by_t: dict[float, float] = {}
    for s in rows:
        by_t[s.t] = by_t.get(s.t, 0.0) + s.pnl
    times = np.array(sorted(by_t), float)
    return times, np.array([by_t[t] for t in times], float)


def interval_returns(times: np.ndarray, equity: np.ndarray, interval_s: float) -> np.ndarray:
    """Changes of ``equity`` over consecutive ``interval_s`` windows from its first time."""
    if times.size < 2:
        return np.empty(0)
    edges = np.arange(times[0], times[-1] + 1e-9, interval_s)
    if edges.size < 2:
        return np.empty(0)
    idx = np.searchsorted(times, edges, side="right") - 1
    return np.diff(equity[idx])


def ratios(returns: np.ndarray, interval_s: float) -> tuple[float, float]:
    """(Sharpe, Sortino), annualised (module docstring); NaN where undefined."""
    if returns.size < 2:
        return math.nan, math.nan
    scale = math.sqrt(SECONDS_PER_YEAR / interval_s)
    mean = float(returns.mean())
    std = float(returns.std(ddof=1))
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    sharpe = mean / std * scale if std > 0 else math.nan
    sortino = mean / downside * scale if downside > 0 else math.nan
    return sharpe, sortino


def summarize_run(
    trader: object,
    rows: Sequence[Sample],
    fills: Sequence[FillRow],
    filled_orders: int,
    return_interval_s: float,
) -> dict[str, float | int]:
    """The flat figures of a finished replay (module docstring); ``trader`` is the replay's
    trader view, ``filled_orders`` the orders with at least one fill."""
    engines = trader.engines  # type: ignore[attr-defined]
    setups = trader.setups  # type: ignore[attr-defined]
    pf = trader.portfolio  # type: ignore[attr-defined]
    times, equity = equity_curve(rows)
    returns = interval_returns(times, equity, return_interval_s)
    sharpe, sortino = ratios(returns, return_interval_s)
    placed = sum(e.orders.placed for e in engines.values())
    pnl = [
        symbol_pnl(
            trader,  # type: ignore[arg-type]
            sym,
            [s for s in rows if s.symbol == sym],
            [f for f in fills if f.symbol == sym],
        )
        for sym in engines
    ]
    out: dict[str, float | int] = {
        "pnl": pf.equity,
        "realized": pf.realized,
        "unrealized": pf.unrealized,
        "fees": pf.fees,
        "sharpe": sharpe,
        "sortino": sortino,
        "return_intervals": int(returns.size),
        "max_drawdown": max_drawdown_of(equity),
        "fills": len(fills),
        "volume": float(sum(f.price * f.qty for f in fills)),
        "orders": placed,
        "fill_ratio": filled_orders / placed if placed else math.nan,
        "spread_captured": sum(p.parts.spread for p in pnl),
        "adverse_selection": sum(p.parts.adverse for p in pnl),
        "inventory_pnl": sum(p.parts.inventory for p in pnl),
    }
    for h in MARKOUT_HORIZONS_S:
        marks = [m for p in pnl for m in p.markouts if m.horizon_s == h and m.fills]
        n = sum(m.fills for m in marks)
        out[f"markout_{h:g}s_bps"] = sum(m.mean_bps * m.fills for m in marks) / n if n else math.nan
        out[f"markout_{h:g}s_pnl"] = sum(m.pnl for m in marks)
    inv = np.array([abs(s.position) / setups[s.symbol].quote.max_position for s in rows], float)
    pos = np.array([s.position for s in rows], float)
    out |= {
        "inventory_mean": float(pos.mean()) if pos.size else math.nan,
        "inventory_std": float(pos.std()) if pos.size else math.nan,
        "inventory_abs_mean_frac": float(inv.mean()) if inv.size else math.nan,
        "inventory_abs_max_frac": float(inv.max()) if inv.size else math.nan,
        "inventory_within_half_frac": float(np.mean(inv <= 0.5)) if inv.size else math.nan,
    }
    return out
