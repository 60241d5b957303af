"""Quote model: skew with inventory, post-only clamps, tick rounding, fees, warm-up, overlay."""

from __future__ import annotations

import math
import random

import pytest

from mmcore.advisors.advice import Advice
from mmcore.advisors.service import LatestAdvice
from mmcore.strategy import NEUTRAL, CalibrationConfig, OverlayConfig, Quoter, overlay_from
from mmcore.strategy.models import avellaneda_stoikov, glft

from .conftest import TICK, features, synced_book
from .conftest import quote_config as session_quote_config


def quote_config(**overrides: object):
    """The test config with the QuoteConfig defaults for gamma and the priors: most tests here
    price a book at 100 with a 0.01 tick, where a tick is a bps."""
    base = dict(gamma=0.05, prior_sigma_bps=1.0, prior_k=0.5)
    return session_quote_config(**{**base, **overrides})


def test_quotes_from_the_real_book_are_integer_ticks_around_fair():
    book = synced_book()
    f = book.features(5)
    d = Quoter(quote_config(), maker_fee_bps=0.0).decide(f, 0.0, 1.0)
    assert d.status == "quoting" and len(d.bids) == 2 and len(d.asks) == 2
    assert all(isinstance(q.price_ticks, int) for q in d.bids + d.asks)
    assert d.bids[0].price_ticks <= math.floor(d.fair_ticks - d.half_spread_ticks)
    assert d.asks[0].price_ticks >= math.ceil(d.fair_ticks + d.half_spread_ticks)
    assert d.bids[1].price_ticks == d.bids[0].price_ticks - 1  # level spacing
    assert d.fair_ticks == pytest.approx(f.microprice / TICK)


@pytest.mark.parametrize("model", ["glft", "as"])
def test_inventory_skews_both_prices_and_sizes_against_the_position(model):
    q = Quoter(quote_config(model=model, levels=1, gamma=0.5), maker_fee_bps=0.0)
    f = features(100.00, 100.10)
    flat = q.decide(f, 0.0, 1.0)
    long = q.decide(f, 0.05, 1.0)
    short = q.decide(f, -0.05, 1.0)
    assert long.bids[0].price_ticks < flat.bids[0].price_ticks  # long: buy lower
    assert long.asks[0].price_ticks < flat.asks[0].price_ticks  # and sell cheaper
    assert short.bids[0].price_ticks > flat.bids[0].price_ticks
    assert short.asks[0].price_ticks > flat.asks[0].price_ticks
    assert long.bids[0].lots < flat.bids[0].lots < long.asks[0].lots  # shed, don't add
    assert short.asks[0].lots < flat.asks[0].lots < short.bids[0].lots


def test_no_bids_at_the_long_limit_and_no_asks_at_the_short_limit():
    q = Quoter(quote_config(), maker_fee_bps=0.0)
    f = features(100.00, 100.10)
    assert q.decide(f, 0.1, 1.0).bids == ()
    assert q.decide(f, -0.1, 1.0).asks == ()


def test_quotes_never_cross_the_touch_whatever_the_skew():
    rng = random.Random(3)
    q = Quoter(quote_config(skew_adj=50.0, imbalance_alpha_ticks=20.0), maker_fee_bps=0.0)
    for _ in range(500):
        bid = round(rng.uniform(99, 101), 2)
        ask = round(bid + TICK * rng.randint(1, 5), 2)
        f = features(bid, ask, rng.uniform(0.01, 5), rng.uniform(0.01, 5))
        d = q.decide(f, rng.uniform(-0.099, 0.099), 1.0)
        for quote in d.bids:
            assert quote.price_ticks < round(ask / TICK)
        for quote in d.asks:
            assert quote.price_ticks > round(bid / TICK)


def test_prices_round_away_from_fair_to_whole_ticks():
    q = Quoter(quote_config(levels=1, skew_adj=0.0), maker_fee_bps=0.0)
    d = q.decide(features(100.00, 100.10), 0.0, 1.0)
    assert d.bids[0].price_ticks == math.floor(d.fair_ticks - d.half_spread_ticks)
    assert d.asks[0].price_ticks == math.ceil(d.fair_ticks + d.half_spread_ticks)


def test_minimum_spread_covers_round_trip_maker_fees():
    q = Quoter(quote_config(levels=1, fee_margin_bps=1.0), maker_fee_bps=2.0)
    d = q.decide(features(100.00, 100.01), 0.0, 1.0)
    spread_bps = (d.asks[0].price_ticks - d.bids[0].price_ticks) / d.fair_ticks * 1e4
    assert spread_bps >= 2 * 2.0 + 1.0


