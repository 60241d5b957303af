"""The risk controls of issue 20 B3, each triggered through a real :class:`Engine`.

A scripted losing market (the book falls, sellers print through our bids) drives the kill
switch, its cool-down, the session loss stop and the kill action; payloads stamped with old
exchange times make a backlog; a fake venue serves a crossed book to a live feed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math

import pytest

from mmcore import ApplyStatus, BookState, OrderBook
from mmcore.advisors.service import LatestAdvice
from mmcore.engine import Engine
from mmcore.execution import OrderStatus, Side, Trade
from mmcore.risk import RiskManager, TradingState
from mmcore.strategy import NEUTRAL

from .conftest import SYMBOL, TICK, features, make_engine, risk_config

T0 = 1_700_000_000.0  # engine time = Unix time in the tests that use exchange event times


class FallingMarket:
    """A five-level Binance book around ``mid`` (ticks) that falls on command, stamped with
    exchange event times ``now - lag``; sellers print through the bid each step."""

    def __init__(self, mid: int = 10_000, now: float = 0.0) -> None:
        self.mid = mid
        self.now = now
        self.uid = 100

    def _sides(self) -> tuple[set[int], set[int]]:
        return {self.mid - i for i in range(1, 6)}, {self.mid + i for i in range(1, 6)}

    def snapshot(self) -> bytes:
        bids, asks = self._sides()
        return json.dumps(
            {"lastUpdateId": self.uid, "bids": _rows(bids, bids), "asks": _rows(asks, asks)}
        ).encode()

    def step(self, drop: int, dt: float, lag: float = 0.0) -> bytes:
        """Move the book down ``drop`` ticks, ``dt`` seconds later; the diff's event time is
        ``lag`` seconds before its arrival."""
        old_bids, old_asks = self._sides()
        self.mid -= drop
        bids, asks = self._sides()
        self.now += dt
        self.uid += 1
        return json.dumps(
            {
                "e": "depthUpdate",
                "E": round((self.now - lag) * 1000),
                "s": SYMBOL,
                "U": self.uid,
                "u": self.uid,
                "b": _rows(old_bids | bids, bids),
                "a": _rows(old_asks | asks, asks),
            }
        ).encode()


def _rows(prices: set[int], live: set[int]) -> list[list[str]]:
    return [[f"{p * TICK:.2f}", "1" if p in live else "0"] for p in sorted(prices)]


def losing_run(engine: Engine, market: FallingMarket, steps: int) -> list[tuple[str, ...]]:
    """The market falls 10 ticks every other 50 ms step and sells through our bids; returns
    the risk reasons after each step."""
    reasons = []
    for _ in range(steps):
        drop = 10 if market.uid % 2 else 0
        assert engine.book.apply(market.step(drop, 0.05)) == ApplyStatus.APPLIED
        engine.on_book(market.now)
        engine.on_trade(Trade(market.mid - 4, 5.0, False), market.now)
        reasons.append(engine.risk.reasons)
    return reasons


def losing_engine(**risk) -> tuple[Engine, FallingMarket]:
    market = FallingMarket()
    base = dict(max_drawdown=0.2, kill_switch_resume="cooldown", kill_switch_cooldown_s=1.0)
    return make_engine(market.snapshot(), risk={**base, **risk}), market


def episodes(reasons: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    return [k for k, _ in itertools.groupby(reasons)]


# ---- session loss limit and kill action ------------------------------------------------------
def test_cooldowns_without_a_session_limit_lose_without_a_cap():
    """The defect: each cool-down resume resets the drawdown peak."""
    engine, market = losing_engine(max_session_loss=1e9)
    seen = episodes(losing_run(engine, market, 400))
    assert seen.count(("drawdown",)) >= 4  # tripped, resumed, tripped again ...
    assert engine.portfolio.position(SYMBOL).net < -1.5  # ... far beyond 0.2 per trip


def test_two_cooldowns_cannot_lose_more_than_the_session_limit():
    engine, market = losing_engine(max_session_loss=0.5, kill_action="flatten")
    reasons = losing_run(engine, market, 400)
    seen = episodes(reasons)
    trips = [i for i, r in enumerate(seen) if r == ("drawdown",)]
    assert len(trips) >= 2 and seen.index(("session_loss",)) > trips[1]  # two cool-downs first
    pos = engine.portfolio.position(SYMBOL)
    # one step's fall and the flatten's slippage beyond the limit, on at most max_position
    assert -0.5 - 0.1 * (0.10 + 0.10) < pos.net <= -0.5
    assert abs(pos.qty) < 1e-9
    # the stop never lifts by itself: long after any cool-down it still holds
    assert reasons[-1] == ("session_loss",) and engine.risk.state is TradingState.HALTED
    assert engine.orders.orders == {}


def test_the_session_stop_lifts_only_by_reset_session():
    engine, market = losing_engine(max_session_loss=0.5, kill_action="flatten")
    losing_run(engine, market, 400)
    risk = engine.risk
    risk.resume()  # the manual kill-switch resume does not lift it
    assert losing_run(engine, market, 1)[-1] == ("session_loss",)
    risk.reset_session()
    assert losing_run(engine, market, 1)[-1] == ()
    assert risk.session_loss == pytest.approx(0.0)


def test_the_session_limit_defaults_to_twice_the_drawdown():
    engine, market = losing_engine(kill_action="flatten")
    assert engine.risk.cfg.session_loss_limit == pytest.approx(0.4)
    assert ("session_loss",) in episodes(losing_run(engine, market, 400))
    assert engine.portfolio.position(SYMBOL).net > -0.4 - 0.1 * (0.10 + 0.10)


def test_flatten_takes_the_inventory_to_zero_with_capped_marketable_orders():
    engine, market = losing_engine(
        kill_switch_resume="manual",
        kill_action="flatten",
        flatten_max_qty=0.03,
        flatten_max_bps=2.0,
    )
    sells: list[tuple[int, float, int]] = []
    position = engine.portfolio.position(SYMBOL)
    for _ in range(120):
        losing_run(engine, market, 1)
        if engine.risk.flattening:
            sells += [
                (o.price_ticks, o.qty, market.mid - 1)
                for o in engine.orders.orders.values()
                if o.status is OrderStatus.PENDING_NEW
            ]
    assert engine.risk.reasons == ("drawdown",) and engine.risk.state is TradingState.HALTED
    assert abs(position.qty) < 1e-9  # flat
    assert len({p for p, _, _ in sells}) >= 2  # more than one order: each capped in size
    for price, qty, bid in sells:
        assert qty <= 0.03 + 1e-12
        assert bid * (1 - 2e-4) <= price <= bid  # through the bid by at most 2 bps


def test_reduce_only_kill_quotes_only_the_reducing_side():
    engine, market = losing_engine(kill_switch_resume="manual")  # kill_action = reduce_only
    for _ in range(200):
        losing_run(engine, market, 1)
        if engine.risk.reasons == ("drawdown",):
            break
    assert engine.risk.state is TradingState.REDUCING
    assert engine.portfolio.position(SYMBOL).qty > 0
    losing_run(engine, market, 2)
    working = [
        o for o in engine.orders.orders.values() if o.status is not OrderStatus.PENDING_CANCEL
    ]
    assert working and all(o.side is Side.SELL for o in working)
    assert all(o.price_ticks > market.mid - 1 for o in working)  # above the bid: passive


def trip_step(other_pnl_per_step: float) -> int | None:
    """The step at which the kill switch trips while another symbol's PnL moves."""
    engine, market = losing_engine(kill_switch_resume="manual")
    pf = engine.portfolio
    pf.instrument("ETHUSDT", 0.01, 0.0001)  # the other symbol, as its own engine would
    for i in range(200):  # a round trip of ETH realizes other_pnl_per_step
        pf.apply_fill("ETHUSDT", 1.0, 100.0, 0.0)
        pf.apply_fill("ETHUSDT", -1.0, 100.0 + other_pnl_per_step, 0.0)
        if losing_run(engine, market, 1)[-1] == ("drawdown",):
            return i
    return None


