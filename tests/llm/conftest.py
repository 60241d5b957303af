"""Shared fixtures: a scripted local relay and relay clients on a skipping clock."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from mmcore.config import Secret
from mmcore.llm.client import RelayClient
from mmcore.llm.clock import SkippingClock
from mmcore.llm.config import LLMConfig, load_llm_config
from mmcore.testing.fake_relay import FakeRelay

TEST_KEY = "sk-or-test-SECRET-1234567890"
MakeClient = Callable[..., Awaitable[RelayClient]]


@pytest.fixture
def relay() -> Iterator[FakeRelay]:
    """A fresh local relay per test."""
    with FakeRelay() as server:
        yield server


def llm_config(base_url: str, **sections: Any) -> LLMConfig:
    """A validated config pointing at ``base_url`` with fast test timeouts."""
    data: dict[str, Any] = {
        "base_url": base_url,
        "timeouts": {"deadline_s": 5.0, "first_byte_s": 2.0, "connect_s": 2.0},
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return load_llm_config(data, env={"MMCORE_LLM_API_KEY": TEST_KEY})


@pytest.fixture
async def make_client(relay: FakeRelay) -> AsyncIterator[MakeClient]:
    """Factory for started clients (skipping clock, seeded jitter); all closed at teardown."""
    clients: list[RelayClient] = []

    async def make(check_models: bool = True, **sections: Any) -> RelayClient:
        client = RelayClient(
            llm_config(relay.base_url, **sections), clock=SkippingClock(), rng=random.Random(7)
        )
        clients.append(client)
        await client.start(check_models=check_models)
        return client

    yield make
    for client in clients:
        await client.aclose()


def skipped(client: RelayClient) -> list[float]:
    """The waits the client asked its clock for."""
    clock = client.clock
    assert isinstance(clock, SkippingClock)
    return clock.sleeps


def secret_value() -> Secret:
    """The test key as a Secret."""
    return Secret(TEST_KEY)