def test_models_match_the_published_formulas():
    hs, skew = glft(0.05, 2.0, 1.5, 0.5)
    c2 = math.sqrt(0.05 / (2 * 1.5 * 0.5) * (1 + 0.05 / 0.5) ** (0.5 / 0.05 + 1))
    assert hs == pytest.approx(math.log(1 + 0.05 / 0.5) / 0.05 + 0.5 * 2.0 * c2)
    assert skew == pytest.approx(2.0 * c2)
    hs, skew = avellaneda_stoikov(0.1, 2.0, 0.5, 3.0)
    assert skew == pytest.approx(0.1 * 4 * 3)
    assert 2 * hs == pytest.approx(0.1 * 4 * 3 + 2 / 0.1 * math.log(1 + 0.1 / 0.5))


def _warmup_config(policy: str):
    cal = CalibrationConfig(
        interval_s=0.1, window_s=60, refresh_s=1, min_intervals=50, min_trade_intervals=20
    )
    return quote_config(warmup=policy, calibration=cal)


def _feed(q: Quoter, seconds: float, rng: random.Random) -> list[str]:
    statuses = []
    mid = 100.0
    t = 0.0
    while t < seconds:
        mid += rng.choice((-TICK, 0, TICK))
        q.on_trade(mid + TICK * rng.choice((-3, -1, 1, 2, 5)))
        statuses.append(q.decide(features(mid - TICK, mid + TICK), 0.0, t).status)
        t += 0.05
    return statuses


def test_warm_up_is_visible_and_wait_policy_holds_quotes_until_calibrated():
    q = Quoter(_warmup_config("wait"), maker_fee_bps=0.0)
    rng = random.Random(1)
    assert not q.calibration.ready and q.calibration.progress == 0.0
    statuses = _feed(q, 2.0, rng)
    assert set(statuses) == {"warming_up"} and 0 < q.calibration.progress < 1
    statuses = _feed(q, 10.0, rng)
    assert statuses[-1] == "quoting" and q.calibration.ready
    params = q.calibration.params
    assert params.source == "calibrated" and params.sigma > 0 and params.a > 0 and params.k > 0


def test_fallback_policy_quotes_on_priors_while_warming_up():
    q = Quoter(_warmup_config("fallback"), maker_fee_bps=0.0)
    d = q.decide(features(100.0, 100.1), 0.0, 0.0)
    assert d.status == "quoting" and d.params.source == "prior"


def _advice(kind, values, created=0.0, ttl=10.0):
    return Advice(kind, "BTCUSDT", values, created, ttl, "test")


RISK_VALUES = dict(
    risk_score=0.5,
    max_position=0.5,
    spread_adjustment_bps=0.0,
    toxic_flow_probability=0.2,
    circuit_breaker=False,
)


def test_overlay_is_bounded_and_decays_to_neutral_by_ttl():
    cfg = OverlayConfig(max_spread_mult=2.0, max_size_mult=1.2)
    signal = _advice(
        "signal", dict(action="hold", spread_bps=200, quantity_factor=2.5, confidence=1)
    )
    risk = _advice("risk", RISK_VALUES)
    o = overlay_from(LatestAdvice(signal, risk), 1.0, 10.0, cfg)
    assert o.spread_mult == 2.0 and o.size_mult == 1.2  # clamped to the bounds
    assert o.limit_mult == 0.5 and not o.halt
    late = overlay_from(LatestAdvice(signal, risk), 10.0, 10.0, cfg)
    assert late.spread_mult == 1.0 and late.size_mult == 1.0 and late.limit_mult == 1.0
    assert overlay_from(LatestAdvice(None, None), 1.0, 10.0, cfg) is NEUTRAL


def test_circuit_breaker_advice_halts_quoting_and_size_multiplier_applies():
    q = Quoter(quote_config(levels=1), maker_fee_bps=0.0)
    f = features(100.0, 100.1)
    halt = _advice("risk", {**RISK_VALUES, "circuit_breaker": True})
    o = overlay_from(LatestAdvice(None, halt), 1.0, 10.0, q.cfg.overlay)
    d = q.decide(f, 0.0, 1.0, o)
    assert d.status == "halted" and d.bids == () and d.asks == ()
    small = _advice("signal", dict(action="hold", spread_bps=20, quantity_factor=0.5, confidence=1))
    o = overlay_from(LatestAdvice(small, None), 1.0, q.model_spread_bps(100.05), q.cfg.overlay)
    assert q.decide(f, 0.0, 1.0, o).bids[0].lots == 50  # 0.005 in lots of 0.0001


