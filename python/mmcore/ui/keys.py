"""The operator's keys on the dashboard: ``h`` halts, ``r`` resumes, ``f`` flattens (after a
confirmation: ``F`` or ``y``; any other key cancels it), each through :mod:`mmcore.control`.

:class:`OperatorKeys` turns key presses into those controls and keeps the line the dashboard's
footer shows. :func:`terminal_keys` reads them from a terminal: it puts it in cbreak mode (each
key arrives at once and is not echoed; Ctrl-C still interrupts), reads it on the event loop
(no thread) and restores the terminal's mode on the way out, whether the run ended, was
interrupted or failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import termios
import tty
from collections.abc import Callable, Iterator
from typing import TextIO

from mmcore import control
from mmcore.trader import Trader

__all__ = ["CONFIRM", "HELP", "OperatorKeys", "terminal_keys"]

log = logging.getLogger("mmcore.ui.keys")

#: The keys, as the footer lists them.
HELP = "keys: h halt  r resume  f flatten (then F or y to confirm)"
#: The keys that confirm a flatten.
CONFIRM = ("F", "y")


class OperatorKeys:
    """Key presses to operator controls on ``trader``; :attr:`message` says what the last
    one did (or what a flatten waits for)."""

    def __init__(self, trader: Trader) -> None:
        self.trader = trader
        self.message = ""
        self.confirming = False

    def press(self, key: str) -> None:
        """Act on one key; keys without a meaning are ignored."""
        if self.confirming:
            self.confirming = False
            if key in CONFIRM:
                self._run("flatten", control.flatten)
            else:
                self.message = "flatten cancelled"
        elif key == "h":
            self._run("halt", control.halt)
        elif key == "r":
            self._run("resume", control.resume)
        elif key == "f":
            self.confirming = True
            self.message = "flatten every position? F or y confirms, any other key cancels"

    def _run(self, name: str, action: Callable[[Trader], dict[str, str]]) -> None:
        try:
            states = action(self.trader)
        except Exception as exc:  # the dashboard keeps running; the operator sees why
            log.exception("operator_key_failed action=%s", name)
            self.message = f"{name} failed: {exc}"
            return
        shown = "  ".join(f"{symbol} {state}" for symbol, state in states.items())
        self.message = f"{name}: {shown}"

    @property
    def footer(self) -> str:
        """The keys and the last action's outcome, for the dashboard's footer."""
        return f"{HELP}  | {self.message}" if self.message else HELP


@contextlib.contextmanager
def terminal_keys(keys: OperatorKeys, stream: TextIO | None) -> Iterator[bool]:
    """Hand the keys typed on ``stream`` to ``keys`` while the block runs (on the running
    event loop); yields False, doing nothing, when ``stream`` is not a terminal (none,
    closed, a pipe or a file)."""
    try:
        interactive = stream is not None and stream.isatty()
    except ValueError:  # closed
        interactive = False
    if not interactive:
        yield False
        return
    assert stream is not None
    fd = stream.fileno()
    loop = asyncio.get_running_loop()
    saved = termios.tcgetattr(fd)

    def readable() -> None:
        try:
            data = os.read(fd, 64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # the terminal went away
            data = b""
        if not data:
            loop.remove_reader(fd)
            return
        for key in data.decode(errors="ignore"):
            keys.press(key)

    tty.setcbreak(fd, termios.TCSANOW)
    try:
        loop.add_reader(fd, readable)
        try:
            yield True
        finally:
            loop.remove_reader(fd)
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)
