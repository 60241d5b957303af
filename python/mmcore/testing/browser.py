"""A real headless Chromium, driven over the Chrome DevTools Protocol, for tests of HTML output.

:func:`load_page` starts ``chromium --headless=new`` with a throw-away profile, opens a URL,
waits until a JavaScript condition holds, evaluates a probe, takes a full-page screenshot and
collects every JavaScript exception, console error, log error and network request made.
The browser is always killed (and its profile removed) when it returns or fails, and every
step is bounded by a deadline. Only the ``websockets`` package is used (no CDP library).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

__all__ = ["INSTALL_HINT", "BrowserError", "PageResult", "find_chromium", "load_page"]

INSTALL_HINT = (
    "install Debian's chromium (apt-get update && apt-get install -y chromium) or set "
    "MMCORE_CHROMIUM to a Chromium/Chrome binary"
)


class BrowserError(RuntimeError):
    """The browser could not be found, started or driven."""


def find_chromium() -> str:
    """The browser binary: ``$MMCORE_CHROMIUM``, else ``chromium`` or ``chromium-browser`` on
    the PATH; raises :class:`BrowserError` saying how to install one."""
    named = os.environ.get("MMCORE_CHROMIUM")
    if named:
        found = shutil.which(named)
        if found is None:
            raise BrowserError(f"MMCORE_CHROMIUM={named!r} is not an executable; {INSTALL_HINT}")
        return found
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found is not None:
            return found
    raise BrowserError(f"no chromium on the PATH; {INSTALL_HINT}")


@dataclass
class PageResult:
    """What happened while a page was open."""

    probe: Any = None  # the value of the probe expression
    screenshot: bytes = b""  # PNG of the whole page
    exceptions: list[str] = field(default_factory=list)  # uncaught JavaScript exceptions
    console_errors: list[str] = field(default_factory=list)  # console.error/assert, log errors
    requests: list[str] = field(default_factory=list)  # URLs the page asked for

    @property
    def errors(self) -> list[str]:
        """Exceptions and console errors together."""
        return self.exceptions + self.console_errors


class _Session:
    """One flattened CDP session on a page target, over the browser's websocket."""

    def __init__(self, ws: ClientConnection, result: PageResult) -> None:
        self.ws = ws
        self.result = result
        self.session_id: str | None = None
        self._ids = itertools.count(1)
        self._seen: set[str] = set()

    async def call(self, method: str, params: dict | None = None, *, browser: bool = False) -> Any:
        """Send a command and return its result, recording the events that arrive meanwhile."""
        msg_id = next(self._ids)
        msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if not browser and self.session_id is not None:
            msg["sessionId"] = self.session_id
        await self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(await self.ws.recv())
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._event(reply)

    async def wait_event(self, method: str) -> None:
        """Read messages until ``method`` has been seen."""
        while not self.seen(method):
            self._event(json.loads(await self.ws.recv()))

    def seen(self, method: str) -> bool:
        """True once event ``method`` has arrived."""
        return method in self._seen

    def _event(self, msg: dict) -> None:
        method, params = msg.get("method", ""), msg.get("params", {})
        self._seen.add(method)
        r = self.result
        if method == "Runtime.exceptionThrown":
            d = params["exceptionDetails"]
            text = d.get("exception", {}).get("description") or d.get("text", "")
            r.exceptions.append(f"{text} at {d.get('url', '')}:{d.get('lineNumber', '')}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            r.console_errors.append(f"console.{params['type']}: {args}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            e = params["entry"]
            r.console_errors.append(f"log {e['source']}: {e['text']} {e.get('url', '')}".strip())
        elif method == "Network.requestWillBeSent":
            r.requests.append(params["request"]["url"])


async def _devtools_url(profile: Path, proc: subprocess.Popen, deadline: float) -> str:
    """The browser websocket, from the ``DevToolsActivePort`` file Chromium writes."""
    port_file = profile / "DevToolsActivePort"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BrowserError(f"chromium exited with {proc.returncode} before it listened")
        with contextlib.suppress(FileNotFoundError):
            lines = port_file.read_text().split()
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        await asyncio.sleep(0.05)
    raise BrowserError("chromium did not open its DevTools port in time")


async def _drive(
    ws: ClientConnection,
    url: str,
    ready: str,
    probe: str,
    width: int,
    height: int,
    ready_s: float,
    deadline: float,
) -> PageResult:
    result = PageResult()
    s = _Session(ws, result)
    target = await s.call("Target.createTarget", {"url": "about:blank"}, browser=True)
    attached = await s.call(
        "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, browser=True
    )
    s.session_id = attached["sessionId"]
    for domain in ("Runtime", "Log", "Page", "Network"):
        await s.call(f"{domain}.enable")
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
    await s.call("Emulation.setDeviceMetricsOverride", metrics)
    await s.call("Page.navigate", {"url": url})
    await s.wait_event("Page.loadEventFired")
    give_up = min(deadline, time.monotonic() + ready_s)
    while True:  # the page's own rendering may finish after the load event
        done = await s.call("Runtime.evaluate", {"expression": ready, "returnByValue": True})
        if done.get("result", {}).get("value") is True:
            break
        if time.monotonic() > give_up:
            raise BrowserError(
                f"the page was not ready {ready_s:g}s after it loaded ({ready}); "
                f"errors: {result.errors}; requests: {result.requests[:10]}"
            )
        await asyncio.sleep(0.1)
    out = await s.call(
        "Runtime.evaluate", {"expression": probe, "returnByValue": True, "awaitPromise": True}
    )
    if "exceptionDetails" in out:
        raise BrowserError(f"the probe failed: {out['exceptionDetails']}")
    result.probe = out["result"].get("value")
    layout = await s.call("Page.getLayoutMetrics")
    full = layout.get("cssContentSize") or layout["contentSize"]
    shot = await s.call(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": full["height"], "scale": 1},
        },
    )
    result.screenshot = base64.b64decode(shot["data"])
    await asyncio.sleep(0.2)  # late errors (e.g. from a deferred render) still count
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(0.3):
            while True:
                s._event(json.loads(await ws.recv()))
    return result


async def load_page(
    url: str,
    *,
    ready: str = "document.readyState === 'complete'",
    probe: str = "null",
    width: int = 1400,
    height: int = 900,
    ready_s: float = 20.0,
    timeout_s: float = 60.0,
) -> PageResult:
    """Open ``url`` in headless Chromium, wait until the JavaScript expression ``ready`` is
    true, evaluate ``probe`` (its JSON value is returned) and screenshot the whole page.

    Raises :class:`BrowserError` when there is no browser (the message says how to install
    one), when it fails to start, when ``ready`` is still false ``ready_s`` after the load
    event (the message lists the errors seen) or when ``timeout_s`` passes.
    """
    binary = find_chromium()
    deadline = time.monotonic() + timeout_s
    profile = Path(tempfile.mkdtemp(prefix="mmcore-chromium-"))
    proc = subprocess.Popen(
        [
            binary,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        async with asyncio.timeout(timeout_s):
            ws_url = await _devtools_url(profile, proc, deadline)
            async with connect(ws_url, max_size=None, open_timeout=10) as ws:
                return await _drive(ws, url, ready, probe, width, height, ready_s, deadline)
    except TimeoutError as exc:
        raise BrowserError(f"the browser did not finish within {timeout_s:g}s") from exc
    finally:
        _stop(proc)
        shutil.rmtree(profile, ignore_errors=True)


def _stop(proc: subprocess.Popen) -> None:
    """End the browser and its helper processes (its own process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
