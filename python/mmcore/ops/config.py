"""``[ops]``: where the metrics/control server listens, the control token, the alerts.

Validated by :func:`mmcore.config.build` (errors name the field, ``MMCORE_OPS_*`` variables
override). Secrets are never in the file: the control token and each webhook's URL (Slack and
Telegram URLs carry credentials) are read from the environment variables the file names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from mmcore.config import bounded

__all__ = ["PRESETS", "AlertsConfig", "OpsConfig", "WebhookConfig"]

#: Webhook payload shapes: a generic JSON object, or what Slack, Discord and Telegram take.
PRESETS = ("generic", "slack", "discord", "telegram")


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """One webhook: ``url_env`` names the variable holding its URL; ``preset`` its payload
    shape; ``chat_id`` the Telegram chat (Telegram's ``sendMessage`` needs one)."""

    url_env: str
    preset: str = bounded("generic", choices=PRESETS)
    chat_id: str = ""


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    """When to alert and how often at most.

    Alerts: a halt (operator, portfolio limit, the session stop), a kill-switch trip, a feed
    that has not been safe to quote for ``feed_lost_s``, ``rejects`` order rejects within
    ``rejects_window_s``, the LLM budget exhausted, and a summary every ``summary_every_s``
    (0: none). The same alert (kind and subject) is sent at most once per
    ``dedup_s``; at most ``max_per_minute`` are sent in any minute (the rest are counted as
    dropped); at most ``queue`` wait, each delivery gives up after ``timeout_s``.
    """

    webhooks: Mapping[str, WebhookConfig] = bounded(default_factory=lambda: MappingProxyType({}))
    check_every_s: float = bounded(0.5, gt=0)
    feed_lost_s: float = bounded(30.0, gt=0)
    rejects: int = bounded(20, ge=1)
    rejects_window_s: float = bounded(60.0, gt=0)
    summary_every_s: float = bounded(86_400.0, ge=0)
    dedup_s: float = bounded(300.0, ge=0)
    max_per_minute: int = bounded(20, ge=1)
    queue: int = bounded(100, ge=1, le=10_000)
    timeout_s: float = bounded(5.0, gt=0)


@dataclass(frozen=True, slots=True)
class OpsConfig:
    """The metrics, health and control server (one port) and the alerts.

    ``bind`` is loopback unless set otherwise; ``metrics_port`` 0 lets the OS choose.
    ``token_env`` names the variable holding the bearer token of ``POST /halt``, ``/resume``
    and ``/flatten`` (unset: control is refused). ``enabled = false`` turns it all off.
    """

    enabled: bool = True
    bind: str = "127.0.0.1"
    metrics_port: int = bounded(9464, ge=0, le=65_535)
    token_env: str = "MMCORE_OPS_TOKEN"
    loop_lag_every_s: float = bounded(0.25, gt=0)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
