"""A fake venue served by its own event loop in a thread, so a recorder in this process (or a
child process) can own the main loop; the venue keeps producing while the client is busy."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from functools import partial

from mmcore.sim.wire import BinanceWire, BybitWire, OkxWire, WireVenue

__all__ = ["VENUE_FAKES", "fake_in_thread", "venue_symbols"]


#: How to build the fake of each feed venue: ``VENUE_FAKES[venue](symbols, **kwargs)``.
VENUE_FAKES: dict[str, Callable[..., WireVenue]] = {
    "binance-spot": BinanceWire,
    "binance-usdm": partial(BinanceWire, futures=True),
    "binance-coinm": partial(BinanceWire, coin_margined=True),
    "bybit-spot": partial(BybitWire, category="spot"),
    "bybit-linear": partial(BybitWire, category="linear"),
    "okx": OkxWire,
}


def venue_symbols(venue: str, n: int) -> list[str]:
    """``n`` distinct symbols spelled as ``venue`` spells them (``S007USDT``, ``S007-USDT``,
    ``S007USD_PERP``)."""
    if venue == "okx":
        return [f"S{i:03d}-USDT" for i in range(n)]
    if venue == "binance-coinm":
        return [f"S{i:03d}USD_PERP" for i in range(n)]
    return [f"S{i:03d}USDT" for i in range(n)]


@contextlib.contextmanager
def fake_in_thread(make: Callable[[], WireVenue], timeout: float = 10.0) -> Iterator[WireVenue]:
    """Start ``make()`` on a new event loop in a daemon thread; stop it on exit."""
    ready = threading.Event()
    done = threading.Event()
    box: list[WireVenue] = []
    errors: list[BaseException] = []

    async def serve() -> None:
        try:
            async with make() as fake:
                box.append(fake)
                ready.set()
                while not done.is_set():
                    await asyncio.sleep(0.01)
        except BaseException as exc:  # reported to the caller, not lost in the thread
            errors.append(exc)
            ready.set()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    if not ready.wait(timeout) or errors:
        done.set()
        raise RuntimeError(f"the fake venue did not start: {errors}")
    try:
        yield box[0]
    finally:
        done.set()
        thread.join(timeout)
