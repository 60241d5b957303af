"""Advice decay, the rules advisor, the advisor service, and an engine quoting while the relay
hangs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmcore.advisors import (
    Advice,
    AdviceOutcome,
    AdvisorService,
    LLMAdvisor,
    RulesAdvisor,
    build_advisor_service,
)
from mmcore.advisors.schema import fields_for
from mmcore.advisors.validate import validate_advice
from mmcore.execution import Trade
from mmcore.llm.clock import SkippingClock
from mmcore.testing import fake_relay as fr
from mmcore.testing.trading import SYMBOL, make_engine, session

from .conftest import MakeClient, llm_config

CALM = {
    "mid": 100.0,
    "spread_bps": 2.0,
    "microprice": 100.0,
    "imbalance": 0.0,
    "volatility_bps": 10.0,
    "vpin": 0.2,
    "inventory": 0.0,
    "pnl": 0.0,
}


async def until(predicate, rounds: int = 2000) -> None:
    """Yield to the loop until ``predicate()`` holds (bounded by rounds, not by time)."""
    for _ in range(rounds):
        if predicate():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition not reached")


class GatedAdvisor:
    """Counts calls in flight and answers only when released."""

    kind = "signal"

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.in_flight = 0
        self.peak = 0
        self.seen: list[Mapping[str, float]] = []

    async def advise(self, symbol, features, previous) -> AdviceOutcome:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        self.seen.append(features)
        await self.release.wait()
        self.release.clear()
        self.in_flight -= 1
        return AdviceOutcome(None, "relay_error")


def test_advice_decays_to_neutral():
    values = {"action": "bid", "spread_bps": 80.0, "quantity_factor": 2.0, "confidence": 0.8}
    advice = Advice("signal", "BTCUSDT", values, created=100.0, ttl_s=60.0, source="rules")
    assert advice.weight(100.0) == advice.weight(130.0) == 1.0
    assert advice.weight(145.0) == pytest.approx(0.5)
    assert advice.value("quantity_factor", 145.0) == pytest.approx(1.5)
    assert advice.value("spread_bps", 145.0, baseline=40.0) == pytest.approx(60.0)
    assert advice.value("action", 159.0) == "bid" and advice.value("action", 160.0) == "hold"
    assert advice.value("quantity_factor", 500.0) == 1.0
    with pytest.raises(ValueError, match="baseline"):
        advice.value("spread_bps", 101.0)
    with pytest.raises(KeyError):
        advice.value("risk_score", 101.0)


async def test_rules_advisor_reacts_to_toxic_flow():
    clock = SkippingClock()
    risk = RulesAdvisor("risk", ttl_s=30, clock=clock)
    calm = (await risk.advise("X", CALM, None)).advice
    toxic = (await risk.advise("X", {**CALM, "vpin": 0.9, "volatility_bps": 400}, None)).advice
    assert calm is not None and toxic is not None
    assert calm.values["circuit_breaker"] is False and toxic.values["circuit_breaker"] is True
    assert toxic.values["risk_score"] > calm.values["risk_score"]
    signal = RulesAdvisor("signal", ttl_s=30, clock=clock)
    long_inv = (await signal.advise("X", {**CALM, "inventory": 0.9}, None)).advice
    assert long_inv is not None and long_inv.values["action"] == "ask"
    assert (await signal.advise("X", CALM, None)).advice.values["action"] == "hold"


finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)


@settings(max_examples=60, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "mid": st.floats(0.01, 1e6),
            "spread_bps": finite,
            "microprice": finite,
            "imbalance": st.floats(-1, 1),
            "volatility_bps": st.floats(0, 1e4),
            "vpin": st.floats(0, 1),
            "inventory": st.floats(-2, 2),
            "pnl": finite,
        }
    ),
    st.sampled_from(["signal", "risk"]),
)
def test_rules_output_always_passes_the_llm_validation(features, kind):
    outcome = asyncio.run(RulesAdvisor(kind, ttl_s=30).advise("X", features, None))
    assert outcome.advice is not None
    checked = validate_advice(json.dumps(dict(outcome.advice.values)), fields_for(kind))
    assert checked.flags == ()  # rules never need clamping
    again = asyncio.run(RulesAdvisor(kind, ttl_s=30).advise("X", features, None))
    assert again.advice is not None and again.advice.values == outcome.advice.values


async def test_service_serves_rules_advice_and_skips_unchanged_features():
    clock = SkippingClock()
    advisors = [RulesAdvisor(k, ttl_s=60, clock=clock) for k in ("signal", "risk")]
    service = AdvisorService(advisors, min_interval_s=0, change_threshold=0.1, clock=clock)
    try:
        assert service.latest("BTCUSDT", clock.now()) == (None, None)
        service.submit("BTCUSDT", CALM)
        await until(lambda: service.stats["outcome_ok"] == 2)
        latest = service.latest("BTCUSDT", clock.now())
        assert latest.signal is not None and latest.risk is not None
        service.submit("BTCUSDT", {**CALM, "mid": 100.001})  # immaterial change
        await until(lambda: service.stats["skipped_unchanged"] == 2)
        assert service.stats["calls"] == 2
        service.submit("BTCUSDT", {**CALM, "vpin": 0.8})  # material change
        await until(lambda: service.stats["calls"] == 4)
        clock.advance(61)
        assert service.latest("BTCUSDT", clock.now()) == (None, None)  # expired → neutral
    finally:
        await service.stop()


async def test_service_keeps_one_call_in_flight_and_uses_newest_features():
    clock = SkippingClock()
    gated = GatedAdvisor()
    service = AdvisorService([gated], min_interval_s=0, change_threshold=0.0, clock=clock)
    try:
        service.submit("ETHUSDT", CALM)
        await until(lambda: gated.in_flight == 1)
        for i in range(50):
            service.submit("ETHUSDT", {**CALM, "mid": 101.0 + i})
        await asyncio.sleep(0.01)
        assert gated.peak == 1 and len(gated.seen) == 1
        gated.release.set()
        await until(lambda: len(gated.seen) == 2)
        assert gated.seen[1]["mid"] == 150.0  # coalesced: only the newest snapshot is asked
        assert gated.peak == 1
        gated.release.set()
    finally:
        await service.stop()


async def test_bad_features_are_skipped_not_fatal():
    service = AdvisorService([RulesAdvisor("risk", 60)], min_interval_s=0, change_threshold=0.1)
    try:
        service.submit("X", {**CALM, "vpin": float("nan")})
        await until(lambda: service.stats["bad_features"] == 1)
        service.submit("X", CALM)
        await until(lambda: service.stats["outcome_ok"] == 1)
    finally:
        await service.stop()


async def test_spent_budget_turns_advice_neutral(relay: fr.FakeRelay, make_client: MakeClient):
    risk = {
        "risk_score": 0.9,
        "max_position": 0.1,
        "spread_adjustment_bps": 50,
        "toxic_flow_probability": 0.8,
        "circuit_breaker": False,
    }
    relay.script(fr.completion(json.dumps(risk), model="anthropic/claude-sonnet-4.5"))
    client = await make_client()
    clock = client.clock
    service = AdvisorService(
        [LLMAdvisor("risk", client, ttl_s=60)], min_interval_s=0, change_threshold=0, clock=clock
    )
    try:
        service.submit("X", CALM)
        await until(lambda: service.stats["outcome_ok"] == 1)
        assert service.latest("X", clock.now()).risk is not None
        client.budget.hourly_usd = 0.0  # the cap is now spent
        service.submit("X", {**CALM, "vpin": 0.7})
        await until(lambda: service.stats["outcome_budget_exhausted"] == 1)
        assert service.latest("X", clock.now()).risk is None  # neutral, not the stale advice
        assert len(relay.chat_requests) == 1
    finally:
        await service.stop()


async def test_quotes_keep_flowing_while_the_relay_hangs(relay: fr.FakeRelay):
    """A real engine decides and places quotes on every book event while both advisor calls
    hang at the relay, and with the safe default (neutral) advice: exactly the quotes of a
    twin engine that has no advisors at all."""
    relay.default = fr.hang()
    config = llm_config(relay.base_url, timeouts={"deadline_s": 60, "first_byte_s": 60})
    runtime = await build_advisor_service(config)
    service = runtime.service
    snapshot, items = session(600)
    advised, plain = make_engine(snapshot), make_engine(snapshot)
    advised.advisors = service
    book_events = 0
    try:
        service.submit(SYMBOL, CALM)
        await until(lambda: len(relay.chat_requests) == 2)  # both advisors are now stuck
        for now, item in items:
            if isinstance(item, Trade):
                advised.on_trade(item, now)
                plain.on_trade(item, now)
                continue
            advised.book.apply(item)
            plain.book.apply(item)
            decision = advised.on_book(now)
            book_events += 1
            assert decision is not None and decision.status == "quoting"
            assert decision.bids and decision.asks
            assert advised.orders.orders  # the quotes were placed at the (paper) venue
            twin = plain.on_book(now)
            assert twin is not None
            assert (decision.bids, decision.asks) == (twin.bids, twin.asks)
            f = advised.book.features(advised.depth)
            service.submit(SYMBOL, {**CALM, "mid": f.mid, "microprice": f.microprice})
            await asyncio.sleep(0)  # the loop runs the advisor workers between book events
        # The two calls are still outstanding: none answered, none piled up behind them.
        assert service.stats["calls"] == 2
        assert sum(v for k, v in service.stats.items() if k.startswith("outcome_")) == 0
        assert len(relay.chat_requests) == 2
        assert service.latest(SYMBOL, items[-1][0]) == (None, None)
    finally:
        summary = await runtime.aclose()
    assert book_events == 600 and advised.fills == plain.fills > 0
    assert summary.startswith("LLM usage:")


async def test_offline_runtime_uses_rules():
    runtime = await build_advisor_service(llm_config(""))
    assert runtime.client is None
    assert {type(a) for a in runtime.service.advisors.values()} == {RulesAdvisor}
    assert "offline" in await runtime.aclose()
