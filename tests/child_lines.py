"""Reading a child process's output line by line, each line within a deadline, so a hung child
fails the test that waits on it instead of hanging the suite."""

from __future__ import annotations

import os
import selectors
from collections.abc import Iterator
from typing import IO


def lines_within(pipe: IO[bytes], timeout: float) -> Iterator[str]:
    """The lines of ``pipe`` (decoded, without the newline), each one within ``timeout``
    seconds of the previous one, else ``AssertionError``; stops at end of file."""
    fd, pending = pipe.fileno(), b""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                yield line.decode()
            assert sel.select(timeout), f"no output from the child within {timeout:.0f}s"
            chunk = os.read(fd, 4096)  # unbuffered: nothing is held back from select()
            if not chunk:
                if pending:
                    yield pending.decode()
                return
            pending += chunk
