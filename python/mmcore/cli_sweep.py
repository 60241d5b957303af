"""``python -m mmcore sweep --config sweep.toml``: backtests over parameter sets x data sets.

Grid, random or Optuna search (``[sweep] method``) over dotted paths of a base ``mm.toml``, on
a local process pool (``--workers``), a local Ray (``--ray``, ``--ray-cpus``) or a Ray
cluster (``--ray-address``). Results: ``<out>/results.parquet``, ``<out>/summary.html`` and
one ``<out>/runs/<run id>.json`` per finished run; rerunning an interrupted sweep does only the
runs that are missing. See ``examples/sweep.toml`` and ``mmcore.backtest.sweep``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``sweep`` subcommand."""
    p = subparsers.add_parser(
        "sweep",
        help="run backtests over parameter sets and data sets (process pool or Ray)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", type=Path, required=True, help="the sweep file (sweep.toml)")
    p.add_argument("--workers", type=int, default=None, help="process pool size (overrides)")
    p.add_argument("--ray", action="store_true", help="run on a local Ray")
    p.add_argument("--ray-cpus", type=int, default=None, help="CPUs of the local Ray")
    p.add_argument("--ray-address", default=None, help="join this Ray cluster (implies --ray)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the sweep; 2 for a bad sweep file or arguments (the reason is printed), 1 when a
    run failed (its error is in the table)."""
    import dataclasses

    from mmcore.backtest.sweep import PoolExecutor, RayExecutor, load_sweep, run_sweep
    from mmcore.config import ConfigError

    try:
        cfg = load_sweep(args.config)
        if args.workers is not None:
            if args.workers < 1:
                raise ConfigError("--workers", f"must be >= 1, got {args.workers}")
            cfg = dataclasses.replace(
                cfg, sweep=dataclasses.replace(cfg.sweep, workers=args.workers)
            )
        executor: PoolExecutor | RayExecutor
        if args.ray or args.ray_address:
            executor = RayExecutor(args.ray_address, args.ray_cpus or cfg.sweep.workers)
        else:
            executor = PoolExecutor(cfg.sweep.workers)
    except ConfigError as exc:
        print(f"mmcore sweep: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        outcome = run_sweep(cfg, executor)
    except ConfigError as exc:
        print(f"mmcore sweep: configuration error: {exc}", file=sys.stderr)
        return 2
    finally:
        executor.close()
    print(
        f"mmcore sweep: {outcome.ran} runs done, {outcome.skipped} already finished, "
        f"{outcome.failed} failed; {outcome.table} and {outcome.page}"
    )
    return 1 if outcome.failed else 0
