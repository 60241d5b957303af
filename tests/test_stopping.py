"""mmcore.stopping: the first stop signal requests a stop, the second forces it; subscribers are
called once, also when they come after the signal; real signals reach a running loop."""

from __future__ import annotations

import asyncio
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


def test_first_signal_requests_second_forces_third_is_ignored() -> None:
    stop, calls = StopSignals(), []
    with stop.on_stop(lambda: calls.append("stop")), stop.on_force(lambda: calls.append("force")):
        assert not stop.requested and not stop.forced
        stop.receive(signal.SIGTERM)
        assert stop.requested and stop.signal is signal.SIGTERM and not stop.forced
        assert calls == ["stop"]
        stop.receive(signal.SIGINT)
        assert stop.forced and stop.signal is signal.SIGTERM  # the first one is kept
        assert calls == ["stop", "force"]
        stop.receive(signal.SIGINT)
        assert calls == ["stop", "force"]


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

    async def main() -> str:
        stopped = asyncio.Event()
        with stop.on_stop(stopped.set):
            loop = asyncio.get_running_loop()
            loop.call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(stopped.wait(), 10)
        return "done"

    assert stop.run(main) == "done"
    assert stop.signal is signal.SIGTERM
    assert signal.set_wakeup_fd(-1) == -1, "the wake-up fd is released with the loop"
    os.kill(os.getpid(), signal.SIGINT)  # after the loop: still handled, no KeyboardInterrupt
    assert stop.forced
