"""Webhook alerts: what happened to the run, delivered without ever holding trading up.

:class:`AlertWatcher` looks at the trader every ``check_every_s`` and raises an :class:`Alert`
on each change worth a message (a halt, a kill-switch trip, a feed lost, repeated rejects,
the LLM budget exhausted, the periodic summary). :class:`Notifier` deduplicates and
rate-limits them, puts them on a bounded queue without waiting (a full queue drops and
counts), and delivers them from its own task, each POST bounded by ``timeout_s``: a webhook
that fails or hangs costs alerts, never quotes. Webhook URLs are secrets (Slack and Telegram
URLs carry credentials): they come from the environment and are never logged.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client.core import CounterMetricFamily, Metric

from mmcore.advisors.factory import AdvisorRuntime
from mmcore.config import ConfigError
from mmcore.execution import PaperVenue
from mmcore.ops.config import AlertsConfig
from mmcore.risk.manager import TradingState
from mmcore.trader import Trader

__all__ = ["Alert", "AlertWatcher", "Notifier", "Webhook", "payload"]

log = logging.getLogger("mmcore.alerts")

#: Reasons a halt is alerted for (a feed being resynced halts too, but only briefly and
#: often: the feed-lost alert covers a feed that stays down).
_HALT_REASONS = ("operator", "portfolio_", "session_loss", "drawdown")


@dataclass(frozen=True, slots=True)
class Alert:
    """One message: ``kind`` (``halt``, ``kill_switch``, ``feed_lost``, ``rejects``,
    ``llm_budget``, ``summary``) about ``subject`` (a symbol, a venue or ``run``)."""

    kind: str
    subject: str
    text: str
    severity: str = "warning"


@dataclass(frozen=True, slots=True)
class Webhook:
    """A delivery target; ``url`` is secret (never in reprs or logs)."""

    name: str
    url: str
    preset: str
    chat_id: str = ""

    def __repr__(self) -> str:
        return f"Webhook(name={self.name!r}, preset={self.preset!r}, url='***')"


def payload(alert: Alert, preset: str, *, run_id: str, chat_id: str = "") -> dict[str, Any]:
    """The JSON body for ``preset``: generic (every field), Slack (``text``), Discord
    (``content``) or Telegram ``sendMessage`` (``chat_id``, ``text``)."""
    line = f"[mmcore {run_id}] {alert.severity.upper()} {alert.kind} {alert.subject}: {alert.text}"
    if preset == "slack":
        return {"text": line}
    if preset == "discord":
        return {"content": line}
    if preset == "telegram":
        return {"chat_id": chat_id, "text": line}
    return {
        "run_id": run_id,
        "kind": alert.kind,
        "subject": alert.subject,
        "severity": alert.severity,
        "text": alert.text,
        "ts": time.time(),
    }


def webhooks_from(cfg: AlertsConfig, env: Mapping[str, str]) -> list[Webhook]:
    """The configured webhooks with their URLs from ``env``; a variable that is unset is a
    :class:`ConfigError` naming the field."""
    out = []
    for name, hook in cfg.webhooks.items():
        url = env.get(hook.url_env, "").strip()
        if not url:
            raise ConfigError(f'ops.alerts.webhooks."{name}".url_env', f"{hook.url_env} is not set")
        if hook.preset == "telegram" and not hook.chat_id:
            raise ConfigError(f'ops.alerts.webhooks."{name}".chat_id', "telegram needs a chat_id")
        out.append(Webhook(name, url, hook.preset, hook.chat_id))
    return out


class Notifier:
    """Deduplicates, rate-limits and queues alerts (:meth:`notify` never blocks), and
    delivers them to every webhook from :meth:`run`."""

    def __init__(
        self,
        cfg: AlertsConfig,
        webhooks: list[Webhook],
        *,
        run_id: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cfg = cfg
        self.webhooks = webhooks
        self.run_id = run_id
        self.clock = clock
        self.queue: asyncio.Queue[Alert] = asyncio.Queue(cfg.queue)
        self.sent = 0  # deliveries answered 2xx
        self.failed = 0  # deliveries that failed, timed out or were answered otherwise
        self.dropped: collections.Counter[str] = collections.Counter()
        self._last: dict[tuple[str, str], float] = {}
        self._minute: collections.deque[float] = collections.deque()

    def notify(self, alert: Alert) -> bool:
        """Queue ``alert`` unless it repeats one sent within ``dedup_s``, the minute's quota
        is used up or the queue is full (each counted in :attr:`dropped`); True if queued."""
        now = self.clock()
        key = (alert.kind, alert.subject)
        last = self._last.get(key)
        if last is not None and now - last < self.cfg.dedup_s:
            self.dropped["duplicate"] += 1
            return False
        minute = self._minute
        while minute and now - minute[0] >= 60.0:
            minute.popleft()
        if len(minute) >= self.cfg.max_per_minute:
            self.dropped["rate_limited"] += 1
            return False
        try:
            self.queue.put_nowait(alert)
        except asyncio.QueueFull:
            self.dropped["queue_full"] += 1
            return False
        self._last[key] = now
        minute.append(now)
        log.warning("alert kind=%s subject=%s text=%s", alert.kind, alert.subject, alert.text)
        return True

    async def run(self) -> None:
        """Deliver queued alerts until cancelled."""
        timeout = self.cfg.timeout_s
        async with httpx.AsyncClient(timeout=timeout) as client:
            while True:
                alert = await self.queue.get()
                for hook in self.webhooks:
                    await self._deliver(client, hook, alert, timeout)

    async def _deliver(
        self, client: httpx.AsyncClient, hook: Webhook, alert: Alert, timeout: float
    ) -> None:
        body = payload(alert, hook.preset, run_id=self.run_id, chat_id=hook.chat_id)
        try:
            # httpx's timeout bounds each read; wait_for bounds the whole exchange (a server
            # that trickles bytes)
            response = await asyncio.wait_for(client.post(hook.url, json=body), timeout)
        except (httpx.HTTPError, TimeoutError) as exc:
            self.failed += 1
            log.warning(
                "alert_delivery_failed webhook=%s kind=%s error=%s",
                hook.name,
                alert.kind,
                type(exc).__name__,
            )
            return
        if response.is_success:
            self.sent += 1
        else:
            self.failed += 1
            log.warning(
                "alert_delivery_failed webhook=%s kind=%s status=%d",
                hook.name,
                alert.kind,
                response.status_code,
            )

    def metrics(self) -> Iterator[Metric]:
        """The notifier's counters as metric families."""
        yield CounterMetricFamily("mmcore_alerts_sent", "Alert deliveries answered 2xx", self.sent)
        yield CounterMetricFamily(
            "mmcore_alerts_failed", "Alert deliveries that failed or timed out", self.failed
        )
        dropped = CounterMetricFamily(
            "mmcore_alerts_dropped", "Alerts not queued", labels=["reason"]
        )
        for reason in ("duplicate", "rate_limited", "queue_full"):
            dropped.add_metric([reason], self.dropped[reason])
        yield dropped


