"""Starts and stops everything ``[ops]`` runs beside a trader: the HTTP server (metrics,
health, status, control), the histogram drain, the event-loop lag probe and the alerts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.core import Metric

from mmcore import control
from mmcore.advisors.factory import AdvisorRuntime
from mmcore.ops.alerts import AlertWatcher, Notifier, webhooks_from
from mmcore.ops.config import OpsConfig
from mmcore.ops.metrics import LOOP_LAG_BUCKETS_S, RingHistogram, TraderCollector
from mmcore.ops.server import OpsServer
from mmcore.ops.status import not_ready, status
from mmcore.risk.portfolio_limits import PortfolioLimits
from mmcore.trader import Trader

__all__ = ["OpsRuntime"]

log = logging.getLogger("mmcore.ops")

_DRAIN_EVERY_S = 1.0


class OpsRuntime:
    """``async with OpsRuntime(cfg, trader, ...)``: serves and watches the trader until the
    block ends. Webhook URLs and the control token are read from ``env`` (default
    ``os.environ``) at construction: a webhook whose variable is unset is a
    :class:`~mmcore.config.ConfigError` naming the field."""

    def __init__(
        self,
        cfg: OpsConfig,
        trader: Trader,
        *,
        advisors: AdvisorRuntime | None = None,
        limits: PortfolioLimits | None = None,
        run_id: str = "",
        env: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        self.cfg = cfg
        self.trader = trader
        self.limits = limits
        self.loop_lag = RingHistogram(LOOP_LAG_BUCKETS_S)
        self.notifier = Notifier(cfg.alerts, webhooks_from(cfg.alerts, env), run_id=run_id)
        self.watcher = AlertWatcher(cfg.alerts, trader, self.notifier, advisors)
        self.collector = TraderCollector(
            trader, advisors=advisors, limits=limits, loop_lag=self.loop_lag, extra=self._extra
        )
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)
        ProcessCollector(registry=self.registry)  # RSS, open fds, CPU: what a soak watches
        PlatformCollector(registry=self.registry)
        token = env.get(cfg.token_env, "").strip() or None
        self.server = OpsServer(
            registry=self.registry,
            status=lambda: status(trader, advisors, limits),
            not_ready=lambda: not_ready(trader),
            controls={"halt": self._halt, "resume": self._resume, "flatten": self._flatten},
            token=token,
            bind=cfg.bind,
            port=cfg.metrics_port,
        )
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def url(self) -> str:
        """``http://bind:port`` once started."""
        return f"http://{self.server.bind}:{self.server.port}"

    async def __aenter__(self) -> OpsRuntime:
        await self.server.start()
        self._tasks = [
            asyncio.create_task(self._drain(), name="ops-drain"),
            asyncio.create_task(self._probe_loop_lag(), name="ops-loop-lag"),
            asyncio.create_task(self.watcher.run(), name="ops-alert-watch"),
        ]
        if self.notifier.webhooks:
            self._tasks.append(asyncio.create_task(self.notifier.run(), name="ops-alerts"))
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.server.stop()

    # ---- controls --------------------------------------------------------------------------
    def _halt(self) -> dict[str, str]:
        return control.halt(self.trader)

    def _flatten(self) -> dict[str, str]:
        return control.flatten(self.trader)

    def _resume(self) -> dict[str, str]:
        """The operator's resume also lifts a latched portfolio drawdown breach."""
        if self.limits is not None:
            self.limits.reset_drawdown()
            self.limits.check()
        return control.resume(self.trader)

    # ---- background ------------------------------------------------------------------------
    def _extra(self) -> Iterator[Metric]:
        yield from self.notifier.metrics()

    async def _drain(self) -> None:
        while True:
            await asyncio.sleep(_DRAIN_EVERY_S)
            self.collector.drain()

    async def _probe_loop_lag(self) -> None:
        """How late a timer fires: the loop's backlog, which delays every feed frame."""
        every = self.cfg.loop_lag_every_s
        while True:
            t0 = time.monotonic()
            await asyncio.sleep(every)
            self.loop_lag.observe(max(0.0, time.monotonic() - t0 - every))
