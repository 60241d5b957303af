"""Backtest throughput and sweep scaling (issue 14), measured in one run.

``python benches/backtest_scaling.py [--seconds 1800] [--runs 8] [--no-ray] [--repeat 3]
[--sweeps-only] [--baseline CHECKOUT]`` writes a simulated Binance spot session
(``mmcore.testing.raw_data``: the demo's BTCUSDT flow as hftbacktest's collector records it)
and then measures:

1. the backtest's messages/s on it (``python -m mmcore backtest`` without a results folder,
   and with one: journal, report and Parquet), median of 3;
2. a sweep of ``--runs`` parameter sets on it with 1 worker and with 2, on the process pool
   and on a local Ray (each started afresh; worker start-up is part of the time, as a user
   sees it). The figure is the wall-time ratio 1 worker / 2 workers. The defaults make each
   run several CPU seconds, so the runs, not the sweep's fixed costs (process and worker
   start-up, the summary page), dominate the wall time.
3. the machine's own 2-process speedup right then (a control: the same pure-Python work in
   one process and split over two spawned ones), measured just before each sweep pair: on a
   shared machine another job's load caps any speedup, and this says by how much.

Each pool sweep line also splits the CPU the sweep used (the CLI and its workers) into the
runs' own CPU and the rest: the fixed costs (interpreter and worker start-up, imports, the
table and the summary page); Ray's workers are not the CLI's children, so its lines give the
runs' CPU only. ``--repeat N`` measures the sweep
pairs N times and prints medians; ``--baseline CHECKOUT`` runs the same sweeps with another
checkout's code (its ``python/``, extension built) interleaved with this one's, so a before
and after are compared under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT))

import pyarrow.parquet as pq  # noqa: E402
from tests.backtest.conftest import CONFIG  # noqa: E402

from mmcore.sim.flow import SymbolSpec  # noqa: E402
from mmcore.testing.raw_data import write_binance_raw  # noqa: E402


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cli(*args: str, root: Path = ROOT) -> str:
    env = {"PYTHONPATH": str(root / "python")}
    done = subprocess.run(
        [sys.executable, "-m", "mmcore", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    if done.returncode:  # the CLI's own error, not just an exit status
        raise SystemExit(f"mmcore {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def _spin(n: int) -> int:
    """Pure-Python CPU work (the control)."""
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1_000_003
    return x


def throughput(config: Path, data: str) -> None:
    """The backtest's messages/s without and with a results folder, median of 3."""
    from mmcore.backtest.config import load_backtest_config
    from mmcore.backtest.data import parse_data_args
    from mmcore.backtest.run import backtest
    from mmcore.config import load_toml

    cfg = load_backtest_config(load_toml(config))
    work = config.parent
    for label, out in (("no results folder", None), ("with --out (journal, report)", work / "o")):
        rates, cpu_rates = [], []
        for _ in range(3):
            s = backtest(cfg, parse_data_args([data]), out, report=out is not None)
            rates.append(s["replay"]["messages_per_s"])
            cpu_rates.append(s["replay"]["messages_per_cpu_s"])
        print(
            f"backtest {label}: median {statistics.median(rates):,.0f} messages/s wall "
            f"({', '.join(f'{r:,.0f}' for r in rates)}), {statistics.median(cpu_rates):,.0f} "
            f"per CPU second; {s['metrics']['fills']} fills"
        )


def machine_speedup(n: int = 6_000_000) -> float:
    """Wall time of ``_spin(n)`` in one process / split over two spawned processes."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        pool.map(_spin, [1, 1])  # the workers are up before timing
        t = time.perf_counter()
        pool.map(_spin, [n])
        one = time.perf_counter() - t
        t = time.perf_counter()
        pool.map(_spin, [n // 2, n // 2])
        two = time.perf_counter() - t
    return one / two


def sweep_once(
    work: Path,
    label: str,
    root: Path,
    flag: list[str],
    workers: int,
    config: Path,
    data: str,
    adj: list[float],
) -> tuple[float, float, float]:
    """One sweep through the CLI: its wall time, the runs' CPU and all the CPU it used."""
    folder = Path(tempfile.mkdtemp(prefix=f"sweep-{label}-{workers}-", dir=work))
    sweep = folder / "sweep.toml"
    sweep.write_text(
        f'[sweep]\nconfig = "{config}"\nout = "out"\nmethod = "grid"\n'
        f"[sweep.data]\nsim = {json.dumps([data])}\n"
        f'[sweep.grid]\n"symbols.BTCUSDT.quote.spread_adj" = {adj}\n'
    )
    extra = ["--ray-cpus", str(workers)] if flag else []
    cpu = _children_cpu()
    started = time.perf_counter()
    _cli("sweep", "--config", str(sweep), "--workers", str(workers), *flag, *extra, root=root)
    wall = time.perf_counter() - started
    total = _children_cpu() - cpu
    rows = pq.read_table(folder / "out" / "results.parquet").to_pylist()
    assert all(r["error"] is None for r in rows), [r["error"] for r in rows]
    return wall, sum(r["cpu_s"] for r in rows), total


