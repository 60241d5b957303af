"""Stop signals (SIGINT, SIGTERM) honoured at any moment, from start-up to exit.

``python -m mmcore`` calls :meth:`StopSignals.install` on :data:`STOP` before its heavy imports,
so a signal that arrives while the program is still starting is remembered instead of raising
``KeyboardInterrupt``. The handlers replace an inherited ``SIG_IGN`` too: shells start
background jobs (``&``) with SIGINT ignored, and such a run must still stop on SIGINT.

- The first signal *requests* a stop: the run ends the normal way (every order cancelled,
  the journal flushed and closed, the report written) and exits 0. Subscribers registered
  with :meth:`StopSignals.on_stop` are called; one that registers after the signal is called
  at once, so a signal during start-up stops the run as soon as it begins.
- A second signal *forces* a fast exit: :meth:`StopSignals.on_force` subscribers cut the slow
  waits of the shutdown short (advisors' in-flight calls, the simulated market's own exit);
  the journal is still committed and closed.

While an event loop runs, :meth:`StopSignals.attached` points Python's signal wake-up fd at a
socket the loop watches (so a blocked loop wakes at once) and subscribers are called from the
loop, never from inside whatever code the signal interrupted.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # imported when used (never by the handler): installing comes first, fast
    import asyncio
    import socket

__all__ = ["STOP", "StopSignals"]

T = TypeVar("T")

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Process-wide stop requests from SIGINT and SIGTERM (see the module docstring)."""

    def __init__(self) -> None:
        self.signal: signal.Signals | None = None  # the first stop signal received
        self.forced = False
        self._on_stop: list[Callable[[], None]] = []
        self._on_force: list[Callable[[], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def requested(self) -> bool:
        """True once a stop signal arrived."""
        return self.signal is not None

    def install(self) -> None:
        """Handle SIGINT and SIGTERM from now on (main thread only)."""
        for sig in SIGNALS:
            signal.signal(sig, self._handler)

    def _handler(self, signum: int, _frame: FrameType | None) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.receive, signum)
        else:
            self.receive(signum)

    def receive(self, signum: int) -> None:
        """Act on one stop signal: the first requests a stop, the second forces it."""
        if self.signal is None:
            self.signal = signal.Signals(signum)
            _warn("stop_signal signal=%s", self.signal.name)
            callbacks = self._on_stop
        elif not self.forced:
            self.forced = True
            _warn("stop_forced signal=%s", signal.Signals(signum).name)
            callbacks = self._on_force
        else:
            return
        for callback in list(callbacks):
            callback()

    @contextlib.contextmanager
    def on_stop(self, callback: Callable[[], None]) -> Iterator[None]:
        """Call ``callback`` on the first signal (at once if it already came) within the block."""
        with self._subscribed(self._on_stop, callback, self.requested):
            yield

    @contextlib.contextmanager
    def on_force(self, callback: Callable[[], None]) -> Iterator[None]:
        """Call ``callback`` on the second signal (at once if it already came) within the block."""
        with self._subscribed(self._on_force, callback, self.forced):
            yield

    @staticmethod
    @contextlib.contextmanager
    def _subscribed(
        subscribers: list[Callable[[], None]], callback: Callable[[], None], already: bool
    ) -> Iterator[None]:
        subscribers.append(callback)
        try:
            if already:
                callback()
            yield
        finally:
            subscribers.remove(callback)

    def run(self, main: Callable[[], Awaitable[T]]) -> T:
        """``asyncio.run(main())`` on a uvloop event loop, with the handlers installed and
        attached to it. uvloop: the live venues' order round trips (HTTP client, streams) and
        the feeds spend a good part of their time in the loop itself."""
        import asyncio

        import uvloop

        self.install()

        async def attached_main() -> T:
            with self.attached(asyncio.get_running_loop()):
                return await main()

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(attached_main())

    @contextlib.contextmanager
    def attached(self, loop: asyncio.AbstractEventLoop) -> Iterator[None]:
        """Within the block, signals wake ``loop`` and are acted on from it."""
        import socket

        rsock, wsock = socket.socketpair()
        rsock.setblocking(False)
        wsock.setblocking(False)
        loop.add_reader(rsock.fileno(), _drain, rsock)
        previous_fd = signal.set_wakeup_fd(wsock.fileno(), warn_on_full_buffer=False)
        self._loop = loop
        try:
            yield
        finally:
            self._loop = None
            signal.set_wakeup_fd(previous_fd)
            loop.remove_reader(rsock.fileno())
            rsock.close()
            wsock.close()


def _warn(msg: str, *args: object) -> None:
    # logging is imported with this module, never here: an import inside a signal handler that
    # interrupted another import breaks on the import lock (seen: KeyError in _ModuleLock.acquire)
    logging.getLogger("mmcore.stop").warning(msg, *args)


def _drain(sock: socket.socket) -> None:
    """The wake-up bytes only wake the loop; the Python-level handler does the work."""
    with contextlib.suppress(OSError):
        while sock.recv(64):
            pass


STOP = StopSignals()
"""The process's stop signals; installed by ``python -m mmcore``."""