def test_limits_compare_with_this_symbols_pnl_not_the_portfolio():
    """Another symbol earning must not hide our loss, nor its loss stop us early."""
    alone = trip_step(0.0)
    assert alone is not None
    assert trip_step(0.02) == alone  # the portfolio's equity rises all along
    assert trip_step(-0.05) == alone  # the portfolio's equity falls 0.2 in 4 steps


def test_another_symbols_loss_does_not_stop_this_one():
    engine, market = losing_engine()
    engine.portfolio.instrument("ETHUSDT", 0.01, 0.0001)
    engine.portfolio.apply_fill("ETHUSDT", 1.0, 2000.0, 0.0)
    engine.portfolio.apply_fill("ETHUSDT", -1.0, 1000.0, 0.0)  # -1000: far beyond every limit
    assert engine.on_book(market.now) is not None
    assert engine.risk.state is TradingState.ACTIVE


# ---- stale book on the exchange's clock ---------------------------------------------------
def exchange_timed_engine(**risk) -> tuple[Engine, FallingMarket]:
    market = FallingMarket(now=T0)
    engine = make_engine(market.snapshot(), risk=risk)
    engine.wall_clock_offset_s = 0.0  # engine time is Unix time here
    return engine, market


def feed(engine: Engine, market: FallingMarket, steps: int, lag: float) -> None:
    for _ in range(steps):
        engine.book.apply(market.step(0, 0.05, lag=lag))
        engine.on_book(market.now)


