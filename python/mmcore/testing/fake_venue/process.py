"""A fake venue in a child process, for benchmarks that must not share their event loop (or
their CPU time slices) with the server they measure.

In-process, the fake's HTTP and websocket servers run on the client's own loop: a round trip
then includes the server's work interleaved with the client's, and a timing from it says
little about the client. :class:`FakeVenueProcess` starts ``python -m
mmcore.testing.fake_venue VENUE`` (the same ``mmcore`` as the caller, see
:func:`~mmcore.testing.child.child_env`), which serves one fake on loopback until its stdin
closes. The fake stamps each REST reply with its own time in ``X-Fake-Service-Us`` (see
:data:`~mmcore.testing.fake_venue.server.SERVICE_HEADER`), so a client subtracts the venue's
share per request. Only start-up settings cross the process boundary (balances, limits, keys
in the environment); a test that scripts fills or faults uses the in-process fakes.

Example::

    async with FakeVenueProcess("binance-spot", balances={"USDT": "1000000"}) as fake:
        exchange = ccxt_exchange(fake)
        ...
        await exchange.close()
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from mmcore.testing.child import child_env
from mmcore.testing.fake_venue.binance_spot import FakeBinanceSpot
from mmcore.testing.fake_venue.binance_usdm import FakeBinanceUsdm
from mmcore.testing.fake_venue.bybit import FakeBybit
from mmcore.testing.fake_venue.server import FakeVenue

__all__ = ["VENUES", "FakeVenueProcess", "build_fake", "main"]

#: venue name → (fake class, constructor args)
VENUES: dict[str, tuple[type[FakeVenue], tuple[Any, ...]]] = {
    "binance-spot": (FakeBinanceSpot, ()),
    "binance-usdm": (FakeBinanceUsdm, ()),
    "bybit-spot": (FakeBybit, ("spot",)),
    "bybit-linear": (FakeBybit, ("linear",)),
}
# the child reads the keys from here (never from its command line, which `ps` shows)
_KEY_ENV, _SECRET_ENV = "MMCORE_FAKE_VENUE_API_KEY", "MMCORE_FAKE_VENUE_SECRET"


def build_fake(
    venue: str,
    *,
    balances: dict[str, str] | None = None,
    unlimited: bool = False,
    api_key: str = "fake-api-key",
    secret: str = "fake-api-secret",
    stream_lag_s: float = 0.0,
) -> FakeVenue:
    """The fake of ``venue`` (a key of :data:`VENUES`) with ``balances`` seeded; ``unlimited``
    lifts Binance's published weight and order limits (a benchmark's burst is not a trading
    rate); ``stream_lag_s``: private-stream frames go out that late (see
    :attr:`~mmcore.testing.fake_venue.server.FakeVenue.stream_lag_s`)."""
    if venue not in VENUES:
        raise ValueError(f"venue: {venue!r} is not one of {', '.join(VENUES)}")
    if not 0 <= stream_lag_s < 60:
        raise ValueError(f"stream_lag_s: {stream_lag_s!r} is not in [0, 60)")
    cls, args = VENUES[venue]
    fake = cls(*args, api_key=api_key, secret=secret)
    for asset, amount in (balances or {}).items():
        fake.seed_balance(asset, amount)
    if unlimited and hasattr(fake, "weight_limit_1m"):
        fake.weight_limit_1m = fake.order_limit_10s = 10**9
    fake.stream_lag_s = stream_lag_s
    return fake


class FakeVenueProcess:
    """A fake venue served by a child process (see the module docstring). It offers what
    :func:`~mmcore.testing.fake_venue.client.ccxt_exchange` needs: :attr:`rest_url`,
    :attr:`ws_url`, the keys, :attr:`ccxt_preset` and, for Bybit, :attr:`category`."""

    def __init__(
        self,
        venue: str = "binance-spot",
        *,
        balances: dict[str, str] | None = None,
        unlimited: bool = False,
        api_key: str = "fake-api-key",
        secret: str = "fake-api-secret",
        start_timeout_s: float = 30.0,
        stream_lag_s: float = 0.0,
    ) -> None:
        if venue not in VENUES:
            raise ValueError(f"venue: {venue!r} is not one of {', '.join(VENUES)}")
        if not 0 <= stream_lag_s < 60:
            raise ValueError(f"stream_lag_s: {stream_lag_s!r} is not in [0, 60)")
        self._stream_lag_s = stream_lag_s
        cls, args = VENUES[venue]
        self.venue = venue
        self.ccxt_preset = cls.ccxt_preset
        self.category: str | None = args[0] if args else None
        self.api_key = api_key
        self._secret = secret
        self._balances = dict(balances or {})
        self._unlimited = unlimited
        self._start_timeout_s = start_timeout_s
        self._proc: asyncio.subprocess.Process | None = None
        self._urls: dict[str, str] = {}

    def __repr__(self) -> str:  # never the keys
        return f"FakeVenueProcess({self.venue!r}, pid={self.pid})"

    @property
    def pid(self) -> int | None:
        """The child's process id (None before :meth:`start`)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def rest_url(self) -> str:
        """The child's REST base URL (``http://127.0.0.1:<port>``)."""
        return self._urls["rest_url"]

    @property
    def ws_url(self) -> str:
        """The child's websocket base URL (``ws://127.0.0.1:<port>``)."""
        return self._urls["ws_url"]

    async def start(self) -> FakeVenueProcess:
        """Start the child and wait for its URLs (its error output on a failed start)."""
        cmd = [sys.executable, "-m", "mmcore.testing.fake_venue", self.venue]
        cmd += [f"--balance={asset}={amount}" for asset, amount in self._balances.items()]
        if self._unlimited:
            cmd.append("--unlimited")
        if self._stream_lag_s:
            cmd.append(f"--stream-lag-s={self._stream_lag_s!r}")
        env = child_env(**{_KEY_ENV: self.api_key, _SECRET_ENV: self._secret})
        self._proc = await asyncio.create_subprocess_exec(
            *cmd,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        assert self._proc.stdout is not None
        try:
            line = await asyncio.wait_for(self._proc.stdout.readline(), self._start_timeout_s)
        except TimeoutError:
            line = b""
        if not line:
            await self.stop()
            assert self._proc.stderr is not None
            err = (await self._proc.stderr.read()).decode(errors="replace")[-2000:]
            raise RuntimeError(f"fake venue {self.venue} did not start: {err}")
        self._urls = json.loads(line)
        return self

    async def stop(self) -> None:
        """Close the child's stdin (it stops its servers and exits); kill it if it hangs."""
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 5.0)
        except TimeoutError:
            proc.kill()
            await proc.wait()

    async def __aenter__(self) -> FakeVenueProcess:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def _serve(fake: FakeVenue) -> None:
    async with fake:
        print(json.dumps({"rest_url": fake.rest_url, "ws_url": fake.ws_url}), flush=True)
        # until the parent closes our stdin (or dies: the pipe closes then too)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.buffer.read)


