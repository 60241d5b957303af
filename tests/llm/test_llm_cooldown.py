"""A relay's Retry-After holds every call to that model, not only the retried one (issue 19.1).

The client and the fake relay share one frozen clock: time moves only when the client sleeps
or the test advances it, so a 2 s window costs no real second, while every request in the
relay's log is a real HTTP request stamped with that clock.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import re
import time
from collections.abc import Callable

import pytest

from mmcore.advisors import build_advisor_service
from mmcore.advisors.factory import AdvisorRuntime
from mmcore.demo import DEMO_LISTINGS, demo_setups, feeds_for
from mmcore.llm.client import RelayClient
from mmcore.llm.clock import SkippingClock
from mmcore.llm.cooldown import Cooldowns
from mmcore.llm.errors import RelayError
from mmcore.llm.usage import format_usage_summary
from mmcore.sim import SimMarket
from mmcore.testing import fake_relay as fr
from mmcore.trader import Trader
from mmcore.ui.dashboard import Dashboard
from mmcore.ui.recorder import Recorder

from .conftest import llm_config

PRIMARY = "deepseek/v3-2"
FALLBACK = {"signal": "google/gemini-2.5-flash", "risk": "openai/gpt-4.1"}
MODELS = {"signal": [PRIMARY, FALLBACK["signal"]], "risk": [PRIMARY, FALLBACK["risk"]]}
SYMBOLS = ("BTCUSDT", "ETHUSDT")
SIGNAL = {"action": "hold", "spread_bps": 40, "quantity_factor": 1.0, "confidence": 0.5}
RISK = {
    "risk_score": 0.2,
    "max_position": 1.0,
    "spread_adjustment_bps": 0,
    "toxic_flow_probability": 0.1,
    "circuit_breaker": False,
}
MESSAGES = [{"role": "user", "content": "Reply with JSON."}]


class FrozenClock:
    """Virtual monotonic time: moves only on ``sleep`` or ``advance`` (never by itself)."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)


def features(round_no: int) -> dict[str, float]:
    """Features that change materially every round, so every worker asks again."""
    return {"mid": 100.0, "spread_bps": 2.0, "vpin": 0.1 + 0.1 * round_no, "inventory": 0.0}


class Relay429Once:
    """The relay's answer: ``first`` to the first request for PRIMARY, valid advice otherwise
    (signal or risk fields, told apart by the system prompt)."""

    def __init__(self, first: fr.Step) -> None:
        self.first = first
        self.held_at: float | None = None  # clock time of the request that got ``first``

    def __call__(self, request: fr.RecordedRequest) -> fr.Step:
        model = request.body["model"]
        if model == PRIMARY and self.held_at is None:
            self.held_at = request.at
            return self.first
        risk = "risk officer" in request.body["messages"][0]["content"]
        return fr.completion(json.dumps(RISK if risk else SIGNAL), model=model)


async def until(predicate: Callable[[], bool], rounds: int = 5000) -> None:
    """Yield to the loop until ``predicate()`` holds (bounded by rounds, not by time)."""
    for _ in range(rounds):
        if predicate():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition not reached")


async def ask_round(runtime: AdvisorRuntime, round_no: int, outcomes_before: int) -> None:
    """Submit fresh features for both symbols and wait for all four advisor outcomes."""
    stats = runtime.service.stats
    for symbol in SYMBOLS:
        runtime.service.submit(symbol, features(round_no))

    def done() -> int:
        return sum(v for k, v in stats.items() if k.startswith("outcome_"))

    await until(lambda: done() == outcomes_before + 4)
    assert stats["outcome_ok"] == outcomes_before + 4, dict(stats)


def sources(runtime: AdvisorRuntime, now: float) -> set[str]:
    out = set()
    for symbol in SYMBOLS:
        latest = runtime.service.latest(symbol, now)
        assert latest.signal is not None and latest.risk is not None
        out |= {latest.signal.source, latest.risk.source}
    return out