def working(engine: Engine) -> list:
    return [o for o in engine.orders.orders.values() if o.status is not OrderStatus.PENDING_CANCEL]


def test_a_backlog_is_stale_orders_cancelled_no_quotes_until_fresh():
    """Events that arrive now with an exchange time 2 s old: the book is stale, although an
    update just arrived (the local clock alone calls it fresh)."""
    engine, market = exchange_timed_engine()
    feed(engine, market, 5, lag=0.01)
    assert engine.risk.state is TradingState.ACTIVE and working(engine)
    feed(engine, market, 1, lag=2.0)
    assert engine.risk.state is TradingState.HALTED and "book_stale" in engine.risk.reasons
    placed = engine.orders.placed
    feed(engine, market, 10, lag=2.0)  # the backlog drains: still stale, nothing new
    assert engine.orders.placed == placed and working(engine) == []
    assert engine.on_timer(market.now + 0.01) is None  # nor from the timer
    feed(engine, market, 1, lag=0.01)  # fresh again (resume_delay_s = 0 in the test config)
    assert engine.risk.state is TradingState.ACTIVE and working(engine)


def test_a_lagging_feed_halts_before_the_book_is_stale():
    engine, market = exchange_timed_engine(stale_book_s=0.5, max_feed_lag_s=0.25)
    feed(engine, market, 3, lag=0.3)
    assert engine.risk.reasons == ("feed_lag",)
    feed(engine, market, 1, lag=0.05)
    assert engine.risk.state is TradingState.ACTIVE


def test_silence_is_stale_within_a_second():
    engine, market = exchange_timed_engine()
    feed(engine, market, 3, lag=0.01)
    assert engine.on_timer(market.now + 0.4) is not None
    assert engine.on_timer(market.now + 0.6) is None and engine.risk.reasons == ("book_stale",)


