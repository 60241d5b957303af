"""Portfolio-wide limits on real engines sharing one portfolio (paper venues, synced books)."""

from __future__ import annotations

import math

import pytest

from mmcore import ApplyStatus, OrderBook
from mmcore.config import ConfigError, build
from mmcore.portfolio import Portfolio
from mmcore.risk.manager import TradingState
from mmcore.risk.portfolio_limits import Member, PortfolioLimits, PortfolioLimitsConfig
from mmcore.testing.trading import TICK, quote_config, risk_config, session
from mmcore.trader import SymbolSetup, build_engine

SYMBOLS = {"BTCUSDT": "binance-spot", "ETHUSDT": "bybit-spot"}


def _as(symbol: str, items: list) -> list:
    """The synthetic (BTCUSDT) stream relabelled for ``symbol``."""
    tag = f'"s":"{symbol}"'.encode()
    return [(t, x.replace(b'"s":"BTCUSDT"', tag) if isinstance(x, bytes) else x) for t, x in items]


def _engines(**limits):
    snapshot, btc_items = session(1500, seed=5)
    portfolio = Portfolio()
    engines, rest = {}, {}
    for symbol, venue in SYMBOLS.items():
        items = _as(symbol, btc_items)
        setup = SymbolSetup(symbol, venue, quote_config(), risk_config())
        engine = build_engine(setup, portfolio)
        book = OrderBook(symbol, "binance-spot", tick_size=TICK)  # the synthetic stream's wire
        assert book.apply_snapshot(snapshot) == ApplyStatus.APPLIED
        engine.book = book
        engine.replay(items[:300])
        engines[symbol] = engine
        rest[symbol] = items[300:]
    cfg = build(PortfolioLimitsConfig, limits, "portfolio_risk", {})
    members = [Member(s, SYMBOLS[s], e.risk) for s, e in engines.items()]
    return engines, PortfolioLimits(cfg, portfolio, members), portfolio, rest


def _buy(engine, portfolio, qty: float) -> None:
    portfolio.apply_fill(engine.symbol, qty, engine.book.best_ask()[0], 0.0)


def test_two_symbols_each_under_its_limit_breach_the_gross_limit_together_and_both_halt():
    engines, limits, portfolio, rest = _engines(max_gross_notional=6_000.0, action="halt")
    for e in engines.values():
        _buy(e, portfolio, 0.06)  # ~3,900 each: under each symbol's 10,000 and the 6,000 alone
        assert e.risk.cfg.max_notional > 0.06 * e.book.best_ask()[0]
    for e in engines.values():
        e.replay(rest[e.symbol][:20])
        assert e.risk.state is TradingState.ACTIVE  # each alone is within its limits
    assert limits.check() == {"gross"}
    for e in engines.values():
        e.replay(rest[e.symbol][20:40])
        assert e.risk.state is TradingState.HALTED
        assert "portfolio_gross" in e.risk.reasons
    _buy(engines["ETHUSDT"], portfolio, -0.06)  # one unwinds: gross back under the limit
    assert limits.check() == frozenset()
    for e in engines.values():
        e.replay(rest[e.symbol][40:80])
        assert e.risk.state is TradingState.ACTIVE


def test_a_venue_limit_stops_only_that_venues_engines():
    engines, limits, portfolio, rest = _engines(
        max_venue_notional={"bybit-spot": 3_000.0}, action="reduce"
    )
    for e in engines.values():
        _buy(e, portfolio, 0.06)
    assert limits.check() == {"venue:bybit-spot"}
    for e in engines.values():
        e.replay(rest[e.symbol][:40])
    assert engines["ETHUSDT"].risk.state is TradingState.REDUCING
    assert engines["BTCUSDT"].risk.state is TradingState.ACTIVE


def test_the_drawdown_limit_latches_until_reset():
    engines, limits, portfolio, _ = _engines(max_drawdown=20.0, action="halt")
    btc = engines["BTCUSDT"]
    px = btc.book.best_ask()[0]
    portfolio.apply_fill("BTCUSDT", 0.05, px, 0.0)
    portfolio.mark("BTCUSDT", px)
    assert limits.check() == frozenset() and limits.peak is not None
    portfolio.mark("BTCUSDT", px - 1_000.0)  # 0.05 x 1,000 = 50 below the peak
    assert limits.check() == {"drawdown"}
    portfolio.mark("BTCUSDT", px)  # recovered, but the breach holds
    assert limits.check() == {"drawdown"}
    limits.reset_drawdown()
    assert limits.check() == frozenset()


def test_a_non_finite_exposure_breaches_fail_closed():
    engines, limits, portfolio, _ = _engines(max_gross_notional=1e9)
    portfolio.apply_fill("BTCUSDT", 0.01, engines["BTCUSDT"].book.best_ask()[0], 0.0)
    portfolio.position("BTCUSDT").mark = math.nan  # a position never marked
    assert "gross" in limits.check()


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match=r"portfolio_risk.max_gross_notional: must be > 0"):
        build(PortfolioLimitsConfig, {"max_gross_notional": -1.0}, "portfolio_risk", {})
    with pytest.raises(ConfigError, match=r'portfolio_risk.max_venue_notional."x": must be > 0'):
        build(PortfolioLimitsConfig, {"max_venue_notional": {"x": 0.0}}, "portfolio_risk", {})
    with pytest.raises(ConfigError, match=r"portfolio_risk.action: must be one of"):
        build(PortfolioLimitsConfig, {"action": "panic"}, "portfolio_risk", {})