def test_reused_ladders_never_hide_a_change():
    """The quoter reuses its ladders while rounded prices and sizes stay put: every decision
    must still equal the one a fresh quoter makes from the same inputs."""
    cfg = quote_config(levels=3, level_spacing_ticks=2, max_position=0.05)
    cached = Quoter(cfg, maker_fee_bps=0.0)
    rng = random.Random(3)
    changed = 0
    previous = None
    for i in range(400):
        bid = 100.0 + rng.choice((0, 0, 0, 1, -1)) * TICK
        ask = bid + rng.choice((1, 1, 2, 5)) * TICK
        f = features(bid, ask, rng.uniform(0.1, 3.0), rng.uniform(0.1, 3.0))
        position = rng.choice((0.0, 0.0, 0.01, -0.02, 0.05, -0.05, 0.0301))
        overlay = NEUTRAL._replace(size_mult=rng.choice((1.0, 1.0, 0.5)))
        now = i * 0.01  # well inside the warm-up: both quoters run on the priors
        got = cached.decide(f, position, now, overlay)
        assert got == Quoter(cfg, maker_fee_bps=0.0).decide(f, position, now, overlay)
        changed += previous is not None and (got.bids, got.asks) != previous
        previous = got.bids, got.asks
    assert changed > 100  # the inputs did move the quotes


def test_intensity_fit_recovers_a_and_k_and_matches_the_formula():
    """λ(δ) = A·e^(-kδ): draw interval depths whose tail is exactly exponential, fit them back,
    and check the fit against the least-squares formula written out by hand."""
    import numpy as np

    from mmcore._core import fit_intensity

    a, k, seconds = 5.0, 0.4, 1000.0
    counts = [round(a * math.exp(-k * d) * seconds) for d in range(12)]  # intervals deeper than d
    depths = []
    for d in range(12):
        beyond = counts[d + 1] if d + 1 < 12 else 0
        depths += [d + 0.5] * (counts[d] - beyond)  # deeper than d, not deeper than d + 1
    fit_a, fit_k = fit_intensity(np.array(depths), seconds, max_depth=70)
    assert fit_k == pytest.approx(k, rel=0.02) and fit_a == pytest.approx(a, rel=0.05)

    xs = [float(d) for d in range(12)]
    ys = [math.log(c / seconds) for c in counts]
    mx, my = sum(xs) / 12, sum(ys) / 12
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sum((x - mx) ** 2 for x in xs)
    assert fit_k == pytest.approx(-slope, rel=1e-12)
    assert fit_a == pytest.approx(math.exp(my - slope * mx), rel=1e-12)


def test_intensity_fit_refuses_too_few_depths():
    import numpy as np

    from mmcore._core import fit_intensity

    assert fit_intensity(np.array([0.5, 0.2]), 10.0, 70) is None  # only δ = 0 has trades
    assert fit_intensity(np.array([], dtype=float), 10.0, 70) is None


def test_intensity_fit_rejects_bad_arguments():
    from mmcore._core import fit_intensity

    with pytest.raises(ValueError, match="seconds"):
        fit_intensity([1.5, 2.5], 0.0, 70)
    with pytest.raises(ValueError, match="max_depth"):
        fit_intensity([1.5, 2.5], 10.0, -1)
    assert fit_intensity([1.5, 2.5, math.nan], 10.0, 70) == fit_intensity([1.5, 2.5], 10.0, 70)


def test_a_features_record_and_an_object_with_its_attributes_decide_the_same():
    """The Rust core reads a Features record's fields directly and any other object by
    attribute: both paths must give the same decisions."""
    from types import SimpleNamespace

    from mmcore import OrderBook
    from mmcore._core import synthetic_binance_stream

    from .conftest import SYMBOL

    snapshot, payloads = synthetic_binance_stream(600, 50, 6, 4)
    book = OrderBook(SYMBOL, "binance-spot", tick_size=TICK)
    book.apply_snapshot(snapshot)
    cal = CalibrationConfig(
        interval_s=0.1, window_s=60, refresh_s=1, min_intervals=50, min_trade_intervals=20
    )
    cfg = quote_config(levels=2, imbalance_alpha_ticks=3.0, calibration=cal)
    direct, by_name = Quoter(cfg, maker_fee_bps=0.0), Quoter(cfg, maker_fee_bps=0.0)
    names = ("best_bid", "best_ask", "mid", "microprice", "imbalance")
    rng = random.Random(4)
    for i, payload in enumerate(payloads):
        book.apply(payload)
        f = book.features(5)
        copy = SimpleNamespace(**{n: getattr(f, n) for n in names})
        trade = f.mid + TICK * rng.choice((-4, -1, 1, 3))
        direct.on_trade(trade)
        by_name.on_trade(trade)
        position = rng.choice((0.0, 0.03, -0.07, 0.1))
        assert direct.decide(f, position, i * 0.05) == by_name.decide(copy, position, i * 0.05)
    assert direct.calibration.ready


