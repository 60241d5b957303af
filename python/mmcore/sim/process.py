"""The simulated market in a child process, so the order flow and the wire servers do not share
a core with the trading loop (the real venues do not either)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
from multiprocessing.connection import Connection

from mmcore.sim.flow import Episode
from mmcore.sim.venue import SimListing, SimMarket

_START_TIMEOUT_S = 30.0


def _serve(listings: list[SimListing], seed: int, speed: float, conn: Connection) -> None:
    """Child process: run the market, report its URLs, stop when the parent says so or dies."""

    async def main() -> None:
        async with SimMarket(listings, seed=seed, speed=speed) as market:
            conn.send(
                {
                    v: (market.ws_url(v), market.rest_url(v), market.symbols(v))
                    for v in market.venues
                }
            )
            loop = asyncio.get_running_loop()
            # recv() returns on "stop" and raises EOFError when the parent is gone.
            with contextlib.suppress(EOFError):
                await loop.run_in_executor(None, conn.recv)
                conn.send(market.flow.episodes)  # the informed episodes, for the run folder

    asyncio.run(main())


class SimMarketProcess:
    """``async with SimMarketProcess(listings) as market``: the same ``venues``, ``symbols``,
    ``ws_url`` and ``rest_url`` as :class:`SimMarket`, served from a child process. After the
    ``async with`` block, :attr:`episodes` holds the sim's informed episodes."""

    def __init__(self, listings: list[SimListing], *, seed: int = 1, speed: float = 1.0) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0 (0 = as fast as possible), got {speed}")
        self._args = (list(listings), seed, speed)
        self._urls: dict[str, tuple[str, str, tuple[str, ...]]] = {}
        self._conn: Connection | None = None
        self._process: mp.process.BaseProcess | None = None
        #: the informed-flow episodes of the run (filled in when the market stops)
        self.episodes: list[Episode] = []

    @property
    def venues(self) -> tuple[str, ...]:
        """The venues served."""
        return tuple(self._urls)

    def symbols(self, venue: str) -> tuple[str, ...]:
        """The symbols listed on ``venue``."""
        return self._urls[venue][2]

    def ws_url(self, venue: str) -> str:
        """The websocket base URL a feed for ``venue`` connects to."""
        return self._urls[venue][0]

    def rest_url(self, venue: str) -> str:
        """The REST base URL of ``venue``."""
        return self._urls[venue][1]

    async def __aenter__(self) -> SimMarketProcess:
        # spawn, not fork: the parent already runs an event loop and threads.
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_serve, args=(*self._args, child), name="mmcore-sim", daemon=True
        )
        self._process.start()
        child.close()
        self._conn = parent
        loop = asyncio.get_running_loop()
        ready = await loop.run_in_executor(None, parent.poll, _START_TIMEOUT_S)
        if not ready:
            await self.__aexit__()
            raise RuntimeError(f"simulated market did not start within {_START_TIMEOUT_S:.0f} s")
        self._urls = parent.recv()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._conn is not None:
            with contextlib.suppress(BrokenPipeError, OSError, EOFError):
                self._conn.send("stop")
                loop = asyncio.get_running_loop()
                if await loop.run_in_executor(None, self._conn.poll, 5.0):
                    self.episodes = self._conn.recv()
            self._conn.close()
            self._conn = None
        if self._process is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self._process.join, 5.0)
            if self._process.is_alive():
                self._process.terminate()
            self._process = None