def main() -> int:
    """Run the measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1800.0, help="simulated seconds of data")
    parser.add_argument("--runs", type=int, default=8, help="parameter sets in the sweep")
    parser.add_argument("--no-ray", action="store_true", help="process pool only")
    parser.add_argument("--repeat", type=int, default=1, help="sweep pairs per executor")
    parser.add_argument("--sweeps-only", action="store_true", help="skip the throughput part")
    parser.add_argument(
        "--baseline", type=Path, default=None, help="another checkout to sweep with, interleaved"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mmcore-bt-bench-"))
    spec = SymbolSpec("BTCUSDT", 60_000.0, tick_decimals=0, lot_decimals=3)
    raw = write_binance_raw(work / "data", spec, seconds=args.seconds, seed=1, files=2)
    config = work / "mm.toml"
    config.write_text(CONFIG + '\n[backtest]\nfeed_latency = "config"\n')
    data = str(work / "data" / "*.gz")
    print(f"data: {raw.diffs} diffs + {raw.trades} trades in {args.seconds:g} s, {work}")

    if not args.sweeps_only:
        throughput(config, data)

    adj = [round(0.6 + 0.1 * i, 2) for i in range(args.runs)]
    codes = ([("baseline", args.baseline.resolve())] if args.baseline else []) + [("this", ROOT)]
    executors = [("pool", [])] + ([] if args.no_ray else [("ray", ["--ray"])])
    walls: dict[tuple[str, str, int], list[float]] = {}
    controls: dict[str, list[float]] = {}
    for rep in range(args.repeat):
        for name, flag in executors:
            control = machine_speedup()
            controls.setdefault(name, []).append(control)
            print(f"[{rep + 1}] machine control: 2 processes are {control:.2f}x one right now")
            for code, root in codes:
                for workers in (1, 2):
                    wall, runs, total = sweep_once(
                        work, f"{code}-{name}", root, flag, workers, config, data, adj
                    )
                    walls.setdefault((code, name, workers), []).append(wall)
                    # Ray's workers are the raylet's children, never waited for by the CLI:
                    # their CPU is not in its total, so Ray's lines give the runs' CPU only
                    cpu = (
                        f"runs' CPU {runs:.1f} s"
                        if flag
                        else f"CPU {total:.1f} s = runs {runs:.1f} + fixed {total - runs:.1f}"
                    )
                    print(
                        f"[{rep + 1}] sweep {code} {name} {workers} worker(s): {wall:.1f} s wall; "
                        f"{cpu} (load average {os.getloadavg()[0]:.1f})"
                    )
                one, two = walls[(code, name, 1)][-1], walls[(code, name, 2)][-1]
                print(f"[{rep + 1}] sweep {code} {name}: 2 workers are {one / two:.2f}x one")
    for name, _ in executors:
        for code, _ in codes:
            ones, twos = walls[(code, name, 1)], walls[(code, name, 2)]
            per_rep = [a / b for a, b in zip(ones, twos, strict=True)]
            print(
                f"sweep {code} {name}, {args.runs} runs, {args.repeat} repetition(s): median "
                f"{statistics.median(ones):.1f} s (1 worker) vs {statistics.median(twos):.1f} s "
                f"(2 workers) = {statistics.median(ones) / statistics.median(twos):.2f}x; "
                f"per repetition {', '.join(f'{r:.2f}' for r in per_rep)} (median "
                f"{statistics.median(per_rep):.2f}x); machine control median "
                f"{statistics.median(controls[name]):.2f}x"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