def test_an_unsafe_feed_cancels_and_the_timer_does_not_requote():
    engine, market = exchange_timed_engine()
    feed(engine, market, 3, lag=0.01)
    assert working(engine)
    engine.feed_unsafe(market.now + 0.01)
    assert engine.risk.reasons == ("feed_unsafe",) and working(engine) == []
    placed = engine.orders.placed
    for k in range(1, 5):  # the book is still fresh, but the feed said it is unsafe
        assert engine.on_timer(market.now + 0.01 * k) is None
    assert engine.orders.placed == placed
    feed(engine, market, 1, lag=0.01)  # a book from a safe feed
    assert engine.risk.state is TradingState.ACTIVE and engine.orders.placed > placed


# ---- a non-finite position or PnL ------------------------------------------------------------
def assert_halted_and_cancelled(engine: Engine, market: FallingMarket, reason: str) -> None:
    assert engine.risk.state is TradingState.HALTED and reason in engine.risk.reasons
    assert working(engine) == []
    for side in (Side.BUY, Side.SELL):  # the gate refuses everything
        assert engine.risk.allow(side, market.mid, 0.01, 0.0, market.now) == 0.0


@pytest.mark.parametrize("field", ["lots", "cash", "basis", "fee_units"])
def test_the_position_integers_cannot_be_corrupted_from_python(field):
    """The portfolio's integers live in Rust, read-only from Python: no non-finite position or
    PnL can come from them (the risk manager's refusal of non-finite inputs is tested in
    test_risk, with the inputs given directly)."""
    engine, market = losing_engine()
    feed(engine, market, 3, lag=0.0)
    pos = engine.portfolio.position(SYMBOL)
    with pytest.raises(AttributeError):
        setattr(pos, field, float("nan"))
    assert math.isfinite(pos.net) and math.isfinite(pos.qty)


class _RiskAdvice:
    """Risk advice whose position-limit multiplier is ``limit_mult`` (all else neutral)."""

    def __init__(self, limit_mult: float) -> None:
        self.limit_mult = limit_mult

    def value(self, name: str, now: float, baseline: object = None) -> object:
        return self.limit_mult if name == "max_position" else 0.0


class _Advisors:
    """An advisor service that always holds ``risk`` advice."""

    def __init__(self, risk: _RiskAdvice) -> None:
        self.risk = risk

    def latest(self, symbol: str, now: float) -> LatestAdvice:
        return LatestAdvice(None, self.risk)


def test_a_non_finite_limit_halts_the_symbol_in_the_risk_manager():
    """Advice whose limit multiplier is NaN (the overlay's clamp lets NaN through) makes the
    position limit NaN: the risk manager halts the symbol (before, the gate refused the limit
    and its ValueError escaped into the engine loop)."""
    engine, market = losing_engine()
    advice = _RiskAdvice(1.0)
    engine.advisors = _Advisors(advice)
    feed(engine, market, 3, lag=0.0)
    assert engine.risk.state is TradingState.ACTIVE and working(engine)
    advice.limit_mult = float("nan")
    feed(engine, market, 1, lag=0.0)
    assert_halted_and_cancelled(engine, market, "limit_not_finite")
    advice.limit_mult = 1.0  # sound again: quoting resumes
    feed(engine, market, 1, lag=0.0)
    assert engine.risk.state is TradingState.ACTIVE and working(engine)


def test_a_gate_that_refuses_its_inputs_halts_the_symbol_not_the_engine():
    """A limit the Rust gate refuses (negative: an overlay bug) halts with ``gate_refused``
    and the gate's error, no exception; a valid state afterwards lifts it."""
    risk = RiskManager(risk_config(), TICK)
    f = features(100.0, 100.01)
    bad = NEUTRAL._replace(limit_mult=-1.0)
    assert risk.evaluate(f, 0.0, 0.0, 0.0, 0.0, bad) is TradingState.HALTED
    assert risk.reasons[-1] == "gate_refused" and "limit" in risk.gate_error
    assert risk.allow(Side.BUY, 10_000, 0.01, 0.0, 0.0) == 0.0
    assert risk.evaluate(f, 1.0, 0.0, 0.0, 0.0) is TradingState.ACTIVE
    assert risk.allow(Side.BUY, 10_000, 0.01, 0.0, 1.0) == 0.01


