"""A local OpenAI-compatible relay on loopback that replays scripted replies.

Real HTTP/1.1 over asyncio streams, served from its own thread and event loop, so tests and
benchmarks drive it from any loop (or none). Each ``POST /chat/completions`` takes the next
:class:`Step` from the script (or the default), covering every scenario of llm-relay.md §8:
status errors with Retry-After headers, HTML error pages, hangs, headers-then-silence,
trickles, connection resets, SSE comments, CRLF, split writes, mid-stream errors, missing
``[DONE]`` and missing usage. ``GET /models`` serves an OpenRouter-style listing.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mmcore.testing.http_loopback import REASONS, Step, read_request, write_step

__all__ = [
    "DEFAULT_MODELS",
    "FakeRelay",
    "RecordedRequest",
    "Step",
    "completion",
    "completion_body",
    "echo_model",
    "error",
    "hang",
    "headers_then_silence",
    "html_error",
    "json_step",
    "model_entry",
    "reset_mid_body",
    "sse",
    "stream_completion",
    "trickle",
]

DEFAULT_USAGE = {
    "prompt_tokens": 812,
    "completion_tokens": 41,
    "total_tokens": 853,
    "cost": 0.00031,
}


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request the server received (headers lower-cased, body parsed when JSON).

    ``at`` is the server's ``clock()`` when the request had been read in full.
    """

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    at: float = 0.0


# -- reply builders -----------------------------------------------------------------------


