"""Printing and saving the peer comparison: the table, the machine note, the JSON file."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .harness import Measurement

_PACKAGES = ("mmcore", "orjson", "sortedcontainers", "order-book", "nautilus_trader", "numpy")

MACHINE_NOTE = (
    "Measured on a 2-core shared box: other work may run beside the bench, so absolute times "
    "are noisy; the ratios, measured side by side in one process and one run, matter more."
)


@dataclass
class PeerRow:
    """One peer's results, or the reason it was skipped."""

    name: str
    wire: Measurement | None = None
    wire_features: Measurement | None = None
    skipped: str | None = None


def machine_info() -> dict:
    """Interpreter, platform, load and package versions, for the record."""
    versions = {}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "packages": versions,
    }


def _us(m: Measurement | None) -> str:
    return f"{m.median_ns / 1000:8.2f}" if m else f"{'-':>8}"


def _ratio(m: Measurement | None, base: Measurement | None) -> str:
    return f"{m.median_ns / base.median_ns:7.1f}x" if m and base else f"{'-':>8}"


def _events(row: PeerRow) -> str:
    counts = {m.events for m in (row.wire, row.wire_features) if m}
    return "/".join(str(n) for n in sorted(counts, reverse=True))


def format_table(rows: list[PeerRow], baseline: PeerRow | None, replay: Measurement | None) -> str:
    """The comparison table; ratios are peer time / baseline (mmcore) time, per column."""
    lines = [
        f"{'peer':<28} {'events':>13} {'wire→book':>9} {'+top-5 ft':>9} {'features':>9}"
        f" {'mmcore faster: wire':>20} {'wire+ft':>8}",
        f"{'':<28} {'':>13} {'µs/event':>9} {'µs/event':>9} {'µs/event':>9}",
    ]
    base_wire = baseline.wire if baseline else None
    base_features = baseline.wire_features if baseline else None
    for row in rows:
        if row.skipped:
            lines.append(f"{row.name:<28} skipped: {row.skipped}")
            continue
        features_only = (
            f"{(row.wire_features.median_ns - row.wire.median_ns) / 1000:9.2f}"
            if row.wire and row.wire_features
            else f"{'-':>9}"
        )
        lines.append(
            f"{row.name:<28} {_events(row):>13} {_us(row.wire):>9} {_us(row.wire_features):>9}"
            f" {features_only} {_ratio(row.wire, base_wire):>20} "
            f"{_ratio(row.wire_features, base_features):>8}"
        )
    if replay:
        lines.append(
            f"mmcore OrderBook.replay (batch, book + top-5 features): "
            f"{1e9 / replay.median_ns:,.0f} events/s ({replay.median_ns / 1000:.2f} µs/event, "
            f"{replay.events} events)"
        )
    lines.append(
        "features = (wire + features) - wire; medians over the rounds. Where an events cell "
        "shows two counts, the wire+features loop timed only the stream's last events, after "
        "the rest was applied untimed."
    )
    return "\n".join(lines)


def write_json(path: Path, payload: dict) -> None:
    """Write the results (measurements as per-repeat ns/event plus medians)."""
    path.write_text(json.dumps(payload, indent=2) + "\n")


def measurement_dict(m: Measurement | None) -> dict | None:
    """A measurement as plain JSON data."""
    if m is None:
        return None
    return {
        "events": m.events,
        "warmup_events": m.warmup_events,
        "median_ns": m.median_ns,
        "per_event_ns": list(m.per_event_ns),
    }
