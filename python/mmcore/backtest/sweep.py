"""Parameter sweeps: many backtests over parameter sets x data sets, on a process pool or Ray.

A sweep file (``sweep.toml``, see ``examples/sweep.toml``)::

    [sweep]
    config = "mm.toml"      # the base config (a path relative to the sweep file)
    out = "sweeps/gamma"    # results folder (relative to the sweep file)
    method = "grid"         # grid | random | optuna
    trials = 16             # random / optuna: parameter sets to try
    seed = 1                # random / optuna: sampler seed (the sets are reproducible)
    workers = 2             # process pool size (--workers overrides)
    objective = "pnl"       # a metric of mmcore.backtest.metrics; optuna optimises it,
    direction = "maximize"  # the summary page ranks by it
    cache_mb = 512          # decoded data each worker keeps between its runs (0: none)
    [sweep.data]            # data sets: name = the --data arguments of one backtest
    day1 = ["captures/btcusdt-20240101*.gz"]
    [sweep.grid]            # grid: every combination of these values
    "symbols.BTCUSDT.quote.gamma" = [0.02, 0.05, 0.1]
    [sweep.space]           # random / optuna: [low, high] floats, {low, high, log, int},
    "symbols.BTCUSDT.quote.spread_adj" = [0.5, 2.0]        # or {choices = [...]}

A parameter is a dotted path into the base config; ``symbols.<SYMBOL>`` selects the
``[[symbols]]`` table of that symbol (an index works too). Each parameter set runs on every
data set; a run is identified by ``p<set index>-<data set>``.

Results: every finished run is written at once to ``runs/<run id>.json`` (a temporary file
renamed into place: a run is either complete on disk or absent), failures included with
their error; ``results.parquet`` (one row per run: ``run_id``, ``dataset``, ``param.*``,
the metrics, ``run_time_s``, ``error``) and ``summary.html`` (the objective against each
parameter, Bokeh inlined) are rebuilt from those files at the end (``run_time_s`` is the
run's wall time in its worker, ``cpu_s`` its CPU time). Rerunning an interrupted
sweep skips the runs already on disk (a run whose parameters changed in the file is an error,
not silently reused). Runs are deterministic, so the table does not depend on the executor
(``run_time_s`` and ``cpu_s`` aside).

Executors: a ``concurrent.futures`` process pool (``spawn``) by default; ``--ray`` starts a
local Ray with ``--ray-cpus`` CPUs, ``--ray-address`` joins a running cluster (``pip install
'mmcore[ray]'``); ``method = "optuna"`` needs ``pip install 'mmcore[optuna]'``. Workers live
for the whole sweep: each imports the backtest once and keeps the decoded messages of the data
files it has read (:class:`~mmcore.backtest.data.MessageCache`, up to ``cache_mb`` per
worker), so reading and decoding a data set is paid once per worker, not once per run; runs
are submitted data set by data set so that a worker's next run finds its data.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmcore.config import ConfigError, bounded, build, load_toml

if TYPE_CHECKING:
    from mmcore.backtest.data import MessageCache

__all__ = [
    "PoolExecutor",
    "RayExecutor",
    "RunTask",
    "SweepConfig",
    "SweepSection",
    "load_sweep",
    "run_one",
    "run_sweep",
]


@dataclass(frozen=True)
class SweepSection:
    """``[sweep]``'s scalar settings (module docstring)."""

    config: str = "mm.toml"
    out: str = "sweep"
    method: str = bounded("grid", choices=("grid", "random", "optuna"))
    trials: int = bounded(10, ge=1, le=100_000)
    seed: int = bounded(1, ge=0)
    workers: int = bounded(1, ge=1, le=1024)
    objective: str = "pnl"
    direction: str = bounded("maximize", choices=("maximize", "minimize"))
    cache_mb: int = bounded(512, ge=0, le=1 << 20)


@dataclass(frozen=True)
class SweepConfig:
    """A validated sweep file: settings, base config data, data sets and the parameters."""

    sweep: SweepSection
    base: Mapping[str, Any]
    data: Mapping[str, tuple[str, ...]]
    grid: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    space: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    out: Path = Path("sweep")


@dataclass(frozen=True)
class RunTask:
    """One backtest of a sweep: a parameter set on a data set; ``cache_mb`` is the budget of
    the decoded data its worker keeps between runs (0: none)."""

    run_id: str
    dataset: str
    params: Mapping[str, Any]
    base: Mapping[str, Any]
    data: tuple[str, ...]
    cache_mb: int = 0


