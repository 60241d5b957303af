"""A small trading setup for tests, demos and benchmarks: a synthetic session and an engine.

:func:`session` turns the Rust core's synthetic Binance diff stream into ``(time_s, payload |
Trade)`` items with market trades at or through the touch; :func:`make_engine` wires a paper
engine on a synced book.
"""

from __future__ import annotations

import random

from mmcore import ApplyStatus, OrderBook
from mmcore._core import synthetic_binance_stream
from mmcore.engine import Engine
from mmcore.execution import ExecutionConfig, OrderManager, PaperConfig, PaperVenue, Trade
from mmcore.journal import Journal
from mmcore.portfolio import Portfolio
from mmcore.risk import RiskConfig, RiskManager
from mmcore.strategy import QuoteConfig, Quoter

__all__ = ["PRICE", "SYMBOL", "TICK", "make_engine", "quote_config", "risk_config", "session"]

TICK = 0.01
SYMBOL = "BTCUSDT"
#: the synthetic session's price level (the Rust generator's mid)
PRICE = 65_000.0
_TICKS_PER_BPS = PRICE * 1e-4 / TICK


def quote_config(**overrides: object) -> QuoteConfig:
    """Test defaults (BTC-like tick, small sizes, two levels, no fee margin) plus overrides.

    Risk aversion and priors are those of a model of 0.05 per tick, sigma 1 tick/√s and k 0.5
    per tick at the synthetic session's price (the quote model takes them in bps)."""
    base = dict(
        tick_size=TICK,
        gamma=0.05 * _TICKS_PER_BPS,
        prior_sigma_bps=1.0 / _TICKS_PER_BPS,
        prior_k=0.5 * _TICKS_PER_BPS,
        lot_size=0.0001,
        base_size=0.01,
        max_position=0.1,
        fee_margin_bps=0.0,
        levels=2,
    )
    base.update(overrides)
    return QuoteConfig(**base)


def risk_config(**overrides: object) -> RiskConfig:
    """Loose test limits (no rate limiting in practice, no resume delay) plus overrides."""
    base = dict(
        max_position=0.1,
        max_notional=10_000.0,
        max_drawdown=50.0,
        lot_size=0.0001,
        max_orders_per_s=1000.0,
        order_burst=1000,
        resume_delay_s=0.0,
    )
    base.update(overrides)
    return RiskConfig(**base)


def session(
    events: int, seed: int = 7, trade_every: int = 3, dt: float = 0.01
) -> tuple[bytes, list[tuple[float, bytes | Trade]]]:
    """A snapshot and ``(time_s, payload | Trade)`` items: the synthetic diff stream with
    market trades at or a few ticks through the touch of the book as it is at that moment."""
    snapshot, payloads = synthetic_binance_stream(events, 50, 6, seed)
    shadow = OrderBook(SYMBOL, "binance-spot", tick_size=TICK)
    shadow.apply_snapshot(snapshot)
    rng = random.Random(seed)
    items: list[tuple[float, bytes | Trade]] = []
    now = 0.0
    for i, payload in enumerate(payloads):
        now += dt
        shadow.apply(payload)
        items.append((now, payload))
        if i % trade_every == 0:
            buy = rng.random() < 0.5
            through = rng.choice((0, 0, 1, 2, 4))
            bid, ask = shadow.best_bid()[0], shadow.best_ask()[0]
            touch = round((ask if buy else bid) / TICK)
            price = touch + through if buy else touch - through
            items.append((now, Trade(price, round(rng.uniform(0.001, 0.05), 4), buy)))
    return snapshot, items


def make_engine(
    snapshot: bytes,
    *,
    journal: Journal | None = None,
    quote: dict | None = None,
    risk: dict | None = None,
    paper: dict | None = None,
    execution: dict | None = None,
) -> Engine:
    """A paper-trading engine on a book synced from ``snapshot``; dicts override configs.

    The paper venue is fee-free unless ``paper`` sets ``maker_fee_bps``: the quote model's fee
    floor is the venue's maker fee, and these sessions trade within a few ticks of the touch."""
    book = OrderBook(SYMBOL, "binance-spot", tick_size=TICK)
    assert book.apply_snapshot(snapshot) == ApplyStatus.APPLIED
    risk_cfg = risk_config(**(risk or {}))
    paper_cfg = PaperConfig(**{"maker_fee_bps": 0.0, **(paper or {})})
    venue = PaperVenue(paper_cfg, TICK, lot_size=risk_cfg.lot_size)
    risk_mgr = RiskManager(risk_cfg, TICK)
    orders = OrderManager(SYMBOL, venue, ExecutionConfig(**(execution or {})), risk_mgr.gate)
    portfolio = Portfolio()
    return Engine(  # registers the symbol's tick and lot with the portfolio
        book,
        Quoter(quote_config(**(quote or {})), maker_fee_bps=paper_cfg.maker_fee_bps),
        risk_mgr,
        orders,
        venue,
        portfolio,
        journal=journal,
    )
