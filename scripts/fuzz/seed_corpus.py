#!/usr/bin/env python3
"""Writes the starting corpora of the fuzz targets (fuzz/corpus/<target>/) from the bundled real
captures (tests/data/samples/, python/mmcore/data/): one message per file, a few of each shape
(event type, channel, action), level arrays cut to a few levels so inputs stay small.

The checked-in corpora are these seeds after a campaign and `afl-cmin` (scripts/fuzz/run.sh
--minimize); rerun this only to start over. Deterministic: same captures, same files.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "data" / "samples"
BUNDLED = ROOT / "python" / "mmcore" / "data"
PER_SHAPE = 3
MAX_LEVELS = 4
LEVEL_KEYS = ("b", "a", "bids", "asks")


def trim(value: object) -> object:
    """Cuts every level array (and a list of books or trades) to a few entries."""
    if isinstance(value, dict):
        return {
            k: (v[:MAX_LEVELS] if k in LEVEL_KEYS and isinstance(v, list) else trim(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [trim(v) for v in value[:MAX_LEVELS]]
    return value


def compact(text: str) -> bytes:
    """The message with its level arrays trimmed, written compactly as the venues do."""
    return json.dumps(trim(json.loads(text)), separators=(",", ":")).encode()


def shape(message: dict) -> str:
    """What kind of message this is, for picking a few of each."""
    data = message.get("data", message)
    if isinstance(data, list) and data:
        data = data[0]
    keys = sorted(data) if isinstance(data, dict) else []
    stream = str(message.get("stream", message.get("topic", "")))
    stream = re.sub(r"^[^@.]*[@.]|[A-Z0-9-]+$", "", stream)
    arg = message.get("arg", {})
    return "|".join(
        [
            stream,
            str(message.get("type", message.get("action", message.get("event", "")))),
            str(arg.get("channel", "")) if isinstance(arg, dict) else "",
            ",".join(keys),
        ]
    )


def pick(lines: list[str]) -> list[bytes]:
    """A few messages of each shape, in file order."""
    seen: dict[str, int] = defaultdict(int)
    out = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            out.append(line.encode())
            continue
        key = shape(message) if isinstance(message, dict) else "other"
        if seen[key] < PER_SHAPE:
            seen[key] += 1
            out.append(compact(line))
    return out


def venue_files(venue: str) -> tuple[list[Path], list[Path]]:
    streams = sorted((SAMPLES / venue).rglob("*.jsonl"))
    bodies = sorted((SAMPLES / venue).rglob("rest_*.json"))
    if venue == "binance":
        streams += sorted(BUNDLED.glob("*.jsonl"))
        bodies += sorted(BUNDLED.glob("*_rest_*.json"))
        bodies += [SAMPLES / "binance" / "nautilus_ws_spot_trade_ETHUSDT_2021-12-12.json"]
    return streams, bodies


def decoder_seeds(venue: str) -> list[bytes]:
    streams, bodies = venue_files(venue)
    seeds = []
    for path in streams:
        seeds += pick(path.read_text().splitlines())
    seeds += [compact(path.read_text()) for path in bodies[:6]]
    return seeds


def number_seeds() -> list[bytes]:
    """Distinct decimal strings from the captures, and a few at the edges of the format."""
    text = "".join(p.read_text() for p in sorted(SAMPLES.rglob("*.jsonl"))[:6])
    numbers = sorted(set(re.findall(r'"([0-9]+(?:\.[0-9]+)?)"', text)))
    rng = random.Random(16)
    picked = rng.sample(numbers, min(40, len(numbers)))
    edges = [
        "18446744073709551615",
        "18446744073709551616",
        "0.000000000000000001",
        "0.0000000000000000001",
        "00000000000000000000000001.5",
        "1.",
        ".5",
        "1e5",
        "12345678.12345678",
    ]
    return [s.encode() for s in picked + edges]


def sync_seeds() -> list[bytes]:
    """Scripts for the sync target (see fuzz/src/sync.rs): per venue, changes delivered in
    order with a snapshot, and the same with drops, duplicates, swaps and corruptions."""
    rng = random.Random(7)
    seeds = []
    for venue in range(4):
        for variant in range(4):
            ops = [venue + 4 * rng.randrange(8)]
            for i in range(12):
                n = rng.randrange(4)
                ops += [0, n] + [rng.randrange(256) for _ in range(2 * (n + 1))]
                ops += [rng.randrange(9), rng.randrange(3)]
                if i == 2:
                    ops += [7, 0, rng.randrange(9)]
                if variant == 0:
                    ops += [3]
                else:
                    ops += [rng.choice([3, 3, 3, 4, 5, 6, 8, 7]), rng.randrange(8)]
            seeds.append(bytes(ops))
    return seeds


def router_seeds() -> list[bytes]:
    """A router header (venue, symbols) and a run of real payloads, with a REST snapshot."""
    seeds = []
    for venue, name in (
        ("binance", "binance-spot"),
        ("binance", "binance-usdm"),
        ("bybit", "bybit-linear"),
        ("okx", "okx"),
    ):
        streams, bodies = venue_files(venue)
        for path in streams:
            if (name == "binance-usdm") != ("usdm" in str(path)):
                continue
            lines = [compact(line) for line in path.read_text().splitlines()[:40] if line]
            symbols = sorted(
                set(re.findall(rb'"(?:s|instId)":"([A-Za-z0-9-]+)"', b"\n".join(lines)))
            )[:3]
            if not symbols:
                continue
            header = f"{name} {','.join(s.decode() for s in symbols)}".encode()
            body = [b">" + symbols[0] + b" " + compact(bodies[0].read_text())] if bodies else []
            seeds.append(b"\n".join([header, *body, *lines[:12]]))
    return seeds


def write(target: str, seeds: list[bytes]) -> None:
    out = ROOT / "fuzz" / "corpus" / target
    out.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        name = hashlib.sha1(seed).hexdigest()[:16]
        (out / f"seed-{name}").write_bytes(seed)
    print(f"{target}: {len(seeds)} seeds", file=sys.stderr)


def main() -> None:
    binance = decoder_seeds("binance")
    write("binance", binance)
    write("bybit", decoder_seeds("bybit"))
    write("okx", decoder_seeds("okx"))
    write("binance_fast", [s for s in binance if b"depthUpdate" in s] + binance[:10])
    write("decimal", number_seeds())
    write("sync", sync_seeds())
    write("router", router_seeds())


if __name__ == "__main__":
    main()
