"""The notifier's dedup, rate limit, bounded queue and payload presets, delivering to a real
loopback receiver; webhook URLs never shown."""

from __future__ import annotations

import asyncio
import logging

import pytest
from tests.ops.webhook_receiver import Receiver

from mmcore.config import ConfigError
from mmcore.ops.alerts import Alert, Notifier, Webhook, payload, webhooks_from
from mmcore.ops.config import AlertsConfig, WebhookConfig


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_presets_shape_the_payload():
    a = Alert("halt", "BTCUSDT", "halted (operator)", "critical")
    assert payload(a, "slack", run_id="r1") == {
        "text": "[mmcore r1] CRITICAL halt BTCUSDT: halted (operator)"
    }
    assert payload(a, "discord", run_id="r1") == {
        "content": "[mmcore r1] CRITICAL halt BTCUSDT: halted (operator)"
    }
    assert payload(a, "telegram", run_id="r1", chat_id="42") == {
        "chat_id": "42",
        "text": "[mmcore r1] CRITICAL halt BTCUSDT: halted (operator)",
    }
    generic = payload(a, "generic", run_id="r1")
    assert {k: generic[k] for k in ("run_id", "kind", "subject", "severity", "text")} == {
        "run_id": "r1",
        "kind": "halt",
        "subject": "BTCUSDT",
        "severity": "critical",
        "text": "halted (operator)",
    }


def test_dedup_rate_limit_and_a_full_queue_drop_and_count():
    clock = Clock()
    cfg = AlertsConfig(dedup_s=60.0, max_per_minute=3, queue=10)
    n = Notifier(cfg, [], run_id="r", clock=clock)
    assert n.notify(Alert("halt", "A", "x"))
    assert not n.notify(Alert("halt", "A", "x again"))  # same kind and subject
    assert n.notify(Alert("halt", "B", "x"))
    assert n.notify(Alert("rejects", "A", "x"))
    assert not n.notify(Alert("feed_lost", "A", "x"))  # fourth in the minute
    assert n.dropped == {"duplicate": 1, "rate_limited": 1}
    clock.t = 61.0  # a new minute; the duplicate window is over too
    assert n.notify(Alert("halt", "A", "x"))
    small = Notifier(AlertsConfig(queue=1, dedup_s=0), [], run_id="r", clock=clock)
    assert small.notify(Alert("halt", "A", "x"))
    assert not small.notify(Alert("halt", "B", "x"))  # nobody drains it: full, not blocked
    assert small.dropped["queue_full"] == 1


async def test_each_alert_is_delivered_once_to_every_webhook():
    async with Receiver() as one, Receiver() as two:
        hooks = [Webhook("one", one.url, "generic"), Webhook("two", two.url, "discord")]
        n = Notifier(AlertsConfig(dedup_s=300.0), hooks, run_id="r")
        task = asyncio.create_task(n.run())
        try:
            for _ in range(3):
                n.notify(Alert("kill_switch", "ETHUSDT", "tripped"))
            n.notify(Alert("halt", "ETHUSDT", "halted"))
            for _ in range(100):
                if n.sent == 4:
                    break
                await asyncio.sleep(0.02)
        finally:
            task.cancel()
    assert n.sent == 4 and n.failed == 0
    assert [b["kind"] for b in one.bodies] == ["kill_switch", "halt"]
    assert [b["content"].split()[3] for b in two.bodies] == ["kill_switch", "halt"]


async def test_a_failing_webhook_is_counted_and_its_url_never_shown(caplog):
    secret = "http://127.0.0.1:9/services/T000/B000/very-secret-path"
    hook = Webhook("oncall", secret, "slack")
    assert "very-secret" not in repr(hook)
    n = Notifier(AlertsConfig(timeout_s=1.0), [hook], run_id="r")
    task = asyncio.create_task(n.run())
    caplog.set_level(logging.DEBUG, logger="mmcore")
    try:
        n.notify(Alert("halt", "A", "x"))
        for _ in range(100):
            if n.failed:
                break
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
    assert n.failed == 1 and n.sent == 0
    assert "very-secret" not in caplog.text and "oncall" in caplog.text


def test_webhooks_come_from_the_environment_with_named_errors():
    cfg = AlertsConfig(
        webhooks={
            "s": WebhookConfig(url_env="HOOK_S", preset="slack"),
            "t": WebhookConfig(url_env="HOOK_T", preset="telegram", chat_id="7"),
        }
    )
    hooks = webhooks_from(cfg, {"HOOK_S": "https://x/s", "HOOK_T": "https://x/t"})
    assert [(h.name, h.url, h.chat_id) for h in hooks] == [
        ("s", "https://x/s", ""),
        ("t", "https://x/t", "7"),
    ]
    with pytest.raises(ConfigError, match=r'ops.alerts.webhooks."t".url_env: HOOK_T is not set'):
        webhooks_from(cfg, {"HOOK_S": "https://x/s"})
    no_chat = AlertsConfig(webhooks={"t": WebhookConfig(url_env="H", preset="telegram")})
    with pytest.raises(ConfigError, match=r'webhooks."t".chat_id'):
        webhooks_from(no_chat, {"H": "https://x"})
