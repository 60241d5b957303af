"""One trading run, start to report: journal, advisors, trader, dashboard, clean shutdown.

Used by the default command (on the simulated market) and by ``run`` (on real venues' public
data); both hand over feeds and symbol setups. The run ends after ``duration_s``, on Ctrl-C
or SIGTERM, or when the trader fails; every ending goes through the same shutdown: cancel all
orders, flush the journal, stop the advisors, write the report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from mmcore.advisors.factory import AdvisorRuntime, build_advisor_service
from mmcore.analytics.pnl import Interval
from mmcore.feeds import Feed
from mmcore.journal import Journal
from mmcore.llm.config import LLMConfig
from mmcore.ops.config import OpsConfig
from mmcore.ops.runtime import OpsRuntime
from mmcore.risk.portfolio_limits import Member, PortfolioLimits, PortfolioLimitsConfig
from mmcore.stopping import STOP, StopSignals
from mmcore.trader import SymbolSetup, Trader
from mmcore.ui.dashboard import Dashboard
from mmcore.ui.recorder import Recorder
from mmcore.ui.report import RunSummary, write_report

__all__ = ["RunOptions", "RunResult", "run_trading"]

log = logging.getLogger("mmcore.run")


@dataclass(frozen=True)
class RunOptions:
    """How long to run, where to write, how to show it."""

    out_dir: Path
    duration_s: float | None = 60.0  # None: until Ctrl-C
    headless: bool = False
    refresh_per_s: float = 4.0
    title: str = "mmcore"
    #: metrics, health/control server and alerts (None or disabled: off)
    ops: OpsConfig | None = None
    #: limits across every symbol and venue of the run (None: per-symbol limits only)
    portfolio_risk: PortfolioLimitsConfig | None = None


@dataclass(frozen=True)
class RunResult:
    """Where the run's files are and its headline figures."""

    out_dir: Path
    report: Path
    summary: RunSummary
    reason: str


async def run_trading(
    feeds: list[Feed],
    setups: list[SymbolSetup],
    llm: LLMConfig,
    options: RunOptions,
    *,
    stream: TextIO | None = None,
    extra_status: dict[str, object] | None = None,
    stop: StopSignals = STOP,
    marked: Callable[[], Sequence[Interval]] | None = None,
) -> RunResult:
    """Trade until the duration ends or a stop signal arrives, then shut down and report.

    A stop signal that came before this call stops the run as soon as it starts (the report is
    still written); a second one (``stop.forced``) cuts the shutdown's waits for the advisors
    short. The orders are cancelled and the journal is flushed and closed either way.
    ``marked`` gives intervals on the ``time.monotonic()`` clock to shade in the report and to
    split its PnL decomposition by (a simulated market's informed-flow episodes).
    """
    out = options.out_dir
    out.mkdir(parents=True, exist_ok=True)
    journal = Journal(out / "journal.sqlite")
    try:
        runtime = await build_advisor_service(llm)
    except BaseException:
        journal.close()
        raise
    trader = Trader(feeds, setups, journal=journal, advisors=runtime.service)
    recorder = Recorder(trader)
    dashboard = Dashboard(trader, recorder, runtime, title=options.title, extra=extra_status)
    trader.on_sample = recorder.sample
    limits = _portfolio_limits(trader, options.portfolio_risk)
    try:
        ops = _ops(options.ops, trader, runtime, limits, run_id=out.name)
    except BaseException:
        await runtime.aclose()
        journal.close()
        raise
    stop_reason: list[str] = []
    forced = asyncio.Event()

    def request_stop(why: str) -> None:
        stop_reason.append(why)
        trader.stop()

    print(
        f"mmcore: trading {', '.join(trader.engines)}; run folder {out}/",
        file=stream or sys.stdout,
        flush=True,
    )
    services = contextlib.AsyncExitStack()
    loop = asyncio.get_running_loop()
    view = asyncio.create_task(
        dashboard.show(
            refresh_per_s=options.refresh_per_s, headless=options.headless, stream=stream
        )
    )
    timer = (
        loop.call_later(options.duration_s, request_stop, "duration")
        if options.duration_s is not None
        else None
    )
    usage = ""
    with stop.on_stop(lambda: request_stop("interrupted")), stop.on_force(forced.set):
        try:
            # a port already in use ends the run like a trader failure: reported, cleaned up
            if ops is not None:
                await services.enter_async_context(ops)
                print(f"mmcore: ops endpoints on {ops.url}", file=stream or sys.stdout, flush=True)
            services.push_async_callback(_cancel, asyncio.create_task(limits.run()))
            await trader.run()
        except Exception as exc:  # the report is still written: nothing is lost
            log.exception("trader_failed")
            stop_reason.append(f"error: {exc}")
        finally:
            if timer is not None:
                timer.cancel()
            await services.aclose()
            view.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await view
            reason = stop_reason[0] if stop_reason else "duration"
            print(
                f"\nmmcore: stopping ({reason}): cancelling orders, flushing the journal, "
                "writing the report",
                file=stream or sys.stdout,
                flush=True,
            )
            try:
                trader.shutdown()
                recorder.sample(time.monotonic())
                usage = await _unless(forced, runtime.aclose()) or "LLM usage: not collected"
            finally:
                journal.close()
    intervals = [i.shifted(-trader.started_at) for i in marked()] if marked is not None else []
    summary, report = write_report(
        out, trader, recorder, runtime, reason=reason, usage=usage, intervals=intervals
    )
    return RunResult(out, report, summary, reason)


def _portfolio_limits(trader: Trader, cfg: PortfolioLimitsConfig | None) -> PortfolioLimits:
    """The run's portfolio-wide view over every engine: its exposure is reported (status,
    metrics) even when no limit is set, and then nothing is ever breached."""
    members = [Member(s, trader.setups[s].venue, e.risk) for s, e in trader.engines.items()]
    return PortfolioLimits(cfg or PortfolioLimitsConfig(), trader.portfolio, members)


def _ops(
    cfg: OpsConfig | None,
    trader: Trader,
    runtime: AdvisorRuntime,
    limits: PortfolioLimits,
    *,
    run_id: str,
) -> OpsRuntime | None:
    if cfg is None or not cfg.enabled:
        return None
    return OpsRuntime(cfg, trader, advisors=runtime, limits=limits, run_id=run_id)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _unless(forced: asyncio.Event, work: Coroutine[Any, Any, str]) -> str | None:
    """``await work``, unless ``forced`` is set first (then ``work`` is cancelled: None)."""
    task = asyncio.ensure_future(work)
    force = asyncio.ensure_future(forced.wait())
    await asyncio.wait([task, force], return_when=asyncio.FIRST_COMPLETED)
    force.cancel()
    if task.done():
        return task.result()
    task.cancel()
    log.warning("shutdown_forced skipped=advisors_close")
    return None
