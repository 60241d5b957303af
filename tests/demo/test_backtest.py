"""The demo in simulated time: deterministic by seed, and its clock wakes sleepers in order."""

from __future__ import annotations

import asyncio

from mmcore.demo import DEMO_LISTINGS, demo_setups
from mmcore.sim.backtest import SimClock, run_backtest


def test_same_seed_same_figures_other_seed_other_figures():
    a, b, c = (
        run_backtest(DEMO_LISTINGS, demo_setups(), seed=s, duration_s=5.0) for s in (3, 3, 4)
    )
    assert a.symbols == b.symbols and a.episodes == b.episodes
    assert a.symbols != c.symbols
    for r in a.symbols.values():  # the decomposition adds up
        parts = r.spread_captured + r.adverse_selection + r.inventory_pnl - r.fees
        assert abs(parts - r.net_pnl) < 1e-9
        assert r.fills > 0 and r.orders >= r.fills


def test_sim_clock_wakes_each_sleeper_when_its_time_has_come():
    async def main() -> list[str]:
        clock, woke = SimClock(), []

        async def nap(name: str, seconds: float) -> None:
            await clock.sleep(seconds)
            woke.append(f"{name}@{clock.now():g}")

        tasks = [asyncio.create_task(nap("long", 2.0)), asyncio.create_task(nap("short", 1.0))]
        await asyncio.sleep(0)
        for t in (0.5, 1.0, 1.5, 2.0):
            clock.advance_to(t)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        await asyncio.gather(*tasks)
        return woke

    assert asyncio.run(main()) == ["short@1", "long@2"]
