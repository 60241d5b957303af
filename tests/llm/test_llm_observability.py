"""Per-call records, the usage summary, error classification, and no secrets in logs."""

from __future__ import annotations

import logging

import pytest

from mmcore.llm.errors import ErrorKind, RelayError, classify_http_error, parse_retry_after
from mmcore.llm.usage import format_usage_summary
from mmcore.testing import fake_relay as fr

from .conftest import TEST_KEY, MakeClient

MESSAGES = [{"role": "user", "content": "Reply with JSON."}]


async def test_call_record_and_summary(relay: fr.FakeRelay, make_client: MakeClient):
    relay.script(
        fr.error(502),
        fr.completion("{}", model="google/gemini-2.5-flash"),
        fr.completion("{}", usage=None),
    )
    client = await make_client()
    await client.complete("signal", MESSAGES)
    rec = client.ledger.last
    assert rec is not None
    assert (rec.role, rec.requested_model, rec.served_model) == (
        "signal",
        "deepseek/v3-2",
        "google/gemini-2.5-flash",
    )
    assert (rec.outcome, rec.attempts, rec.prompt_tokens, rec.completion_tokens) == (
        "ok",
        2,
        812,
        41,
    )
    assert rec.cost_usd == pytest.approx(0.00031) and rec.cost_source == "gateway"
    assert rec.ttfb_s is not None and rec.latency_s >= rec.ttfb_s
    await client.complete("signal", MESSAGES)
    summary = client.ledger.summary()
    assert summary["models"]["deepseek/v3-2"]["unknown_cost_calls"] == 1
    assert summary["models"]["google/gemini-2.5-flash"]["calls"] == 1
    assert summary["errors"] == {"http_502": 1} and summary["outcomes"] == {"ok": 2}
    text = format_usage_summary(client.ledger)
    assert "google/gemini-2.5-flash: 1 calls, 812 in / 41 out tokens, $0.000310" in text
    assert "+1 calls of unknown cost" in text and "http_502=1" in text


async def test_no_secret_in_logs(
    relay: fr.FakeRelay, make_client: MakeClient, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    relay.script(fr.error(503), fr.error(401))
    client = await make_client()
    with pytest.raises(Exception, match="latched"):
        await client.complete("signal", MESSAGES)
    assert caplog.records  # the failure was logged...
    assert all(TEST_KEY not in r.getMessage() for r in caplog.records)  # ...without the key


@pytest.mark.parametrize(
    ("status", "headers", "body", "kind"),
    [
        (
            402,
            {"retry-after": "3"},
            {"error": {"code": 402, "metadata": {"limit_source": "openrouter_in_flight_budget"}}},
            ErrorKind.TRANSIENT,
        ),
        (
            402,
            {},
            {"error": {"code": 402, "metadata": {"limit_source": "openrouter_credits"}}},
            ErrorKind.TERMINAL,
        ),
        (
            429,
            {},
            {"error": {"code": "rate_limit_exceeded", "type": "requests"}},
            ErrorKind.TRANSIENT,
        ),
        (429, {}, {"error": {"type": "insufficient_quota", "code": None}}, ErrorKind.TERMINAL),
        (
            404,
            {},
            {"error": {"code": 404, "message": "No endpoints available"}},
            ErrorKind.SKIP_MODEL,
        ),
        (503, {"x-should-retry": "false"}, None, ErrorKind.SKIP_MODEL),
        (504, {}, None, ErrorKind.TRANSIENT),
    ],
)
def test_classification(status: int, headers: dict, body: object, kind: ErrorKind):
    err = classify_http_error(status, headers, body)
    assert isinstance(err, RelayError) and err.kind is kind and err.status == status


def test_retry_after_parsing():
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    date = {"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}  # an HTTP-date, 1792567680 Unix
    assert parse_retry_after(date, wall_now=1792567677.5) == 2.5
    assert parse_retry_after(date, wall_now=1792567690.0) == 0.0  # already past: no wait
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({"retry-after": "-1"}) is None
