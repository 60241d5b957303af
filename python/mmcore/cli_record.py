"""``python -m mmcore record``: record a venue's market data to a tape.

Example::

    python -m mmcore record --venue binance-spot --symbols BTCUSDT,ETHUSDT --out tapes/ \\
        --duration 60

URLs come from ``--ws-url`` / ``--rest-url``, else ``MMCORE_FEEDS_WS_URL`` /
``MMCORE_FEEDS_REST_URL`` or the ``[feeds]`` table of ``--config``, else the production (or,
with ``--testnet``, the testnet) endpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

from mmcore.config import ConfigError, load_toml

__all__ = ["add_parser", "run"]

log = logging.getLogger("mmcore.record")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``record`` subcommand on an ``argparse`` subparsers object."""
    from mmcore.feeds.config import FEED_VENUES

    p = subparsers.add_parser(
        "record",
        help="record live market data (every frame and snapshot) to a tape",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--venue", required=True, choices=FEED_VENUES, help="venue to record")
    p.add_argument("--symbols", required=True, help="comma-separated, e.g. BTCUSDT,ETHUSDT")
    p.add_argument("--out", required=True, type=Path, help="directory for the tape files")
    p.add_argument("--duration", type=float, default=None, help="seconds (default: until Ctrl-C)")
    p.add_argument("--ws-url", default=None, help="websocket base URL (overrides config/env)")
    p.add_argument("--rest-url", default=None, help="REST base URL (overrides config/env)")
    p.add_argument("--testnet", action="store_true", help="use the venue's testnet endpoints")
    p.add_argument("--config", type=Path, default=None, help="TOML file with a [feeds] table")
    p.add_argument("--rotate-mb", type=float, default=256.0, help="start a new file after N MB")
    p.add_argument("--stats-every", type=float, default=10.0, help="seconds between stats lines")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the recorder; returns the process exit code (2 for bad arguments/config)."""
    from mmcore.feeds.config import load_feed_config

    try:
        if args.duration is not None and args.duration <= 0:
            raise ConfigError("--duration", f"must be > 0, got {args.duration}")
        if args.out.exists() and not args.out.is_dir():
            raise ConfigError("--out", f"{args.out} exists and is not a directory")
        if args.rotate_mb <= 0:
            raise ConfigError("--rotate-mb", f"must be > 0, got {args.rotate_mb}")
        data = dict(load_toml(args.config).get("feeds", {})) if args.config else {}
        symbols = tuple(s.strip() for s in args.symbols.split(","))
        data |= {"venue": args.venue, "symbols": list(symbols)}
        if args.testnet:
            data["environment"] = "testnet"
        # command-line flags win over the environment, which wins over the file
        config = load_feed_config(data).with_overrides(
            venue=args.venue,
            symbols=symbols,
            environment="testnet" if args.testnet else None,
            ws_url=args.ws_url,
            rest_url=args.rest_url,
        )
    except ConfigError as exc:
        print(f"mmcore record: {exc}", file=sys.stderr)
        return 2
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency; stay usable without it
        runner = asyncio.run
    return runner(_record(config, args))


async def _record(config: Any, args: argparse.Namespace) -> int:
    from mmcore.feeds import Feed
    from mmcore.feeds.health import RateMeter
    from mmcore.tape import TapeWriter

    rotate_bytes = int(args.rotate_mb * 1024 * 1024)
    with TapeWriter(args.out, config.venue, config.symbols, rotate_bytes=rotate_bytes) as tape:
        feed = Feed(config, tape=tape)
        started = time.monotonic()
        runner = asyncio.create_task(feed.run())
        announcer = asyncio.create_task(_announce_synced(feed, started))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, feed.stop)
        meter = RateMeter(feed.metrics, time.monotonic())
        deadline = None if args.duration is None else time.monotonic() + args.duration
        try:
            while not runner.done():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                await asyncio.wait(
                    {runner}, timeout=min(args.stats_every, left or args.stats_every)
                )
                tape.flush()
                msgs_s, bytes_s = meter.rates(time.monotonic())
                synced = sum(feed.safe_to_quote(s) for s in config.symbols)
                print(
                    f"record: {msgs_s:,.0f} msg/s {bytes_s / 1e3:,.1f} kB/s "
                    f"synced {synced}/{len(config.symbols)} "
                    f"connections={feed.connections} epoch={feed.epoch} "
                    f"gaps={feed.metrics.gaps} reconnects={feed.metrics.reconnects}",
                    file=sys.stderr,
                )
        finally:
            feed.stop()
            announcer.cancel()
        try:
            await runner
        except ValueError as exc:  # a URL the websocket client rejects
            print(f"mmcore record: {exc}", file=sys.stderr)
            return 2
    print(
        f"record: wrote {tape.records} records to {len(tape.files)} file(s) in {args.out} "
        f"({', '.join(f'{k}={v}' for k, v in feed.metrics.snapshot().items() if v)})",
        file=sys.stderr,
    )
    return 0


async def _announce_synced(feed: Any, started: float) -> None:
    """Print, once, how long after start every symbol was first safe to quote."""
    if await feed.wait_synced(float("inf")):
        print(
            f"record: all {len(feed.config.symbols)} symbols synced after "
            f"{time.monotonic() - started:.2f} s on {feed.connections} connection(s)",
            file=sys.stderr,
        )