@pytest.mark.parametrize(
    ("header", "value", "window"),
    [("retry-after", "2", 2.0), ("retry-after-ms", "250", 0.25)],
    ids=["retry-after-2s", "retry-after-ms-250"],
)
async def test_retry_after_holds_the_model_for_every_advisor_and_symbol(
    relay: fr.FakeRelay, header: str, value: str, window: float
):
    """Two advisors (signal, risk) on two symbols share PRIMARY; a 429 keeps all of them off
    it for the whole window (the fallbacks serve), and the first call after it succeeds.

    Waiting out the hold would leave an attempt less than its 2.9 s first-byte limit before
    the 3 s deadline, so every call inside the window goes to its fallback at once."""
    clock = FrozenClock()
    relay.clock = clock.now
    answer = Relay429Once(fr.error(429, headers=[(header, value)]))
    relay.default = answer
    config = llm_config(
        relay.base_url,
        models=MODELS,
        retry={"retries_per_model": 0},
        timeouts={"deadline_s": 3.0, "first_byte_s": 2.9},
        advisor={"min_interval_s": 0, "change_threshold": 0},
    )
    runtime = await build_advisor_service(config, clock=clock)
    try:
        # Round 0, BTC only: both BTC advisors reach PRIMARY before either is answered (the
        # gate holds the first until the second arrives); the 429 goes to one of them.
        relay.arm_gate(2)
        runtime.service.submit("BTCUSDT", features(0))
        await until(lambda: runtime.service.stats["outcome_ok"] == 2)
        assert answer.held_at is not None
        t429 = answer.held_at
        assert runtime.cooldowns(clock.now()) == {PRIMARY: pytest.approx(window)}
        text = format_usage_summary(runtime.client.ledger)
        assert f"{PRIMARY}: cooling down until" in text and "1 hold(s)" in text
        in_window = len(relay.chat_requests)

        # Round 1, inside the window: four calls, BTC and ETH, signal and risk.
        await ask_round(runtime, 1, 2)
        asked = [r.body["model"] for r in relay.chat_requests[in_window:]]
        assert sorted(asked) == sorted([FALLBACK["signal"], FALLBACK["risk"]] * 2)
        assert sources(runtime, clock.now()) == {f"llm:{m}" for m in FALLBACK.values()}
        assert runtime.client.ledger.errors["cooling_down"] == 4

        # Round 2, once the window has passed: PRIMARY again, and it answers.
        assert clock.t == t429  # nobody slept: the window was not waited out
        clock.t = t429 + window
        assert runtime.cooldowns(clock.now()) == {}
        after = len(relay.chat_requests)
        await ask_round(runtime, 2, 6)
        assert [r.body["model"] for r in relay.chat_requests[after:]] == [PRIMARY] * 4
        assert sources(runtime, clock.now()) == {f"llm:{PRIMARY}"}
    finally:
        summary = await runtime.aclose()

    to_primary = [r.at for r in relay.chat_requests if r.body["model"] == PRIMARY]
    assert to_primary[:2] == [t429, t429]  # the 429 and the call already in flight with it
    assert all(at >= t429 + window for at in to_primary[2:]) and len(to_primary) == 6
    assert f"{PRIMARY}: cool" in summary  # the shutdown summary names the hold
    later = format_usage_summary(runtime.client.ledger, now_unix=time.time() + window + 1)
    assert f"{PRIMARY}: cooled down until" in later


async def test_calls_wait_out_a_short_hold_when_their_deadline_allows(relay: fr.FakeRelay):
    """With time to spare, another call waits for the model rather than leave it."""
    clock = FrozenClock()
    relay.clock = clock.now
    answer = Relay429Once(fr.error(429, headers=[("retry-after-ms", "250")]))
    relay.default = answer
    models = {"signal": [PRIMARY], "risk": MODELS["risk"]}
    config = llm_config(relay.base_url, models=models, retry={"retries_per_model": 0})
    client = RelayClient(config, clock=clock)
    await client.start()
    try:
        with pytest.raises(RelayError, match="no completion after 1 attempt"):
            await client.complete("signal", MESSAGES)  # no retry allowed: gives up at once
        assert client.cooldowns() == {PRIMARY: pytest.approx(0.25)}
        done = await client.complete("risk", MESSAGES)  # 5 s deadline: waits 0.25 s
    finally:
        await client.aclose()
    assert done.served_model == PRIMARY and done.attempts == 1
    assert clock.sleeps == [pytest.approx(0.25)]
    assert answer.held_at is not None
    assert [r.body["model"] for r in relay.chat_requests] == [PRIMARY, PRIMARY]
    assert relay.chat_requests[1].at >= answer.held_at + 0.25


@pytest.mark.parametrize(
    ("chain", "served", "slept"),
    [([PRIMARY, FALLBACK["risk"]], FALLBACK["risk"], []), ([PRIMARY], PRIMARY, [2.0])],
    ids=["fallback-left", "last-model"],
)
async def test_a_wait_that_leaves_no_room_for_the_attempt_goes_to_the_fallback(
    relay: fr.FakeRelay, chain: list[str], served: str, slept: list[float]
):
    """A 2 s hold with 3.5 s of deadline left would leave the attempt 1.5 s, under its 2 s
    first-byte limit: the fallback is asked now. With no model left, the call waits."""
    clock = FrozenClock()
    relay.clock = clock.now
    relay.default = Relay429Once(fr.error(429, headers=[("retry-after", "2")]))
    config = llm_config(
        relay.base_url,
        models={"signal": [PRIMARY], "risk": chain},
        retry={"retries_per_model": 0},
        timeouts={"deadline_s": 3.5, "first_byte_s": 2.0},
    )
    client = RelayClient(config, clock=clock)
    await client.start()
    try:
        with pytest.raises(RelayError):
            await client.complete("signal", MESSAGES)  # the 429, no retry allowed
        done = await client.complete("risk", MESSAGES)
    finally:
        await client.aclose()
    assert done.served_model == served and done.attempts == 1
    assert clock.sleeps == slept
    assert [r.body["model"] for r in relay.chat_requests] == [PRIMARY, served]


