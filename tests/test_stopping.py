"""mmcore.stopping: the first stop signal requests a stop, the second forces it; subscribers are
called once, also when they come after the signal; real signals reach a running loop."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Iterator

import pytest

from mmcore.stopping import StopSignals


@pytest.fixture
def handlers() -> Iterator[None]:
    """Put back pytest's own SIGINT/SIGTERM handlers after a test installs ours."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_first_signal_requests_second_forces_third_is_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop, calls = StopSignals(), []
    caplog.set_level(logging.WARNING, logger="mmcore.stop")
    with stop.on_stop(lambda: calls.append("stop")), stop.on_force(lambda: calls.append("force")):
        assert stop.signal is None and stop.forced is False and not stop.requested
        stop.receive(signal.SIGTERM)
        assert stop.requested and stop.signal is signal.SIGTERM and not stop.forced
        assert calls == ["stop"]
        stop.receive(signal.SIGINT)
        assert stop.forced and stop.signal is signal.SIGTERM  # the first one is kept
        assert calls == ["stop", "force"]
        stop.receive(signal.SIGINT)
        assert calls == ["stop", "force"]
    logged = [(r.name, r.getMessage()) for r in caplog.records]
    assert logged == [
        ("mmcore.stop", "stop_signal signal=SIGTERM"),
        ("mmcore.stop", "stop_forced signal=SIGINT"),
    ]


def test_a_late_subscriber_is_called_at_once_and_a_gone_one_never() -> None:
    stop, calls = StopSignals(), []
    with stop.on_stop(lambda: calls.append("early")):
        pass
    stop.receive(signal.SIGINT)
    assert calls == []  # it left before the signal
    with stop.on_stop(lambda: calls.append("late")):
        assert calls == ["late"]
        with stop.on_force(lambda: calls.append("force")):
            assert calls == ["late"]
            stop.receive(signal.SIGINT)
            assert calls == ["late", "force"]
    with stop.on_force(lambda: calls.append("late force")):
        assert calls == ["late", "force", "late force"]


def test_install_handles_a_real_signal_without_a_loop(handlers: None) -> None:
    stop = StopSignals()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell starts a background job
    stop.install()
    os.kill(os.getpid(), signal.SIGINT)  # handled before kill() returns to Python code
    assert stop.signal is signal.SIGINT
    os.kill(os.getpid(), signal.SIGTERM)
    assert stop.forced


def test_run_wakes_the_loop_on_a_real_signal_and_detaches_after(handlers: None) -> None:
    stop = StopSignals()

    called_in: list[asyncio.Task[object] | None] = []

    async def main() -> str:
        stopped = asyncio.Event()

        def on_stop() -> None:
            called_in.append(asyncio.current_task())
            stopped.set()

        with stop.on_stop(on_stop):
            loop = asyncio.get_running_loop()
            loop.call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(stopped.wait(), 10)
            # a signal that interrupts this very task: its subscribers still run from the loop
            os.kill(os.getpid(), signal.SIGINT)
            assert not stop.forced, "acted on inside the interrupted code"
            await asyncio.sleep(0)
            assert stop.forced
        return "done"

    assert stop.run(main) == "done"
    assert called_in == [None], "subscribers are called from the loop, not inside a task"
    assert stop.signal is signal.SIGTERM
    assert signal.set_wakeup_fd(-1) == -1, "the wake-up fd is released with the loop"
    os.kill(os.getpid(), signal.SIGINT)  # after the loop: still ours, no KeyboardInterrupt


def test_run_is_on_uvloop(handlers: None) -> None:
    import uvloop

    async def main() -> type:
        return type(asyncio.get_running_loop())

    assert StopSignals().run(main) is uvloop.Loop  # the product's loop (README, DESIGN)