class AlertWatcher:
    """Turns changes in the trader's state into alerts (each on the change, not while the
    condition lasts)."""

    def __init__(
        self,
        cfg: AlertsConfig,
        trader: Trader,
        notifier: Notifier,
        advisors: AdvisorRuntime | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cfg = cfg
        self.trader = trader
        self.notifier = notifier
        self.advisors = advisors
        self.clock = clock
        self._halted: dict[str, bool] = {}
        self._killed: dict[str, bool] = {}
        self._unsafe_since: dict[str, float | None] = {}
        self._lost: dict[str, bool] = {}
        self._rejects: dict[str, collections.deque[tuple[float, int]]] = {}
        self._budget_exhausted = 0
        self._next_summary = clock() + cfg.summary_every_s

    async def run(self) -> None:
        """Check every ``check_every_s`` until cancelled."""
        while True:
            await asyncio.sleep(self.cfg.check_every_s)
            self.check()

    def check(self) -> None:
        """One look at the trader; notifies what changed."""
        now = self.clock()
        notify = self.notifier.notify
        for symbol, engine in self.trader.engines.items():
            risk = engine.risk
            halted = risk.state is TradingState.HALTED and any(
                r.startswith(_HALT_REASONS) for r in risk.reasons
            )
            if halted and not self._halted.get(symbol, False):
                notify(Alert("halt", symbol, f"halted ({', '.join(risk.reasons)})", "critical"))
            self._halted[symbol] = halted
            killed = risk.killed_at is not None
            if killed and not self._killed.get(symbol, False):
                text = f"kill switch tripped: drawdown {risk.drawdown:.2f}"
                notify(Alert("kill_switch", symbol, text, "critical"))
            self._killed[symbol] = killed
            self._check_feed(symbol, now)
            if isinstance(engine.venue, PaperVenue):
                self._check_rejects(symbol, engine.venue.rejects, now)
        self._check_budget()
        if self.cfg.summary_every_s > 0 and now >= self._next_summary:
            self._next_summary = now + self.cfg.summary_every_s
            notify(Alert("summary", "run", self.summary(), "info"))

    def _check_feed(self, symbol: str, now: float) -> None:
        health = self.trader.feed_of(symbol).health(symbol)
        since = self._unsafe_since.get(symbol)
        if health.safe_to_quote:
            if self._lost.get(symbol):
                self.notifier.notify(Alert("feed_recovered", symbol, "book synced again", "info"))
            self._unsafe_since[symbol] = None
            self._lost[symbol] = False
            return
        if since is None:
            self._unsafe_since[symbol] = since = now
        if now - since >= self.cfg.feed_lost_s and not self._lost.get(symbol):
            self._lost[symbol] = True
            text = f"book {health.state.value} for {now - since:.0f} s"
            self.notifier.notify(Alert("feed_lost", symbol, text, "critical"))

    def _check_rejects(self, symbol: str, total: int, now: float) -> None:
        window = self._rejects.setdefault(symbol, collections.deque())
        window.append((now, total))
        while window and now - window[0][0] > self.cfg.rejects_window_s:
            window.popleft()
        recent = total - window[0][1]
        if recent >= self.cfg.rejects:
            text = f"{recent} orders rejected in {self.cfg.rejects_window_s:.0f} s"
            self.notifier.notify(Alert("rejects", symbol, text))

    def _check_budget(self) -> None:
        client = None if self.advisors is None else self.advisors.client
        if client is None:
            return
        exhausted = client.ledger.outcomes.get("budget_exhausted", 0)
        if exhausted > self._budget_exhausted:
            self.notifier.notify(
                Alert(
                    "llm_budget", "run", "LLM budget exhausted: advice is neutral until it refills"
                )
            )
        self._budget_exhausted = exhausted

    def summary(self) -> str:
        """One line: equity, fills and each symbol's position and state."""
        t = self.trader
        parts = [f"equity {t.portfolio.equity:.2f}"]
        for symbol, engine in t.engines.items():
            pos = t.portfolio.position(symbol)
            parts.append(
                f"{symbol} pos {pos.qty:g} pnl {pos.net:.2f} fills {engine.fills} "
                f"{engine.risk.state.value}"
            )
        return "; ".join(parts)
