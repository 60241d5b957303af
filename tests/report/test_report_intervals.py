"""Marked intervals (a simulated market's informed-flow episodes) in the report: shaded on every
panel of their symbol, and the symbol's PnL decomposition split between the fills made inside
them and the rest, each part as the written fills say."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from mmcore import ApplyStatus, OrderBook
from mmcore.analytics.pnl import Interval
from mmcore.execution import PaperConfig
from mmcore.runner import RunResult
from mmcore.testing.trading import SYMBOL, TICK, quote_config, risk_config, session
from mmcore.trader import SymbolSetup
from mmcore.ui.plots import PANELS

from .conftest import offline_run, read_csv


def _cells(html: str, label: str) -> list[float]:
    """The numbers of the decomposition table's row whose first cell starts with ``label``."""
    row = re.search(r"<tr><td>" + re.escape(label) + r"[^<]*</td>(.*?)</tr>", html)
    assert row is not None, label
    cells = re.findall(r"<td class='v'>([^<]*)</td>", row.group(1))
    return [float(unescape(c).replace(",", "")) for c in cells]


def _boxes(html: str) -> int:
    """Shaded intervals drawn (the box-zoom tools' own overlays are BoxAnnotations too)."""
    return html.count('"name":"informed flow"')


async def test_intervals_are_shaded_and_split_the_decomposition(tmp_path: Path):
    setup = SymbolSetup(
        SYMBOL, "binance-spot", quote_config(), risk_config(), PaperConfig(maker_fee_bps=0.0)
    )
    run = await offline_run(tmp_path, setup)
    run.trader.started_at = 0.0  # replay time is the run's clock
    engine = run.trader.engines[SYMBOL]
    engine.wall_clock_offset_s = None
    snapshot, items = session(2000, seed=5)
    engine.book = OrderBook(SYMBOL, "binance-spot", tick_size=TICK)
    assert engine.book.apply_snapshot(snapshot) == ApplyStatus.APPLIED
    engine.replay(items)
    end = items[-1][0]
    marked = [
        Interval(SYMBOL, end * 0.2, end * 0.45, "informed flow"),
        Interval(SYMBOL, end * 0.6, end * 0.7, "informed flow"),
        Interval("OTHERUSDT", 0.0, end, "informed flow"),  # another symbol's: not shown here
    ]
    summary, report = await run.report(tmp_path, "duration", marked)
    html = report.read_text()

    assert _boxes(html) == 2 * len(PANELS)  # this symbol's two intervals on each panel
    fills = read_csv(tmp_path / "fills.csv")
    inside = [f for f in fills if any(i.start <= f.t <= i.end for i in marked[:2])]
    assert 0 < len(inside) < len(fills)
    symbol_row = _cells(html, SYMBOL)
    in_row = _cells(html, "  fills in informed flow (2, ")
    out_row = _cells(html, "  fills elsewhere")
    # spread captured of the inside fills, from the written fills
    spread_in = sum(f.sign * (f.mid - f.price) * f.qty for f in inside)
    assert in_row[0] == pytest.approx(spread_in, rel=1e-5, abs=1e-6)
    for part in range(5):  # spread, adverse, inventory, fees, total: the halves add up
        assert in_row[part] + out_row[part] == pytest.approx(symbol_row[part], rel=1e-4, abs=1e-5)
    assert "Shaded on the plots: informed flow (3 intervals)" in html
    assert summary.fills == len(fills)


def test_the_demo_shades_the_informed_episodes_of_its_run(demo_run: RunResult):
    html = demo_run.report.read_text()
    episodes = read_csv(demo_run.out_dir / "sim_episodes.csv")
    # every episode started by the time the report was written is shaded on each panel of its
    # symbol; the market ran on a little after that, so it may have stated a few more
    assert _boxes(html) % len(PANELS) == 0
    assert _boxes(html) // len(PANELS) <= len(episodes)
    early = [e for e in episodes if e.start_s < 10.0]  # 1 s into the 4 s run at 10x speed
    if early:
        assert _boxes(html) >= len(PANELS)
