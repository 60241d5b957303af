"""The default command: the whole system on the embedded simulated market.

Starts a simulated Binance spot venue (BTCUSDT) and a simulated Bybit spot venue (ETHUSDT) on
loopback, connects the ordinary feeds to them, and trades both symbols with the paper venue
(filled by the simulated trades), the advisors (the offline rules advisor unless
``MMCORE_LLM_BASE_URL`` names a relay) and the dashboard, then writes the run report.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime
from pathlib import Path

from mmcore.config import ConfigError
from mmcore.execution import PaperConfig
from mmcore.feeds import Feed, FeedConfig
from mmcore.llm.config import load_llm_config
from mmcore.ops.config import OpsConfig
from mmcore.ops.logs import add_log_format_argument, setup_logging
from mmcore.risk import RiskConfig
from mmcore.runner import RunOptions, RunResult, run_trading
from mmcore.sim import SimListing, SimMarket, SimMarketProcess, SymbolSpec
from mmcore.sim.flow import write_episodes
from mmcore.stopping import STOP, StopSignals
from mmcore.strategy import QuoteConfig
from mmcore.trader import SymbolSetup

__all__ = ["DEMO_LISTINGS", "add_arguments", "demo_setups", "run", "run_demo"]

DEMO_LISTINGS = (
    SimListing("binance-spot", SymbolSpec("BTCUSDT", 60_000.0, tick_decimals=0, lot_decimals=3)),
    SimListing("bybit-spot", SymbolSpec("ETHUSDT", 3_000.0, tick_decimals=1, lot_decimals=2)),
)
# base size and position limit per symbol, in base units (about 600 and 3,000 USD)
_SIZES = {"BTCUSDT": (0.01, 0.05), "ETHUSDT": (0.2, 1.0)}
# The quote model on the simulated market, each value from the sim's model (mmcore.sim.flow),
# not fitted to any seed's outcome:
# - fair value is the mid: the sim's resting sizes carry no information about the value, so
#   the microprice only adds the noise of a 10-20 tick spread;
# - expected adverse selection 2 bps over the round-trip maker fee (the venue's, 1 bp a side):
#   one standard deviation of the value over the ~0.5 s a quote rests, at the regimes' mean
#   volatility sqrt((1² + 4²) / 2) ≈ 2.9 bps/√s;
# - the order-flow signal moves fair value by at most 1 bp: the visible mid trails the value
#   by up to the liquidity providers' 2 bps half-spread, and OFI measures the pulls and
#   re-posts by which it catches up.
_MODEL = {"microprice_weight": 0.0, "fee_margin_bps": 2.0, "flow_alpha_bps": 1.0}
# The paper venue does not see the book as we do: its clock runs 5 ms ahead of our feed (the
# exchange-to-local lag of a nearby server), and every order, cancel and response takes its
# 5 ms plus up to 2 ms of seeded jitter, so fills are not priced off a book we could not see.
_PAPER = PaperConfig(feed_latency_s=0.005, latency_jitter_s=0.002)


def demo_setups(listings: tuple[SimListing, ...] = DEMO_LISTINGS) -> list[SymbolSetup]:
    """Quote and risk configs for the simulated symbols."""
    setups = []
    for x in listings:
        base, limit = _SIZES.get(x.spec.symbol, (10 * x.spec.lot_size, 50 * x.spec.lot_size))
        notional = 3 * limit * x.spec.price
        setups.append(
            SymbolSetup(
                symbol=x.spec.symbol,
                venue=x.venue,
                quote=QuoteConfig(
                    tick_size=x.spec.tick_size,
                    lot_size=x.spec.lot_size,
                    base_size=base,
                    max_position=limit,
                    levels=2,
                    **_MODEL,
                ),
                risk=RiskConfig(
                    max_position=limit,
                    max_notional=notional,
                    max_drawdown=notional * 0.05,
                    lot_size=x.spec.lot_size,
                    max_orders_per_s=50.0,
                    order_burst=100,
                    kill_switch_resume="cooldown",
                    kill_switch_cooldown_s=10.0,
                ),
                paper=_PAPER,
            )
        )
    return setups


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the demo run."""
    parser.add_argument(
        "--duration", type=float, default=60.0, help="seconds to trade (default 60)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="simulated seconds per wall second (default 1; 0 = as fast as possible)",
    )
    parser.add_argument("--seed", type=int, default=1, help="order-flow seed (default 1)")
    parser.add_argument("--headless", action="store_true", help="log lines, no dashboard")
    parser.add_argument(
        "--out", type=Path, default=None, help="run folder (default runs/<timestamp>/)"
    )
    add_ops_arguments(parser)