def test_bad_config_numbers_and_unpriceable_inputs_raise_value_error():
    from mmcore._core import QuoteCore

    with pytest.raises(ValueError, match="tick_size"):
        QuoteCore(0.0, 0.0001, 0.01, 0.1)
    with pytest.raises(ValueError, match="model"):
        QuoteCore(0.01, 0.0001, 0.01, 0.1, model="bogus")
    with pytest.raises(ValueError, match="imbalance_alpha_ticks"):
        QuoteCore(0.01, 0.0001, 0.01, 0.1, imbalance_alpha_ticks=math.nan)
    with pytest.raises(ValueError, match="min_intervals"):
        QuoteCore(0.01, 0.0001, 0.01, 0.1, min_intervals=-3)
    with pytest.raises(ValueError, match="window_s"):
        QuoteCore(0.01, 0.0001, 0.01, 0.1, window_s=1e300)
    with pytest.raises(ValueError, match="gamma"):
        glft(0.0, 1.0, 1.0, 0.5)
    with pytest.raises(ValueError, match="horizon_s"):
        avellaneda_stoikov(0.1, 1.0, 0.5, -1.0)
    q = Quoter(quote_config(), maker_fee_bps=0.0)
    f = features(100.0, 100.1)
    with pytest.raises(ValueError, match="position"):
        q.decide(f, math.nan, 1.0)
    with pytest.raises(ValueError, match="size_mult"):
        q.decide(f, 0.0, 1.0, NEUTRAL._replace(size_mult=math.nan))
    halt = NEUTRAL._replace(halt=True)
    assert q.decide(f, math.nan, 1.0, halt).status == "halted"  # never priced
    assert q.decide(f, 0.0, 1.0).status == "quoting"  # and the quoter still works


def test_params_are_rebuilt_only_when_the_calibration_refits():
    q = Quoter(_warmup_config("fallback"), maker_fee_bps=0.0)
    rng = random.Random(2)
    prior = q.calibration.params
    assert prior.source == "prior" and q.decide(features(100.0, 100.1), 0.0, 0.0).params is prior
    _feed(q, 12.0, rng)
    params = q.calibration.params
    assert params.source == "calibrated"
    assert q.calibration.params is params  # no refit in between: the same tuple
    f = features(100.0, 100.1)
    d = q.decide(f, 0.0, 12.0)
    assert d.params == q.calibration.params
    half_bps, _ = glft(q.cfg.gamma, *q.calibration.params[:3])  # the model runs in bps
    assert q.model_spread_bps(100.05) == pytest.approx(2 * half_bps, rel=1e-12)


def test_calibration_warms_up_and_fits_from_mids_and_trades_alone():
    cal = Quoter(_warmup_config("wait"), maker_fee_bps=0.0).calibration
    prior = cal.prior
    assert not cal.ready and cal.params is prior and cal.progress == 0.0
    rng = random.Random(5)
    mid, t = 10_000.0, 0.0
    while t < 10.0:
        mid += rng.choice((-1, 0, 1))
        cal.on_trade(mid + rng.choice((-3, -1, 1, 2, 5)))
        cal.on_mid(mid, t)
        t += 0.05
    assert cal.ready and cal.progress == 1.0 and cal.params.source == "calibrated"


def test_deep_bids_of_a_low_priced_asset_stop_above_zero():
    """A three-tick asset put bid levels at 0 and -1 ticks below the one at 1."""
    s = 0.035 * 1e-4 / TICK  # ticks per bps: the model of 0.05/tick, 1 tick/√s, 0.5/tick
    cfg = quote_config(levels=3, gamma=0.05 * s, prior_sigma_bps=1.0 / s, prior_k=0.5 * s)
    q = Quoter(cfg, maker_fee_bps=0.0)
    d = q.decide(features(0.03, 0.04), 0.0, 1.0)
    assert [b.price_ticks for b in d.bids] == [1]
    assert [a.price_ticks for a in d.asks] == [6, 7, 8]
    low = q.decide(features(0.01, 0.02), 0.0, 2.0)  # the best bid itself would be 0
    assert low.bids == () and len(low.asks) == 3


