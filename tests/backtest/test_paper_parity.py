"""A paper run recorded to a tape, then backtested, makes the same fills.

The paper run is a real one: a :class:`~mmcore.trader.Trader` on a live
:class:`~mmcore.feeds.Feed` connected over loopback to the fake Binance venue, recording a
tape. The backtest replays that tape through the same config.

What is compared: every fill, in order, field for field (client order id, fill id, side,
price, size, fee, maker flag and the mid the position was marked to), and the final position
and PnL. What is not: the fills' times (the paper run's engine clock is ``time.monotonic()``
when a frame is handled, the tape's is the wall clock when it was received: the two differ
by a constant plus microseconds).

For that to be a fair demand the run must not depend on when the machine got to things:
- latencies are deterministic (5 ms entry, cancel and response, no jitter, no feed latency)
  and the venue is stepped one round at a time, each round sent only after the previous one
  was handled and 20 ms passed, so every order, cancel and answer lands between the same two
  market events in both runs (within a round the frames are microseconds apart in both);
- quoting is event-driven only: the trader's timer is set beyond the run (it would requote at
  wall-clock moments the tape does not hold) and so is the backtest's;
- no advisors (the backtest does not replay them).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from mmcore.backtest.config import load_backtest_config
from mmcore.backtest.data import open_session
from mmcore.backtest.replay import run_backtest
from mmcore.config import load_toml
from mmcore.feeds import Feed, FeedConfig
from mmcore.tape import TapeWriter
from mmcore.testing.fake_exchange import BinanceWire
from mmcore.trader import Trader
from mmcore.ui.recorder import Recorder

# The fake venue's book: 10,000.00 with 0.01 ticks and 0.001 lots, ten levels a side.
CONFIG = """
[[venues]]
venue = "binance-spot"
symbols = ["BTCUSDT"]
ws_url = "{ws}"
rest_url = "{rest}"

[[symbols]]
symbol = "BTCUSDT"
venue = "binance-spot"
[symbols.quote]
tick_size = 0.01
lot_size = 0.001
base_size = 0.5
max_position = 5.0
spread_adj = 0.01
fee_margin_bps = 0.0
[symbols.risk]
max_notional = 200000.0
max_drawdown = 1000.0
max_orders_per_s = 1000.0
order_burst = 1000
[symbols.paper]
entry_latency_s = 0.005
cancel_latency_s = 0.005
response_latency_s = 0.005
maker_fee_bps = 0.0

[backtest]
timer_s = 60.0
feed_latency = "config"
"""
ROUNDS = 160


def _fills(recorder: Recorder) -> list[tuple]:
    return [(f.fill_id, f.sign, f.price, f.qty, f.fee, f.maker, f.mid) for f in recorder.fills]


async def _paper_run(tmp_path: Path) -> tuple[Recorder, Trader, Path]:
    tape_dir = tmp_path / "tape"
    async with BinanceWire(["BTCUSDT"], interval=None, seed=5) as fake:
        cfg_path = tmp_path / "mm.toml"
        cfg_path.write_text(CONFIG.format(ws=fake.ws_url, rest=fake.rest_url))
        cfg = load_backtest_config(load_toml(cfg_path))
        tape = TapeWriter(tape_dir, "binance-spot", ["BTCUSDT"])
        feed_cfg: FeedConfig = cfg.run.feeds[0]
        feed = Feed(feed_cfg, tape=tape)
        trader = Trader([feed], cfg.setups(), timer_s=3600.0)
        recorder = Recorder(trader)
        engine = trader.engines["BTCUSDT"]
        task = asyncio.create_task(trader.run())
        try:
            await _until(lambda: any(c.topics for c in fake.connections), "the subscription")
            await fake.step(1)  # the first diff: the feed fetches a snapshot and syncs
            await _until(lambda: engine.last_decision is not None, "the first quote")
            for _ in range(ROUNDS):
                expected = feed.metrics.msgs + 1 + (fake.rounds + 1) % fake.trade_every == 0
                await fake.step(1)
                await _until(lambda n=expected: feed.metrics.msgs >= n, "the round's frames")
                await asyncio.sleep(0.02)
        finally:
            trader.stop()
            await asyncio.wait_for(task, 5)
            trader.shutdown()
            tape.close()
    return recorder, trader, cfg_path


async def _until(condition, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.001)


async def test_backtest_of_a_recorded_paper_run_makes_its_fills(tmp_path: Path) -> None:
    recorder, trader, cfg_path = await _paper_run(tmp_path)
    paper = _fills(recorder)
    assert len(paper) >= 10, f"the paper run made {len(paper)} fills: too few to compare"

    cfg = load_backtest_config(load_toml(cfg_path))
    session = open_session({"": [str(tmp_path / "tape")]}, {"BTCUSDT": "binance-spot"}, None)
    run = run_backtest(cfg, session)
    assert _fills(run.recorder) == paper, (len(run.recorder.fills), len(paper))
    live_pos = trader.portfolio.position("BTCUSDT")
    pos = run.trader.portfolio.position("BTCUSDT")
    assert (pos.qty, pos.realized, pos.fees) == (live_pos.qty, live_pos.realized, live_pos.fees)
    assert run.trader.engines["BTCUSDT"].orders.placed == trader.engines["BTCUSDT"].orders.placed
