"""Instructions per replayed event, counted by callgrind: a deterministic engine figure.

Wall-clock figures on a shared 2-core machine move by ±30% between runs; instruction counts
move by about ±5% (Rust hash seeds and memory layout still vary with the string hash seed
fixed), so changes of 10% or more to the per-event path show in a few runs. Needs valgrind
(``apt install valgrind``)::

    python benches/engine_instructions.py                # 3000 book events, 1-tick tolerance
    python benches/engine_instructions.py --events 5000 --tolerance 0

The script runs itself under callgrind twice, with and without the replay, and divides the
difference by the number of events (book events plus trades).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys


def _replay(events: int, tolerance: int, run: bool) -> None:
    from mmcore.testing.trading import make_engine, session

    snapshot, items = session(events, seed=5)
    engine = make_engine(
        snapshot, risk={"max_drawdown": 1e12}, execution={"tolerance_ticks": tolerance}
    )
    if run:
        engine.replay(items)


def _instructions(events: int, tolerance: int, run: bool) -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--child",
        "run" if run else "setup",
        "--events",
        str(events),
        "--tolerance",
        str(tolerance),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # str hashes move dict layouts between runs
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stderr
    match = re.search(r"Collected : (\d+)", out)
    if match is None:
        raise RuntimeError(f"no callgrind total in: {out[-500:]}")
    return int(match.group(1))


def main() -> int:
    """Print instructions per event of the engine replay."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000, help="book events (default 3000)")
    parser.add_argument("--tolerance", type=int, default=1, help="requote tolerance in ticks")
    parser.add_argument("--child", choices=("run", "setup"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        _replay(args.events, args.tolerance, args.child == "run")
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt install valgrind)")
        return 2
    total = _instructions(args.events, args.tolerance, True)
    setup = _instructions(args.events, args.tolerance, False)
    per_event = (total - setup) / (args.events + (args.events + 2) // 3)  # a trade every third
    print(
        f"engine replay, {args.events} book events, tolerance {args.tolerance} ticks: "
        f"{per_event:,.0f} instructions per event"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
