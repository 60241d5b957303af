"""One backtest from config and data to results: ``summary.json``, ``fills.parquet`` and, with
``report``, the run report (``report.html`` and its CSVs, :func:`mmcore.ui.report.write_report`).

``fills.parquet`` has one row per fill in the order the portfolio took them: ``t`` (seconds
since the first message), ``symbol``, ``side``/``sign``, ``price``, ``qty``, ``fee``, ``maker``,
``mid`` (the mark when it happened), ``fill_id`` and ``client_id``. Its bytes depend on the
data and the config only (the replay is deterministic), so two runs can be compared by hash.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mmcore.backtest.config import BacktestConfig
from mmcore.backtest.data import MessageCache, open_session
from mmcore.backtest.metrics import SECONDS_PER_YEAR, summarize_run
from mmcore.backtest.replay import BacktestRun, run_backtest

__all__ = ["backtest", "write_fills_parquet"]


def write_fills_parquet(run: BacktestRun, path: Path) -> None:
    """The fills table (module docstring) as Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    fills = run.recorder.fills
    table = pa.table(
        {
            "t": pa.array([f.t for f in fills], pa.float64()),
            "symbol": pa.array([f.symbol for f in fills], pa.string()),
            "side": pa.array([f.side for f in fills], pa.string()),
            "sign": pa.array([f.sign for f in fills], pa.int8()),
            "price": pa.array([f.price for f in fills], pa.float64()),
            "qty": pa.array([f.qty for f in fills], pa.float64()),
            "fee": pa.array([f.fee for f in fills], pa.float64()),
            "maker": pa.array([f.maker for f in fills], pa.bool_()),
            "mid": pa.array([f.mid for f in fills], pa.float64()),
            "fill_id": pa.array([f.fill_id for f in fills], pa.string()),
            "client_id": pa.array(run.fill_client_ids, pa.string()),
        }
    )
    pq.write_table(table, path)


def _finite(value: Any) -> Any:
    """NaN/inf become null: ``summary.json`` stays standard JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def backtest(
    cfg: BacktestConfig,
    data: Mapping[str, Sequence[str]],
    out: Path | None,
    *,
    report: bool = True,
    progress: bool = False,
    cache: MessageCache | None = None,
) -> dict[str, Any]:
    """Run one backtest of ``data`` (globs by symbol, :func:`~mmcore.backtest.data.
    parse_data_args`) and return its summary; with ``out``, write the results there (the HTML
    report too when ``report``). ``cache`` keeps the decoded data for the next backtest in
    this process (a sweep worker's)."""
    symbols = [s.symbol for s in cfg.run.setups]
    session = open_session(
        data,
        {s.symbol: s.venue for s in cfg.run.setups},
        symbols[0] if len(symbols) == 1 else None,
        cache,
    )
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    run = run_backtest(cfg, session, out=out if report else None, progress=progress)
    recorder = run.recorder
    interval = cfg.backtest.return_interval_s
    metrics = summarize_run(
        run.trader, list(recorder.rows), recorder.fills, len(set(run.fill_client_ids)), interval
    )
    paper = {s.symbol: s.paper for s in run.setups}
    delays = run.feed_delays
    summary = {
        "metrics": metrics,
        "data": {
            "venue": session.venue,
            "symbols": list(run.trader.engines),
            "files": [str(f) for src in session.sources for f in src.files],
            "start_ns": run.start_ns,
            "duration_s": run.end_s,
        },
        "replay": {
            "messages": run.messages,
            "book_events": run.book_events,
            "trades": run.trades,
            "elapsed_s": run.elapsed_s,
            "clock_backsteps": run.clock_backsteps,
            "messages_per_s": run.messages / run.elapsed_s if run.elapsed_s > 0 else None,
            "cpu_s": run.cpu_s,
            "messages_per_cpu_s": run.messages / run.cpu_s if run.cpu_s > 0 else None,
        },
        "latency": {
            "feed_latency": cfg.backtest.feed_latency,
            # per_message: the lag of an event with no exchange time of its own
            "feed_latency_s": {s: p.feed_latency_s for s, p in paper.items()},
            "clock_offset_s": None if delays is None else delays.clock_offset_s,
            "feed_delay_samples": None if delays is None else delays.samples,
            "entry_latency_s": {s: p.entry_latency_s for s, p in paper.items()},
            "cancel_latency_s": {s: p.cancel_latency_s for s, p in paper.items()},
            "response_latency_s": {s: p.response_latency_s for s, p in paper.items()},
            "latency_jitter_s": {s: p.latency_jitter_s for s, p in paper.items()},
            "fitted_from": cfg.backtest.latency_file or None,
        },
        "definitions": {
            "return_interval_s": interval,
            "annualisation": f"sqrt({SECONDS_PER_YEAR} / {interval:g}) (365-day year)",
            "returns": "changes of total net PnL (quote currency) over each interval",
            "markouts": "mean of side * (mid h later - mid at fill) / mid at fill, bps",
        },
    }
    if out is not None:
        write_fills_parquet(run, out / "fills.parquet")
        if report:
            _write_report(run, out)
        (out / "summary.json").write_text(
            json.dumps(_finite(summary), indent=2, allow_nan=False) + "\n", encoding="utf-8"
        )
    return summary


def _write_report(run: BacktestRun, out: Path) -> None:
    from mmcore.advisors.factory import AdvisorRuntime
    from mmcore.advisors.service import AdvisorService
    from mmcore.ui.report import write_report

    # no advisors are replayed: an empty service reports none and no calls
    runtime = AdvisorRuntime(AdvisorService([], min_interval_s=1.0, change_threshold=0.0), None)
    write_report(out, run.trader, run.recorder, runtime, reason="end of data")  # type: ignore[arg-type]
