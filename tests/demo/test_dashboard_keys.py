"""The operator's keys on the dashboard, for real: the demo runs in a child process whose
terminal is a pseudo-terminal; the test types ``h``, ``r``, ``f`` (cancelled, then confirmed
with ``y``) and reads each effect from the run's ``GET /status``; Ctrl-C ends the run and the
terminal's mode is back as it was."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mmcore.testing.child import child_env
from mmcore.ui.keys import OperatorKeys, terminal_keys

ROOT = Path(__file__).resolve().parents[2]


class Terminal:
    """The parent's side of a pseudo-terminal: what the child printed (drained by a thread, so
    the child never blocks on a full terminal while the test waits on something else), keys
    to type."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        # a wide terminal: the footer's key line is not wrapped
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        self._chunks: list[bytes] = []
        self._drain = threading.Thread(target=self._read_all, daemon=True)
        self._drain.start()

    def _read_all(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # closed
                return
            if not chunk:
                return
            self._chunks.append(chunk)

    def read(self) -> str:
        """Everything printed so far."""
        return b"".join(self._chunks).decode(errors="replace")

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def until(self, cond: Callable[[], Any], what: str, timeout_s: float = 15.0) -> Any:
        """Keep reading the output until ``cond()`` is truthy; its value."""
        deadline = time.monotonic() + timeout_s
        while True:
            time.sleep(0.05)
            value = cond()
            if value:
                return value
            assert time.monotonic() < deadline, f"{what}: not seen; output:\n{self.read()[-3000:]}"

    def cbreak(self) -> bool:
        """Keys are read one by one, unechoed (the dashboard took the terminal)."""
        lflag = termios.tcgetattr(self.slave)[3]
        return not lflag & (termios.ICANON | termios.ECHO)


def status(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/status", timeout=2) as reply:
        return json.loads(reply.read())["symbols"]


def own_terminal() -> None:
    """In the child (a new session): make the pseudo-terminal its controlling terminal, so
    Ctrl-C typed on it interrupts the run as on a real one."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_keys_halt_resume_and_flatten_and_the_terminal_is_restored(tmp_path: Path) -> None:
    term = Terminal()
    before = termios.tcgetattr(term.slave)
    env = child_env(TERM="xterm-256color")
    args = ["--duration", "60", "--speed", "10", "--ops-port", "0", "--out", str(tmp_path)]
    child = subprocess.Popen(
        [sys.executable, "-m", "mmcore", *args],
        stdin=term.slave,
        stdout=term.slave,
        stderr=term.slave,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
        preexec_fn=own_terminal,
    )
    try:
        url = term.until(
            lambda: (m := re.search(r"ops endpoints on (http://[\d.:]+)", term.read())) and m[1],
            "the ops port",
        )
        term.until(term.cbreak, "the terminal in cbreak mode")
        term.until(lambda: "h halt  r resume  f flatten" in term.read(), "the keys in the footer")

        def states() -> set[tuple[str, bool]]:
            return {
                (s["risk"]["state"], "operator" in s["risk"]["reasons"])
                for s in status(url).values()
            }

        term.until(lambda: states() == {("active", False)}, "quoting", timeout_s=20)
        term.type(b"h")
        term.until(lambda: states() == {("halted", True)}, "halted by the h key")
        term.type(b"r")
        term.until(lambda: ("halted", True) not in states(), "resumed by the r key")
        term.type(b"f")
        term.until(lambda: "F or y confirms" in term.read(), "the flatten prompt")
        term.type(b"x")  # anything else cancels the flatten
        term.until(lambda: "flatten cancelled" in term.read(), "the flatten cancelled")
        assert not any(s["risk"]["flattening"] for s in status(url).values())
        term.type(b"f")
        term.type(b"y")
        term.until(
            lambda: all(s["risk"]["flattening"] or s["risk"]["state"] == "halted"
                        for s in status(url).values())
            and all(operator for _, operator in states()),
            "flattening after f, y",
        )  # fmt: skip
        term.type(b"\x03")  # Ctrl-C on the terminal
        term.until(lambda: child.poll() is not None, "the run ending")  # output drained
        assert child.returncode == 0
        assert "stopping (interrupted)" in term.read()
        after = termios.tcgetattr(term.slave)
        assert after[3] == before[3]  # local modes (canonical input, echo) as they were
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(term.slave)
        os.close(term.master)  # ends the drain thread


def test_no_terminal_no_keys() -> None:
    """Piped, closed or absent stdin: the dashboard takes no keys and lists none."""
    keys = OperatorKeys(trader=None)  # type: ignore[arg-type]  # never called without a key
    closed = io.StringIO()
    closed.close()
    for stream in (io.StringIO("hrf"), closed, None):
        with terminal_keys(keys, stream) as active:
            assert active is False
    assert keys.message == "" and not keys.confirming