# -- configuration --------------------------------------------------------------------------


def _space_entry(path: str, spec: Any) -> dict[str, Any]:
    """A search dimension: ``{"low", "high", "log", "int"}`` or ``{"choices"}``."""
    where = f"sweep.space.{path}"
    if isinstance(spec, list) and len(spec) == 2:
        spec = {"low": spec[0], "high": spec[1]}
    if not isinstance(spec, Mapping):
        raise ConfigError(where, "must be [low, high], {low, high, log, int} or {choices}")
    if "choices" in spec:
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices or set(spec) != {"choices"}:
            raise ConfigError(where, "choices must be a non-empty list (and alone)")
        return {"choices": list(choices)}
    unknown = set(spec) - {"low", "high", "log", "int"}
    if unknown:
        raise ConfigError(f"{where}.{sorted(unknown)[0]}", "unknown key")
    low, high = spec.get("low"), spec.get("high")
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in (low, high)):
        raise ConfigError(where, "low and high must be finite numbers")
    if not low < high:  # type: ignore[operator]
        raise ConfigError(where, f"low must be < high, got {low} and {high}")
    log = bool(spec.get("log", False))
    if log and low <= 0:  # type: ignore[operator]
        raise ConfigError(where, "a log range needs low > 0")
    return {"low": low, "high": high, "log": log, "int": bool(spec.get("int", False))}


def load_sweep(path: str | Path) -> SweepConfig:
    """Read and validate a sweep file; every parameter is checked against the base config
    (each combination is validated again when it runs)."""
    from mmcore.backtest.config import load_backtest_config

    p = Path(path)
    data = load_toml(p)
    section = data.get("sweep")
    if not isinstance(section, Mapping):
        raise ConfigError("sweep", "a [sweep] table is required")
    unknown = set(data) - {"sweep"}
    if unknown:
        raise ConfigError(sorted(unknown)[0], "unknown section (the sweep file has [sweep] only)")
    scalars = {k: v for k, v in section.items() if k not in ("data", "grid", "space")}
    settings = build(SweepSection, scalars, "sweep", {})
    sets = section.get("data")
    if not isinstance(sets, Mapping) or not sets:
        raise ConfigError("sweep.data", "needs at least one data set: name = [globs]")
    datasets: dict[str, tuple[str, ...]] = {}
    for name, globs in sets.items():
        if not isinstance(globs, list) or not globs or not all(isinstance(g, str) for g in globs):
            raise ConfigError(f"sweep.data.{name}", "must be a non-empty list of paths or globs")
        datasets[name] = tuple(str(_resolve(p.parent, g)) for g in globs)
    grid: dict[str, tuple[Any, ...]] = {}
    space: dict[str, dict[str, Any]] = {}
    if settings.method == "grid":
        raw = section.get("grid")
        if not isinstance(raw, Mapping) or not raw:
            raise ConfigError("sweep.grid", "method grid needs [sweep.grid] path = [values]")
        for key, values in raw.items():
            if not isinstance(values, list) or not values:
                raise ConfigError(f"sweep.grid.{key}", "must be a non-empty list of values")
            grid[key] = tuple(values)
    else:
        raw = section.get("space")
        if not isinstance(raw, Mapping) or not raw:
            raise ConfigError("sweep.space", f"method {settings.method} needs [sweep.space]")
        space = {k: _space_entry(k, v) for k, v in raw.items()}
    base = load_toml(_resolve(p.parent, settings.config))
    for key in [*grid, *space]:  # a bad path or value fails now, not in every run
        sample = grid[key][0] if key in grid else _midpoint(space[key])
        try:
            load_backtest_config(with_params(base, {key: sample}))
        except ConfigError as exc:
            raise ConfigError(f"sweep parameter {key!r}", str(exc)) from None
    return SweepConfig(settings, base, datasets, grid, space, _resolve(p.parent, settings.out))


def _resolve(folder: Path, path: str) -> Path:
    q = Path(path).expanduser()
    return q if q.is_absolute() else folder / q


def _midpoint(spec: Mapping[str, Any]) -> Any:
    if "choices" in spec:
        return spec["choices"][0]
    mid = (spec["low"] + spec["high"]) / 2
    return round(mid) if spec["int"] else mid


