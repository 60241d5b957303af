"""The ops endpoints against a running demo (simulated market, real feeds, paper venue) over
real HTTP, with a loopback webhook receiver."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.ops.webhook_receiver import Receiver
from tests.report.conftest import offline_run

from mmcore.demo import run_demo
from mmcore.ops.config import AlertsConfig, OpsConfig, WebhookConfig
from mmcore.ops.runtime import OpsRuntime
from mmcore.runner import RunOptions
from mmcore.stopping import StopSignals
from mmcore.testing.fake_relay import FakeRelay, html_error
from mmcore.testing.trading import quote_config, risk_config
from mmcore.trader import SymbolSetup

TOKEN = "test-ops-token-not-a-secret"
DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "mmcore.json"
TIMEOUT_S = 60.0


def relay_env(relay: FakeRelay) -> dict[str, str]:
    """The LLM settings of a run whose advisors ask ``relay``."""
    return {
        "MMCORE_LLM_BASE_URL": relay.base_url,
        "MMCORE_LLM_API_KEY": "sk-test-not-a-real-key",
        "MMCORE_LLM_ADVISOR_MIN_INTERVAL_S": "0",
        "MMCORE_LLM_MODELS_SIGNAL": "deepseek/v3-2",
        "MMCORE_LLM_MODELS_RISK": "deepseek/v3-2",
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + TIMEOUT_S
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)  # polls the endpoint


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def _with_demo(
    tmp_path: Path,
    alerts: AlertsConfig,
    body: Callable[[httpx.AsyncClient], Awaitable[None]],
    env: dict[str, str] | None = None,
) -> None:
    """Run the demo with ops on a free port, run ``body`` against it, then stop the run
    (``env``: the LLM configuration's environment)."""
    port = _free_port()
    options = RunOptions(
        tmp_path / "run",
        duration_s=None,
        headless=True,
        ops=OpsConfig(metrics_port=port, alerts=alerts),
    )
    stop = StopSignals()
    base = f"http://127.0.0.1:{port}"

    async def drive() -> None:
        try:
            async with httpx.AsyncClient(base_url=base, timeout=10.0) as client:
                await body(client)
        finally:
            stop.receive(2)  # SIGINT: the run ends either way

    driver = asyncio.create_task(drive())
    await run_demo(options, speed=10, stop=stop, env=env)
    await driver  # re-raises the body's assertion


async def test_endpoints_metrics_control_and_alerts_on_a_running_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("MMCORE_OPS_TOKEN", TOKEN)
    async with Receiver() as receiver:
        monkeypatch.setenv("TEST_HOOK_URL", receiver.url)
        alerts = AlertsConfig(
            webhooks={"hook": WebhookConfig(url_env="TEST_HOOK_URL")},
            check_every_s=0.1,
            summary_every_s=0,
        )
        seen: dict[str, Any] = {}
        relay = FakeRelay()  # the advisors call a relay: the LLM metrics have values
        relay.script(html_error(502))  # one failed attempt, so errors have a kind

        async def body(client: httpx.AsyncClient) -> None:
            async def up() -> bool:
                try:
                    return (await client.get("/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await _until(up, "/health")

            async def ready() -> bool:
                return (await client.get("/ready")).status_code == 200

            await _until(ready, "/ready")
            scrape = await client.get("/metrics")
            assert scrape.headers["content-type"].startswith("text/plain")

            # a scrape taken while every symbol quotes (on a loaded machine a book can turn
            # stale for a moment between two requests: wait for a moment when none is)
            async def all_active_scrape() -> bool:
                text = (await client.get("/metrics")).text
                status = (await client.get("/status")).json()["symbols"]
                seen["scrape"], seen["scrape_status"] = text, status
                return all(x["risk"]["state"] == "active" for x in status.values()) and all(
                    _samples(text).get(
                        (
                            "mmcore_risk_state",
                            tuple(
                                sorted(
                                    {"venue": x["venue"], "symbol": sym, "state": "active"}.items()
                                )
                            ),
                        )
                    )
                    == 1.0
                    for sym, x in status.items()
                )

            await _until(all_active_scrape, "a scrape with every symbol active")
            symbols = seen["scrape_status"]

            # refused without the token, or with a wrong one: nothing changes
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                refused = await client.post("/halt", headers=headers)
                assert refused.status_code == 401 and TOKEN not in refused.text
            assert (await client.post("/flatten")).status_code == 401
            after = (await client.get("/status")).json()["symbols"]
            assert all("operator" not in s["risk"]["reasons"] for s in after.values())
            assert (await client.get("/halt")).status_code == 405

            auth = {"Authorization": f"Bearer {TOKEN}"}
            halted = await client.post("/halt", headers=auth)
            assert halted.status_code == 200
            assert set(halted.json()["result"].values()) == {"halted"}
            assert (await client.get("/ready")).status_code == 503

            async def quiet() -> bool:  # cancels landed: nothing works, nothing fills
                s = (await client.get("/status")).json()["symbols"]
                return all(x["orders"]["working"] == 0 for x in s.values())

            await _until(quiet, "cancels after the halt")
            await asyncio.sleep(0.5)  # the watcher looked again several times: one alert each
            status = (await client.get("/status")).json()
            metrics = _samples((await client.get("/metrics")).text)
            seen["halted_status"], seen["halted_metrics"] = status, metrics
            seen["alerts_after_halt"] = list(receiver.bodies)

            assert (await client.post("/resume", headers=auth)).status_code == 200

            async def active() -> bool:
                s = (await client.get("/status")).json()["symbols"]
                return all(x["risk"]["state"] == "active" for x in s.values())

            await _until(active, "resume")
            assert (await client.post("/flatten", headers=auth)).status_code == 200

            async def flat() -> bool:
                s = (await client.get("/status")).json()["symbols"]
                return all(
                    x["position"]["qty"] == 0 and x["risk"]["state"] == "halted" for x in s.values()
                )

            await _until(flat, "flat after /flatten")
            seen["symbols"] = symbols

        with relay:
            await _with_demo(tmp_path, alerts, body, relay_env(relay))

    # (not ready before the books sync: test_not_ready_before_the_books_sync, without a race)

    samples = _samples(seen["scrape"])
    for symbol, s in seen["symbols"].items():
        lv = {"venue": s["venue"], "symbol": symbol}
        assert _value(samples, "mmcore_book_state", **lv, state="synced") == 1.0
        assert _value(samples, "mmcore_risk_state", **lv, state="active") == 1.0
        assert _value(samples, "mmcore_orders_placed_total", **lv) > 0
    assert _value(samples, "mmcore_quotes_total") > 0
    assert _value(samples, "mmcore_tick_to_quote_seconds_count") > 0
    assert _value(samples, "mmcore_tick_to_quote_seconds_bucket", le="+Inf") == _value(
        samples, "mmcore_tick_to_quote_seconds_count"
    )

    # halted and quiet: the scrape and the status agree exactly
    metrics, status = seen["halted_metrics"], seen["halted_status"]
    for symbol, s in status["symbols"].items():
        lv = {"venue": s["venue"], "symbol": symbol}
        assert _value(metrics, "mmcore_risk_state", **lv, state="halted") == 1.0
        assert _value(metrics, "mmcore_fills_total", **lv) == s["orders"]["fills"]
        assert _value(metrics, "mmcore_orders_placed_total", **lv) == s["orders"]["placed"]
        assert _value(metrics, "mmcore_position", **lv) == s["position"]["qty"]
        assert _value(metrics, "mmcore_orders_working", **lv) == 0
        assert "operator" in s["risk"]["reasons"]
        # marks still move with the book while halted; realized PnL and fees do not
        assert _value(metrics, "mmcore_pnl_realized", **lv) == s["position"]["realized"]
        assert _value(metrics, "mmcore_fees", **lv) == s["position"]["fees"]

    # one halt alert per symbol, however many times the watcher looked
    halts = [b for b in seen["alerts_after_halt"] if b["kind"] == "halt"]
    assert sorted(b["subject"] for b in halts) == sorted(seen["symbols"])
    assert all(b["run_id"] == "run" and "operator" in b["text"] for b in halts)

    # every metric the Grafana dashboard draws exists in a real scrape (the later one: the
    # advisors' first relay call may come after the first scrape)
    names = {name for name, _ in seen["halted_metrics"]}
    exprs = [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p["targets"]]
    wanted = {m for e in exprs for m in re.findall(r"\b((?:mmcore|process)_[a-z0-9_]+)", e)}
    assert wanted and wanted <= names, sorted(wanted - names)


async def test_a_hanging_webhook_does_not_stall_quoting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    async with Receiver(hang=True) as receiver:
        monkeypatch.setenv("TEST_HOOK_URL", receiver.url)
        alerts = AlertsConfig(
            webhooks={"hook": WebhookConfig(url_env="TEST_HOOK_URL", preset="slack")},
            check_every_s=0.1,
            summary_every_s=0.2,  # an alert every 0.2 s, each delivery hangs until its timeout
            dedup_s=0,
            max_per_minute=1000,
            queue=3,
            timeout_s=1.0,
        )
        seen: dict[str, Any] = {}

        async def body(client: httpx.AsyncClient) -> None:
            async def quoted(n: float) -> bool:
                try:
                    text = (await client.get("/metrics")).text
                except httpx.TransportError:
                    return False
                return _value(_samples(text), "mmcore_quotes_total") > n

            await _until(lambda: quoted(0), "first quotes")
            await asyncio.sleep(3.0)  # summaries pile up behind the hanging receiver
            before = _value(_samples((await client.get("/metrics")).text), "mmcore_quotes_total")
            await _until(lambda: quoted(before + 100), "quotes while the webhook hangs")
            seen["metrics"] = _samples((await client.get("/metrics")).text)

        await _with_demo(tmp_path, alerts, body)
        assert receiver.bodies and "text" in receiver.bodies[0]  # the Slack shape

    m = seen["metrics"]
    assert _value(m, "mmcore_alerts_failed_total") >= 2  # each one timed out
    assert _value(m, "mmcore_alerts_dropped_total", reason="queue_full") > 0  # bounded queue
    assert _value(m, "mmcore_alerts_sent_total") == 0


async def test_not_ready_before_the_books_sync(tmp_path: Path):
    """``/ready`` answers 503 naming each unsynced book while the feed has not synced (here a
    feed that never connects), and ``/health`` is live meanwhile."""
    setup = SymbolSetup("BTCUSDT", "binance-spot", quote_config(), risk_config())
    run = await offline_run(tmp_path, setup)
    ops = OpsRuntime(OpsConfig(metrics_port=_free_port()), run.trader, advisors=run.runtime)
    try:
        async with ops, httpx.AsyncClient(base_url=ops.url, timeout=10.0) as client:
            assert (await client.get("/health")).status_code == 200
            ready = await client.get("/ready")
            body = ready.json()
            assert ready.status_code == 503 and not body["ready"]
            assert any("BTCUSDT" in why and "book" in why for why in body["not_ready"]), body
    finally:
        await run.report(tmp_path, "test")
