"""The report of an engine replay (deterministic, no market process): its PnL decomposition adds
up to the summary's PnL even when the feed's own mid is unknown (the position's marks are what
PnL is measured against) and when fills came after the last sample."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mmcore import ApplyStatus, OrderBook
from mmcore.execution import PaperConfig, Trade
from mmcore.testing.trading import SYMBOL, TICK, quote_config, risk_config, session
from mmcore.trader import SymbolSetup

from .conftest import assert_decomposition_matches_samples, offline_run


async def test_a_replayed_run_decomposes_to_its_summary_pnl(tmp_path: Path):
    # fee-free, as mmcore.testing.trading's engines: the quote floor follows the maker fee, and
    # the synthetic session trades within a few cents of the touch (1 bp is 650 ticks there)
    setup = SymbolSetup(
        SYMBOL, "binance-spot", quote_config(), risk_config(), PaperConfig(maker_fee_bps=0.0)
    )
    run = await offline_run(tmp_path, setup)
    run.trader.started_at = 0.0  # replay time is the run's clock
    engine = run.trader.engines[SYMBOL]
    engine.wall_clock_offset_s = None  # the session's event times are on the replay's clock
    snapshot, items = session(3000, seed=5)
    engine.book = OrderBook(SYMBOL, "binance-spot", tick_size=TICK)
    assert engine.book.apply_snapshot(snapshot) == ApplyStatus.APPLIED
    next_sample, stop_sampling = 0.0, items[-1][0] - 3.0
    position = run.trader.portfolio.position(SYMBOL)

    def filled_since(t: float) -> bool:
        return any(f.t > t for f in run.recorder.fills)

    for now, item in items:
        if isinstance(item, Trade):
            engine.on_trade(item, now)
        elif engine.book.apply(item) == ApplyStatus.APPLIED:
            engine.on_book(now)
        if next_sample <= now < stop_sampling:
            run.recorder.sample(now)
            next_sample = now + 0.1
        elif now >= stop_sampling and position.qty != 0 and filled_since(stop_sampling):
            break  # holding inventory, with fills after the last sample: end the session here
    # the mid moves after the last fill and the last sample (as a last book change would):
    # the report marks to the position's last mark, as the summary's PnL does
    assert position.qty != 0
    run.trader.portfolio.mark(SYMBOL, position.mark + 25 * TICK)
    last_sample = run.recorder.rows[-1].t
    summary, _ = await run.report(tmp_path, "duration")
    assert any(f.t > last_sample for f in run.recorder.fills)

    assert summary.fills > 20
    parts = summary.pnl_spread + summary.pnl_adverse + summary.pnl_inventory - summary.fees
    assert parts == pytest.approx(summary.pnl, rel=0, abs=1e-9 * summary.volume)
    with (tmp_path / "fills.csv").open() as fh:
        fills = list(csv.DictReader(fh))
    assert len(fills) == summary.fills
    spread = sum(
        int(f["sign"]) * (float(f["mid"]) - float(f["price"])) * float(f["qty"]) for f in fills
    )
    assert summary.pnl_spread == pytest.approx(spread, rel=0, abs=1e-9 * summary.volume)
    assert_decomposition_matches_samples(tmp_path)


async def test_a_sample_taken_before_the_engine_takes_a_fill_does_not_count_it(tmp_path: Path):
    """The live sampler runs on its own timer: a fill the venue stamped before a sample but that
    the engine applies after it is not in that sample's PnL, so its time in the report is when
    the engine applied it (else the decomposition at that sample counts a fill the PnL lacks)."""
    setup = SymbolSetup(
        SYMBOL, "binance-spot", quote_config(), risk_config(), PaperConfig(maker_fee_bps=0.0)
    )
    run = await offline_run(tmp_path, setup)
    run.trader.started_at = 0.0
    engine = run.trader.engines[SYMBOL]
    engine.wall_clock_offset_s = None
    snapshot, items = session(1500, seed=5)
    engine.book = OrderBook(SYMBOL, "binance-spot", tick_size=TICK)
    assert engine.book.apply_snapshot(snapshot) == ApplyStatus.APPLIED
    sampled_at = -1.0
    for now, item in items:
        if now > sampled_at:  # once per moment, just before its events and venue events
            run.recorder.sample(now - 1e-6)
            sampled_at = now
        if isinstance(item, Trade):
            engine.on_trade(item, now)
        elif engine.book.apply(item) == ApplyStatus.APPLIED:
            engine.on_book(now)
    assert len(run.recorder.fills) > 20
    await run.report(tmp_path, "duration")
    assert_decomposition_matches_samples(tmp_path)
