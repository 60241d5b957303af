"""Peer comparison for mmcore's order book (DESIGN.md §4): wire-to-book and wire + features.

One deterministic synthetic Binance spot diff-depth stream (``mmcore.testing.synthetic``) goes
through every peer in this one process: (a) bytes in -> book updated, per event; (b) the same
plus the top-5 features after every event; and mmcore's batch ``replay``. The table gives
medians per event and how many times faster mmcore is. At the end every peer's top-5 book and
features must equal mmcore's (or, while the core is missing, the first peer's) at the same
point in the stream; a mismatch stops the run with an error.

    python benches/peers.py                  # 200k events, 5 rounds (~7 minutes here)
    python benches/peers.py --events 20000   # quick run
    python benches/peers.py --json results.json
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from mmcore.testing.synthetic import binance_diff_stream
from peers.blog_bot import DecimalBot
from peers.harness import (
    BookCapture,
    Job,
    PeerUnavailable,
    mismatches,
    replay_batch,
    replay_capture,
    run_interleaved,
    wire_and_features,
    wire_to_book,
)
from peers.mmcore_book import MmcoreBook
from peers.nautilus_book import NautilusBook
from peers.order_book_c import OrderBookCBot
from peers.report import (
    MACHINE_NOTE,
    PeerRow,
    format_table,
    machine_info,
    measurement_dict,
    write_json,
)
from peers.sorted_bot import SortedDictBot


@dataclass
class PeerSpec:
    """A peer to build, with an optional cap on events for its slow wire+features loop."""

    factory: type
    features_events: int | None = None


@dataclass
class PeerRun:
    """A built peer's jobs, or why it was skipped."""

    name: str
    wire: Job | None = None
    wire_features: Job | None = None
    replay: Job | None = None
    skipped: str | None = None

    def jobs(self) -> list[Job]:
        return [job for job in (self.wire, self.wire_features, self.replay) if job]

    def row(self) -> PeerRow:
        return PeerRow(
            self.name,
            self.wire.measurement() if self.wire else None,
            self.wire_features.measurement() if self.wire_features else None,
            self.skipped,
        )


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="events in the stream")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per measurement")
    parser.add_argument(
        "--decimal-events",
        type=int,
        default=5_000,
        help="events for the json+Decimal bot's wire+features loop (it sorts on every query): "
        "the stream's last N, after the rest is applied untimed",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    for name in ("events", "repeats", "decimal_events"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def _plan(spec: PeerSpec, events: list[bytes]) -> PeerRun:
    """Build the peer and its jobs; a peer that cannot run is kept with the reason."""
    try:
        peer = spec.factory()
    except PeerUnavailable as exc:
        print(f"  {spec.factory.name}: skipped: {exc}", flush=True)
        return PeerRun(spec.factory.name, skipped=str(exc))
    run = PeerRun(peer.name, wire=Job(peer, wire_to_book, events))
    cap = spec.features_events
    if cap and cap < len(events):
        # The stream's tail: dict-backed books get slower as insertion order drifts from price
        # order, so the first events would flatter them.
        run.wire_features = Job(peer, wire_and_features, events[-cap:], warmup=events[:-cap])
    else:
        run.wire_features = Job(peer, wire_and_features, events)
    if isinstance(peer, MmcoreBook):
        run.replay = Job(peer, replay_batch, events)
    return run


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; return the process exit code."""
    args = _args(argv)
    started = time.perf_counter()
    snapshot, events = binance_diff_stream(n_events=args.events)
    print(
        f"stream: {len(events)} Binance spot depthUpdate events, 1000 levels/side, "
        f"~6 level changes/event, generated in {time.perf_counter() - started:.1f} s; "
        f"{args.repeats} rounds, each timing every peer once",
        flush=True,
    )
    specs = [
        PeerSpec(MmcoreBook),
        PeerSpec(SortedDictBot),
        PeerSpec(OrderBookCBot),
        PeerSpec(NautilusBook),
        PeerSpec(DecimalBot, features_events=args.decimal_events),
    ]
    runs = [_plan(spec, events) for spec in specs]
    jobs = [job for run in runs for job in run.jobs()]
    if not jobs:
        print("no peer could run", file=sys.stderr)
        return 1
    run_interleaved(jobs, snapshot, args.repeats)
    print(f"timed in {time.perf_counter() - started:.0f} s", flush=True)

    mmcore_run = runs[0]
    if mmcore_run.replay:
        problems = mmcore_run.replay.peer.replay_problems(snapshot, events)
        if problems:
            raise AssertionError("mmcore replay: " + "; ".join(problems))
    reference = next(run for run in runs if run.wire)
    _verify(runs, reference, snapshot, events)
    print(
        f"verified: every peer's final top-5 book and features equal {reference.name}'s "
        "at the same point in the stream\n"
    )

    rows = [run.row() for run in runs]
    baseline = rows[0] if mmcore_run.wire else None  # ratios are against mmcore only
    replay = mmcore_run.replay.measurement() if mmcore_run.replay else None
    print(format_table(rows, baseline, replay))
    print(MACHINE_NOTE)
    if args.json:
        write_json(
            args.json,
            {
                "stream": {"events": len(events), "levels_per_side": 1000, "changes_per_event": 6},
                "repeats": args.repeats,
                "machine": machine_info(),
                "note": MACHINE_NOTE,
                "verified_against": reference.name,
                "peers": [
                    {
                        "name": row.name,
                        "skipped": row.skipped,
                        "wire_to_book": measurement_dict(row.wire),
                        "wire_and_features": measurement_dict(row.wire_features),
                    }
                    for row in rows
                ],
                "mmcore_replay": measurement_dict(replay),
                "seconds": time.perf_counter() - started,
            },
        )
        print(f"results written to {args.json}")
    return 0


def _verify(runs: list[PeerRun], reference: PeerRun, snapshot: bytes, events: list[bytes]) -> None:
    """Assert every job's final book equals the reference peer's at the same stream position."""
    reference_peer = type(reference.wire.peer)()
    wanted: dict[int, BookCapture] = {}
    failures = []
    for run in runs:
        for job in run.jobs():
            if job.end not in wanted:
                wanted[job.end] = replay_capture(reference_peer, snapshot, events[: job.end])
            problems = mismatches(job.final, wanted[job.end])
            last_u = orjson.loads(events[job.end - 1])["u"]
            if job.final.last_update_id != last_u:
                problems.append(f"last_update_id {job.final.last_update_id}, stream's {last_u}")
            failures += [f"{run.name} ({job.loop.__name__}): {p}" for p in problems]
    if failures:
        raise AssertionError("peers disagree:\n" + "\n".join(failures))


if __name__ == "__main__":
    sys.exit(main())