def main(argv: list[str] | None = None) -> None:
    """The child's entry point: serve one fake until stdin closes."""
    parser = argparse.ArgumentParser(prog="python -m mmcore.testing.fake_venue")
    parser.add_argument("venue", choices=sorted(VENUES))
    parser.add_argument(
        "--balance", action="append", default=[], help="ASSET=AMOUNT, seeded free balance"
    )
    parser.add_argument("--unlimited", action="store_true", help="lift published rate limits")
    parser.add_argument(
        "--stream-lag-s", type=float, default=0.0, help="send private-stream frames this late"
    )
    args = parser.parse_args(argv)
    balances = {}
    for item in args.balance:
        asset, sep, amount = item.partition("=")
        if not sep:
            parser.error(f"--balance: expected ASSET=AMOUNT, got {item!r}")
        balances[asset] = amount
    try:
        fake = build_fake(
            args.venue,
            balances=balances,
            unlimited=args.unlimited,
            api_key=os.environ.get(_KEY_ENV, "fake-api-key"),
            secret=os.environ.get(_SECRET_ENV, "fake-api-secret"),
            stream_lag_s=args.stream_lag_s,
        )
    except ValueError as exc:
        parser.error(str(exc))
    import uvloop  # the loop the product runs on; imported only in the child

    uvloop.run(_serve(fake))
