"""SIGINT and SIGTERM stop ``python -m mmcore`` cleanly at any moment, from start-up to shutdown.

Each test runs the real program as a subprocess, waits for a condition (a line of its output,
or the handlers being installed) with a deadline, sends the signal, and checks the outcome:
exit code 0, the "stopped (interrupted)" line, the report, a consistent journal (integrity
check ok, every order in a terminal state) and no simulated-market process left behind.
Every wait is bounded: a hung child fails the test and is killed.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mmcore.execution import OrderStatus

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")

START_S = 60.0  # start-up on a loaded 2-core box takes a few seconds; this bounds a hang
STOP_S = 30.0  # from the stop signal to the exit, on the same box
TERMINAL = {s.value for s in OrderStatus if s.terminal}


class Run:
    """``python -m mmcore`` in a subprocess, its output read line by line by a thread."""

    def __init__(self, out: Path, *, ignore_sigint: bool = False) -> None:
        self.out = out
        cmd = [sys.executable, "-m", "mmcore", "--duration", "30", "--speed", "10"]
        cmd += ["--headless", "--out", str(out)]
        preexec: Callable[[], object] | None = None
        if ignore_sigint:  # as a shell starts a background job (`&`)

            def preexec() -> object:
                return signal.signal(signal.SIGINT, signal.SIG_IGN)

        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(os.environ),  # PYTHONPATH inherited
            preexec_fn=preexec,
            start_new_session=True,  # its own process group, as a terminal gives a command
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.children: set[int] = set()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float, what: str) -> str:
        """The first output line matching ``predicate``; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            self.note_children()
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                pytest.fail(f"no {what} within {timeout:.0f}s; output:\n{self.output()}")
            try:
                line = self._queue.get(timeout=min(left, 0.2))
            except queue.Empty:
                continue
            if line is None:
                pytest.fail(f"exited before {what}; output:\n{self.output()}")
            self.lines.append(line)
            if predicate(line):
                return line

    def wait_until_handled(self, timeout: float) -> str:
        """Until the process catches SIGINT and SIGTERM (its handlers are installed); returns
        its memory map read just after (which libraries were loaded by then)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _catches(self.proc.pid, signal.SIGINT, signal.SIGTERM):
                return Path(f"/proc/{self.proc.pid}/maps").read_text()
            time.sleep(0.001)  # polling /proc: there is no event to wait on
        self.kill()
        pytest.fail(f"stop handlers not installed within {timeout:.0f}s")

    def note_children(self) -> None:
        """Remember the program's child processes (the simulated market)."""
        with_children = Path(f"/proc/{self.proc.pid}/task")
        try:
            for task in with_children.iterdir():
                text = (task / "children").read_text()
                self.children.update(int(p) for p in text.split())
        except OSError:
            pass

    def wait_for_child(self, timeout: float) -> None:
        """Until the program's child process (the simulated market) has started the Python
        interpreter (it is then still starting up: importing, for about a second)."""
        deadline = time.monotonic() + timeout
        while not any(b"spawn_main" in _cmdline(pid) for pid in self.children):
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"no child interpreter within {timeout:.0f}s")
            time.sleep(0.001)  # polling /proc: there is no event to wait on
            self.note_children()

    def signal(self, sig: int, *, group: bool = False) -> None:
        """Send ``sig`` to the program, or with ``group`` to its whole process group (what a
        terminal's Ctrl-C does: the simulated market's process gets it too)."""
        self.note_children()
        if group:
            os.killpg(self.proc.pid, sig)
        else:
            self.proc.send_signal(sig)

    def finish(self, timeout: float = STOP_S) -> int:
        """Wait for the exit (reading the rest of the output); fails after ``timeout``."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"still running {timeout:.0f}s after the signal:\n{self.output()}")
        self._reader.join(timeout=10)
        while not self._queue.empty():
            line = self._queue.get()
            if line is not None:
                self.lines.append(line)
        return self.proc.returncode

    def kill(self) -> None:
        self.note_children()
        for pid in self.children:
            _kill(pid)
        self.proc.kill()
        self.proc.wait(timeout=10)


def _catches(pid: int, *signals: int) -> bool:
    """True when process ``pid`` has a handler for every one of ``signals``."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = re.search(r"^SigCgt:\s*([0-9a-f]+)", status, re.M)
    want = sum(1 << (s - 1) for s in signals)
    return caught is not None and int(caught.group(1), 16) & want == want


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def assert_clean_stop(run: Run, *, want_orders: bool = False) -> None:
    """Exit 0, the stop line, the report, a consistent journal, no process left behind."""
    code = run.finish()
    out = run.output()
    try:
        assert code == 0, out
        assert "Traceback" not in out, out
        assert "mmcore: stopped (interrupted)" in out, out
        assert (run.out / "report.html").stat().st_size > 0
        journal = run.out / "journal.sqlite"
        # closed, not just committed: the last connection's close checkpoints and removes the WAL
        assert not journal.with_name("journal.sqlite-wal").exists(), "journal left open"
        with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            statuses = dict(conn.execute("SELECT status, COUNT(*) FROM orders GROUP BY status"))
        assert set(statuses) <= TERMINAL, statuses
        if want_orders:
            assert statuses, "no order was journalled"
        deadline = time.monotonic() + 10.0
        while any(_alive(p) for p in run.children) and time.monotonic() < deadline:
            time.sleep(0.05)  # the market process is reaped just after the parent exits
        assert not [p for p in run.children if _alive(p)], "child process left behind"
    finally:
        for pid in run.children:
            _kill(pid)


