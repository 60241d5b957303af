"""The timing harness and the correctness check shared by every peer.

A peer is any object with ``name``, ``load_snapshot(body)``, ``apply(payload)``,
``features(depth)``, ``top(depth)``, ``feature_values(depth)`` and ``last_update_id``.
Timing covers whole passes over the stream (``time.perf_counter_ns``), repeated round-robin
across peers, with the book rebuilt from the snapshot before each pass (untimed) and the
garbage collector paused while the clock runs; the figure kept per pass is ns per event.
"""

from __future__ import annotations

import gc
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from time import perf_counter_ns
from typing import Any

DEPTH = 5  # top-N levels for the features and the correctness check


class PeerUnavailable(RuntimeError):
    """The peer cannot run on this machine (its package is missing or fails to import)."""


def wire_to_book(peer: Any, events: Sequence[bytes]) -> None:
    """(a) bytes in, book updated, status out: one ``apply`` per event."""
    apply = peer.apply
    for payload in events:
        apply(payload)


def wire_and_features(peer: Any, events: Sequence[bytes]) -> None:
    """(b) as (a), then the top-N features after every event."""
    apply, features = peer.apply, peer.features
    for payload in events:
        apply(payload)
        features(DEPTH)


def replay_batch(peer: Any, events: Sequence[bytes]) -> None:
    """The whole stream in one call (peers with a batch entry point)."""
    peer.replay(events)


@dataclass(frozen=True)
class Measurement:
    """Per-event times of each repeat of one (peer, loop) pair."""

    events: int
    per_event_ns: tuple[float, ...]
    warmup_events: int = 0

    @property
    def median_ns(self) -> float:
        return statistics.median(self.per_event_ns)


@dataclass
class Job:
    """One peer's timed loop over a stretch of the stream.

    Before every pass the book is rebuilt from the snapshot and ``warmup`` is applied, both
    untimed; then ``loop`` runs over ``events`` under the clock. ``final`` is the book right
    after the last pass, for the correctness check.
    """

    peer: Any
    loop: Callable[[Any, Sequence[bytes]], None]
    events: Sequence[bytes]
    warmup: Sequence[bytes] = ()
    samples: list[float] = field(default_factory=list)
    final: BookCapture | None = None

    @property
    def end(self) -> int:
        """How many stream events the book has seen after a pass."""
        return len(self.warmup) + len(self.events)

    def measurement(self) -> Measurement:
        return Measurement(len(self.events), tuple(self.samples), len(self.warmup))


def run_interleaved(jobs: Sequence[Job], snapshot: bytes, repeats: int) -> None:
    """Time every job ``repeats`` times, round-robin.

    Every job's first pass, then every job's second, and so on, so that load changes on a
    shared machine hit all peers alike.
    """
    for round_index in range(repeats):
        for job in jobs:
            job.peer.load_snapshot(snapshot)
            wire_to_book(job.peer, job.warmup)
            gc.collect()
            gc.disable()
            try:
                start = perf_counter_ns()
                job.loop(job.peer, job.events)
                elapsed = perf_counter_ns() - start
            finally:
                gc.enable()
            job.samples.append(elapsed / len(job.events))
            if round_index == repeats - 1:
                job.final = capture(job.peer)


@dataclass(frozen=True)
class BookCapture:
    """What the correctness check compares: sync position, top-N levels, features."""

    last_update_id: int | None
    bids: tuple[tuple[float, float], ...]
    asks: tuple[tuple[float, float], ...]
    features: tuple[float, ...]


def capture(peer: Any) -> BookCapture:
    """The peer's current state, as floats."""
    bids, asks = peer.top(DEPTH)
    return BookCapture(
        peer.last_update_id,
        tuple((float(p), float(q)) for p, q in bids),
        tuple((float(p), float(q)) for p, q in asks),
        tuple(float(x) for x in peer.feature_values(DEPTH)),
    )


def replay_capture(peer: Any, snapshot: bytes, events: Sequence[bytes]) -> BookCapture:
    """Untimed: rebuild ``peer`` from the snapshot, apply ``events``, capture the result."""
    peer.load_snapshot(snapshot)
    wire_to_book(peer, events)
    return capture(peer)


def mismatches(got: BookCapture, want: BookCapture) -> list[str]:
    """Differences between two captures; empty when they agree.

    Levels must match to 1e-12 relative (peers convert the same decimal strings to float by
    different routes), features to 1e-9 relative or 1e-6 absolute (the spread in bps is a
    difference of near-equal prices, so float rounding in a peer's prices shows up there).
    """
    problems = []
    if got.last_update_id != want.last_update_id:
        problems.append(f"last_update_id {got.last_update_id} != {want.last_update_id}")
    for side in ("bids", "asks"):
        got_levels, want_levels = getattr(got, side), getattr(want, side)
        same = len(got_levels) == len(want_levels) and all(
            math.isclose(a, b, rel_tol=1e-12)
            for got_level, want_level in zip(got_levels, want_levels, strict=True)
            for a, b in zip(got_level, want_level, strict=True)
        )
        if not same:
            problems.append(f"top-{DEPTH} {side} {got_levels} != {want_levels}")
    if not all(
        math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
        for a, b in zip(got.features, want.features, strict=True)
    ):
        problems.append(f"features {got.features} != {want.features}")
    return problems
