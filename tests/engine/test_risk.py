"""Risk: kill switch from the peak, stale/unsynced book halts, limits with working orders."""

from __future__ import annotations

import pytest

from mmcore.config import ConfigError, build
from mmcore.execution import OrderStatus, Side
from mmcore.risk import RiskConfig, RiskManager, TradingState
from mmcore.strategy import NEUTRAL

from .conftest import TICK, features, make_engine, risk_config, session

F = features(100.0, 100.01)


def manager(**cfg) -> RiskManager:
    return RiskManager(risk_config(**cfg), TICK)


def test_kill_switch_measures_drawdown_from_the_peak_not_the_start():
    r = manager(max_drawdown=50.0)
    assert r.evaluate(F, 0.0, 0.0, 0.0, 1000.0) is TradingState.ACTIVE
    assert r.evaluate(F, 1.0, 0.0, 0.0, 1200.0) is TradingState.ACTIVE  # new peak
    assert r.evaluate(F, 2.0, 0.0, 0.0, 1160.0) is TradingState.ACTIVE  # still +160 since start
    assert r.evaluate(F, 3.0, 0.0, 0.0, 1150.0) is TradingState.HALTED  # 50 below the peak
    assert r.reasons == ("drawdown",)
    assert r.evaluate(F, 4.0, 0.0, 0.0, 1300.0) is TradingState.HALTED  # latched


def test_manual_resume_restarts_the_peak():
    r = manager(max_drawdown=50.0)
    r.evaluate(F, 0.0, 0.0, 0.0, 100.0)
    r.evaluate(F, 1.0, 0.0, 0.0, 40.0)
    r.resume()
    assert r.evaluate(F, 2.0, 0.0, 0.0, 40.0) is TradingState.ACTIVE


def test_cooldown_resume_rule():
    r = manager(max_drawdown=50.0, kill_switch_resume="cooldown", kill_switch_cooldown_s=10.0)
    r.evaluate(F, 0.0, 0.0, 0.0, 100.0)
    assert r.evaluate(F, 1.0, 0.0, 0.0, 40.0) is TradingState.HALTED
    assert r.evaluate(F, 5.0, 0.0, 0.0, 40.0) is TradingState.HALTED
    assert r.evaluate(F, 11.0, 0.0, 0.0, 40.0) is TradingState.ACTIVE


@pytest.mark.parametrize(
    ("f", "age", "reason"),
    [
        (features(100.0, 100.01), 0.6, "book_stale"),
        (features(100.0, 100.01, vpin=0.9), 0.0, "toxic_flow"),
    ],
)
def test_halts_on_a_stale_book_or_toxic_flow_and_resumes_after_calm(f, age, reason):
    r = manager(resume_delay_s=2.0)
    assert r.evaluate(f, 0.0, age, 0.0, 0.0) is TradingState.HALTED
    assert reason in r.reasons
    assert r.evaluate(F, 1.0, 0.0, 0.0, 0.0) is TradingState.HALTED  # calm for 0 s
    assert r.reasons == ("resume_delay",)
    assert r.evaluate(F, 2.9, 0.0, 0.0, 0.0) is TradingState.HALTED  # calm for 1.9 s
    assert r.evaluate(F, 3.5, 0.0, 0.0, 0.0) is TradingState.ACTIVE


@pytest.mark.parametrize(
    ("f", "safe", "reason"),
    [
        (features(100.0, 100.01, synced=0.0), True, "book_unsynced"),
        (features(100.0, 100.01, crossed=1.0), True, "book_crossed"),
        (features(100.0, 100.01), False, "feed_unsafe"),
    ],
)
def test_an_unsound_book_halts_only_while_it_lasts(f, safe, reason):
    """A resync brings a fresh snapshot: no cool-down after it (a crossed book was one)."""
    r = manager(resume_delay_s=2.0)
    assert r.evaluate(f, 0.0, 0.0, 0.0, 0.0, feed_safe=safe) is TradingState.HALTED
    assert r.reasons == (reason,)
    assert r.evaluate(F, 0.1, 0.0, 0.0, 0.0) is TradingState.ACTIVE


def test_moderate_toxicity_widens_instead_of_pulling():
    r = manager(toxic_widen=0.4, toxic_pull=0.7, toxic_widen_mult=2.5)
    assert r.evaluate(features(100.0, 100.01, vpin=0.5), 0.0, 0.0, 0.0, 0.0) is TradingState.ACTIVE
    assert r.spread_mult == 2.5