# ---- toxic flow (VPIN) -----------------------------------------------------------------------
def _trade(i: int, buy: bool, price: float) -> bytes:
    return json.dumps(
        {
            "e": "trade",
            "E": 1,
            "s": SYMBOL,
            "t": i,
            "p": f"{price:.2f}",
            "q": "1.0",
            "T": 1,
            "m": not buy,
            "M": True,
        }
    ).encode()


def test_toxic_vpin_widens_then_pulls_the_quotes():
    market = FallingMarket()
    # the per-tick test model at this market's price of 100 (1 bp = 1 tick): a half-spread of
    # about 2 ticks, so a wider spread shows in the quoted prices
    engine = make_engine(
        market.snapshot(),
        risk=dict(toxic_widen=0.4, toxic_pull=0.7),
        quote=dict(gamma=0.05, prior_sigma_bps=1.0, prior_k=0.5),
    )
    book = OrderBook(SYMBOL, "binance-spot", tick_size=TICK, vpin_bucket_volume=4.0, vpin_buckets=5)
    assert book.apply_snapshot(market.snapshot()) == ApplyStatus.APPLIED
    engine.book = book
    calm = engine.on_book(0.01)
    assert calm is not None and engine.risk.spread_mult == 1.0
    calm_width = calm.asks[0].price_ticks - calm.bids[0].price_ticks
    trades = itertools.count()
    for _ in range(5):  # buckets of 3 buys and 1 sell: VPIN 0.5
        for buy in (True, True, True, False):
            assert book.apply(_trade(next(trades), buy, 100.01)) == ApplyStatus.TRADE
    assert book.features().vpin == pytest.approx(0.5)
    wide = engine.on_book(0.02)
    assert wide is not None and engine.risk.spread_mult == 2.0
    assert wide.asks[0].price_ticks - wide.bids[0].price_ticks > calm_width
    for _ in range(20):  # one-sided buying: VPIN 1
        assert book.apply(_trade(next(trades), True, 100.01)) == ApplyStatus.TRADE
    assert engine.on_book(0.03) is None
    assert engine.risk.reasons == ("toxic_flow",) and working(engine) == []


# ---- a crossed book from a venue is resynced ---------------------------------------------------
def test_a_crossed_book_asks_for_a_resync_at_most_once_per_interval():
    """A venue whose snapshots are crossed too must not be asked for one on every update."""
    market = FallingMarket()
    engine = make_engine(market.snapshot(), risk=dict(crossed_resync_s=1.0))
    asked: list[float] = []
    engine.request_resync = lambda symbol: asked.append(engine.book.features().crossed) or True
    crossed = {"e": "depthUpdate", "E": 1, "s": SYMBOL, "U": 101, "u": 101}
    engine.book.apply(json.dumps(crossed | {"b": [["100.03", "1"]], "a": []}))
    for k in range(30):  # 1.5 s of updates on the crossed book
        engine.on_book(0.05 * k)
        assert engine.risk.state is TradingState.HALTED and "book_crossed" in engine.risk.reasons
    assert asked == [1.0, 1.0] and engine.resyncs_requested == 2


