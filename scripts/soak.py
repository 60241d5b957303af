"""Soak test: the demo at high speed with faults injected into the feeds, watched for leaks.

    nice -n 10 python scripts/soak.py --seconds 600 --speed 20

Runs the simulated market (in this process, so its fault injection is at hand) and the whole
trading run with the ops server on; every ``--fault-every`` seconds injects the next fault on
one venue, in turn, waits until the feed has noticed it (a counter moved) and times the
recovery: connections killed mid-stream, book updates dropped (a sequence gap),
malformed frames, and an old snapshot served on the resync a gap causes. Once a second it
samples RSS, the number of asyncio tasks and of open file descriptors. At the end it checks:

- every fault was recovered from (each symbol safe to quote again, in ``--recover-s``);
- RSS flat after warm-up (the last fifth's median within ``--rss-slack-mb`` of the median
  of the fifth after warm-up);
- no task or fd leak (the median count of the last fifth is not above the most seen in the
  fifth after warm-up);
- journal and report agree (every fill journalled, no order left open).

Prints a JSON line with the figures; the exit code is 0 when every check passed.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mmcore.demo import DEMO_LISTINGS, demo_setups, feeds_for
from mmcore.execution import ACTIVE_STATUSES, OrderStatus
from mmcore.feeds import Feed
from mmcore.llm.config import load_llm_config
from mmcore.ops.config import OpsConfig
from mmcore.runner import RunOptions, run_trading
from mmcore.sim import SimMarket

FAULTS = ("kill_connections", "drop_updates", "malformed", "old_snapshot")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    """This process's resident set size in MB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * _PAGE / 1e6


def open_fds() -> int:
    """Open file descriptors of this process."""
    return len(os.listdir("/proc/self/fd"))


def inject(market: SimMarket, venue: str, fault: str) -> None:
    """One fault on ``venue``'s wire server."""
    server = market.server(venue)
    symbols = market.symbols(venue)
    if fault == "kill_connections":
        server.kill_connections()
    elif fault == "drop_updates":
        for s in symbols:
            server.drop_next(s, 3)
    elif fault == "malformed":
        server.send_malformed(3)
    else:  # the resync the gap causes is first answered with a stale snapshot
        for s in symbols:
            server.serve_old_snapshot(s, 1)
            server.drop_next(s, 2)


def _disturbances(feed: Feed) -> int:
    """What a fault leaves in the feed's counters: reconnects, resyncs, malformed frames."""
    m = feed.metrics
    return m.reconnects + m.resyncs + m.malformed + m.gaps


async def wait_seen(feed: Feed, before: int, timeout: float) -> bool:
    """Wait until the feed has noticed the fault (a counter moved); False on timeout."""
    t0 = time.monotonic()
    while _disturbances(feed) == before:
        if time.monotonic() - t0 > timeout:
            return False
        await asyncio.sleep(0.01)
    return True


