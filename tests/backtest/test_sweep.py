"""`python -m mmcore sweep`: the same table on a process pool and on Ray, failed runs kept,
an interrupted sweep resumed without redoing finished runs, Optuna, bad sweep files."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from mmcore.backtest.sweep import PoolExecutor, RayExecutor, load_sweep, run_sweep
from mmcore.config import ConfigError
from mmcore.testing.child import child_env
from mmcore.testing.raw_data import RawSession

from .conftest import write_config

ROOT = Path(__file__).resolve().parents[2]


def _sweep_file(folder: Path, data: RawSession, body: str, out: str = "out") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_config(folder)
    path = folder / "sweep.toml"
    globs = json.dumps([str(data.files[0].parent / "*.gz")])
    path.write_text(
        f'[sweep]\nconfig = "mm.toml"\nout = "{out}"\nworkers = 2\n{body}\n'
        f"[sweep.data]\nsim = {globs}\n",
        encoding="utf-8",
    )
    return path


GRID = """method = "grid"
[sweep.grid]
"symbols.BTCUSDT.quote.spread_adj" = [0.6, 1.0]
"symbols.BTCUSDT.quote.gamma" = [0.05, -1.0]
"""


def _table(path: Path) -> list[dict]:
    """The rows without their run times; NaN as None (NaN != NaN)."""
    rows = pq.read_table(path).to_pylist()
    for r in rows:
        assert r.pop("run_time_s") > 0 and r.pop("cpu_s") > 0
        for k, v in r.items():
            if isinstance(v, float) and math.isnan(v):
                r[k] = None
    return rows


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray with 2 CPUs for the module (starting Ray takes seconds)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_pool_and_ray_give_the_same_table_with_failures_recorded(
    session_files: RawSession, tmp_path: Path, local_ray
) -> None:
    pool_cfg = load_sweep(_sweep_file(tmp_path / "pool", session_files, GRID))
    ray_cfg = load_sweep(_sweep_file(tmp_path / "ray", session_files, GRID))
    pool = PoolExecutor(2)
    try:
        a = run_sweep(pool_cfg, pool, log=lambda _: None)
    finally:
        pool.close()
    b = run_sweep(ray_cfg, RayExecutor(cpus=2), log=lambda _: None)
    assert (a.ran, a.failed, b.ran, b.failed) == (4, 2, 4, 2)
    rows_a, rows_b = _table(a.table), _table(b.table)
    assert rows_a == rows_b
    assert [r["run_id"] for r in rows_a] == [f"p{i:04d}-sim" for i in range(4)]
    ok = [r for r in rows_a if r["error"] is None]
    bad = [r for r in rows_a if r["error"] is not None]
    assert all(r["param.symbols.BTCUSDT.quote.gamma"] == 0.05 and r["fills"] > 0 for r in ok)
    # a failed run keeps its parameters and says why
    assert all("quote.gamma: must be > 0" in r["error"] for r in bad)
    assert all(r["param.symbols.BTCUSDT.quote.gamma"] == -1.0 for r in bad)
    assert ok[0]["pnl"] != ok[1]["pnl"], "the swept parameter changes the outcome"
    page = a.page.read_text()
    assert "Failed runs" in page and "spread_adj" in page


def test_interrupted_sweep_resumes_without_redoing_finished_runs(
    session_files: RawSession, tmp_path: Path
) -> None:
    body = 'method = "random"\ntrials = 6\nseed = 3\n'
    body += '[sweep.space]\n"symbols.BTCUSDT.quote.spread_adj" = [0.5, 2.0]\n'
    path = _sweep_file(tmp_path, session_files, body)
    runs = tmp_path / "out" / "runs"
    cmd = [sys.executable, "-m", "mmcore", "sweep", "--config", str(path), "--workers", "1"]
    env = child_env()
    proc = subprocess.Popen(
        cmd, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(runs.glob("*.json"))) < 2:
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, "no run finished in 60 s"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its pool worker, mid-way
        proc.wait()
    before = {f.name: (f.stat().st_mtime_ns, f.read_bytes()) for f in runs.glob("*.json")}
    assert 2 <= len(before) < 6, "killed mid-way"
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(before)} runs already finished" in done.stdout
    assert f"{6 - len(before)} runs done" in done.stdout
    after = {f.name: (f.stat().st_mtime_ns, f.read_bytes()) for f in runs.glob("*.json")}
    assert len(after) == 6
    assert all(after[name] == before[name] for name in before), "a finished run was redone"
    rows = pq.read_table(tmp_path / "out" / "results.parquet").to_pylist()
    assert [r["run_id"] for r in rows] == [f"p{i:04d}-sim" for i in range(6)]
    assert all(
        r["error"] is None and 0.5 <= r["param.symbols.BTCUSDT.quote.spread_adj"] <= 2.0
        for r in rows
    )


def test_optuna_sweep_runs_its_trials_and_resumes(
    session_files: RawSession, tmp_path: Path
) -> None:
    pytest.importorskip("optuna")
    body = 'method = "optuna"\ntrials = 4\nseed = 1\nobjective = "pnl"\n'
    body += (
        '[sweep.space]\n"symbols.BTCUSDT.quote.spread_adj" = {low = 0.5, high = 2.0, log = true}\n'
    )
    cfg = load_sweep(_sweep_file(tmp_path, session_files, body))
    pool = PoolExecutor(2)
    try:
        first = run_sweep(cfg, pool, log=lambda _: None)
        again = run_sweep(cfg, pool, log=lambda _: None)
    finally:
        pool.close()
    assert (first.ran, first.skipped) == (4, 0)
    assert (again.ran, again.skipped) == (0, 4)
    rows = pq.read_table(first.table).to_pylist()
    values = [r["param.symbols.BTCUSDT.quote.spread_adj"] for r in rows]
    assert len(set(values)) == 4 and all(0.5 <= v <= 2.0 for v in values)
    assert all(math.isfinite(r["pnl"]) for r in rows)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('method = "grid"\n', "sweep.grid: method grid needs"),
        ('method = "annealing"\n', "sweep.method: must be one of grid, random, optuna"),
        ('method = "grid"\n[sweep.grid]\n"symbols.BTCUSDT.quote.nope" = [1]\n', "nope: unknown"),
        ('method = "grid"\n[sweep.grid]\n"symbols.SOLUSDT.quote.gamma" = [1]\n', "SOLUSDT"),
        ('method = "random"\n[sweep.space]\n"symbols.BTCUSDT.quote.gamma" = [2, 1]\n', "low must"),
        ('method = "random"\ntrials = 0\n', "sweep.trials: must be >= 1"),
        ('method = "grid"\ncache_mb = -1\n', "sweep.cache_mb: must be >= 0"),
    ],
)
def test_bad_sweep_files_are_refused_by_name(
    session_files: RawSession, tmp_path: Path, body: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_sweep(_sweep_file(tmp_path, session_files, body))


def test_the_readme_examples_are_valid_configs() -> None:
    from mmcore.backtest.config import load_backtest_config
    from mmcore.config import load_toml

    cfg = load_backtest_config(load_toml(ROOT / "examples" / "backtest.toml"))
    assert cfg.backtest.fees["binance-spot"].tier == "VIP 0"
    sweep = load_sweep(ROOT / "examples" / "sweep.toml")
    assert sweep.sweep.method == "grid" and len(sweep.grid) == 2
    assert sweep.data["sim"][0].endswith("data/sim/*.gz")


class _DiesWhenUnpickled:
    """A value whose unpickling ends the process that receives it: a worker crash."""

    def __reduce__(self) -> tuple:
        return (os._exit, (3,))


def test_a_worker_that_dies_is_a_failed_run_and_the_others_still_run(
    session_files: RawSession, tmp_path: Path
) -> None:
    from mmcore.backtest.sweep import RunTask

    cfg = load_sweep(_sweep_file(tmp_path, session_files, GRID))
    rows: list[dict] = []
    tasks = [
        RunTask(f"p{i:04d}-sim", "sim", {"symbols.BTCUSDT.quote.gamma": 0.05}, cfg.base, d)
        for i, d in enumerate([cfg.data["sim"], (_DiesWhenUnpickled(),), cfg.data["sim"]])
    ]
    pool = PoolExecutor(1)
    try:
        pool(tasks, rows.append)
    finally:
        pool.close()
    by_id = {r["run_id"]: r for r in rows}
    assert sorted(by_id) == ["p0000-sim", "p0001-sim", "p0002-sim"]
    assert "worker died" in by_id["p0001-sim"]["error"]
    assert by_id["p0000-sim"]["error"] is None and by_id["p0002-sim"]["error"] is None


def test_a_sweep_worker_does_not_import_the_report_plots_or_the_live_runner() -> None:
    """What a worker imports is start-up time in every sweep (Bokeh alone is about a CPU
    second): the backtest path needs neither the report's plots nor the live runner."""
    code = (
        "import sys, mmcore.backtest.sweep, mmcore.backtest.run, mmcore.backtest.config\n"
        "print(sorted(m for m in ('bokeh', 'mmcore.runner', 'mmcore.cli_live') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=child_env(), capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_runs_are_submitted_data_set_by_data_set(session_files: RawSession, tmp_path: Path) -> None:
    """A worker's next run then finds its data set in its cache (``cache_mb``)."""
    from mmcore.backtest.sweep import failed_row

    path = _sweep_file(tmp_path, session_files, GRID)
    path.write_text(path.read_text() + f"other = {json.dumps([str(session_files.files[0])])}\n")
    cfg = load_sweep(path)
    submitted = []

    def record(tasks, on_done) -> None:
        for task in tasks:
            submitted.append((task.dataset, task.run_id, task.cache_mb))
            on_done(failed_row(task, "not run"))

    run_sweep(cfg, record, log=lambda _: None)
    assert submitted == [
        *[("sim", f"p{i:04d}-sim", 512) for i in range(4)],
        *[("other", f"p{i:04d}-other", 512) for i in range(4)],
    ]