@pytest.mark.parametrize("venue", ["binance-spot", "binance-usdm", "bybit-spot", "bybit-linear"])
async def test_a_crossed_book_from_the_venue_is_resynced_not_a_cool_down(venue):
    """(OKX is left out: its checksum already refuses a crossing diff, and resyncs.)"""
    from tests.feeds.conftest import CASES, SYNC_TIMEOUT, eventually, feed_config

    from mmcore.feeds import Feed
    from mmcore.sim.wire.flow import BookChange
    from mmcore.testing.trading import quote_config, risk_config
    from mmcore.trader import SymbolSetup, Trader

    case = CASES[venue]
    async with case.fake() as fake:
        feed_ = Feed(feed_config(case, fake))
        setups = [
            SymbolSetup(
                s,
                case.venue,
                quote_config(),
                risk_config(resume_delay_s=30.0, stale_book_s=5.0, max_feed_lag_s=5.0),
            )
            for s in case.symbols
        ]
        trader = Trader([feed_], setups, timer_s=0.02)
        run = asyncio.create_task(trader.run())
        try:
            crossed, other = case.symbols
            engine = trader.engines[crossed]
            assert await feed_.wait_synced(SYNC_TIMEOUT)
            await eventually(lambda: engine.last_decision is not None, "quotes")
            resyncs = feed_.metrics.resyncs
            # the venue sends a bid above its best ask (its true book is not changed, so the
            # snapshot of the resync is sound)
            true = fake.books[crossed]
            above = true.price(true.best_ask() + 3)
            message = fake._book_message(crossed, BookChange(bids=[(above, "1.000")], asks=[]))
            fake._broadcast(fake._book_topic(crossed), message)
            await eventually(lambda: engine.resyncs_requested == 1, "a resync request")
            assert feed_.metrics.resyncs == resyncs + 1
            await eventually(
                lambda: (
                    engine.risk.state is TradingState.ACTIVE
                    and engine.last_decision is not None
                    and not feed_.book(crossed).is_crossed
                ),
                "quoting on the resynced book",
            )
            # no cool-down: quoting came back well within resume_delay_s = 30 s
            assert "resume_delay" not in engine.risk.reasons
            assert trader.engines[other].resyncs_requested == 0
        finally:
            trader.stop()
            await asyncio.wait_for(run, 5)
            trader.shutdown()


async def test_the_trader_cancels_and_stops_requoting_while_the_feed_is_unsafe_from_the_venue():
    """The venue goes away: the feed has no book, the engine still holds the last (synced)
    one. Neither the frame path nor the timer may keep quoting on it (the engine's own age
    limits are set far out here, so only the feed's word can stop it)."""
    from tests.feeds.conftest import CASES, SYNC_TIMEOUT, eventually, feed_config

    from mmcore.feeds import Feed
    from mmcore.testing.trading import quote_config, risk_config
    from mmcore.trader import SymbolSetup, Trader

    case = CASES["binance-spot"]
    async with case.fake() as fake:
        feed_ = Feed(feed_config(case, fake))
        loose = risk_config(stale_book_s=30.0, max_feed_lag_s=30.0)
        setups = [SymbolSetup(s, case.venue, quote_config(), loose) for s in case.symbols]
        trader = Trader([feed_], setups, timer_s=0.02)
        engine = trader.engines[case.symbols[0]]
        seen_unsafe: list[tuple[int, int]] = []  # (orders placed, working) while unsafe
        outage = asyncio.Event()

        def watch(_now: float) -> None:
            if outage.is_set() and not feed_.safe_to_quote(engine.symbol):
                seen_unsafe.append((engine.orders.placed, len(working(engine))))

        trader.on_sample = watch
        run = asyncio.create_task(trader.run())
        try:
            assert await feed_.wait_synced(SYNC_TIMEOUT)
            await eventually(lambda: len(working(engine)) > 0, "quotes")
            outage.set()
            await fake.stop()  # connections closed, reconnects refused
            await eventually(lambda: len(seen_unsafe) >= 5, "an unsafe feed")
            assert feed_.book(engine.symbol) is None and engine.book.state == BookState.SYNCED
            assert engine.risk.reasons == ("feed_unsafe",)
        finally:
            trader.stop()
            await asyncio.wait_for(run, 5)
            trader.shutdown()
        placed = [p for p, _ in seen_unsafe]
        assert all(w == 0 for _, w in seen_unsafe)  # cancelled at once ...
        assert placed == [placed[0]] * len(placed)  # ... and nothing new while unsafe
