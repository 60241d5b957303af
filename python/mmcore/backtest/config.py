"""The backtest's configuration: a run's ``mm.toml`` plus an optional ``[backtest]`` section.

The ``[[venues]]``/``[[symbols]]`` tables are read by :func:`mmcore.cli_run.load_run_config`
exactly as for a paper run (queue model, latencies and fees are each symbol's ``[symbols.paper]``);
``[backtest]`` says how the replay runs and may override latencies and fees::

    [backtest]
    timer_s = 0.1              # the engine timer (stale book, order age), as the live trader's
    sample_s = 1.0             # report samples and the metrics' time grid
    return_interval_s = 60.0   # Sharpe/Sortino: PnL changes over intervals this long
    feed_latency = "per_message"  # per_message: each message's own exchange-to-local delay
                               # | median: their median, for every message | config:
                               # [symbols.paper] feed_latency_s (mmcore.backtest.latency)
    latency_file = ""          # CSV of measured round trips (mmcore.backtest.latency), a path
                               # from the working directory; empty:
                               # [symbols.paper] entry/cancel/response latencies as written
    progress = true            # progress bar on stderr (only when stderr is a terminal)
    [backtest.fees."binance-spot"]   # this venue's fee tier, for every symbol on it
    tier = "VIP 0"
    maker_fee_bps = 1.0
    taker_fee_bps = 1.0
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mmcore.backtest.latency import LatencyFit
from mmcore.cli_run import RunConfig, load_run_config
from mmcore.config import ConfigError, bounded, build
from mmcore.trader import SymbolSetup

__all__ = ["BacktestConfig", "BacktestSection", "FeeTier", "load_backtest_config"]


@dataclass(frozen=True, slots=True)
class FeeTier:
    """One venue's fee tier (bps of notional; a negative maker fee is a rebate)."""

    tier: str = ""
    maker_fee_bps: float = bounded(1.0, ge=-10, le=100)
    taker_fee_bps: float = bounded(5.0, ge=0, le=100)


@dataclass(frozen=True)
class BacktestSection:
    """``[backtest]``: how the replay runs (module docstring)."""

    timer_s: float = bounded(0.1, gt=0, le=60)
    sample_s: float = bounded(1.0, gt=0, le=3600)
    return_interval_s: float = bounded(60.0, gt=0)
    feed_latency: str = bounded("per_message", choices=("per_message", "median", "config"))
    latency_file: str = ""
    progress: bool = True
    fees: Mapping[str, FeeTier] = field(default_factory=dict)


@dataclass(frozen=True)
class BacktestConfig:
    """A run config and its ``[backtest]`` section."""

    run: RunConfig
    backtest: BacktestSection

    def setups(
        self, feed_latency_s: float | None = None, fit: LatencyFit | None = None
    ) -> list[SymbolSetup]:
        """The symbol setups with the ``[backtest]`` overrides applied: the venue's fee tier,
        ``feed_latency_s`` (measured from the data, unless ``config``) and the fitted order
        latencies."""
        out = []
        for s in self.run.setups:
            paper = s.paper
            tier = self.backtest.fees.get(s.venue)
            if tier is not None:
                paper = dataclasses.replace(
                    paper, maker_fee_bps=tier.maker_fee_bps, taker_fee_bps=tier.taker_fee_bps
                )
            if feed_latency_s is not None:
                paper = dataclasses.replace(paper, feed_latency_s=feed_latency_s)
            if fit is not None:
                paper = dataclasses.replace(
                    paper,
                    entry_latency_s=fit.entry_latency_s,
                    cancel_latency_s=fit.cancel_latency_s,
                    response_latency_s=fit.response_latency_s,
                    latency_jitter_s=fit.latency_jitter_s,
                )
            out.append(dataclasses.replace(s, paper=paper))
        return out


def load_backtest_config(data: Mapping[str, Any]) -> BacktestConfig:
    """Validate a parsed config (``mm.toml`` plus ``[backtest]``); errors name the field.
    The environment is not read: a backtest depends on its files only."""
    rest = {k: v for k, v in data.items() if k != "backtest"}
    section = data.get("backtest", {})
    if not isinstance(section, Mapping):
        raise ConfigError("backtest", "must be a table")
    backtest = build(BacktestSection, section, "backtest", {})
    run = load_run_config(rest, env={})
    venues = {f.venue for f in run.feeds}
    for venue in backtest.fees:
        if venue not in venues:
            raise ConfigError(f'backtest.fees."{venue}"', "no [[venues]] table for this venue")
    return BacktestConfig(run, backtest)
