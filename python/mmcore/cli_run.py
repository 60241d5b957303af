"""``python -m mmcore run --config mm.toml --paper | --live``: real venues' market data.

Market data comes from the venues' public websocket + REST endpoints (or any URL the config
names). With ``--paper`` orders go to the paper venue, filled by the venues' real trade prints.
With ``--live`` they go to the venues themselves through ccxt: keys come only from the
environment (``MMCORE_<VENUE>_API_KEY`` / ``_SECRET``) or a ``--key-file`` readable by its
owner alone; the run prints what it will trade and starts only with ``--yes-trade-real-money``
(or ``--testnet``: the venues' test networks, for market data and orders). The file format is
documented option by option in the example ``mm.toml`` at the repository root.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmcore.config import ConfigError, build, load_toml
from mmcore.execution import ExecutionConfig, PaperConfig
from mmcore.execution.live.config import LiveConfig
from mmcore.feeds import Feed, FeedConfig
from mmcore.llm.config import LLMConfig, load_llm_config
from mmcore.ops.alerts import webhooks_from
from mmcore.ops.config import OpsConfig
from mmcore.ops.logs import add_log_format_argument, setup_logging
from mmcore.risk import RiskConfig
from mmcore.risk.portfolio_limits import PortfolioLimitsConfig
from mmcore.strategy import QuoteConfig
from mmcore.trader import SymbolSetup

__all__ = ["RunConfig", "add_parser", "load_run_config", "run"]

_NO_ENV: Mapping[str, str] = {}


@dataclass(frozen=True)
class RunSection:
    """``[run]``: where run folders go, how long to run, how to show it."""

    out: str = "runs"
    duration_s: float = 0.0  # 0: until Ctrl-C
    headless: bool = False
    refresh_per_s: float = 4.0


@dataclass(frozen=True)
class RunConfig:
    """A whole ``mm.toml``: feeds per venue, symbol setups, advisors, run options."""

    run: RunSection
    feeds: list[FeedConfig]
    setups: list[SymbolSetup]
    llm: LLMConfig
    ops: OpsConfig = field(default_factory=OpsConfig)
    portfolio_risk: PortfolioLimitsConfig = field(default_factory=PortfolioLimitsConfig)
    live: LiveConfig = field(default_factory=LiveConfig)  # ``[live]``: --live only


def _table(data: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path}.{key}" if path else key, "must be a table")
    return value


def _tables(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = data.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, Mapping) for v in value):
        raise ConfigError(key, f"needs at least one [[{key}]] table")
    return value


def load_run_config(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> RunConfig:
    """Validate a parsed ``mm.toml``; every error names the field."""
    known = {"run", "venues", "symbols", "llm", "ops", "portfolio_risk", "live"}
    for key in data:
        if key not in known:
            raise ConfigError(key, f"unknown section (known: {', '.join(sorted(known))})")
    run = build(RunSection, _table(data, "run", ""), "run", _NO_ENV)
    feeds = [
        build(FeedConfig, v, f"venues[{i}]", _NO_ENV) for i, v in enumerate(_tables(data, "venues"))
    ]
    by_venue = {f.venue: f for f in feeds}
    if len(by_venue) != len(feeds):
        raise ConfigError("venues", "one [[venues]] table per venue")
    setups = []
    for i, s in enumerate(_tables(data, "symbols")):
        path = f"symbols[{i}]"
        unknown = set(s) - {"symbol", "venue", "quote", "risk", "paper", "execution"}
        if unknown:
            raise ConfigError(f"{path}.{sorted(unknown)[0]}", "unknown key")
        symbol, venue = s.get("symbol"), s.get("venue")
        if venue not in by_venue:
            raise ConfigError(f"{path}.venue", f"{venue!r} has no [[venues]] table")
        if symbol not in by_venue[venue].symbols:
            raise ConfigError(f"{path}.symbol", f"{symbol!r} is not in {venue}'s symbols")
        quote = build(QuoteConfig, _table(s, "quote", path), f"{path}.quote", _NO_ENV)
        risk_data = {
            "max_position": quote.max_position,
            "lot_size": quote.lot_size,
            **_table(s, "risk", path),
        }
        setups.append(
            SymbolSetup(
                symbol=symbol,
                venue=venue,
                quote=quote,
                risk=build(RiskConfig, risk_data, f"{path}.risk", _NO_ENV),
                paper=build(PaperConfig, _table(s, "paper", path), f"{path}.paper", _NO_ENV),
                execution=build(
                    ExecutionConfig, _table(s, "execution", path), f"{path}.execution", _NO_ENV
                ),
            )
        )
    env = os.environ if env is None else env
    llm = load_llm_config(_table(data, "llm", ""), env)
    ops = build(OpsConfig, _table(data, "ops", ""), "ops", env)
    if ops.enabled:
        webhooks_from(ops.alerts, env)  # an unset webhook URL variable fails now, named
    limits = build(PortfolioLimitsConfig, _table(data, "portfolio_risk", ""), "portfolio_risk", env)
    unknown_venues = set(limits.max_venue_notional) - set(by_venue)
    if unknown_venues:
        raise ConfigError(
            f'portfolio_risk.max_venue_notional."{sorted(unknown_venues)[0]}"',
            "no [[venues]] table for it",
        )
    live = build(LiveConfig, _table(data, "live", ""), "live", _NO_ENV)
    return RunConfig(run, feeds, setups, llm, ops, limits, live)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``run`` subcommand."""
    p = subparsers.add_parser(
        "run",
        help="trade real venues' market data, on the paper venue or live",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", type=Path, required=True, help="the TOML file (see mm.toml)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--paper", action="store_true", help="orders go to the paper venue")
    mode.add_argument("--live", action="store_true", help="orders go to the venues (ccxt)")
    p.add_argument(
        "--yes-trade-real-money",
        action="store_true",
        help="confirm a live run on production venues (after reading the printed summary)",
    )
    p.add_argument(
        "--testnet", action="store_true", help="live on the venues' test networks (no real money)"
    )
    p.add_argument(
        "--key-file",
        type=Path,
        default=None,
        help="TOML file of [<venue>] api_key/secret, mode 600 (default: the environment)",
    )
    p.add_argument("--duration", type=float, default=None, help="seconds (overrides [run])")
    p.add_argument("--headless", action="store_true", help="log lines, no dashboard")
    p.add_argument("--out", type=Path, default=None, help="run folder (default <out>/<time>/)")
    add_log_format_argument(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run from the config file; 2 for bad arguments or configuration."""
    from mmcore.cli_live import run_live_command
    from mmcore.demo import default_out, print_result
    from mmcore.runner import RunOptions, run_trading
    from mmcore.stopping import STOP

    if not (args.paper or args.live):
        print("mmcore run: choose --paper (the paper venue) or --live (orders to the venues)")
        return 2
    try:
        cfg = load_run_config(load_toml(args.config))
    except ConfigError as exc:
        print(f"mmcore run: configuration error: {exc}")
        return 2
    duration = cfg.run.duration_s if args.duration is None else args.duration
    out = args.out or default_out(Path(cfg.run.out))
    if args.log_format is not None:
        setup_logging(args.log_format, run_id=out.name)
    options = RunOptions(
        out_dir=out,
        duration_s=duration if duration > 0 else None,
        headless=args.headless or cfg.run.headless,
        refresh_per_s=cfg.run.refresh_per_s,
        title=_title(args),
        ops=cfg.ops,
        portfolio_risk=cfg.portfolio_risk,
    )
    if args.live:
        return run_live_command(args, cfg, options)
    feeds = [Feed(f) for f in cfg.feeds]
    result = STOP.run(lambda: run_trading(feeds, cfg.setups, cfg.llm, options))
    print_result(result)
    return 0


def _title(args: argparse.Namespace) -> str:
    if not args.live:
        return "mmcore paper trading on live public data (Ctrl-C to stop)"
    return f"mmcore LIVE {'testnet' if args.testnet else 'REAL MONEY'} (Ctrl-C to stop)"