def with_params(base: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``base`` with each dotted path of ``params`` set (module docstring);
    :class:`ConfigError` naming the path when it does not lead to a table."""
    out = copy.deepcopy(dict(base))
    for path, value in params.items():
        node: Any = out
        keys = path.split(".")
        for i, key in enumerate(keys[:-1]):
            if isinstance(node, list):
                node = _pick(node, key, ".".join(keys[: i + 1]))
            elif isinstance(node, dict):
                node = node.setdefault(key, {})
            else:
                raise ConfigError(path, f"{'.'.join(keys[:i])} is not a table")
        if not isinstance(node, dict):
            raise ConfigError(path, "does not name a field of a table")
        node[keys[-1]] = value
    return out


def _pick(tables: list[Any], key: str, where: str) -> Any:
    if key.isdigit() and int(key) < len(tables):
        return tables[int(key)]
    for table in tables:
        if isinstance(table, dict) and table.get("symbol") == key:
            return table
    raise ConfigError(where, f"no [[...]] table with symbol {key!r} (or index)")


# -- parameter sets -------------------------------------------------------------------------


def grid_sets(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, the last parameter varying fastest."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def random_sets(space: Mapping[str, Mapping[str, Any]], n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` parameter sets drawn from ``space`` with a generator seeded by ``seed``."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        params: dict[str, Any] = {}
        for key, spec in space.items():
            if "choices" in spec:
                params[key] = spec["choices"][int(rng.integers(len(spec["choices"])))]
                continue
            low, high = spec["low"], spec["high"]
            if spec["log"]:
                value = math.exp(rng.uniform(math.log(low), math.log(high)))
            else:
                value = rng.uniform(low, high)
            params[key] = round(value) if spec["int"] else float(value)
        out.append(params)
    return out


# -- one run --------------------------------------------------------------------------------

_cache: MessageCache | None = None  # this process's decoded data, kept between its runs


def _worker_cache(megabytes: int) -> MessageCache | None:
    """This process's :class:`MessageCache` of ``megabytes`` (None for 0)."""
    global _cache
    from mmcore.backtest.data import MessageCache

    if megabytes <= 0:
        return None
    if _cache is None or _cache.max_bytes != megabytes << 20:
        _cache = MessageCache(megabytes << 20)
    return _cache


def warm_worker() -> None:
    """Import what a run needs, once when a pool worker starts (not in its first run)."""
    import mmcore.backtest.config
    import mmcore.backtest.run  # noqa: F401


def run_one(task: RunTask) -> dict[str, Any]:
    """Run one backtest (in a worker) and return its result row; an error is caught and
    recorded in the row (``error``), never raised."""
    from mmcore.backtest.config import load_backtest_config
    from mmcore.backtest.data import parse_data_args
    from mmcore.backtest.run import backtest

    started = time.perf_counter()
    cpu = time.process_time()
    row: dict[str, Any] = {"run_id": task.run_id, "dataset": task.dataset}
    row |= {f"param.{k}": v for k, v in task.params.items()}
    try:
        cfg = load_backtest_config(with_params(task.base, task.params))
        cache = _worker_cache(task.cache_mb)
        summary = backtest(cfg, parse_data_args(task.data), None, report=False, cache=cache)
        row |= summary["metrics"]
        row["messages"] = summary["replay"]["messages"]
        row["error"] = None
    except Exception as exc:  # recorded with the run: a failed run is a result too
        row["error"] = f"{type(exc).__name__}: {exc}"
    row["run_time_s"] = time.perf_counter() - started
    row["cpu_s"] = time.process_time() - cpu
    return row


def failed_row(task: RunTask, error: str) -> dict[str, Any]:
    """The row of a run that did not come back from its worker (no metrics, no run time)."""
    row: dict[str, Any] = {"run_id": task.run_id, "dataset": task.dataset}
    row |= {f"param.{k}": v for k, v in task.params.items()}
    return row | {"error": error, "run_time_s": math.nan, "cpu_s": math.nan}


# -- results on disk ------------------------------------------------------------------------


class Results:
    """The per-run files of a sweep folder (module docstring)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.runs = out / "runs"
        self.runs.mkdir(parents=True, exist_ok=True)

    def done(self) -> dict[str, dict[str, Any]]:
        """Finished runs by id (complete files only: partial ones never exist)."""
        rows = {}
        for f in sorted(self.runs.glob("*.json")):
            row = json.loads(f.read_text(encoding="utf-8"))
            rows[row["run_id"]] = row
        return rows

    def add(self, row: dict[str, Any]) -> None:
        """Write one run's row atomically (temporary file, then rename)."""
        final = self.runs / f"{row['run_id']}.json"
        tmp = final.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(row, allow_nan=True, sort_keys=True), encoding="utf-8")
        os.replace(tmp, final)

    def write_table(self) -> Path:
        """``results.parquet`` from every run file, rows by run id."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = sorted(self.done().values(), key=lambda r: r["run_id"])
        columns: dict[str, None] = {}
        for r in rows:
            columns |= dict.fromkeys(r)
        first = ["run_id", "dataset"]
        params = sorted(c for c in columns if c.startswith("param."))
        last = ["run_time_s", "cpu_s", "error"]
        rest = [c for c in columns if c not in (*first, *params, *last)]
        order = [*first, *params, *rest, *last]
        table = pa.table({c: [r.get(c) for r in rows] for c in order})
        path = self.out / "results.parquet"
        tmp = path.with_suffix(".parquet.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, path)
        return path


# -- executors ------------------------------------------------------------------------------


class PoolExecutor:
    """Runs tasks on a ``spawn`` process pool of ``workers`` (started on first use, kept for
    later batches), calling back in this process as each finishes."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def __call__(self, tasks: Iterable[RunTask], on_done: Callable[[dict[str, Any]], None]) -> None:
        """Run ``tasks``; each finished run's row goes to ``on_done``. A worker that dies
        breaks the whole pool and every run in it: those runs go again one at a time on a
        fresh pool, and the one that breaks it alone is recorded as failed."""
        pending: dict[Future[dict[str, Any]], RunTask] = {}
        suspects: list[RunTask] = []  # runs that were in a pool that broke
        queue = iter(tasks)
        alone = False  # the pending run is a suspect run by itself

        def submit(task: RunTask) -> None:
            if self._pool is None:
                ctx = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=ctx, initializer=warm_worker
                )
            pending[self._pool.submit(run_one, task)] = task

        while True:
            if not pending:
                if suspects:
                    alone = True
                    submit(suspects.pop(0))
                else:
                    alone = False
                    for task in itertools.islice(queue, self.workers * 2):
                        submit(task)
                    if not pending:
                        return
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            broken = False
            for fut in finished:
                task = pending.pop(fut)
                try:
                    row = fut.result()
                except BrokenProcessPool as exc:  # a worker died (killed, crashed)
                    broken = True
                    if not alone:
                        suspects.append(task)
                        continue
                    row = failed_row(task, f"worker died: {exc}")
                except Exception as exc:  # it could not be sent, or its result returned
                    row = failed_row(task, f"{type(exc).__name__}: {exc}")
                on_done(row)
            if broken:
                self.close()
                suspects += pending.values()
                pending.clear()
            elif not alone and not suspects:
                while len(pending) < self.workers * 2 and (task := next(queue, None)):
                    submit(task)

    def close(self) -> None:
        """Stop the workers."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class RayExecutor:
    """Runs tasks as Ray tasks (one CPU each) on a local Ray started with ``cpus`` or on the
    cluster at ``address``; a Ray already initialised in this process is used as it is (and
    left running by :meth:`close`)."""

    def __init__(self, address: str | None = None, cpus: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError("--ray", "Ray is not installed: pip install 'mmcore[ray]'") from None
        self._ray = ray
        self._address = address
        self._cpus = cpus
        self._started = False

    def __call__(self, tasks: Iterable[RunTask], on_done: Callable[[dict[str, Any]], None]) -> None:
        ray = self._ray
        if not ray.is_initialized():
            if self._address:
                ray.init(address=self._address, log_to_driver=False)
            else:
                ray.init(num_cpus=self._cpus, include_dashboard=False, log_to_driver=False)
            self._started = True
        remote = ray.remote(num_cpus=1)(run_one)
        refs = {remote.remote(t): t for t in tasks}
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                task = refs.pop(ref)
                try:
                    row = ray.get(ref)
                except Exception as exc:  # the worker or its node died, after Ray's retries
                    row = failed_row(task, f"{type(exc).__name__}: {exc}")
                on_done(row)

    def close(self) -> None:
        """Shut down the Ray this executor started."""
        if self._started:
            self._ray.shutdown()
            self._started = False


Submit = Callable[[Iterable[RunTask], Callable[[dict[str, Any]], None]], None]


# -- the sweep ------------------------------------------------------------------------------


@dataclass
class SweepOutcome:
    """What a sweep did: runs done now, runs found finished, failures, the table's path."""

    ran: int
    skipped: int
    failed: int
    table: Path
    page: Path