def test_rules_do_not_widen_or_shrink_both_sides_as_inventory_grows():
    """Inventory used to shrink quantity_factor and widen spread_adjustment_bps for both sides
    (so the reducing side too): now it only leans, with confidence growing with it."""
    from mmcore.advisors.rules import risk_rules, signal_rules

    calm = dict(mid=100.0, spread_bps=5.0, volatility_bps=2.0, vpin=0.1, imbalance=0.0)
    flat, long = {**calm, "inventory": 0.0}, {**calm, "inventory": 0.9}
    assert signal_rules(long)["quantity_factor"] == signal_rules(flat)["quantity_factor"]
    assert risk_rules(long)["spread_adjustment_bps"] == risk_rules(flat)["spread_adjustment_bps"]
    advice = signal_rules(long)
    assert advice["action"] == "ask" and advice["confidence"] == pytest.approx(0.9)
    assert risk_rules(long)["max_position"] < risk_rules(flat)["max_position"]


def test_a_lean_makes_the_reducing_side_tighter_and_the_other_wider():
    from mmcore.advisors.rules import signal_rules

    q = Quoter(quote_config(levels=1, overlay=OverlayConfig(lean_bps=5.0)), maker_fee_bps=0.0)
    f = features(100.0, 101.0)
    values = signal_rules(dict(mid=100.5, spread_bps=99.5, inventory=0.9))
    o = overlay_from(LatestAdvice(_advice("signal", values), None), 1.0, 10.0, q.cfg.overlay)
    assert o.lean == pytest.approx(-0.9)
    neutral = q.decide(f, 0.05, 1.0, o._replace(lean=0.0))
    leaned = q.decide(f, 0.05, 1.0, o)
    shift = 100.5 * 5.0 * 0.9 * 1e-4 / TICK  # ticks
    assert leaned.fair_ticks == pytest.approx(neutral.fair_ticks - shift)
    assert leaned.asks[0].price_ticks < neutral.asks[0].price_ticks  # reducing side tighter
    assert leaned.bids[0].price_ticks < neutral.bids[0].price_ticks  # growing side wider
    assert leaned.asks[0].lots > leaned.bids[0].lots  # and larger (size_eta)


def test_order_flow_signal_moves_fair_value_within_its_bound():
    q = Quoter(quote_config(levels=1, flow_alpha_bps=2.0, microprice_weight=0.0), maker_fee_bps=0)
    off = Quoter(quote_config(levels=1, microprice_weight=0.0), maker_fee_bps=0.0)
    mid_ticks = 100.5 / TICK
    fairs = []
    for i in range(20):  # buying pressure: the running OFI only rises
        f = features(100.0, 101.0, ofi_total=5.0 * i)
        fairs.append(q.decide(f, 0.0, 0.1 * i).fair_ticks)
        assert off.decide(f, 0.0, 0.1 * i).fair_ticks == pytest.approx(mid_ticks)
    assert q.flow_signal == pytest.approx(1.0)
    assert fairs[-1] == pytest.approx(mid_ticks * (1 + 2.0e-4))  # the bound, never beyond
    assert all(mid_ticks <= x <= mid_ticks * (1 + 2.0e-4) + 1e-9 for x in fairs)
    for i in range(20, 60):  # then selling pressure
        f = features(100.0, 101.0, ofi_total=100.0 - 5.0 * (i - 20))
        fair = q.decide(f, 0.0, 0.1 * i).fair_ticks
    assert q.flow_signal < -0.5 and fair < mid_ticks


def test_the_quote_floor_is_the_paper_venues_maker_fee():
    from mmcore.execution import PaperConfig
    from mmcore.portfolio import Portfolio
    from mmcore.risk import RiskConfig
    from mmcore.strategy import QuoteConfig
    from mmcore.trader import SymbolSetup, build_engine

    cfg = quote_config(levels=1, fee_margin_bps=1.0)
    risk = RiskConfig(max_position=0.1, max_notional=1e6, max_drawdown=1e6, lot_size=0.0001)
    setup = SymbolSetup("BTCUSDT", "binance-spot", cfg, risk, PaperConfig(maker_fee_bps=3.0))
    engine = build_engine(setup, Portfolio())
    assert engine.quoter.maker_fee_bps == 3.0
    d = engine.quoter.decide(features(100.00, 100.01), 0.0, 1.0)
    assert (d.asks[0].price_ticks - d.bids[0].price_ticks) / d.fair_ticks * 1e4 >= 2 * 3.0 + 1.0
    with pytest.raises(TypeError, match="maker_fee_bps"):
        QuoteConfig(tick_size=0.01, lot_size=0.001, base_size=0.1, max_position=1, maker_fee_bps=1)