def test_limits_count_working_orders():
    r = manager(max_position=1.0, max_notional=1e9)
    r.evaluate(F, 0.0, 0.0, 0.3, 0.0)
    assert r.allow(Side.BUY, 10_000, 1.0, working=0.5, now=0.0) == pytest.approx(0.2)
    assert r.allow(Side.BUY, 10_000, 1.0, working=0.7, now=0.0) == 0.0
    assert r.allow(Side.SELL, 10_000, 1.0, working=0.5, now=0.0) == pytest.approx(0.8)


def test_notional_limit_counts_working_orders():
    r = manager(max_position=100.0, max_notional=1000.0)  # 10 units at 100.00
    r.evaluate(F, 0.0, 0.0, 2.0, 0.0)
    assert r.allow(Side.BUY, 10_000, 10.0, working=5.0, now=0.0) == pytest.approx(3.0)


def test_reducing_state_only_lets_reducing_orders_through():
    r = manager(max_position=1.0, reduce_at=0.8)
    assert r.evaluate(F, 0.0, 0.0, 0.85, 0.0) is TradingState.REDUCING
    assert r.allow(Side.BUY, 10_000, 0.1, 0.0, 0.0) == 0.0
    assert r.allow(Side.SELL, 10_000, 2.0, 0.0, 0.0) == pytest.approx(0.85)


def test_order_rate_limit():
    r = manager(max_orders_per_s=2.0, order_burst=3)
    r.evaluate(F, 0.0, 0.0, 0.0, 0.0)
    got = [r.allow(Side.BUY, 10_000, 0.01, 0.0, 0.0) > 0 for _ in range(5)]
    assert got == [True, True, True, False, False] and r.rate_limited == 2
    assert r.allow(Side.BUY, 10_000, 0.01, 0.0, 0.5) > 0  # one token back after 0.5 s


def test_advice_lowers_the_position_limit():
    r = manager(max_position=1.0)
    overlay = NEUTRAL._replace(limit_mult=0.5)
    assert r.evaluate(F, 0.0, 0.0, 0.45, 0.0, overlay) is TradingState.REDUCING


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match=r"risk\.kill_switch_resume"):
        build(
            RiskConfig,
            dict(max_position=1, max_notional=1, max_drawdown=1, kill_switch_resume="later"),
            "risk",
            {},
        )
    with pytest.raises(ConfigError, match=r"risk\.max_drawdown"):
        build(RiskConfig, dict(max_position=1, max_notional=1, max_drawdown=-1), "risk", {})


def test_engine_cancels_all_on_halt_and_stops_quoting_on_a_stale_book():
    snapshot, items = session(200)
    engine = make_engine(snapshot)
    engine.replay(items)
    working = [
        o for o in engine.orders.orders.values() if o.status is not OrderStatus.PENDING_CANCEL
    ]
    assert working and engine.risk.state is TradingState.ACTIVE
    last = items[-1][0]
    assert engine.on_timer(last + 10.0) is None  # no book update for 10 s
    assert "book_stale" in engine.risk.reasons
    assert all(o.status is OrderStatus.PENDING_CANCEL for o in engine.orders.orders.values())
    engine.on_timer(last + 11.0)  # cancels land; nothing new is placed while halted
    assert engine.orders.orders == {}


def test_an_order_at_a_price_of_zero_or_below_is_vetoed():
    """It divided by zero at price 0 (the notional limit) instead of refusing the order."""
    risk = RiskManager(risk_config(), TICK)
    assert risk.allow(Side.BUY, 0, 0.01, 0.0, 0.0) == 0.0
    assert risk.allow(Side.BUY, -3, 0.01, 0.0, 0.0) == 0.0
    assert risk.allow(Side.BUY, 1, 0.01, 0.0, 0.0) == 0.01


def test_the_order_manager_consults_the_gate_the_risk_manager_keeps_current():
    """The desk asks ``RiskManager.gate`` in Rust: it must see each evaluation's state,
    position and limit, and count the working orders it has just placed."""
    from mmcore.execution import ExecutionConfig, OrderManager
    from mmcore.strategy import Quote

    from .test_orders import RecordingVenue

    r = manager(max_position=2.0, max_notional=1e9, reduce_at=0.9)
    venue = RecordingVenue()
    m = OrderManager("X", venue, ExecutionConfig(), r.gate)
    bids = [Quote(10_000, 10_000), Quote(9_999, 10_000), Quote(9_998, 10_000)]  # 1.0 each
    r.evaluate(F, 0.0, 0.0, 0.5, 0.0)
    m.reconcile(bids, [], 10_000, 0.0)
    assert [q.qty for q in venue.sent] == [1.0, 0.5] and m.vetoed == 1  # 0.5 + 1.0 + 0.5 = 2
    r.evaluate(features(100.0, 100.01, synced=0.0), 1.0, 0.0, 0.5, 0.0)  # halted
    m.reconcile([], [Quote(10_005, 10_000)], 10_000, 1.0)
    assert len(venue.sent) == 2 and m.vetoed == 2
    assert r.allow(Side.SELL, 10_005, 1.0, 0.0, 1.0) == 0.0  # the same gate, from Python


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("kill_action", "panic"),
        ("max_session_loss", 0.0),
        ("flatten_max_bps", -1.0),
        ("flatten_max_qty", -1.0),
        ("stale_book_s", 0.0),
        ("max_feed_lag_s", -0.1),
    ],
)
def test_risk_control_config_errors_name_the_field(key, value):
    data = dict(max_position=1, max_notional=1, max_drawdown=1, **{key: value})
    with pytest.raises(ConfigError, match=rf"risk\.{key}"):
        build(RiskConfig, data, "risk", {})