@pytest.mark.parametrize(
    "first",
    [
        fr.error(
            402,
            {
                "error": {
                    "code": 402,
                    "message": "In-flight budget exceeded",
                    "metadata": {"limit_source": "openrouter_in_flight_budget"},
                }
            },
            headers=[("retry-after", "1")],
        ),
        fr.error(503, headers=[("retry-after", "1")]),
    ],
    ids=["402-in-flight-budget", "503"],
)
async def test_in_flight_budget_402_and_503_hold_the_model(relay: fr.FakeRelay, first: fr.Step):
    clock = FrozenClock()
    relay.clock = clock.now
    relay.default = Relay429Once(first)
    config = llm_config(
        relay.base_url,
        models=MODELS,
        retry={"retries_per_model": 0},
        timeouts={"deadline_s": 3.0, "first_byte_s": 2.9},
    )
    client = RelayClient(config, clock=clock)
    await client.start()
    try:
        assert (await client.complete("signal", MESSAGES)).served_model == FALLBACK["signal"]
        assert client.cooldowns() == {PRIMARY: pytest.approx(1.0)}
        # The other role is held off PRIMARY too: its fallback serves at once.
        assert (await client.complete("risk", MESSAGES)).served_model == FALLBACK["risk"]
        clock.advance(1.0)
        assert client.cooldowns() == {}
        assert (await client.complete("risk", MESSAGES)).served_model == PRIMARY
    finally:
        await client.aclose()
    asked = [r.body["model"] for r in relay.chat_requests]
    assert asked == [PRIMARY, FALLBACK["signal"], FALLBACK["risk"], PRIMARY]
    assert client.latched("signal") is None  # an in-flight-budget 402 is not terminal
    assert client.ledger.summary()["cooldowns"][PRIMARY]["holds"] == 1


async def test_http_date_retry_after_and_the_cap(relay: fr.FakeRelay):
    clock = FrozenClock()
    date = email.utils.formatdate(time.time() + 4, usegmt=True)  # whole seconds: 3 < wait <= 4
    relay.script(
        fr.error(429, headers=[("retry-after", date)]),
        fr.completion("{}"),
        fr.error(429, headers=[("retry-after", "300")]),
    )
    config = llm_config(relay.base_url, models=MODELS, retry={"retry_after_cap_s": 10})
    client = RelayClient(config, clock=clock)
    await client.start()
    try:
        await client.complete("signal", MESSAGES)  # waits out the date, then PRIMARY answers
        held = clock.sleeps[0]
        assert 2.5 < held <= 4.0
        assert [r.body["model"] for r in relay.chat_requests] == [PRIMARY, PRIMARY]
        await client.complete("risk", MESSAGES)  # 300 s asked: capped at 10, fallback now
        assert client.cooldowns() == {PRIMARY: pytest.approx(10.0)}
    finally:
        await client.aclose()
    assert relay.chat_requests[-1].body["model"] == FALLBACK["risk"]


def test_a_hold_is_never_shortened_and_is_per_base_url():
    clock = FrozenClock()
    holds = Cooldowns(clock)
    holds.hold("http://a", PRIMARY, 5.0)
    holds.hold("http://a", PRIMARY, 1.0)  # a shorter, later answer keeps the longer hold
    holds.hold("http://b", PRIMARY, 2.0)
    assert holds.active("http://a", clock.now()) == {PRIMARY: 5.0}
    assert holds.active("http://b", clock.now()) == {PRIMARY: 2.0}
    clock.advance(3.0)
    assert holds.wait_s("http://a", PRIMARY) == 2.0 and holds.wait_s("http://b", PRIMARY) == 0
    with pytest.raises(ValueError, match="seconds"):
        holds.hold("http://a", PRIMARY, float("nan"))


async def test_dashboard_shows_the_cooling_model(relay: fr.FakeRelay):
    relay.default = Relay429Once(fr.error(429, headers=[("retry-after", "2")]))
    config = llm_config(relay.base_url, models=MODELS, timeouts={"deadline_s": 1.0})
    runtime = await build_advisor_service(config, clock=SkippingClock())  # monotonic time
    try:
        async with SimMarket(list(DEMO_LISTINGS), seed=3, speed=10) as market:
            trader = Trader(feeds_for(market), demo_setups(), advisors=runtime.service)
            dashboard = Dashboard(trader, Recorder(trader), runtime)
            assert "cooling down" not in dashboard.render_text()
            assert runtime.client is not None
            await runtime.client.complete("signal", MESSAGES)  # 429: the fallback serves
            frame = dashboard.render_text()
    finally:
        await runtime.aclose()
    assert re.search(rf"cooling down \(relay Retry-After\): {PRIMARY} [12]\.\ds left", frame)