def _trading(line: str) -> bool:
    return line.startswith("mmcore: trading ")


def _filled(line: str) -> bool:
    """A headless status line with a position: there were fills."""
    m = re.search(r" inventory=(\S+) ", line)
    return m is not None and float(m.group(1)) != 0.0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_the_imports(tmp_path: Path, sig: int) -> None:
    """The handlers come first, before the heavy imports (numpy is not loaded yet)."""
    run = Run(tmp_path / "run")
    maps = run.wait_until_handled(START_S)
    run.signal(sig)
    assert "_multiarray_umath" not in maps, "stop handlers installed only after numpy loaded"
    assert_clean_stop(run)


def test_ctrl_c_while_the_market_process_starts(tmp_path: Path) -> None:
    """Ctrl-C reaches the market's process too while it is still importing: no traceback."""
    run = Run(tmp_path / "run")
    run.wait_for(lambda line: "starting the simulated market" in line, START_S, "start line")
    run.wait_for_child(START_S)
    run.signal(signal.SIGINT, group=True)
    assert_clean_stop(run)


def test_sigterm_before_the_books_sync(tmp_path: Path) -> None:
    run = Run(tmp_path / "run")
    run.wait_for(_trading, START_S, "trading line")
    run.signal(signal.SIGTERM)
    assert_clean_stop(run)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_run_cancels_every_order(tmp_path: Path, sig: int) -> None:
    run = Run(tmp_path / "run")
    run.wait_for(_filled, START_S, "a fill")
    run.signal(sig, group=sig == signal.SIGINT)
    assert_clean_stop(run, want_orders=True)


def test_second_sigint_during_shutdown_exits_fast_and_consistent(tmp_path: Path) -> None:
    run = Run(tmp_path / "run")
    run.wait_for(_filled, START_S, "a fill")
    run.signal(signal.SIGINT)
    run.wait_for(lambda line: line.startswith("mmcore: stopping"), STOP_S, "stopping line")
    run.signal(signal.SIGINT, group=True)
    assert_clean_stop(run, want_orders=True)


def test_sigint_stops_a_run_started_with_sigint_ignored(tmp_path: Path) -> None:
    run = Run(tmp_path / "run", ignore_sigint=True)
    run.wait_for(lambda line: "starting the simulated market" in line, START_S, "start line")
    run.signal(signal.SIGINT)
    assert_clean_stop(run)