def test_the_example_config_documents_every_risk_key_with_its_default():
    import dataclasses
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "mm.toml").read_text()
    block = text[text.index("[symbols.risk]") : text.index("[symbols.paper]")]
    documented = dict(re.findall(r"^#? ?(\w+) = (\S+)", block, re.M))
    for f in dataclasses.fields(RiskConfig):
        if f.name in ("max_position", "lot_size"):  # taken from [symbols.quote]
            continue
        assert f.name in documented, f.name
        if f.default is not dataclasses.MISSING and f.default is not None:
            assert documented[f.name].strip('"') == str(f.default), f.name


def test_a_fresh_manager_is_active_with_nothing_counted():
    r = manager()
    assert (r.state, r.reasons, r.position, r.spread_mult) == (TradingState.ACTIVE, (), 0.0, 1.0)
    assert (r.drawdown, r.session_loss, r.session_stopped, r.flattening) == (0.0, 0.0, False, False)
    assert r.peak is None and r.killed_at is None and r.session_start is None
    assert r.flatten_targets(F) == ([], [])
    assert r.allow(Side.BUY, 10_000, 0.01, 0.0, 0.0) == 0.01  # the gate starts ACTIVE, flat
    assert r.allow(Side.SELL, 10_000, 0.01, 0.0, 0.0) == 0.01


def test_states_keep_their_names_and_gate_codes():
    """The names are shown and journaled; the codes are PreTradeGate's."""
    assert [(s.value, s.code) for s in TradingState] == [
        ("active", 0),
        ("reducing", 1),
        ("halted", 2),
    ]


def test_limits_hold_at_their_exact_boundaries():
    r = manager(max_position=1.0, reduce_at=0.5, toxic_widen=0.25, toxic_pull=0.5)
    assert r.evaluate(F, 0.0, 0.0, 0.5, 0.0) is TradingState.REDUCING  # |position| = 0.5 x 1.0
    assert r.evaluate(features(100.0, 100.01, vpin=0.25), 1.0, 0.0, 0.0, 0.0) is TradingState.ACTIVE
    assert r.spread_mult == 2.0  # toxicity = toxic_widen
    assert r.evaluate(features(100.0, 100.01, vpin=0.5), 2.0, 0.0, 0.0, 0.0) is TradingState.HALTED
    assert r.reasons == ("toxic_flow",)  # toxicity = toxic_pull
    r = manager(stale_book_s=0.5, max_feed_lag_s=0.25)
    assert r.evaluate(F, 0.0, 0.5, 0.0, 0.0, feed_lag_s=0.25) is TradingState.ACTIVE
    assert r.evaluate(F, 0.0, 0.5001, 0.0, 0.0, feed_lag_s=0.2501) is TradingState.HALTED
    assert r.reasons == ("book_stale", "feed_lag")


def test_a_non_finite_book_flag_or_age_halts():
    """Fail closed: a sync flag or a book age that is not a number is not 'fine'."""
    r = manager()
    assert r.evaluate(features(100.0, 100.01, synced=float("nan")), 0.0, 0.0, 0.0, 0.0) is (
        TradingState.HALTED
    )
    assert r.reasons == ("book_unsynced",)
    r = manager()
    assert r.evaluate(F, 0.0, float("nan"), 0.0, 0.0) is TradingState.HALTED
    assert r.reasons == ("book_stale",)


def tripped(position: float, **cfg) -> RiskManager:
    """A manager whose kill switch has tripped with ``position`` held."""
    r = manager(max_drawdown=1.0, kill_action="flatten", **cfg)
    r.evaluate(F, 0.0, 0.0, position, 0.0)
    assert r.evaluate(F, 1.0, 0.0, position, -1.0) is TradingState.REDUCING
    assert r.flattening and r.reasons == ("drawdown",)
    return r


