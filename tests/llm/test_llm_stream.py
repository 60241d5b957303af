"""§8 stream quirks: comments, CRLF, split writes, mid-stream error, no [DONE], no usage."""

from __future__ import annotations

import pytest

from mmcore.llm.wire import SSEParser
from mmcore.testing import fake_relay as fr

from .conftest import MakeClient

MESSAGES = [{"role": "user", "content": "Reply with JSON."}]
CONTENT = '{"action": "bid", "spread_bps": 60}'


async def stream_call(make_client: MakeClient):
    client = await make_client()
    return client, await client.complete("signal", MESSAGES, stream=True)


async def test_comment_before_first_data_is_skipped(relay: fr.FakeRelay, make_client: MakeClient):
    relay.script(fr.stream_completion(CONTENT, comment=True))
    _, done = await stream_call(make_client)
    assert done.reply.content == CONTENT
    assert (done.reply.finish_reason, done.cost_source) == ("stop", "gateway")
    assert done.cost_usd == pytest.approx(0.00031)
    body = relay.chat_requests[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


async def test_crlf_line_endings(relay: fr.FakeRelay, make_client: MakeClient):
    relay.script(fr.stream_completion(CONTENT, crlf=True))
    _, done = await stream_call(make_client)
    assert done.reply.content == CONTENT and not done.reply.done_missing


async def test_chunks_split_across_tcp_writes(relay: fr.FakeRelay, make_client: MakeClient):
    relay.script(fr.stream_completion(CONTENT, split=True, crlf=True, pieces=5))
    _, done = await stream_call(make_client)
    assert done.reply.content == CONTENT


async def test_mid_stream_error_chunk_is_retried(relay: fr.FakeRelay, make_client: MakeClient):
    chunks = fr.stream_chunks(CONTENT, finish_reason=None, usage=None)[:2]
    error_chunk = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "deepseek/v3-2",
        "provider": "openai",
        "error": {"code": "server_error", "message": "Provider disconnected unexpectedly"},
        "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
    }
    relay.script(fr.sse([*chunks, error_chunk], done=False), fr.stream_completion(CONTENT))
    client, done = await stream_call(make_client)
    assert done.attempts == 2 and done.reply.content == CONTENT
    assert client.ledger.errors["stream_error"] == 1
    # Tokens had already streamed: the failed attempt counts as billed (its estimate is kept).
    assert client.budget.spent_hour() > done.cost_usd


async def test_stream_without_done_is_accepted_after_finish(
    relay: fr.FakeRelay, make_client: MakeClient
):
    relay.script(fr.stream_completion(CONTENT, done=False))
    _, done = await stream_call(make_client)
    assert done.reply.content == CONTENT and done.reply.done_missing


async def test_stream_cut_before_finish_is_transient(relay: fr.FakeRelay, make_client: MakeClient):
    cut = fr.stream_chunks(CONTENT, finish_reason=None, usage=None)
    relay.script(fr.sse(cut, done=False), fr.stream_completion(CONTENT))
    client, done = await stream_call(make_client)
    assert done.attempts == 2 and client.ledger.errors["stream_truncated"] == 1


async def test_stream_without_usage_has_unknown_cost(relay: fr.FakeRelay, make_client: MakeClient):
    relay.script(fr.stream_completion(CONTENT, usage=None))
    client, done = await stream_call(make_client)
    assert done.cost_usd is None and done.cost_source == "unknown"
    assert client.ledger.models["deepseek/v3-2"].unknown_cost_calls == 1


async def test_stream_usage_without_cost_is_priced(relay: fr.FakeRelay, make_client: MakeClient):
    usage = {"prompt_tokens": 1000, "completion_tokens": 50}
    relay.script(fr.stream_completion(CONTENT, usage=usage))
    _, done = await stream_call(make_client)
    assert done.cost_source == "price_table"
    assert done.cost_usd == pytest.approx(1000 * 0.00000028 + 50 * 0.00000042)


async def test_garbage_chunk_is_transient(relay: fr.FakeRelay, make_client: MakeClient):
    relay.script(fr.sse(["data: {not json"], done=False), fr.stream_completion(CONTENT))
    client, done = await stream_call(make_client)
    assert done.attempts == 2 and client.ledger.errors["malformed_chunk"] == 1


async def test_stream_request_answered_with_json_body(relay: fr.FakeRelay, make_client: MakeClient):
    relay.script(fr.completion(CONTENT))
    _, done = await stream_call(make_client)
    assert done.reply.content == CONTENT and done.cost_source == "gateway"


def test_sse_parser_handles_split_crlf_and_multiline_data():
    parser = SSEParser()
    out = list(parser.feed(b": ping\r"))
    out += parser.feed(b"\ndata: a\r")
    out += parser.feed(b"\ndata: b\r\n\r")
    out += parser.feed(b"\ndata: [DONE]")
    out += parser.close()
    assert out == ["a\nb", "[DONE]"]
    assert parser.comments == 1