async def wait_recovered(feeds: list[Feed], timeout: float) -> float | None:
    """Seconds until every symbol of every feed is safe to quote (None: not within
    ``timeout``)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if all(f.safe_to_quote(s) for f in feeds for s in f.config.symbols):
            return time.monotonic() - t0
        await asyncio.sleep(0.02)
    return None


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    """Run the soak; returns the figures and the checks."""
    out = Path(args.out or tempfile.mkdtemp(prefix="mmcore-soak-"))
    samples: list[tuple[float, float, int, int]] = []
    faults: list[dict[str, Any]] = []
    llm = load_llm_config(None, {})  # the offline rules advisor
    options = RunOptions(
        out,
        duration_s=args.seconds,
        headless=True,
        refresh_per_s=0.2,
        ops=OpsConfig(metrics_port=0),
    )
    async with SimMarket(list(DEMO_LISTINGS), seed=args.seed, speed=args.speed) as market:
        feeds = feeds_for(market)
        t0 = time.monotonic()

        async def sample() -> None:
            while True:
                samples.append(
                    (time.monotonic() - t0, rss_mb(), len(asyncio.all_tasks()), open_fds())
                )
                await asyncio.sleep(1.0)

        async def faulty() -> None:
            if await wait_recovered(feeds, 30.0) is None:
                faults.append({"fault": "initial_sync", "recovered_s": None})
                return
            for i in range(10**9):
                await asyncio.sleep(args.fault_every)
                venue = market.venues[i % len(market.venues)]
                fault = FAULTS[(i // len(market.venues)) % len(FAULTS)]
                feed = next(f for f in feeds if f.config.venue == venue)
                before = _disturbances(feed)
                t_fault = time.monotonic()
                inject(market, venue, fault)
                seen = await wait_seen(feed, before, args.recover_s)
                took = await wait_recovered(feeds, args.recover_s) if seen else None
                faults.append(
                    {
                        "fault": fault,
                        "venue": venue,
                        "recovered_s": None if took is None else time.monotonic() - t_fault,
                    }
                )

        tasks = [asyncio.create_task(sample()), asyncio.create_task(faulty())]
        with open(os.devnull, "w") as quiet:
            result = await run_trading(feeds, demo_setups(), llm, options, stream=quiet)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return report(args, out, result.summary.fills, samples, faults)


def report(
    args: argparse.Namespace,
    out: Path,
    fills: int,
    samples: list[tuple[float, float, int, int]],
    faults: list[dict[str, Any]],
) -> dict[str, Any]:
    """The figures and the pass/fail of each check."""
    steady = [s for s in samples if s[0] >= args.warmup]
    fifth = max(1, len(steady) // 5)
    first, last = steady[:fifth], steady[-fifth:]
    rss_first = statistics.median(s[1] for s in first) if first else float("nan")
    rss_last = statistics.median(s[1] for s in last) if last else float("nan")
    tasks_first = max((s[2] for s in first), default=0)
    fds_first = max((s[3] for s in first), default=0)
    later = steady[fifth:]
    with sqlite3.connect(out / "journal.sqlite") as conn:
        journal_fills = conn.execute("SELECT count(*) FROM fills").fetchone()[0]
        statuses = [r[0] for r in conn.execute("SELECT status FROM orders")]
    open_orders = sum(OrderStatus(s) in ACTIVE_STATUSES for s in statuses)
    with (out / "summary.csv").open() as fh:
        summary = next(csv.DictReader(fh))
    recovered = [f["recovered_s"] for f in faults if f["recovered_s"] is not None]
    checks = {
        "faults_recovered": bool(faults) and len(recovered) == len(faults),
        "rss_flat": rss_last - rss_first <= args.rss_slack_mb,
        # transient tasks and sockets (a reconnect in flight) come and go: the typical count
        # at the end must not exceed the most seen early on
        "no_task_leak": statistics.median(s[2] for s in last) <= tasks_first if last else False,
        "no_fd_leak": statistics.median(s[3] for s in last) <= fds_first if last else False,
        "journal_consistent": journal_fills == int(summary["journal_fills"]) == fills
        and open_orders == 0,
    }
    return {
        "seconds": args.seconds,
        "speed": args.speed,
        "faults": len(faults),
        "faults_by_kind": {k: sum(f["fault"] == k for f in faults) for k in FAULTS},
        "recovery_s_max": round(max(recovered, default=float("nan")), 3),
        "recovery_s_median": round(statistics.median(recovered), 3) if recovered else None,
        "rss_mb_after_warmup": round(rss_first, 1),
        "rss_mb_end": round(rss_last, 1),
        "rss_mb_max": round(max(s[1] for s in samples), 1),
        "tasks_max_first_fifth": tasks_first,
        "tasks_max_later": max((s[2] for s in later), default=0),
        "fds_max_first_fifth": fds_first,
        "fds_max_later": max((s[3] for s in later), default=0),
        "fills": fills,
        "journal_fills": journal_fills,
        "orders": len(statuses),
        "open_orders_after_shutdown": open_orders,
        "run_folder": str(out),
        "checks": checks,
        "passed": all(checks.values()),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, soak, print the figures; 0 when every check passed."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=600.0, help="wall seconds to run")
    p.add_argument("--speed", type=float, default=20.0, help="simulated seconds per second")
    p.add_argument("--fault-every", type=float, default=5.0, help="seconds between faults")
    p.add_argument("--recover-s", type=float, default=20.0, help="allowed recovery time")
    p.add_argument("--warmup", type=float, default=60.0, help="seconds before RSS must be flat")
    p.add_argument("--rss-slack-mb", type=float, default=16.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="run folder (default: a temp dir)")
    args = p.parse_args(argv)
    figures = asyncio.run(soak(args))
    print(json.dumps(figures))
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