def _tasks(cfg: SweepConfig, sets: Sequence[Mapping[str, Any]], start: int) -> list[RunTask]:
    """The runs of ``sets`` (numbered from ``start``) on every data set, data set by data set:
    consecutive runs on one data set find it in their worker's cache."""
    return [
        RunTask(f"p{i:04d}-{name}", name, dict(params), cfg.base, globs, cfg.sweep.cache_mb)
        for name, globs in cfg.data.items()
        for i, params in enumerate(sets, start)
    ]


def _check_same(task: RunTask, row: Mapping[str, Any]) -> None:
    stored = {k[6:]: v for k, v in row.items() if k.startswith("param.")}
    if stored != dict(task.params):
        raise ConfigError(
            "sweep",
            f"run {task.run_id} on disk has parameters {stored}, the sweep file gives "
            f"{dict(task.params)}: use another out folder for a changed sweep",
        )


def run_sweep(
    cfg: SweepConfig, submit: Submit, *, log: Callable[[str], None] = print
) -> SweepOutcome:
    """Run every run of ``cfg`` not already finished in its folder, then write the table and
    the summary page."""
    results = Results(cfg.out)
    done = results.done()
    ran = failed = 0

    def on_done(row: dict[str, Any]) -> None:
        nonlocal ran, failed
        results.add(row)
        ran += 1
        failed += row["error"] is not None
        status = (
            "failed: " + row["error"]
            if row["error"]
            else f"{cfg.sweep.objective} " + str(row.get(cfg.sweep.objective))
        )
        log(f"sweep: {row['run_id']} done in {row['run_time_s']:.2f} s ({status})")

    skipped = 0
    if cfg.sweep.method == "optuna":
        skipped = _run_optuna(cfg, submit, done, on_done)
    else:
        if cfg.sweep.method == "grid":
            sets = grid_sets(cfg.grid)
        else:
            sets = random_sets(cfg.space, cfg.sweep.trials, cfg.sweep.seed)
        todo = []
        for task in _tasks(cfg, sets, 0):
            if task.run_id in done:
                _check_same(task, done[task.run_id])
                skipped += 1
            else:
                todo.append(task)
        if skipped:
            log(f"sweep: {skipped} runs already finished in {cfg.out}, not redone")
        submit(todo, on_done)
    table = results.write_table()
    page = write_summary_page(cfg, results)
    return SweepOutcome(ran, skipped, failed, table, page)


