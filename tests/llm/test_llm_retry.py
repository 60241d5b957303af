"""§8 status-error and connection scenarios: attempts, waits, outcomes, latches, billing."""

from __future__ import annotations

import pytest

from mmcore.llm.errors import AdvisorLatched, RelayError
from mmcore.testing import fake_relay as fr

from .conftest import TEST_KEY, MakeClient, skipped

MESSAGES = [{"role": "user", "content": "Reply with JSON."}]
OK = fr.completion('{"action": "hold"}')


def models_asked(relay: fr.FakeRelay) -> list[str]:
    return [r.body["model"] for r in relay.chat_requests]


async def test_valid_reply_records_gateway_cost(relay: fr.FakeRelay, make_client: MakeClient):
    client = await make_client()
    done = await client.complete("signal", MESSAGES)
    assert done.reply.content == '{"action": "hold"}'
    assert (done.attempts, done.served_model, done.cost_source) == (1, "deepseek/v3-2", "gateway")
    assert done.cost_usd == pytest.approx(0.00031)
    assert client.budget.spent_hour() == pytest.approx(0.00031)
    assert client.budget.reserved == 0
    request = relay.chat_requests[0]
    assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
    # structured_outputs is listed for the model, so a strict json_schema is asked for.
    assert relay.chat_requests[0].body["max_tokens"] == 400


async def test_429_retry_after_seconds_is_honoured(relay: fr.FakeRelay, make_client: MakeClient):
    relay.script(fr.error(429, headers=[("retry-after", "2")]), OK)
    client = await make_client()
    done = await client.complete("signal", MESSAGES)
    assert done.attempts == 2
    assert skipped(client) == [2.0]
    assert models_asked(relay) == ["deepseek/v3-2", "deepseek/v3-2"]
    assert client.ledger.errors["http_429"] == 1


async def test_429_retry_after_ms_is_honoured(relay: fr.FakeRelay, make_client: MakeClient):
    relay.script(fr.error(429, headers=[("retry-after-ms", "250"), ("retry-after", "9")]), OK)
    client = await make_client()
    done = await client.complete("signal", MESSAGES)
    assert done.attempts == 2
    assert skipped(client) == [0.25]


async def test_retry_after_above_cap_skips_to_next_model(
    relay: fr.FakeRelay, make_client: MakeClient
):
    relay.script(fr.error(429, headers=[("retry-after", "300")]), OK)
    client = await make_client()
    done = await client.complete("signal", MESSAGES)
    assert done.attempts == 2
    assert skipped(client) == []  # nobody waited 300 s
    assert models_asked(relay) == ["deepseek/v3-2", "google/gemini-2.5-flash"]


