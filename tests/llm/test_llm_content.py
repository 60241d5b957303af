"""§8 content scenarios through the relay, and the validation rules behind them."""

from __future__ import annotations

import json

import pytest

from mmcore.advisors.advice import Advice
from mmcore.advisors.llm_advisor import LLMAdvisor
from mmcore.advisors.schema import RISK_FIELDS, SIGNAL_FIELDS
from mmcore.advisors.validate import AdviceRejected, extract_json_object, validate_advice
from mmcore.testing import fake_relay as fr

from .conftest import MakeClient

FEATURES = {
    "mid": 100.0,
    "spread_bps": 4.0,
    "microprice": 100.01,
    "imbalance": 0.4,
    "volatility_bps": 20.0,
    "vpin": 0.35,
    "inventory": 0.1,
    "pnl": 12.0,
}
SIGNAL = {"action": "bid", "spread_bps": 60, "quantity_factor": 1.2, "confidence": 0.7}
RISK = {
    "risk_score": 0.3,
    "max_position": 0.7,
    "spread_adjustment_bps": 4,
    "toxic_flow_probability": 0.1,
    "circuit_breaker": False,
}


async def ask(make_client: MakeClient, kind: str = "signal", previous: Advice | None = None):
    client = await make_client()
    advisor = LLMAdvisor(kind, client, ttl_s=60)
    return await advisor.advise("BTCUSDT", FEATURES, previous)


async def test_valid_json_becomes_advice(relay: fr.FakeRelay, make_client: MakeClient):
    relay.script(fr.completion(json.dumps(SIGNAL)))
    outcome = await ask(make_client)
    assert outcome.status == "ok"
    assert outcome.advice is not None
    assert dict(outcome.advice.values) == {**SIGNAL, "spread_bps": 60.0, "quantity_factor": 1.2}
    assert outcome.advice.source == "llm:deepseek/v3-2" and outcome.advice.flags == ()
    body = relay.chat_requests[0].body
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["provider"] == {"require_parameters": True}
    assert '"features"' in body["messages"][1]["content"]


async def test_fenced_json_is_extracted(relay: fr.FakeRelay, make_client: MakeClient):
    relay.script(fr.completion("```json\n" + json.dumps(RISK) + "\n```"))
    outcome = await ask(make_client, "risk")
    assert outcome.status == "ok"
    assert outcome.advice is not None and outcome.advice.values["risk_score"] == 0.3


async def test_prose_around_json_is_stripped(relay: fr.FakeRelay, make_client: MakeClient):
    relay.script(fr.completion("Sure! Here is my advice:\n" + json.dumps(SIGNAL) + "\nGood luck."))
    outcome = await ask(make_client)
    assert outcome.status == "ok"


async def test_prose_without_json_is_no_advice(relay: fr.FakeRelay, make_client: MakeClient):
    relay.default = fr.completion("I think you should hold for now.")
    outcome = await ask(make_client)
    assert (outcome.advice, outcome.status) == (None, "rejected")
    assert len(relay.chat_requests) == 2  # asked, then re-asked exactly once


async def test_invalid_reply_is_re_asked_once_with_the_error(
    relay: fr.FakeRelay, make_client: MakeClient
):
    relay.script(
        fr.completion(json.dumps({**SIGNAL, "action": "buy"})), fr.completion(json.dumps(SIGNAL))
    )
    outcome = await ask(make_client)
    assert outcome.status == "ok"
    messages = relay.chat_requests[1].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert '"buy"' in messages[2]["content"]
    assert messages[3]["content"].startswith("Invalid reply: action: expected one of")


async def test_small_excursion_is_clamped_and_flagged(relay: fr.FakeRelay, make_client: MakeClient):
    relay.script(fr.completion(json.dumps({**SIGNAL, "spread_bps": 230, "quantity_factor": 0.25})))
    outcome = await ask(make_client)
    assert outcome.advice is not None
    assert outcome.advice.values["spread_bps"] == 200.0
    assert outcome.advice.values["quantity_factor"] == 0.3
    assert outcome.advice.flags == ("clamped:spread_bps", "clamped:quantity_factor")


async def test_out_of_range_value_is_rejected(relay: fr.FakeRelay, make_client: MakeClient):
    relay.default = fr.completion(json.dumps({**RISK, "risk_score": 7.5}))
    outcome = await ask(make_client, "risk")
    assert (outcome.advice, outcome.status) == (None, "rejected")
    assert "risk_score" in outcome.detail