def _run_optuna(
    cfg: SweepConfig,
    submit: Submit,
    done: Mapping[str, Mapping[str, Any]],
    on_done: Callable[[dict[str, Any]], None],
) -> int:
    """Optuna's TPE sampler (seeded) over ``cfg.space``, a batch of ``workers`` parameter
    sets at a time; the objective is the mean over the data sets (a failed run: the worst).
    Finished trials on disk are given to the study first, so a resumed sweep continues it."""
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            "sweep.method", "optuna is not installed: pip install 'mmcore[optuna]'"
        ) from None
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists: dict[str, Any] = {}
    for key, spec in cfg.space.items():
        if "choices" in spec:
            dists[key] = CategoricalDistribution(spec["choices"])
        elif spec["int"]:
            dists[key] = IntDistribution(int(spec["low"]), int(spec["high"]), log=spec["log"])
        else:
            dists[key] = FloatDistribution(spec["low"], spec["high"], log=spec["log"])
    sampler = optuna.samplers.TPESampler(seed=cfg.sweep.seed)
    study = optuna.create_study(direction=cfg.sweep.direction, sampler=sampler)
    worst = -math.inf if cfg.sweep.direction == "maximize" else math.inf
    objective = cfg.sweep.objective
    names = list(cfg.data)

    def value(rows: Sequence[Mapping[str, Any]]) -> float:
        vals = [r.get(objective) for r in rows]
        if any(
            r["error"] or not isinstance(v, int | float) or v != v
            for r, v in zip(rows, vals, strict=True)
        ):
            return worst
        return float(np.mean(vals))

    skipped = 0
    trial = 0
    while trial < cfg.sweep.trials:
        batch = min(cfg.sweep.workers, cfg.sweep.trials - trial)
        stored = [[done.get(f"p{trial + j:04d}-{n}") for n in names] for j in range(batch)]
        if all(all(stored_rows) for stored_rows in stored):
            for rows in stored:  # a finished batch: told, not rerun
                params = {k[6:]: v for k, v in rows[0].items() if k.startswith("param.")}
                study.add_trial(
                    optuna.trial.create_trial(params=params, distributions=dists, value=value(rows))
                )
                skipped += len(rows)
            trial += batch
            continue
        asked = [study.ask(dists) for _ in range(batch)]
        tasks = list(_tasks(cfg, [t.params for t in asked], trial))
        rows_of: dict[str, dict[str, Any]] = {}
        submit(tasks, _collecting(rows_of, on_done))
        for j, t in enumerate(asked):
            study.tell(t, value([rows_of[f"p{trial + j:04d}-{n}"] for n in names]))
        trial += batch
    return skipped


