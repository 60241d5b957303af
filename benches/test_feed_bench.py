"""Feed-loop benchmarks: messages/s from a local server, Python overhead per message.

Run with ``python -m pytest benches/test_feed_bench.py --benchmark-only -s`` (the figures are
printed and stored in ``extra_info``). The stream is the synthetic Binance spot diff stream
(``mmcore.testing.synthetic``), wrapped as combined-stream frames.

* ``test_feed_loop_throughput``: a server in a *separate process* (so it does not share the
  measuring core) writes pre-encoded websocket frames straight to the socket, as fast as TCP
  takes them; the timed part is the feed's receive loop on uvloop (websockets recv, one
  router call, health bookkeeping) from sync to the last frame.
* ``test_python_overhead_per_message``: the receive loop's per-frame work (clock, liveness
  stamp, ``BookSession.on_frame`` with the Rust apply) timed frame by frame, p50/p99.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from multiprocessing.connection import Connection

import numpy as np
import pytest

from mmcore.testing.synthetic import binance_diff_stream

try:
    import uvloop

    from mmcore.feeds import Feed, FeedConfig
    from mmcore.feeds.health import BookUpdates, FeedMetrics
    from mmcore.feeds.session import BookSession
except ImportError as exc:  # the Rust core is not built in this environment
    pytest.skip(f"mmcore core/feeds not available ({exc})", allow_module_level=True)

N_EVENTS = 100_000
SYMBOL = "BTCUSDT"


@pytest.fixture(scope="module")
def stream() -> tuple[bytes, list[bytes]]:
    snapshot, events = binance_diff_stream(n_events=N_EVENTS)
    prefix = b'{"stream":"btcusdt@depth@100ms","data":'
    return snapshot, [prefix + e + b"}" for e in events]


def _ws_frame(payload: bytes) -> bytes:
    """One unmasked server-to-client text frame (RFC 6455 §5.2)."""
    n = len(payload)
    if n < 126:
        head = bytes([0x81, n])
    elif n < 1 << 16:
        head = bytes([0x81, 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x81, 127]) + n.to_bytes(8, "big")
    return head + payload


def _blaster(snapshot: bytes, frames: list[bytes], pipe: Connection) -> None:
    """Serve one connection: the first frame, then (after the snapshot call) all the rest."""
    from websockets.asyncio.server import serve

    blob = b"".join(_ws_frame(f) for f in frames[1:])

    async def main() -> None:
        served = asyncio.Event()

        def rest(connection, request):  # type: ignore[no-untyped-def]
            if request.headers.get("Upgrade", "").lower() == "websocket":
                return None
            served.set()
            response = connection.respond(200, snapshot.decode())
            return response

        async def handler(ws) -> None:  # type: ignore[no-untyped-def]
            await ws.send(frames[0])
            await served.wait()
            await asyncio.sleep(0.05)  # let the client apply the snapshot
            ws.transport.write(blob)  # the whole stream, pre-encoded
            await ws.wait_closed()

        async with serve(handler, "127.0.0.1", 0, process_request=rest, ping_interval=None) as s:
            pipe.send(s.sockets[0].getsockname()[1])
            await asyncio.sleep(120)

    asyncio.run(main())


def _run_feed(port: int, n_frames: int) -> dict[str, float]:
    config = FeedConfig(
        venue="binance-spot",
        symbols=(SYMBOL,),
        ws_url=f"ws://127.0.0.1:{port}",
        rest_url=f"http://127.0.0.1:{port}",
        stale_timeout_s=30,
        recv_queue_frames=256,
        max_buffer=4096,
    )

    async def main() -> dict[str, float]:
        feed = Feed(config)
        runner = asyncio.create_task(feed.run())
        while not feed.safe_to_quote(SYMBOL):
            await asyncio.sleep(0.001)
        start_msgs, t0 = feed.metrics.msgs, time.perf_counter()
        while feed.metrics.msgs < n_frames:
            await asyncio.sleep(0.001)
        elapsed = time.perf_counter() - t0
        book = feed.book(SYMBOL)
        assert book is not None and feed.safe_to_quote(SYMBOL)
        counters = book.counters()
        feed.stop()
        await runner
        return {
            "msgs": n_frames - start_msgs,
            "seconds": elapsed,
            "msgs_per_s": (n_frames - start_msgs) / elapsed,
            "applied": counters["applied"],
            "gaps": counters["gaps"],
        }

    return uvloop.run(main())


def test_feed_loop_throughput(benchmark, stream: tuple[bytes, list[bytes]]) -> None:  # type: ignore[no-untyped-def]
    snapshot, frames = stream
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_blaster, args=(snapshot, frames, child), daemon=True)
    server.start()
    try:
        port = parent.recv()
        result = benchmark.pedantic(_run_feed, args=(port, len(frames)), rounds=1, iterations=1)
    finally:
        server.terminate()
        server.join(5)
    assert result["gaps"] == 0
    assert result["applied"] >= len(frames) - 1
    benchmark.extra_info.update(result)
    print(
        f"\nfeed loop: {result['msgs']:,} frames in {result['seconds']:.3f} s = "
        f"{result['msgs_per_s']:,.0f} msg/s (uvloop, websockets, Rust decode)"
    )


def test_python_overhead_per_message(benchmark, stream: tuple[bytes, list[bytes]]) -> None:  # type: ignore[no-untyped-def]
    snapshot, frames = stream

    def run() -> np.ndarray:
        metrics = FeedMetrics()
        session = BookSession(
            "binance-spot", (SYMBOL,), 1, metrics=metrics, updates=BookUpdates(metrics)
        )
        session.on_frame(frames[0], 0)
        session.on_snapshot(SYMBOL, snapshot, 0)
        clock = time.perf_counter_ns
        on_frame = session.on_frame
        times = np.empty(len(frames) - 1, dtype=np.int64)
        last_rx = 0
        for i, frame in enumerate(frames[1:]):
            t0 = clock()
            last_rx = t0  # the receive loop's liveness stamp
            on_frame(frame, last_rx)
            times[i] = clock() - t0
        assert session.is_synced(SYMBOL)
        return times

    times = benchmark.pedantic(run, rounds=1, iterations=1)
    p50, p99, p999 = (float(np.percentile(times, q)) / 1e3 for q in (50, 99, 99.9))
    benchmark.extra_info.update({"p50_us": p50, "p99_us": p99, "p999_us": p999})
    print(f"\nper message (frame -> applied + health): p50 {p50:.2f} us, p99 {p99:.2f} us")