def json_step(obj: Any, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Step:
    """A JSON body with the given status and extra headers."""
    return Step(
        status,
        (("content-type", "application/json"), *headers),
        (json.dumps(obj).encode(),),
    )


def completion_body(
    content: str | None,
    *,
    model: str = "deepseek/v3-2",
    finish_reason: str = "stop",
    usage: Mapping[str, Any] | None = DEFAULT_USAGE,
    refusal: str | None = None,
    reasoning: str | None = None,
    choice_error: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A non-streaming chat.completion body (OpenRouter flavour)."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": refusal}
    if reasoning is not None:
        message["reasoning"] = reasoning
    choice: dict[str, Any] = {
        "index": 0,
        "finish_reason": finish_reason,
        "native_finish_reason": finish_reason,
        "message": message,
    }
    if choice_error is not None:
        choice["error"] = choice_error
    body: dict[str, Any] = {
        "id": "gen-1",
        "object": "chat.completion",
        "created": 1767225600,
        "model": model,
        "provider": "FakeProvider",
        "choices": [choice],
    }
    if usage is not None:
        body["usage"] = dict(usage)
    return body


def completion(content: str | None, **kwargs: Any) -> Step:
    """A 200 chat.completion; keyword arguments as in :func:`completion_body`."""
    return json_step(completion_body(content, **kwargs), headers=(("x-generation-id", "gen-1"),))


def error(status: int, body: Any = None, headers: Iterable[tuple[str, str]] = ()) -> Step:
    """A JSON error reply; ``body`` defaults to an OpenRouter-shaped error with ``code``."""
    if body is None:
        body = {"error": {"code": status, "message": REASONS.get(status, "error")}}
    return json_step(body, status, headers)


def html_error(status: int) -> Step:
    """A non-JSON error page, as proxies in front of relays send."""
    page = f"<html><body><h1>{status} {REASONS.get(status, '')}</h1></body></html>".encode()
    return Step(status, (("content-type", "text/html"),), (page,))


def sse(
    events: Iterable[Mapping[str, Any] | str],
    *,
    comment: bool = True,
    crlf: bool = False,
    split: bool = False,
    done: bool = True,
) -> Step:
    """An SSE stream: dicts become ``data:`` events, strings are raw lines (e.g. comments).

    ``comment`` prepends ``: OPENROUTER PROCESSING``; ``split`` cuts every event in two
    separate writes mid-JSON; ``done`` appends ``data: [DONE]``.
    """
    nl = "\r\n" if crlf else "\n"
    blocks = [": OPENROUTER PROCESSING" + nl + nl] if comment else []
    for ev in events:
        line = ev if isinstance(ev, str) else "data: " + json.dumps(ev)
        blocks.append(line + nl + nl)
    if done:
        blocks.append("data: [DONE]" + nl + nl)
    parts: list[bytes | float] = []
    for block in blocks:
        raw = block.encode()
        if split and len(raw) > 4:
            parts += [raw[: len(raw) // 2], 0.005, raw[len(raw) // 2 :]]
        else:
            parts.append(raw)
    return Step(200, (("content-type", "text/event-stream"),), tuple(parts), framing="chunked")


def stream_chunks(
    content: str,
    *,
    model: str = "deepseek/v3-2",
    finish_reason: str | None = "stop",
    usage: Mapping[str, Any] | None = DEFAULT_USAGE,
    pieces: int = 3,
) -> list[dict[str, Any]]:
    """Chunk dicts streaming ``content`` in ``pieces``, then the finish and usage chunks."""
    head = {"id": "c1", "object": "chat.completion.chunk", "created": 1767225600, "model": model}
    size = max(1, -(-len(content) // pieces))
    out = [
        {
            **head,
            "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            ],
        }
    ]
    for i in range(0, len(content), size):
        delta = {"content": content[i : i + size]}
        out.append({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    if finish_reason is not None:
        out.append({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}]})
    if usage is not None:
        out.append({**head, "choices": [], "usage": dict(usage)})
    return out


def stream_completion(content: str, **kwargs: Any) -> Step:
    """A well-formed streamed completion; stream options as in :func:`sse`."""
    chunk_keys = {"model", "finish_reason", "usage", "pieces"}
    chunk_args = {k: v for k, v in kwargs.items() if k in chunk_keys}
    sse_args = {k: v for k, v in kwargs.items() if k not in chunk_keys}
    return sse(stream_chunks(content, **chunk_args), **sse_args)


def echo_model(request: RecordedRequest) -> Step:
    """A ``{"action": "hold"}`` completion naming the requested model as the one that served."""
    body = request.body if isinstance(request.body, Mapping) else {}
    return completion('{"action": "hold"}', model=str(body.get("model", "deepseek/v3-2")))


def hang() -> Step:
    """Accept the request and never answer."""
    return Step(respond=False)


def headers_then_silence() -> Step:
    """Send a 200 status line and headers announcing a body, then nothing."""
    return Step(200, (("content-type", "application/json"),), declared_length=4096, end="hang")


def trickle(interval_s: float) -> Step:
    """Send headers, then one byte every ``interval_s`` seconds, never finishing."""
    return Step(
        200,
        (("content-type", "application/json"),),
        (b"{",),
        declared_length=1 << 20,
        trickle_s=interval_s,
    )


def reset_mid_body() -> Step:
    """Send headers and half a body, then reset the connection."""
    body = json.dumps(completion_body('{"action": "hold"}')).encode()
    return Step(
        200,
        (("content-type", "application/json"),),
        (body[: len(body) // 2],),
        declared_length=len(body),
        end="reset",
    )


def model_entry(
    model_id: str,
    *,
    prompt: str = "0.00000028",
    completion_price: str = "0.00000042",
    supported: Iterable[str] = (
        "max_tokens",
        "temperature",
        "response_format",
        "structured_outputs",
    ),
) -> dict[str, Any]:
    """One OpenRouter ``/models`` entry with string pricing and ``supported_parameters``."""
    return {
        "id": model_id,
        "canonical_slug": model_id,
        "name": model_id,
        "created": 1767225600,
        "context_length": 128000,
        "architecture": {"modality": "text->text", "tokenizer": "Other"},
        "pricing": {"prompt": prompt, "completion": completion_price, "request": "0"},
        "top_provider": {"context_length": 128000, "max_completion_tokens": 8192},
        "supported_parameters": list(supported),
    }


DEFAULT_MODELS: tuple[dict[str, Any], ...] = (
    model_entry("deepseek/v3-2"),
    model_entry("google/gemini-2.5-flash", prompt="0.0000003", completion_price="0.0000025"),
    model_entry("anthropic/claude-sonnet-4.5", prompt="0.000003", completion_price="0.000015"),
    model_entry("openai/gpt-4.1", prompt="0.000002", completion_price="0.000008"),
)


# -- the server ---------------------------------------------------------------------------


@dataclass
class FakeRelay:
    """The server. Use as a context manager, or call :meth:`start` / :meth:`stop`.

    ``default`` answers when the script is empty: a :class:`Step` or a callable taking the
    :class:`RecordedRequest` (by default :func:`echo_model`: a completion served by the model
    asked for, as a relay reports it). ``requests`` lists every request received (thread-safe
    append), stamped with ``clock()`` (``time.monotonic`` unless a test shares its client's
    clock).
    With ``gate`` set to N, chat requests are held until N of them are waiting together (or
    ``gate_timeout_s`` passes): proof that N calls were really in flight at once.
    """

    models: tuple[Mapping[str, Any], ...] = DEFAULT_MODELS
    default: Step | Callable[[RecordedRequest], Step] = field(default_factory=lambda: echo_model)
    requests: list[RecordedRequest] = field(default_factory=list)
    port: int = 0
    gate: int | None = None
    gate_timeout_s: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _script: collections.deque[Step] = field(default_factory=collections.deque)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _max_open: int = 0
    _open: int = 0
    _gated: int = 0
    _gate_open: asyncio.Event | None = None

    @property
    def base_url(self) -> str:
        """Base URL of the OpenAI-compatible API (OpenRouter layout)."""
        return f"http://127.0.0.1:{self.port}/api/v1"

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The chat-completion requests received so far."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def max_open_connections(self) -> int:
        """Peak number of simultaneously open client connections."""
        return self._max_open

    def script(self, *steps: Step) -> None:
        """Queue replies for the next chat-completion requests, in order."""
        self._script.extend(steps)

    def start(self) -> FakeRelay:
        """Bind 127.0.0.1 on an OS-chosen port and serve from a daemon thread."""
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._server = loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-relay", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        """Close the listener and every open connection, then end the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> FakeRelay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._open += 1
        self._max_open = max(self._max_open, self._open)
        try:
            while await self._serve_one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._open -= 1
            self._tasks.discard(task)
            writer.transport.abort()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; return False when the connection should close."""
        http = await read_request(reader)
        if http is None:
            return False
        method, path, headers, raw = http.method, http.target, http.headers, http.body
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        request = RecordedRequest(method, path, headers, body, self.clock())
        self.requests.append(request)
        if method == "GET" and path.rstrip("/").endswith("/models"):
            step = json_step({"data": list(self.models)})
        elif method == "POST" and path.endswith("/chat/completions"):
            await self._pass_gate()
            step = self._next_step(request)
        else:
            step = error(404, {"error": {"code": 404, "message": f"no route {path}"}})
        return await self._write(step, writer)

    def arm_gate(self, count: int) -> None:
        """Hold the next chat requests until ``count`` of them wait together (call while idle)."""
        self.gate = count
        self._gated = 0
        self._gate_open = None

    async def _pass_gate(self) -> None:
        if self.gate is None:
            return
        if self._gate_open is None:
            self._gate_open = asyncio.Event()
        self._gated += 1
        if self._gated >= self.gate:
            self._gate_open.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._gate_open.wait(), self.gate_timeout_s)

    @property
    def gated_peak(self) -> int:
        """How many chat requests reached the gate (see ``gate``)."""
        return self._gated

    def _next_step(self, request: RecordedRequest) -> Step:
        try:
            return self._script.popleft()
        except IndexError:
            return self.default(request) if callable(self.default) else self.default

    async def _write(self, step: Step, writer: asyncio.StreamWriter) -> bool:
        return await write_step(step, writer)
