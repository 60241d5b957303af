"""The simulated market in a child process, so the order flow and the wire servers do not share
a core with the trading loop (the real venues do not either).

The child's lifetime is the parent's to decide: it ignores SIGINT (a terminal's Ctrl-C reaches
the whole process group; the parent then stops the run and, last, the market), and it exits
when the parent says "stop" or when the pipe to the parent breaks (the parent died), so it is
never orphaned."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import signal
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection

from mmcore.analytics.pnl import Interval
from mmcore.sim.flow import Episode
from mmcore.sim.venue import SimListing, SimMarket

_START_TIMEOUT_S = 30.0
_INTERVALS = "intervals"  # the parent asks for the informed episodes on the clock


def _serve(listings: list[SimListing], seed: int, speed: float, conn: Connection) -> None:
    """Child process: run the market, report its URLs, stop when the parent says so or dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the market stops

    async def main() -> None:
        async with SimMarket(listings, seed=seed, speed=speed) as market:
            conn.send(
                {
                    v: (market.ws_url(v), market.rest_url(v), market.symbols(v))
                    for v in market.venues
                }
            )
            loop = asyncio.get_running_loop()
            # recv() returns a request or "stop", and raises EOFError when the parent is gone.
            with contextlib.suppress(EOFError):
                while await loop.run_in_executor(None, conn.recv) == _INTERVALS:
                    conn.send(market.informed_intervals())
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
        self._unanswered = 0

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
        # The child starts with SIGINT blocked (the signal mask survives spawn's fork+exec), so
        # a Ctrl-C while it imports cannot kill it with a traceback; it then ignores SIGINT.
        # Only this thread blocks it, so this process still receives one meanwhile. (The
        # resource tracker is started first: starting it inside start() unblocks SIGINT.)
        resource_tracker.ensure_running()
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self._process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        child.close()
        self._conn = parent
        loop = asyncio.get_running_loop()
        ready = await loop.run_in_executor(None, parent.poll, _START_TIMEOUT_S)
        if not ready:
            await self.__aexit__()
            raise RuntimeError(f"simulated market did not start within {_START_TIMEOUT_S:.0f} s")
        self._urls = parent.recv()
        return self

    def informed_intervals(self, timeout_s: float = 5.0) -> list[Interval]:
        """The informed-flow episodes so far on the ``time.monotonic()`` clock (see
        :meth:`SimMarket.informed_intervals`; the clock is the same in every process of
        the machine); empty if the market does not answer within ``timeout_s``."""
        if self._conn is None:
            return []
        try:
            self._conn.send(_INTERVALS)
            if self._conn.poll(timeout_s):
                return self._conn.recv()
        except (BrokenPipeError, OSError, EOFError):
            return []
        self._unanswered += 1  # its answer may still come: skipped before the episodes
        return []

    def kill(self) -> None:
        """End the child now (SIGKILL), without its polite shutdown."""
        if self._process is not None and self._process.is_alive():
            self._process.kill()

    async def __aexit__(self, *exc: object) -> None:
        if self._conn is not None:
            with contextlib.suppress(BrokenPipeError, OSError, EOFError):
                self._conn.send("stop")
                loop = asyncio.get_running_loop()
                for _ in range(self._unanswered + 1):  # late interval answers, then episodes
                    if not await loop.run_in_executor(None, self._conn.poll, 5.0):
                        break
                    self.episodes = self._conn.recv()
            self._conn.close()
            self._conn = None
        if self._process is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self._process.join, 5.0)
            if self._process.is_alive():
                self._process.kill()
                await loop.run_in_executor(None, self._process.join, 5.0)
            self._process = None