def add_ops_arguments(parser: argparse.ArgumentParser) -> None:
    """``--ops-port`` and ``--log-format``."""
    parser.add_argument(
        "--ops-port",
        type=int,
        default=None,
        help="serve metrics, health and control on 127.0.0.1:PORT (0: any free port)",
    )
    add_log_format_argument(parser)


def default_out(base: Path = Path("runs")) -> Path:
    """``runs/<local timestamp>/``."""
    return base / datetime.now().strftime("%Y%m%d-%H%M%S")


def feeds_for(market: SimMarket | SimMarketProcess) -> list[Feed]:
    """One feed per venue of a simulated market, pointed at its local endpoints."""
    return [
        Feed(
            FeedConfig(
                venue=venue,
                symbols=market.symbols(venue),
                ws_url=market.ws_url(venue),
                rest_url=market.rest_url(venue),
                snapshot_limit=100,
                connect_timeout_s=5.0,
            )
        )
        for venue in market.venues
    ]


async def run_demo(
    options: RunOptions,
    *,
    speed: float = 1.0,
    seed: int = 1,
    env: dict | None = None,
    stop: StopSignals = STOP,
) -> RunResult:
    """Run the demo on a freshly started simulated market (in a child process: the exchange's
    work does not share the trading loop's core); ``stop`` ends it early (see
    :func:`~mmcore.runner.run_trading`)."""
    llm = load_llm_config(None, os.environ if env is None else env)
    print("mmcore: starting the simulated market", flush=True)
    async with SimMarketProcess(list(DEMO_LISTINGS), seed=seed, speed=speed) as market:
        feeds = feeds_for(market)
        # a second stop signal: the market need not wind down politely
        with stop.on_force(market.kill):
            extra: dict[str, object] = {"sim speed": f"{speed:g}x", "seed": seed}
            result = await run_trading(
                feeds,
                demo_setups(),
                llm,
                options,
                extra_status=extra,
                stop=stop,
                marked=market.informed_intervals,
            )
    # the informed episodes the sim stated, next to the fills they should explain
    write_episodes(result.out_dir / "sim_episodes.csv", market.episodes)
    return result


def run(args: argparse.Namespace) -> int:
    """The default command; returns the exit code."""
    if args.duration <= 0 or args.speed < 0:
        print("mmcore: --duration must be > 0 and --speed >= 0")
        return 2
    out = args.out or default_out()
    if args.log_format is not None:
        setup_logging(args.log_format, run_id=out.name)
    options = RunOptions(
        out_dir=out,
        duration_s=args.duration,
        headless=args.headless,
        title="mmcore on the simulated market (Ctrl-C to stop)",
        # off unless asked for: the demo is often run beside another one
        ops=None if args.ops_port is None else OpsConfig(metrics_port=args.ops_port),
    )
    try:
        result = STOP.run(lambda: run_demo(options, speed=args.speed, seed=args.seed))
    except ConfigError as exc:
        print(f"mmcore: configuration error: {exc}")
        return 2
    print_result(result)
    return 0


def print_result(result: RunResult) -> None:
    """The closing lines: the summary and where the report is."""
    s = result.summary
    print("\n" + s.stop_line(result.reason))
    print(f"report: {result.report}")
    print(
        f"data:   {result.out_dir}/ (samples.csv, fills.csv, summary.csv, journal.sqlite, "
        "sim_episodes.csv)"
    )
