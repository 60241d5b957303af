"""Reconnect backoff, timed on real connection attempts (no private state is set or read).

- Against a listener that accepts TCP and hangs up at once (every websocket handshake fails),
  the gaps between attempts follow the schedule: the first try at once, then exponential
  (``backoff_base_s * 2**(n-1)``) with jitter in ``[cap/2, cap]``, capped at ``backoff_max_s``.
  ``random.uniform`` is pinned to either end of its range so each gap has one expected value.
- Against the fake exchange, a connection that synced resets the backoff: each of several
  killed connections is replaced at once, not after a growing delay (this also shows the
  first try after a reset does not wait).
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator

import pytest
from tests.feeds.conftest import CASES, SYNC_TIMEOUT, eventually, feed_config, running_feed

from mmcore.feeds import FeedConfig

SLACK_S = 0.15  # scheduling delay allowed on a loaded machine, on top of the backoff itself


class HangUp:
    """A TCP listener on loopback that records when each connection came and closes it."""

    def __init__(self) -> None:
        self.accepted: list[float] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> HangUp:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"ws://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _accept(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted.append(asyncio.get_running_loop().time())
        writer.close()


@pytest.fixture
async def hang_up() -> AsyncIterator[HangUp]:
    async with HangUp() as listener:
        yield listener


@pytest.mark.parametrize("jitter", ["low", "high"])
async def test_attempts_back_off_exponentially_with_jitter_up_to_the_cap(
    hang_up: HangUp, jitter: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(random, "uniform", lambda a, b: a if jitter == "low" else b)
    base, cap = 0.2, 0.8
    config = FeedConfig(
        venue="okx",
        symbols=("BTC-USDT",),
        ws_url=hang_up.url,
        backoff_base_s=base,
        backoff_max_s=cap,
        connect_timeout_s=2.0,
    )
    async with running_feed(config):
        await eventually(lambda: len(hang_up.accepted) >= 6, "six attempts", timeout=20)
    caps = [base, 2 * base, 4 * base, cap, cap]  # 0.2, 0.4, 0.8, then capped at 0.8
    want = [c / 2 if jitter == "low" else c for c in caps]
    times = hang_up.accepted
    gaps = [b - a for a, b in itertools.pairwise(times[:6])]
    for n, (gap, expected) in enumerate(zip(gaps, want, strict=True), start=1):
        assert expected - 0.01 <= gap <= expected + SLACK_S, (n, gaps, want)


async def test_a_synced_connection_resets_the_backoff() -> None:
    """Each kill is followed by an immediate reconnect; without the reset the n-th would wait
    at least 1 s (``backoff_base_s`` is 4 s)."""
    case = CASES["okx"]
    async with case.fake() as fake:
        config = feed_config(case, fake, backoff_base_s=4.0, backoff_max_s=4.0)
        async with running_feed(config) as feed:
            for epoch in (1, 2, 3, 4):
                assert await feed.wait_synced(SYNC_TIMEOUT)
                assert feed.epoch == epoch
                conn = fake.connections[0]
                # a heartbeat sent once synced (OKX pings an idle connection): the feed's
                # housekeeping has then seen this connection healthy
                fake.pause()
                await eventually(lambda c=conn: "ping" in c.received, "a heartbeat after sync")
                fake.resume()
                if epoch == 4:
                    break
                killed_at = asyncio.get_running_loop().time()
                assert fake.kill_connections() == 1
                await eventually(
                    lambda c=conn: bool(fake.connections) and fake.connections[0] is not c,
                    "the new connection",
                )
                waited = asyncio.get_running_loop().time() - killed_at
                assert waited < 0.9, f"reconnect {epoch} waited {waited:.2f}s: backoff not reset"
            assert feed.metrics.reconnects == 3


async def test_a_connection_that_never_synced_does_not_reset_the_backoff() -> None:
    """The REST snapshot is held back, so the Binance book never syncs: killing that
    connection is followed by a backoff wait, not an immediate reconnect."""
    case = CASES["binance-spot"]
    fake = case.fake()
    fake.delay_rest(30.0, count=4)
    async with fake:
        config = feed_config(case, fake, backoff_base_s=1.0, backoff_max_s=1.0)
        async with running_feed(config) as feed:
            await eventually(lambda: fake.rest_started >= 1, "the snapshot request")
            assert not feed.safe_to_quote(case.symbols[0])
            conn = fake.connections[0]
            # a negative claim needs time to pass: six housekeeping ticks (0.05 s each) of the
            # unsynced connection, none of which may reset the backoff
            await asyncio.sleep(0.3)
            killed_at = asyncio.get_running_loop().time()
            assert fake.kill_connections() == 1
            await eventually(
                lambda: bool(fake.connections) and fake.connections[0] is not conn,
                "the new connection",
            )
            waited = asyncio.get_running_loop().time() - killed_at
            assert waited >= 0.45, f"reconnected after {waited:.2f}s: the backoff was reset"


def test_feed_config_refuses_a_cap_below_the_base() -> None:
    with pytest.raises(ValueError, match=r"feeds\.backoff_max_s"):
        FeedConfig(venue="okx", symbols=("X",), backoff_base_s=2, backoff_max_s=1)