@pytest.mark.parametrize(
    "step",
    [
        fr.error(
            429,
            {
                "error": {
                    "message": "You exceeded your current quota",
                    "type": "insufficient_quota",
                    "param": None,
                    "code": "insufficient_quota",
                }
            },
        ),
        fr.error(
            402,
            {
                "error": {
                    "code": 402,
                    "message": "Insufficient credits",
                    "metadata": {"limit_source": "openrouter_credits"},
                }
            },
        ),
        fr.error(
            401,
            {
                "error": {
                    "message": "Incorrect API key provided",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            },
        ),
        fr.error(400),
        fr.error(403),
        fr.error(422),
    ],
    ids=["insufficient_quota", "402", "401", "400", "403", "422"],
)
async def test_terminal_errors_latch_without_retry(
    relay: fr.FakeRelay, make_client: MakeClient, step: fr.Step
):
    relay.script(step)
    client = await make_client()
    with pytest.raises(AdvisorLatched) as caught:
        await client.complete("signal", MESSAGES)
    assert len(relay.chat_requests) == 1
    assert skipped(client) == []
    assert client.latched("signal") is not None
    assert TEST_KEY not in str(caught.value)
    # Latched: no request goes out until an operator resets, and the other role still works.
    with pytest.raises(AdvisorLatched):
        await client.complete("signal", MESSAGES)
    assert len(relay.chat_requests) == 1
    await client.complete("risk", MESSAGES)
    client.reset_latch("signal")
    assert (await client.complete("signal", MESSAGES)).attempts == 1
    assert client.ledger.outcomes["terminal"] == 1
    assert client.budget.reserved == 0


@pytest.mark.parametrize(
    "step",
    [
        fr.error(408),
        fr.error(500),
        fr.error(502),
        fr.error(503),
        fr.html_error(500),
        fr.html_error(502),
        fr.html_error(503),
    ],
    ids=["408", "500", "502", "503", "500-html", "502-html", "503-html"],
)
async def test_transient_errors_back_off_then_succeed(
    relay: fr.FakeRelay, make_client: MakeClient, step: fr.Step
):
    relay.script(step, OK)
    client = await make_client()
    done = await client.complete("signal", MESSAGES)
    assert done.attempts == 2
    (wait,) = skipped(client)
    assert 0.25 <= wait <= 0.5  # base 0.5 s with up to 50 % jitter
    assert client.ledger.errors[f"http_{step.status}"] == 1
    assert client.latched("signal") is None


async def test_attempt_budget_is_shared_by_retries_and_fallbacks(
    relay: fr.FakeRelay, make_client: MakeClient
):
    relay.default = fr.error(503)
    client = await make_client()
    with pytest.raises(RelayError) as caught:
        await client.complete("signal", MESSAGES)
    # 4 attempts in total: the primary gets 1 + 2 retries, the fallback the last one.
    assert models_asked(relay) == ["deepseek/v3-2"] * 3 + ["google/gemini-2.5-flash"]
    assert caught.value.error_class == "http_503"
    assert len(skipped(client)) == 2
    assert client.ledger.outcomes["failed"] == 1
    assert client.budget.reserved == 0 and client.budget.spent_hour() == 0


async def test_x_should_retry_false_moves_to_fallback(relay: fr.FakeRelay, make_client: MakeClient):
    relay.script(fr.error(503, headers=[("x-should-retry", "false")]))
    client = await make_client()
    done = await client.complete("signal", MESSAGES)
    assert models_asked(relay) == ["deepseek/v3-2", "google/gemini-2.5-flash"]
    assert (done.served_model, done.attempts) == ("google/gemini-2.5-flash", 2)


async def test_accept_but_never_answer_hits_first_byte_limit(
    relay: fr.FakeRelay, make_client: MakeClient
):
    relay.script(fr.hang(), OK)
    client = await make_client(timeouts={"first_byte_s": 0.2})
    done = await client.complete("signal", MESSAGES)
    assert done.attempts == 2
    assert client.ledger.errors["timeout_first_byte"] == 1
    # A timed-out non-streaming request may still be billed: its estimate stays spent.
    assert client.budget.spent_hour() > done.cost_usd


async def test_headers_then_silence_ends_at_the_deadline(
    relay: fr.FakeRelay, make_client: MakeClient
):
    relay.default = fr.headers_then_silence()
    client = await make_client(timeouts={"deadline_s": 0.4, "first_byte_s": 0.3})
    with pytest.raises(RelayError) as caught:
        await client.complete("signal", MESSAGES)
    assert caught.value.error_class == "timeout_deadline"
    assert len(relay.chat_requests) == 1
    assert client.ledger.outcomes["failed"] == 1


async def test_trickle_past_the_deadline_is_cut(relay: fr.FakeRelay, make_client: MakeClient):
    relay.default = fr.trickle(0.05)
    client = await make_client(timeouts={"deadline_s": 0.4, "first_byte_s": 0.3})
    with pytest.raises(RelayError) as caught:
        await client.complete("signal", MESSAGES)
    assert caught.value.error_class == "timeout_deadline"
    assert len(relay.chat_requests) == 1


async def test_connection_reset_mid_body_is_retried(relay: fr.FakeRelay, make_client: MakeClient):
    relay.script(fr.reset_mid_body(), OK)
    client = await make_client()
    done = await client.complete("signal", MESSAGES)
    assert done.attempts == 2
    assert client.ledger.errors["connection"] == 1


async def test_error_inside_a_200_body_is_transient(relay: fr.FakeRelay, make_client: MakeClient):
    relay.script(
        fr.json_step({"error": {"code": 502, "message": "Provider returned error"}}),
        fr.completion(None, finish_reason="error", choice_error={"code": 502, "message": "x"}),
        OK,
    )
    client = await make_client()
    done = await client.complete("signal", MESSAGES)
    assert done.attempts == 3
    assert client.ledger.errors["body_error"] == 2


async def test_substituted_model_is_recorded_and_priced(
    relay: fr.FakeRelay, make_client: MakeClient
):
    usage = {"prompt_tokens": 1000, "completion_tokens": 100}
    relay.script(fr.completion('{"action": "hold"}', model="openai/gpt-4.1", usage=usage))
    client = await make_client()
    done = await client.complete("signal", MESSAGES)
    assert (done.requested_model, done.served_model) == ("deepseek/v3-2", "openai/gpt-4.1")
    # No gateway cost: priced from the /models listing of the model that actually served.
    assert done.cost_source == "price_table"
    assert done.cost_usd == pytest.approx(1000 * 0.000002 + 100 * 0.000008)
    assert client.ledger.models["openai/gpt-4.1"].calls == 1


async def test_missing_usage_means_unknown_cost_not_zero(
    relay: fr.FakeRelay, make_client: MakeClient
):
    relay.script(fr.completion('{"action": "hold"}', usage=None))
    client = await make_client()
    done = await client.complete("signal", MESSAGES)
    assert done.cost_usd is None and done.cost_source == "unknown"
    assert client.ledger.models["deepseek/v3-2"].unknown_cost_calls == 1
    # The budget keeps the reserved estimate rather than pretending the call was free.
    assert client.budget.spent_hour() > 0


async def test_non_json_200_body_is_transient(relay: fr.FakeRelay, make_client: MakeClient):
    relay.script(fr.Step(200, (("content-type", "application/json"),), (b"<html>oops",)), OK)
    client = await make_client()
    done = await client.complete("signal", MESSAGES)
    assert done.attempts == 2 and client.ledger.errors["malformed_body"] == 1