def test_flatten_targets_cross_the_touch_by_at_most_the_cap():
    # long 0.3 (3000 lots): sell at most 10 bps under the bid (100.00 -> 99.90), in whole ticks
    assert tripped(0.3, flatten_max_bps=10.0).flatten_targets(F) == ([], [(9990, 3000)])
    # short 0.3, at most 0.1 per order: buy at most 10 bps over the ask (100.01 -> 100.11)
    r = tripped(-0.3, flatten_max_bps=10.0, flatten_max_qty=0.1)
    assert r.flatten_targets(F) == ([(10011, 1000)], [])
    assert r.flatten_targets(features(100.0, 100.0499)) == ([(10014, 1000)], [])  # 10014.99: floor
    assert tripped(0.3, flatten_max_bps=0.0).flatten_targets(F) == ([], [(10000, 3000)])


@pytest.mark.parametrize("touch", [0.0, -1.0, float("nan")])
def test_flatten_needs_a_touch_to_price_against(touch):
    assert tripped(0.3).flatten_targets(features(touch, 100.01)) == ([], [])
    assert tripped(-0.3).flatten_targets(features(100.0, touch)) == ([], [])


def test_a_trip_while_flat_halts_and_a_transient_halt_stops_the_flatten():
    r = tripped(0.3)
    assert r.evaluate(F, 2.0, 0.0, 0.0, -1.0) is TradingState.HALTED  # flat: nothing to do
    assert not r.flattening and r.flatten_targets(F) == ([], [])
    r = tripped(0.3)
    unsynced = features(100.0, 100.01, synced=0.0)
    assert r.evaluate(unsynced, 2.0, 0.0, 0.3, -1.0) is TradingState.HALTED
    assert not r.flattening and r.reasons == ("drawdown", "book_unsynced")


def test_the_advisors_toxicity_counts_when_above_vpin():
    r = manager(toxic_pull=0.7)
    overlay = NEUTRAL._replace(toxic_probability=0.9)
    assert r.evaluate(features(100.0, 100.01, vpin=0.1), 0.0, 0.0, 0.0, 0.0, overlay) is (
        TradingState.HALTED
    )
    assert r.reasons == ("toxic_flow",)


def test_the_session_stop_trips_at_exactly_its_limit():
    r = manager(max_drawdown=5.0, max_session_loss=1.0)
    r.evaluate(F, 0.0, 0.0, 0.0, 0.0)
    assert r.evaluate(F, 1.0, 0.0, 0.0, -1.0) is TradingState.HALTED
    assert r.reasons == ("session_loss",) and r.session_stopped


def test_one_lot_is_a_position_to_flatten():
    r = tripped(1e-4)  # one lot (lot_size 0.0001)
    assert r.state is TradingState.REDUCING and r.flatten_targets(F) == ([], [(9990, 1)])


def test_a_non_finite_position_stops_a_flatten():
    r = tripped(0.3)
    assert r.evaluate(F, 2.0, 0.0, float("nan"), -1.0) is TradingState.HALTED
    assert not r.flattening and r.flatten_targets(F) == ([], [])


def test_flatten_prices_a_market_under_one_unit():
    """DOGE-like prices: a touch of 0.5 is a touch."""
    r = tripped(0.3, flatten_max_bps=0.0)
    assert r.flatten_targets(features(0.5, 0.51)) == ([], [(50, 3000)])
    r = tripped(-0.3, flatten_max_bps=0.0)
    assert r.flatten_targets(features(0.5, 0.51)) == ([(51, 3000)], [])


@pytest.mark.parametrize(
    ("position", "pnl", "limit_mult", "reasons"),
    [
        (float("nan"), 0.0, 1.0, ("position_not_finite",)),
        (0.0, float("-inf"), 1.0, ("pnl_not_finite",)),
        (0.0, 0.0, float("inf"), ("limit_not_finite",)),
        (float("inf"), float("nan"), 1.0, ("position_not_finite", "pnl_not_finite")),
    ],
)
def test_non_finite_books_halt_naming_each_broken_input(position, pnl, limit_mult, reasons):
    """Broken books halt (gate included) and keep the last finite position and limit; the
    integers of a portfolio cannot become non-finite, so these inputs are given directly."""
    r = manager()
    assert r.evaluate(F, 0.0, 0.0, 0.05, 0.0) is TradingState.ACTIVE
    overlay = NEUTRAL._replace(limit_mult=limit_mult)
    assert r.evaluate(F, 1.0, 0.0, position, pnl, overlay) is TradingState.HALTED
    assert r.reasons == reasons
    assert (r.position, r.limit) == (0.05, r.cfg.max_position)
    assert r.allow(Side.BUY, 10_000, 0.01, 0.0, 1.0) == 0.0
    assert r.evaluate(F, 2.0, 0.0, 0.05, 0.0) is TradingState.ACTIVE  # no resume delay here
