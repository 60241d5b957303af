"""`python -m mmcore capture`: replay of a bundled real Binance capture through the Rust book,
printing the top of book and features as it goes."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from importlib.resources import files

from mmcore import ApplyStatus, BookRouter

CAPTURE = "binance_spot_2021-10-12"
SYMBOLS = ("NKNUSDT", "LRCBTC", "BLZETH", "RUNEEUR")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the capture replay."""
    parser.add_argument("--every", type=int, default=1, help="print every Nth book update")
    parser.add_argument("--quiet", action="store_true", help="print the summary only")


def _line(symbol: str, features) -> str:
    when = datetime.fromtimestamp(features.event_time_ms / 1000, UTC).strftime("%H:%M:%S.%f")
    return (
        f"{when[:-3]} {symbol:<8} bid {features.best_bid:<12.8g} x {features.bid_size:<10.6g} "
        f"ask {features.best_ask:<12.8g} x {features.ask_size:<10.6g} "
        f"spread {features.spread_bps:6.2f}bp  micro {features.microprice:<12.8g} "
        f"imb5 {features.imbalance:+.2f}  vol {features.volatility_bps:5.2f}bp  "
        f"ofi {features.ofi:+.4g}"
    )


def run(args: argparse.Namespace) -> int:
    """Replays the capture; returns the exit code (1 if any book failed to stay synced)."""
    data = files("mmcore.data")
    payloads = (data / f"{CAPTURE}.jsonl").read_bytes().splitlines()
    snapshots = {s: (data / f"{CAPTURE}_rest_{s}.json").read_bytes() for s in SYMBOLS}
    router = BookRouter("binance-spot", list(SYMBOLS))
    print(
        f"mmcore: replaying {len(payloads)} real Binance spot messages ({CAPTURE}, "
        f"{', '.join(SYMBOLS)}) through the Rust book\n"
    )
    updates = 0
    started = time.perf_counter()
    for payload in payloads:
        symbol, status = router.apply(payload)
        if status == ApplyStatus.BUFFERED and router.book(symbol).buffered_len == 1:
            # As a live feed does: diffs buffer while the REST snapshot is fetched.
            router.apply_snapshot(symbol, snapshots[symbol])
        elif status == ApplyStatus.APPLIED:
            updates += 1
            if not args.quiet and updates % max(args.every, 1) == 0:
                print(_line(symbol, router.book(symbol).features(depth=5)))
    elapsed = time.perf_counter() - started
    print(
        f"\n{len(payloads)} messages in {elapsed * 1e3:.1f} ms (printing included); "
        f"{updates} book updates applied"
    )
    healthy = True
    for symbol in SYMBOLS:
        book = router.book(symbol)
        counters = book.counters()
        bids, asks = book.depth
        print(
            f"  {symbol:<8} {book.state!s:<20} levels {bids}/{asks}  applied {counters['applied']}"
            f"  stale {counters['stale']}  gaps {counters['gaps']}  crossed {counters['crossed']}"
        )
        healthy &= counters["gaps"] == 0 and counters["crossed"] == 0
    print(f"  not routed (klines, acks): {router.unrouted}")
    return 0 if healthy else 1
