"""Parsing relay replies: SSE framing and chat-completion bodies (plain or streamed)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mmcore.llm.errors import ErrorKind, RelayError

__all__ = ["Reply", "SSEParser", "StreamAssembler", "parse_completion_body"]


class SSEParser:
    """Incremental Server-Sent Events parser yielding the ``data`` of each event.

    Handles LF, CRLF and CR line endings (even when split across reads), comment lines
    (``: OPENROUTER PROCESSING``) and multi-line data fields.
    """

    def __init__(self) -> None:
        self._buffer = ""
        self._data: list[str] = []
        self.comments = 0

    def feed(self, chunk: bytes) -> Iterator[str]:
        """Consume bytes and yield each complete event's data."""
        self._buffer += chunk.decode("utf-8", errors="replace")
        # A trailing CR may be the first half of CRLF: keep it until more arrives.
        text, self._buffer = (
            (self._buffer[:-1], "\r") if self._buffer.endswith("\r") else (self._buffer, "")
        )
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._buffer = lines.pop() + self._buffer  # the incomplete last line
        for line in lines:
            yield from self._line(line)

    def close(self) -> Iterator[str]:
        """Flush at end of stream: a final event without its blank line still counts."""
        rest, self._buffer = self._buffer.rstrip("\r"), ""
        if rest:
            yield from self._line(rest)
        yield from self._line("")

    def _line(self, line: str) -> Iterator[str]:
        if not line:
            if self._data:
                yield "\n".join(self._data)
                self._data = []
        elif line.startswith(":"):
            self.comments += 1
        elif line.startswith("data:"):
            value = line[5:]
            self._data.append(value[1:] if value.startswith(" ") else value)
        # event:, id:, retry: fields carry nothing the client needs.


@dataclass(slots=True)
class Reply:
    """The parts of a chat completion the advisors and the accounting need."""

    content: str | None = None
    finish_reason: str | None = None
    refusal: str | None = None
    has_reasoning: bool = False
    served_model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    gateway_cost: float | None = None
    done_missing: bool = False


def _stream_error(error_class: str, message: str) -> RelayError:
    return RelayError(ErrorKind.TRANSIENT, error_class, message, billed=True)


def _error_message(err: Any) -> str:
    if isinstance(err, Mapping):
        return f"{err.get('code', '')}: {str(err.get('message', ''))[:200]}"
    return str(err)[:200]


def _take_usage(reply: Reply, usage: Any) -> None:
    if not isinstance(usage, Mapping):
        return
    for key in ("prompt_tokens", "completion_tokens"):
        value = usage.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            setattr(reply, key, value)
    cost = usage.get("cost")
    if isinstance(cost, int | float) and not isinstance(cost, bool) and cost >= 0:
        reply.gateway_cost = float(cost)


def parse_completion_body(raw: bytes) -> Reply:
    """Parse a non-streaming 200 body; an ``error`` inside it raises a transient error."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise _stream_error("malformed_body", "200 reply is not JSON") from None
    if not isinstance(body, Mapping):
        raise _stream_error("malformed_body", "200 reply is not a JSON object")
    if body.get("error"):
        raise _stream_error("body_error", "error inside a 200: " + _error_message(body["error"]))
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        raise _stream_error("malformed_body", "200 reply has no choices")
    choice = choices[0]
    if choice.get("error") or choice.get("finish_reason") == "error":
        raise _stream_error("body_error", "choice error: " + _error_message(choice.get("error")))
    message = choice.get("message") if isinstance(choice.get("message"), Mapping) else {}
    reply = Reply(
        content=message.get("content") if isinstance(message.get("content"), str) else None,
        finish_reason=choice.get("finish_reason"),
        refusal=message.get("refusal") or None,
        has_reasoning=bool(message.get("reasoning") or message.get("reasoning_content")),
        served_model=body.get("model") if isinstance(body.get("model"), str) else None,
    )
    _take_usage(reply, body.get("usage"))
    return reply


class StreamAssembler:
    """Builds a :class:`Reply` from streamed chunks, raising on an error chunk."""

    def __init__(self) -> None:
        self.reply = Reply()
        self._parts: list[str] = []
        self._refusal: list[str] = []
        self.done = False
        self.events = 0

    def add(self, data: str) -> None:
        """Consume one SSE data payload."""
        self.events += 1
        if data.strip() == "[DONE]":
            self.done = True
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            raise _stream_error("malformed_chunk", "stream chunk is not JSON") from None
        if not isinstance(chunk, Mapping):
            raise _stream_error("malformed_chunk", "stream chunk is not a JSON object")
        if chunk.get("error"):
            raise _stream_error("stream_error", "error chunk: " + _error_message(chunk["error"]))
        if isinstance(chunk.get("model"), str):
            self.reply.served_model = chunk["model"]
        _take_usage(self.reply, chunk.get("usage"))
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, Mapping):
                continue
            if choice.get("finish_reason") == "error":
                raise _stream_error("stream_error", "finish_reason error in stream")
            delta = choice.get("delta") if isinstance(choice.get("delta"), Mapping) else {}
            if isinstance(delta.get("content"), str):
                self._parts.append(delta["content"])
            if isinstance(delta.get("refusal"), str):
                self._refusal.append(delta["refusal"])
            if delta.get("reasoning") or delta.get("reasoning_content"):
                self.reply.has_reasoning = True
            if choice.get("finish_reason"):
                self.reply.finish_reason = choice["finish_reason"]

    def finish(self) -> Reply:
        """The assembled reply; a stream cut before any finish reason is a transient error."""
        if not self.done and self.reply.finish_reason is None:
            raise _stream_error("stream_truncated", "stream ended without finish_reason or [DONE]")
        self.reply.done_missing = not self.done
        self.reply.content = "".join(self._parts)
        self.reply.refusal = "".join(self._refusal) or None
        return self.reply
