"""Live-venue fixtures: a fake venue on loopback, a ccxt client pointed at it, a started
:class:`LiveSession`, and an engine whose venue is the session's :class:`LiveVenue`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from mmcore import OrderBook
from mmcore.engine import Engine
from mmcore.execution import ExecutionConfig, OrderManager
from mmcore.execution.live.config import LiveConfig
from mmcore.execution.live.keys import Credentials
from mmcore.execution.live.profile import VenueProfile
from mmcore.execution.live.session import LiveSession, StartReport, load_positions
from mmcore.execution.live.venue import LiveVenue
from mmcore.feeds import FeedConfig
from mmcore.journal import Journal
from mmcore.portfolio import Portfolio
from mmcore.risk import RiskManager
from mmcore.sim import SimListing, SimMarket, SymbolSpec
from mmcore.strategy import Quoter
from mmcore.testing.fake_venue import FakeBinanceSpot, FakeVenue, ccxt_exchange
from mmcore.testing.trading import quote_config, risk_config

SYMBOL = "BTCUSDT"
FAST = dict(
    deadman_s=0.0,
    query_every_s=0.1,
    retry_pause_s=0.05,
    stream_settle_s=0.05,
    recv_window_ms=1000,
    unknown_grace_s=0.5,
)


def btc_market(seed: int, speed: float) -> SimMarket:
    """Simulated Binance spot market data for BTCUSDT around 100000 (the fake venue's grid)."""
    spec = SymbolSpec("BTCUSDT", 100_000.0, tick_decimals=2, lot_decimals=5)
    return SimMarket([SimListing("binance-spot", spec)], seed=seed, speed=speed)


def feed_of(market: SimMarket) -> FeedConfig:
    """The market-data feed of :func:`btc_market`."""
    return FeedConfig(
        venue="binance-spot",
        symbols=(SYMBOL,),
        ws_url=market.ws_url("binance-spot"),
        rest_url=market.rest_url("binance-spot"),
    )


def spot() -> FakeBinanceSpot:
    """A Binance spot account with cash and coin, BTCUSDT quoted 100000/100001."""
    fake = FakeBinanceSpot()
    fake.seed_balance("USDT", "100000")
    fake.seed_balance("BTC", "1")
    fake.set_quote(SYMBOL, "100000", "100001")
    return fake


@dataclass
class Live:
    """A started session on a fake venue, its symbol's venue and an engine trading on it."""

    fake: Any
    session: LiveSession
    venue: LiveVenue
    engine: Engine
    halts: list[str] = field(default_factory=list)
    report: StartReport = field(default_factory=StartReport)

    async def settle(self, seconds: float = 0.0) -> None:
        """Let requests finish and stream frames arrive, then hand events to the engine."""
        await self.session.settle()
        await asyncio.sleep(seconds)
        self.engine.take_venue_events(time.monotonic())

    async def until(self, cond: Callable[[], bool], timeout_s: float = 5.0) -> None:
        """Hand events to the engine until ``cond()`` holds (fails after ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while not cond():
            assert time.monotonic() < deadline, "condition not reached in time"
            await asyncio.sleep(0.02)
            self.engine.take_venue_events(time.monotonic())

    def place(self, side: int, price: float, qty: float) -> str:
        """Place one order through the engine's order desk; its client id."""
        ticks = round(price / float(self.venue.rules.tick))
        target = [(ticks, round(qty / float(self.venue.rules.lot)))]  # the desk counts lots
        bids, asks = (target, []) if side > 0 else ([], target)
        placed = self.engine.orders.reconcile(bids, asks, ticks, time.monotonic())
        assert len(placed) == 1, placed
        return placed[0]

    def count(self, method: str, path: str) -> int:
        """REST requests the fake received for ``method path``."""
        return sum(1 for r in self.fake.requests if r.method == method and r.path == path)


def engine_on(venue: LiveVenue, journal: Journal | None = None, **risk_cfg: Any) -> Engine:
    """An engine on ``venue``, on its market's tick and lot (risk limits wide unless
    ``risk_cfg`` overrides them; the test places orders through its desk)."""
    tick, lot = float(venue.rules.tick), float(venue.rules.lot)
    limits: dict[str, Any] = dict(lot_size=lot, max_position=10.0, max_notional=10_000_000.0)
    risk = RiskManager(risk_config(**{**limits, **risk_cfg}), tick)
    orders = OrderManager(SYMBOL, venue, ExecutionConfig(max_order_age_s=3600), risk.gate)
    portfolio = Portfolio()
    portfolio.instrument(SYMBOL, tick, lot)
    return Engine(
        OrderBook(SYMBOL, "binance-spot", tick_size=tick),
        Quoter(quote_config(tick_size=tick, lot_size=lot), maker_fee_bps=0.0),
        risk,
        orders,
        venue,
        portfolio,
        journal=journal,
    )


@asynccontextmanager
async def live_on(
    fake: FakeVenue,
    *,
    journal: Journal | None = None,
    credentials: Credentials | None = None,
    timeout_ms: int = 700,
    risk: dict[str, Any] | None = None,
    profile: VenueProfile | None = None,
    has: dict[str, bool] | None = None,
    lean_http: bool = True,
    **cfg: Any,
) -> AsyncIterator[Live]:
    """Start ``fake``, a session on it and an engine (``risk``: overrides of its
    :class:`~mmcore.risk.RiskConfig`; ``profile``: the session's venue profile, default the
    client's preset; ``has``: capabilities the ccxt client is told it lacks or has; ``cfg``:
    overrides of the :class:`LiveConfig`; ``lean_http=False``: REST on ccxt's aiohttp instead
    of mmcore's pool); close all after."""
    async with fake:
        exchange = ccxt_exchange(fake, timeout_ms=timeout_ms, lean_http=lean_http)
        exchange.has = {**exchange.has, **(has or {})}
        halts: list[str] = []
        session = LiveSession(
            exchange,
            "fake",
            LiveConfig(**{**FAST, **cfg}),
            journal=journal,
            credentials=credentials,
            on_halt=halts.append,
            profile=profile,
        )
        try:
            report = await session.start([SYMBOL])
            venue = session.venue(SYMBOL)
            engine = engine_on(venue, journal, **(risk or {}))
            live = Live(fake, session, venue, engine, halts, report)
            load_positions(live.engine.portfolio, report)
            yield live
        finally:
            await session.close()
