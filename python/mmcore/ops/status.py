"""What ``GET /status`` and ``GET /ready`` report about a running trader (plain data)."""

from __future__ import annotations

import math
import time
from typing import Any

from mmcore.advisors.factory import AdvisorRuntime
from mmcore.risk.manager import TradingState
from mmcore.risk.portfolio_limits import PortfolioLimits
from mmcore.trader import Trader

__all__ = ["not_ready", "status"]


def _num(x: float) -> float | None:
    """JSON has no NaN: unknown numbers are null."""
    return x if math.isfinite(x) else None


def not_ready(trader: Trader) -> list[str]:
    """Why the trader is not ready (empty: ready): every traded book synced and safe to
    quote, and every symbol's risk ACTIVE."""
    why = []
    for symbol, engine in trader.engines.items():
        health = trader.feed_of(symbol).health(symbol)
        if not health.safe_to_quote:
            why.append(f"{symbol}: book {health.state.value}")
        if engine.risk.state is not TradingState.ACTIVE:
            reasons = ",".join(engine.risk.reasons)
            why.append(f"{symbol}: risk {engine.risk.state.value} ({reasons})")
    return why


def status(
    trader: Trader,
    advisors: AdvisorRuntime | None = None,
    limits: PortfolioLimits | None = None,
) -> dict[str, Any]:
    """Books, quotes, positions, risk and advice per symbol, the portfolio and the advisors."""
    now = time.monotonic()
    symbols: dict[str, Any] = {}
    for symbol, engine in trader.engines.items():
        feed = trader.feed_of(symbol)
        health = feed.health(symbol)
        book = feed.book(symbol)
        bid = book.best_bid() if book is not None and health.state.value != "unsynced" else None
        ask = book.best_ask() if book is not None and health.state.value != "unsynced" else None
        our_bid, our_ask = trader.working_quotes(symbol)
        pos = trader.portfolio.position(symbol)
        risk = engine.risk
        entry: dict[str, Any] = {
            "venue": trader.setups[symbol].venue,
            "book": {
                "state": health.state.value,
                "age_s": health.age_s,
                "best_bid": bid[0] if bid else None,
                "best_ask": ask[0] if ask else None,
            },
            "quotes": {"bid": _num(our_bid), "ask": _num(our_ask)},
            "orders": {
                "working": len(engine.orders.orders),
                "placed": engine.orders.placed,
                "cancels": engine.orders.cancels,
                "fills": engine.fills,
            },
            "position": {
                "qty": pos.qty,
                "mark": _num(pos.mark),
                "realized": pos.realized,
                "unrealized": _num(pos.unrealized),
                "fees": pos.fees,
                "pnl": _num(pos.net),
            },
            "risk": {
                "state": risk.state.value,
                "reasons": list(risk.reasons),
                "drawdown": risk.drawdown,
                "kill_switch": risk.killed_at is not None,
                "flattening": risk.flattening,
            },
        }
        if trader.advisors is not None:
            latest = trader.advisors.latest(symbol, now)
            entry["advice"] = {
                kind: None if a is None else {"source": a.source, **dict(a.values)}
                for kind, a in (("signal", latest.signal), ("risk", latest.risk))
            }
        symbols[symbol] = entry
    out: dict[str, Any] = {
        "uptime_s": now - trader.started_at,
        "ready": not not_ready(trader),
        "symbols": symbols,
        "portfolio": {
            "equity": _num(trader.portfolio.equity),
            "realized": trader.portfolio.realized,
            "fees": trader.portfolio.fees,
        },
    }
    if limits is not None:
        x = limits.exposure()
        out["portfolio"] |= {
            "gross_notional": _num(x.gross),
            "net_notional": _num(x.net),
            "by_venue": {v: _num(n) for v, n in x.by_venue.items()},
            "drawdown": _num(x.drawdown),
            "limits_breached": sorted(limits.breached),
        }
    if advisors is not None:
        out["advisors"] = {
            "mode": "rules (offline)" if advisors.client is None else "relay",
            "calls": advisors.service.stats.get("calls", 0),
            "cooling_down": advisors.cooldowns(now),
        }
    return out
