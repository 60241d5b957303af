"""``python -m mmcore backtest --data PATH... --config mm.toml [--out DIR]``: the paper run's
engine replayed on recorded market data, in simulated time.

``--data`` takes mmcore tapes (files or directories from ``python -m mmcore record``) or gzip
files of ``<local receive time ns> <raw JSON>`` lines (hftbacktest's data collector format),
as globs; name the symbol of raw files as ``SYMBOL=GLOB`` when the config trades several.
The config is a run's ``mm.toml`` plus an optional ``[backtest]`` section (see
``mmcore.backtest.config``). Results go to ``--out``: ``summary.json`` (metrics),
``fills.parquet`` and the run report ``report.html``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``backtest`` subcommand."""
    p = subparsers.add_parser(
        "backtest",
        help="replay recorded market data through the paper run's engine",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", nargs="+", required=True, metavar="PATH", help="files or globs")
    p.add_argument("--config", type=Path, required=True, help="mm.toml (+ [backtest])")
    p.add_argument("--out", type=Path, default=None, help="results folder (default: none)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the backtest; 2 for bad arguments, configuration or data (the reason is printed)."""
    from mmcore.backtest.config import load_backtest_config
    from mmcore.backtest.data import DataError, parse_data_args
    from mmcore.backtest.run import backtest
    from mmcore.config import ConfigError, load_toml
    from mmcore.tape import TapeError

    try:
        cfg = load_backtest_config(load_toml(args.config))
        summary = backtest(cfg, parse_data_args(args.data), args.out, progress=not args.no_progress)
    except ConfigError as exc:
        print(f"mmcore backtest: configuration error: {exc}", file=sys.stderr)
        return 2
    except (DataError, TapeError) as exc:
        print(f"mmcore backtest: data error: {exc}", file=sys.stderr)
        return 2
    m = summary["metrics"]
    r = summary["replay"]
    print(
        f"mmcore backtest: {r['messages']:,} messages, {summary['data']['duration_s']:.1f} s "
        f"simulated in {r['elapsed_s']:.2f} s; {m['fills']} fills, PnL {m['pnl']:+.6g}, "
        f"max drawdown {m['max_drawdown']:.6g}, fill ratio {m['fill_ratio']:.3g}"
    )
    if args.out is not None:
        print(f"results in {args.out}/ (summary.json, fills.parquet, report.html)")
    else:
        print(json.dumps(m, indent=2))
    return 0
