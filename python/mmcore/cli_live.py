"""``run --live``: the safety rails before real orders, then the live run.

Refuses (exit 2) without keys for every venue, with a key file others can read, or with a
config the venues' rules contradict; prints the venues, symbols, limits and sizes; starts only
with ``--yes-trade-real-money`` (production) or ``--testnet`` (the venues' test networks, where
market data comes from too).
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Protocol

from mmcore.execution.live.config import LiveConfig
from mmcore.execution.live.keys import KeysError
from mmcore.feeds import FeedConfig
from mmcore.llm.config import LLMConfig
from mmcore.runner import RunOptions
from mmcore.trader import SymbolSetup

__all__ = ["LiveRunConfig", "run_live_command"]


class LiveRunConfig(Protocol):
    """What a live run reads of ``mm.toml`` (``mmcore.cli_run.RunConfig``)."""

    feeds: list[FeedConfig]
    setups: list[SymbolSetup]
    llm: LLMConfig
    live: LiveConfig


def run_live_command(args: argparse.Namespace, cfg: LiveRunConfig, options: RunOptions) -> int:
    """Check, print, confirm, run; the process exit code."""
    from mmcore.demo import print_result
    from mmcore.live_run import describe, plan_live, run_live
    from mmcore.stopping import STOP

    try:
        plan = plan_live(cfg.setups, cfg.live, testnet=args.testnet, key_file=args.key_file)
    except (KeysError, ValueError) as exc:
        print(f"mmcore run --live: refusing to start: {exc}")
        return 2
    print(describe(plan))
    if not (args.testnet or args.yes_trade_real_money):
        print(
            "mmcore run --live: refusing to start: this trades real money; read the summary "
            "above, then pass --yes-trade-real-money (or --testnet)"
        )
        return 2
    feeds = cfg.feeds
    if args.testnet:
        feeds = [dataclasses.replace(f, environment="testnet") for f in feeds]
    try:
        result = STOP.run(lambda: run_live(plan, feeds, cfg.llm, options))
    except (KeysError, ValueError, RuntimeError, TimeoutError) as exc:
        print(f"mmcore run --live: could not start: {exc}")
        return 2
    print_result(result)
    return 0
