"""Running mmcore unattended: Prometheus metrics, health and control over HTTP, webhook
alerts and structured logs (see README "Operating it")."""

from mmcore.ops.config import AlertsConfig, OpsConfig, WebhookConfig

__all__ = ["AlertsConfig", "OpsConfig", "WebhookConfig"]