def _collecting(
    into: dict[str, dict[str, Any]], on_done: Callable[[dict[str, Any]], None]
) -> Callable[[dict[str, Any]], None]:
    def collect(row: dict[str, Any]) -> None:
        into[row["run_id"]] = row
        on_done(row)

    return collect


# -- summary page ---------------------------------------------------------------------------


def write_summary_page(cfg: SweepConfig, results: Results) -> Path:
    """``summary.html``: the objective against each parameter (one point per run, coloured
    by data set) and the best runs, BokehJS inlined as in the run report."""
    from html import escape

    from bokeh.embed import file_html
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.palettes import Category10_10
    from bokeh.plotting import figure
    from bokeh.resources import INLINE

    rows = sorted(results.done().values(), key=lambda r: r["run_id"])
    objective = cfg.sweep.objective
    ok = [r for r in rows if r["error"] is None and isinstance(r.get(objective), int | float)]
    params = sorted({k for r in rows for k in r if k.startswith("param.")})
    figs = []
    for param in params:
        numeric = all(isinstance(r.get(param), int | float) for r in ok)
        categories = {} if numeric else {"x_range": sorted({str(r.get(param)) for r in ok})}
        fig = figure(
            title=f"{objective} vs {param[6:]}",
            height=260,
            width=560,
            x_axis_label=param[6:],
            y_axis_label=objective,
            **categories,
        )
        for i, name in enumerate(cfg.data):
            mine = [r for r in ok if r["dataset"] == name]
            src = ColumnDataSource(
                {
                    "x": [r.get(param) if numeric else str(r.get(param)) for r in mine],
                    "y": [r[objective] for r in mine],
                    "run": [r["run_id"] for r in mine],
                }
            )
            fig.scatter(
                "x", "y", source=src, size=8, color=Category10_10[i % 10], legend_label=name
            )
        fig.add_tools(HoverTool(tooltips=[("run", "@run"), (param[6:], "@x"), (objective, "@y")]))
        figs.append(fig)
    reverse = cfg.sweep.direction == "maximize"
    best = sorted(ok, key=lambda r: r[objective], reverse=reverse)[:10]
    failed = [r for r in rows if r["error"] is not None]
    table = "".join(
        f"<tr><td>{escape(r['run_id'])}</td><td>{r[objective]:.6g}</td><td>"
        + escape(", ".join(f"{k[6:]}={r[k]}" for k in params))
        + "</td></tr>"
        for r in best
    )
    errors = "".join(
        f"<tr><td>{escape(r['run_id'])}</td><td>{escape(str(r['error']))}</td></tr>" for r in failed
    )
    head = (
        f"<h1>mmcore sweep</h1><p>{len(rows)} runs ({len(failed)} failed), method "
        f"{escape(cfg.sweep.method)}, objective {escape(objective)} ({cfg.sweep.direction}); "
        "data: results.parquet</p><h3>Best runs</h3><table border=1 cellpadding=3>"
        f"<tr><th>run</th><th>{escape(objective)}</th><th>parameters</th></tr>{table}</table>"
        + (f"<h3>Failed runs</h3><table border=1 cellpadding=3>{errors}</table>" if failed else "")
    )
    html = file_html(column(*figs) if figs else column(), INLINE, "mmcore sweep")
    html = html.replace("<body>", f"<body>{head}", 1)
    page = cfg.out / "summary.html"
    page.write_text(html, encoding="utf-8")
    return page