async def test_length_finish_with_truncated_json_is_no_advice(
    relay: fr.FakeRelay, make_client: MakeClient
):
    relay.script(fr.completion('{"action": "bid", "spread_bps": 6', finish_reason="length"))
    outcome = await ask(make_client)
    assert (outcome.advice, outcome.status) == (None, "finish_length")


async def test_empty_content_with_reasoning_is_no_advice(
    relay: fr.FakeRelay, make_client: MakeClient
):
    relay.script(fr.completion("", reasoning="Let me think about the spread..."))
    outcome = await ask(make_client)
    assert (outcome.advice, outcome.status, outcome.detail) == (None, "empty", "reasoning only")


async def test_refusal_is_no_advice(relay: fr.FakeRelay, make_client: MakeClient):
    relay.script(fr.completion(None, refusal="I can't help with trading decisions."))
    outcome = await ask(make_client)
    assert (outcome.advice, outcome.status) == (None, "refusal")


async def test_content_filter_is_no_advice(relay: fr.FakeRelay, make_client: MakeClient):
    relay.script(fr.completion(json.dumps(SIGNAL), finish_reason="content_filter"))
    outcome = await ask(make_client)
    assert (outcome.advice, outcome.status) == (None, "finish_content_filter")


async def test_step_change_is_limited_against_previous(
    relay: fr.FakeRelay, make_client: MakeClient
):
    relay.script(fr.completion(json.dumps({**SIGNAL, "spread_bps": 190})))
    client = await make_client()
    advisor = LLMAdvisor("signal", client, ttl_s=60)
    previous = Advice(
        "signal",
        "BTCUSDT",
        {**SIGNAL, "spread_bps": 40.0, "quantity_factor": 1.2},
        client.clock.now(),
        60,
        "rules",
    )
    outcome = await advisor.advise("BTCUSDT", FEATURES, previous)
    assert outcome.advice is not None
    assert outcome.advice.values["spread_bps"] == 90.0  # 40 + max_step 50
    assert "step_limited:spread_bps" in outcome.advice.flags


async def test_relay_failure_is_no_advice(relay: fr.FakeRelay, make_client: MakeClient):
    relay.default = fr.error(500)
    outcome = await ask(make_client)
    assert (outcome.advice, outcome.status) == (None, "relay_error")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"action": "bid", "action": "ask"}', "duplicate key"),
        (
            '{"action": "bid", "spread_bps": NaN, "quantity_factor": 1, "confidence": 1}',
            "non-finite",
        ),
        ('{"action": "buy", "spread_bps": 50, "quantity_factor": 1, "confidence": 1}', "action"),
        (
            '{"action": "bid", "spread_bps": "50", "quantity_factor": 1, "confidence": 1}',
            "finite number",
        ),
        ('{"action": "bid", "spread_bps": 50, "quantity_factor": 1}', "missing field"),
        (
            '{"action": "bid", "spread_bps": 50, "quantity_factor": 1, "confidence": 1, "x": 1}',
            "unknown field",
        ),
        (
            '{"action": "bid", "spread_bps": 50, "quantity_factor": true, "confidence": 1}',
            "finite number",
        ),
        (
            '{"action": "bid", "spread_bps": 50, "quantity_factor": 1, "confidence": -0.2}',
            "far below",
        ),
        ('{"action": "bid", "spread_bps": 5, "quantity_factor": 1, "confidence": 1}', "far below"),
        ("[1, 2]", "no JSON object"),
    ],
)
def test_strict_parse_rejects(text: str, reason: str):
    with pytest.raises(AdviceRejected, match=reason):
        validate_advice(text, SIGNAL_FIELDS)


def test_risk_bool_and_negative_bounds():
    ok = validate_advice(json.dumps({**RISK, "spread_adjustment_bps": -70}), RISK_FIELDS)
    assert ok.values["spread_adjustment_bps"] == -50.0 and ok.flags == (
        "clamped:spread_adjustment_bps",
    )
    with pytest.raises(AdviceRejected, match="far below"):
        validate_advice(json.dumps({**RISK, "spread_adjustment_bps": -120}), RISK_FIELDS)
    with pytest.raises(AdviceRejected, match="true or false"):
        validate_advice(json.dumps({**RISK, "circuit_breaker": 1}), RISK_FIELDS)


def test_extract_ignores_braces_inside_strings():
    text = 'note: {"a": "}{", "b": {"c": 1}} trailing {'
    assert extract_json_object(text) == '{"a": "}{", "b": {"c": 1}}'
