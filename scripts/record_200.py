"""Time to all-synced for ``python -m mmcore record`` of many symbols against the local venues.

For each venue a fake exchange (``mmcore.testing.fake_exchange``) serves ``--symbols`` books on
loopback in this process (its own thread and event loop), answering REST after
``--rest-latency`` seconds of service time; the recorder runs as a child process exactly as a
user runs it, and its "all N symbols synced after X s" line is the figure. Each venue is timed
``--runs`` times (median reported); ``--serial`` adds a Binance run with one REST call at a
time, the ratio showing what the concurrent fan-out buys on the same machine.

REST budgets are the venues' own per-IP limits: Binance spot 6000 weight/min, USD-M and
COIN-M 2400; Binance snapshots of 100 levels (weight 5), so 200 symbols need 1000 weight.
Bybit (depth 50) and OKX sync from in-band snapshots.

    PYTHONPATH=python nice -n 10 python scripts/record_200.py --symbols 200
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mmcore.testing.fake_exchange.threaded import VENUE_FAKES, fake_in_thread, venue_symbols

REST_WEIGHT_PER_MINUTE = {
    "binance-spot": 6000,
    "binance-usdm": 2400,
    "binance-coinm": 2400,
    "bybit-spot": 7200,  # 600 requests / 5 s, one unit each
    "bybit-linear": 7200,
    "okx": 1200,  # market/books: 40 requests / 2 s
}
_SYNCED = re.compile(r"all (\d+) symbols synced after ([0-9.]+) s on (\d+) connection")


def time_to_synced(
    venue: str, n: int, interval: float, rest_latency: float, concurrency: int, timeout: float
) -> tuple[float, int]:
    """Seconds the recorder reports to all-synced, and its number of connections."""
    symbols = venue_symbols(venue, n)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "mm.toml"
        config.write_text(
            "[feeds]\n"
            "snapshot_limit = 100\n"
            f"rest_weight_per_minute = {REST_WEIGHT_PER_MINUTE[venue]}\n"
            f"rest_concurrency = {concurrency}\n"
        )

        def make():  # type: ignore[no-untyped-def]
            return VENUE_FAKES[venue](symbols, interval=interval, rest_latency_s=rest_latency)

        with fake_in_thread(make) as fake:
            cmd = [sys.executable, "-m", "mmcore", "record", "--venue", venue]
            cmd += ["--symbols", ",".join(symbols), "--out", str(Path(tmp) / "tape")]
            cmd += ["--config", str(config), "--stats-every", "5", "--duration", str(timeout)]
            cmd += ["--ws-url", fake.ws_url, "--rest-url", fake.rest_url]
            child = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
            assert child.stderr is not None
            found = None
            try:
                for line in child.stderr:
                    found = _SYNCED.search(line)
                    if found:
                        break
            finally:
                child.send_signal(signal.SIGINT)
                try:
                    child.wait(30)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
            if not found:
                raise SystemExit(f"{venue}: the recorder never reported all {n} symbols synced")
            return float(found.group(2)), int(found.group(3))


def main() -> None:
    """Measure and print one line per venue."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--symbols", type=int, default=200)
    p.add_argument("--venues", default=",".join(VENUE_FAKES))
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--interval", type=float, default=0.1, help="book update period per symbol")
    p.add_argument("--rest-latency", type=float, default=0.05, help="REST service time, s")
    p.add_argument("--concurrency", type=int, default=16, help="REST calls in flight at most")
    p.add_argument(
        "--serial", action="store_true", help="also time Binance spot one call at a time"
    )
    p.add_argument("--timeout", type=float, default=300.0)
    args = p.parse_args()
    plan = [(v, args.concurrency) for v in args.venues.split(",")]
    if args.serial:
        plan.append(("binance-spot", 1))
    print(
        f"{args.symbols} symbols per venue, updates every {args.interval * 1e3:.0f} ms per symbol, "
        f"REST service time {args.rest_latency * 1e3:.0f} ms, {args.runs} run(s), median"
    )
    for venue, concurrency in plan:
        times, connections = [], 0
        for _ in range(args.runs):
            took, connections = time_to_synced(
                venue, args.symbols, args.interval, args.rest_latency, concurrency, args.timeout
            )
            times.append(took)
            time.sleep(0.5)
        label = venue if concurrency == args.concurrency else f"{venue} (rest_concurrency=1)"
        print(
            f"{label:34s} all-synced {statistics.median(times):6.2f} s  "
            f"(runs: {', '.join(f'{t:.2f}' for t in times)}; {connections} connection(s))",
            flush=True,
        )


if __name__ == "__main__":
    main()
