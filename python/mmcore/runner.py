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
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from mmcore.advisors.factory import build_advisor_service
from mmcore.feeds import Feed
from mmcore.journal import Journal
from mmcore.llm.config import LLMConfig
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
) -> RunResult:
    """Trade until the duration ends or a stop signal arrives, then shut down and report."""
    out = options.out_dir
    out.mkdir(parents=True, exist_ok=True)
    journal = Journal(out / "journal.sqlite")
    runtime = await build_advisor_service(llm)
    trader = Trader(feeds, setups, journal=journal, advisors=runtime.service)
    recorder = Recorder(trader)
    dashboard = Dashboard(trader, recorder, runtime, title=options.title, extra=extra_status)
    trader.on_sample = recorder.sample
    reason = "duration"
    stop_reason: list[str] = []

    def request_stop(why: str) -> None:
        stop_reason.append(why)
        trader.stop()

    loop = asyncio.get_running_loop()
    installed = []
    for sig, why in ((signal.SIGINT, "interrupted"), (signal.SIGTERM, "terminated")):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, request_stop, why)
            installed.append(sig)
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
    try:
        await trader.run()
    except Exception as exc:  # the report is still written: nothing is lost
        log.exception("trader_failed")
        stop_reason.append(f"error: {exc}")
    finally:
        if timer is not None:
            timer.cancel()
        for sig in installed:
            loop.remove_signal_handler(sig)
        view.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await view
        trader.shutdown()
        recorder.sample(time.monotonic())
        usage = await runtime.aclose()
        journal.close()
    reason = stop_reason[0] if stop_reason else reason
    summary, report = write_report(out, trader, recorder, runtime, reason=reason, usage=usage)
    return RunResult(out, report, summary, reason)
