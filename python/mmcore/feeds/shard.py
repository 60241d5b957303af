"""One connection's worth of a feed: a group of symbols kept synced over one websocket at a time.

A :class:`~mmcore.feeds.feed.Feed` whose symbols exceed what one connection of the venue may
carry (Binance: 1024 streams; Bybit: 21,000 characters of topics) runs one :class:`Shard` per
group. Each connection has an *epoch* and its own
:class:`~mmcore.feeds.session.BookSession` (its own router), so nothing from an older
connection (a late REST snapshot, a buffered diff) can leak into the books of a newer one.
Binance connections are rotated make-before-break: on ``serverShutdown`` or before the 24 h
limit the new connection is opened and synced while the old one keeps serving, and only then
does the shard switch and close the old one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from mmcore import ApplyStatus, DecodeError
from mmcore.feeds.config import FeedConfig
from mmcore.feeds.health import BookUpdates, FeedMetrics
from mmcore.feeds.rest import RestSnapshots, SnapshotError
from mmcore.feeds.session import BookSession
from mmcore.feeds.venue import VenueProtocol

if TYPE_CHECKING:
    from mmcore.tape import TapeWriter

__all__ = ["Connection", "Shard", "ShardContext"]

# the feed's events keep the logger name they had before connections were split out
log = logging.getLogger("mmcore.feeds.feed")

_SNAPSHOT_RETRY_S = 0.05  # a too-old snapshot: let a few more diffs buffer, then fetch again
_REST_TRIES = 3  # REST snapshots one resync may try where resubscribing also works (Bybit)


@dataclass
class ShardContext:
    """What every shard of one feed shares: settings, counters, REST client, tape, epochs."""

    config: FeedConfig
    metrics: FeedMetrics
    updates: BookUpdates
    rest: RestSnapshots | None
    tape: TapeWriter | None
    epochs: itertools.count[int]
    on_trade: Callable[[str, bytes | str, int], None] | None = None
    on_book: Callable[[str, int], bool] | None = None


class Connection:
    """One websocket connection (one epoch) and the tasks that serve it."""

    def __init__(self, epoch: int, ws: ClientConnection, session: BookSession) -> None:
        self.epoch = epoch
        self.ws = ws
        self.session = session
        self.opened_ns = self.last_rx_ns = time.monotonic_ns()
        self.closed = asyncio.Event()
        self.rotate = asyncio.Event()
        self.resync_deadline_ns: dict[str, int] = {}
        self.snapshot_tasks: dict[str, asyncio.Task[None]] = {}
        self.rest_tries: Counter[str] = Counter()  # per symbol, in the current resync
        self.resubscribed: set[str] = set()  # resyncs that gave up on REST for in-band
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` as a task owned by this connection (cancelled when it closes)."""
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def abort(self) -> None:
        """Drop the TCP connection now (a stalled peer would not answer a close handshake)."""
        self.ws.transport.abort()
        self.closed.set()

    async def close(self) -> None:
        """Close politely; in-flight snapshot fetches finish and are then discarded."""
        self.closed.set()
        with contextlib.suppress(Exception):
            await self.ws.close()
        for task in list(self.tasks):
            task.cancel()


class Shard:
    """Keeps ``protocol.symbols`` synced over one connection at a time until ``stop`` is set."""

    def __init__(self, ctx: ShardContext, protocol: VenueProtocol, ws_base: str) -> None:
        self.ctx = ctx
        self.config = ctx.config
        self.protocol = protocol
        self.symbols = protocol.symbols
        self.active: Connection | None = None
        self._ws_base = ws_base
        self._connections: set[Connection] = set()
        self._attempt = 0
        self._stop = asyncio.Event()

    def book_session(self) -> BookSession | None:
        """The active connection's session (``None`` while disconnected or closing)."""
        conn = self.active
        return None if conn is None or conn.closed.is_set() else conn.session

    def resync(self, symbol: str) -> bool:
        """Clear ``symbol``'s book and rebuild it from a fresh snapshot (see ``Feed.resync``)."""
        conn = self.active
        if conn is None or conn.closed.is_set() or symbol in conn.session.resyncing:
            return False
        conn.session.router.book(symbol).reset()
        self._start_resync(conn, symbol, None)
        return True

    # ---- lifecycle -------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Keep this shard connected and synced until ``stop`` is set."""
        self._stop = stop
        conn: Connection | None = None
        try:
            while not stop.is_set():
                if conn is None or conn.closed.is_set():
                    if conn is not None:
                        self.ctx.metrics.reconnects += 1
                        log.warning(
                            "feed_reconnect venue=%s epoch=%d", self.config.venue, conn.epoch
                        )
                    self.active = None
                    conn = await self._open_with_backoff()
                    if conn is None:
                        break
                    self.active = conn
                await _wait_first(conn.closed, conn.rotate, stop)
                if conn.rotate.is_set() and not conn.closed.is_set() and not stop.is_set():
                    conn = await self._rotate_from(conn)
        finally:
            self.active = None
            for c in list(self._connections):
                await c.close()
                for task in c.snapshot_tasks.values():
                    task.cancel()

    # ---- connecting ------------------------------------------------------------------------
    def _backoff_delay(self) -> float:
        """0 for the first try, then exponential with jitter, capped at backoff_max_s."""
        if self._attempt == 0:
            return 0.0
        cap = min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** (self._attempt - 1))
        return cap / 2 + random.uniform(0, cap / 2)

    async def _open_with_backoff(self) -> Connection | None:
        while not self._stop.is_set():
            delay = self._backoff_delay()
            self._attempt += 1
            if delay:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                if self._stop.is_set():
                    return None
            try:
                return await self._open()
            except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
                log.warning(
                    "feed_connect_failed venue=%s attempt=%d error=%r",
                    self.config.venue,
                    self._attempt,
                    exc,
                )
        return None

    async def _open(self) -> Connection:
        cfg, ctx = self.config, self.ctx
        url = self.protocol.stream_url(self._ws_base)
        try:
            ws = await connect(
                url,
                open_timeout=cfg.connect_timeout_s,
                close_timeout=cfg.close_timeout_s,
                ping_interval=None,  # venue heartbeats are handled here; pongs are automatic
                max_queue=cfg.recv_queue_frames,
                max_size=1 << 24,
                compression=None,
                proxy=None,
            )
        except InvalidURI as exc:
            raise ValueError(f"feeds.ws_url: invalid websocket URL {url!r}: {exc}") from None
        epoch = next(ctx.epochs)
        session = BookSession(
            cfg.venue,
            self.symbols,
            epoch,
            metrics=ctx.metrics,
            updates=ctx.updates,
            max_buffer=cfg.max_buffer,
            latency_sample_every=cfg.latency_sample_every,
            vpin_bucket_volume={
                s: v for s, v in cfg.vpin_bucket_volume.items() if s in self.symbols
            },
            vpin_calibration_trades=cfg.vpin_calibration_trades,
            on_trade=ctx.on_trade,
            on_book=ctx.on_book,
        )
        conn = Connection(epoch, ws, session)
        session.on_resync = lambda sym, st: self._start_resync(conn, sym, st)
        session.on_buffered = lambda sym: self._on_buffered(conn, sym)
        self._connections.add(conn)
        if self.protocol.snapshot_on_subscribe:  # the subscribe brings the snapshots
            deadline = time.monotonic_ns() + int(cfg.resync_timeout_s * 1e9)
            session.resyncing.update(self.symbols)
            conn.resync_deadline_ns = dict.fromkeys(self.symbols, deadline)
        if ctx.tape is not None:
            ctx.tape.write_connect(epoch, url)
        conn.spawn(self._receive(conn))
        conn.spawn(self._housekeeping(conn))
        # Paced: Binance cuts a connection that sends more than 5 messages a second.
        conn.spawn(
            self._send_frames(
                conn, self.protocol.subscribe_frames(), self.protocol.subscribe_interval_s
            )
        )
        log.info("feed_connected venue=%s epoch=%d url=%.200s", cfg.venue, epoch, url)
        return conn

    async def _rotate_from(self, old: Connection) -> Connection:
        """Make-before-break: sync a new connection, switch to it, then close the old one."""
        self.ctx.metrics.rotations += 1
        log.info("feed_rotate_start venue=%s old_epoch=%d", self.config.venue, old.epoch)
        new = await self._open_with_backoff()
        if new is None:
            return old
        deadline = time.monotonic() + self.config.rotate_sync_timeout_s
        while not (
            new.session.all_synced()
            or old.closed.is_set()
            or new.closed.is_set()
            or self._stop.is_set()
        ):
            if time.monotonic() > deadline:
                log.warning("feed_rotate_unsynced epoch=%d: switching anyway", new.epoch)
                break
            await asyncio.sleep(0.005)
        if new.closed.is_set():
            return old
        self.active = new
        await old.close()
        self._connections.discard(old)
        log.info("feed_rotate_done venue=%s epoch=%d", self.config.venue, new.epoch)
        return new

    # ---- per-connection tasks --------------------------------------------------------------
    async def _receive(self, conn: Connection) -> None:
        ws = conn.ws
        on_frame = conn.session.on_frame
        tape = self.ctx.tape
        clock = time.monotonic_ns
        try:
            while True:
                frame = await ws.recv(decode=False)
                now = clock()
                conn.last_rx_ns = now
                if tape is not None:
                    tape.write_frame(conn.epoch, frame)
                try:
                    if not on_frame(frame, now):
                        self._on_control(conn, frame, decoded=True)
                except DecodeError:
                    self._on_control(conn, frame, decoded=False)
        except ConnectionClosed as exc:
            log.info("feed_closed venue=%s epoch=%d reason=%r", self.config.venue, conn.epoch, exc)
        finally:
            conn.closed.set()
            self._connections.discard(conn)
            if tape is not None:
                tape.write_disconnect(conn.epoch)

    def _on_control(self, conn: Connection, frame: bytes, *, decoded: bool) -> None:
        p, metrics = self.protocol, self.ctx.metrics
        if p.is_shutdown(frame):
            log.warning("feed_server_shutdown venue=%s epoch=%d", self.config.venue, conn.epoch)
            conn.rotate.set()
        elif p.subscribe_error(frame):
            metrics.subscribe_errors += 1
            log.warning("feed_subscribe_error epoch=%d frame=%r", conn.epoch, frame[:200])
        elif not decoded and not p.is_control(frame):
            metrics.malformed += 1
            log.warning("feed_malformed_frame epoch=%d frame=%r", conn.epoch, frame[:120])

    async def _housekeeping(self, conn: Connection) -> None:
        """Heartbeats, the stale-feed watchdog, resync timeouts and the 24 h rotation."""
        cfg, p = self.config, self.protocol
        hb_ns = int(cfg.heartbeat_interval_s * 1e9)
        tick = min(cfg.heartbeat_interval_s, cfg.stale_timeout_s, cfg.resync_timeout_s, 4.0) / 4
        last_ping = time.monotonic_ns()
        while not conn.closed.is_set():
            await asyncio.sleep(tick)
            now = time.monotonic_ns()
            idle_ns = now - conn.last_rx_ns
            if idle_ns > cfg.stale_timeout_s * 1e9:
                self.ctx.metrics.stale_disconnects += 1
                log.warning(
                    "feed_stale venue=%s epoch=%d idle_s=%.3f", cfg.venue, conn.epoch, idle_ns / 1e9
                )
                conn.abort()
                return
            due = now - last_ping >= hb_ns and (not p.heartbeat_when_idle or idle_ns >= hb_ns)
            if p.heartbeat is not None and due:
                last_ping = now
                with contextlib.suppress(ConnectionClosed):
                    await conn.ws.send(p.heartbeat)
            for sym in list(conn.session.resyncing):
                if now > conn.resync_deadline_ns.get(sym, now + 1) and self._resync_idle(conn, sym):
                    log.warning("feed_resync_timeout epoch=%d symbol=%s", conn.epoch, sym)
                    self._start_resync(conn, sym, None, retry=True)
            if p.rotates_connections and (now - conn.opened_ns) > cfg.max_connection_age_s * 1e9:
                conn.rotate.set()
            if self._attempt and conn is self.active and conn.session.all_synced():
                self._attempt = 0  # healthy again: the next failure retries immediately

    # ---- resync ----------------------------------------------------------------------------
    def _resync_idle(self, conn: Connection, symbol: str) -> bool:
        task = conn.snapshot_tasks.get(symbol)
        return task is None or task.done()

    def _start_resync(
        self, conn: Connection, symbol: str, status: ApplyStatus | None, *, retry: bool = False
    ) -> None:
        """Rebuild one symbol's book; the others are not touched. ``retry``: the previous
        attempt of this resync timed out."""
        if conn.closed.is_set():
            return
        conn.session.resyncing.add(symbol)
        self.ctx.metrics.resyncs += 1
        timeout_ns = int(self.config.resync_timeout_s * 1e9)
        conn.resync_deadline_ns[symbol] = time.monotonic_ns() + timeout_ns
        log.info("feed_resync epoch=%d symbol=%s status=%s", conn.epoch, symbol, status)
        if not retry:  # a new resync
            conn.rest_tries.pop(symbol, None)
            conn.resubscribed.discard(symbol)
        p = self.protocol
        if p.resync == "rest" and not (retry and p.snapshot_on_subscribe):
            self._fetch_snapshot(conn, symbol)
        else:
            self._resubscribe(conn, symbol)

    def _resubscribe(self, conn: Connection, symbol: str) -> None:
        """Ask the venue for an in-band snapshot of ``symbol``."""
        if conn.rest_tries[symbol]:  # REST was tried first and did not confirm
            self.ctx.metrics.rest_fallbacks += 1
            conn.resubscribed.add(symbol)
            log.warning("feed_rest_resync_fallback epoch=%d symbol=%s", conn.epoch, symbol)
        if self._resync_idle(conn, symbol):
            conn.snapshot_tasks.pop(symbol, None)  # a new episode may need a REST fetch
        conn.spawn(self._send_frames(conn, self.protocol.resubscribe_frames(symbol)))

    def _on_buffered(self, conn: Connection, symbol: str) -> None:
        """The core buffers diffs and waits for a snapshot: fetch one, once per episode."""
        if self.ctx.rest is None or symbol in conn.snapshot_tasks:
            return
        if symbol in conn.session.resyncing:
            if symbol not in conn.resubscribed:
                self._fetch_snapshot(conn, symbol)  # no snapshot came in-band (OKX 2026)
        else:
            self._start_resync(conn, symbol, ApplyStatus.BUFFERED)  # first diffs (Binance)

    def _fetch_snapshot(self, conn: Connection, symbol: str) -> None:
        if not self._resync_idle(conn, symbol):
            return
        p = self.protocol
        if p.resync == "rest" and p.snapshot_on_subscribe:
            # REST is the quick path here; an in-band snapshot is the sure one
            if conn.rest_tries[symbol] >= _REST_TRIES:
                self._resubscribe(conn, symbol)
                return
            conn.rest_tries[symbol] += 1
        conn.snapshot_tasks[symbol] = asyncio.create_task(self._snapshot(conn, symbol))

    async def _send_frames(
        self, conn: Connection, frames: list[str], interval_s: float = 0.0
    ) -> None:
        with contextlib.suppress(ConnectionClosed):
            for i, frame in enumerate(frames):
                if i and interval_s:
                    await asyncio.sleep(interval_s)
                await conn.ws.send(frame)

    async def _snapshot(self, conn: Connection, symbol: str) -> None:
        """Fetch REST snapshots for ``symbol`` until one syncs the book (or the conn is gone)."""
        rest, metrics, tape = self.ctx.rest, self.ctx.metrics, self.ctx.tape
        assert rest is not None
        session = conn.session
        while not conn.closed.is_set() and not session.is_synced(symbol):
            try:
                raw = await rest.fetch(self.protocol.snapshot_request(symbol))
                body, confirm_after = self.protocol.snapshot_body(symbol, raw)
            except (SnapshotError, ValueError) as exc:
                log.error(
                    "feed_snapshot_failed epoch=%d symbol=%s error=%s", conn.epoch, symbol, exc
                )
                return  # the resync timeout tries again later
            if conn.closed.is_set():
                metrics.late_snapshots_dropped += 1
                log.info("feed_late_snapshot_dropped epoch=%d symbol=%s", conn.epoch, symbol)
                return
            if session.is_synced(symbol):
                return  # an in-band snapshot won the race; an older REST one must not clobber it
            if tape is not None:
                tape.write_snapshot(conn.epoch, symbol, body)
            try:
                st = session.on_snapshot(
                    symbol, body, time.monotonic_ns(), confirm_after=confirm_after
                )
            except DecodeError as exc:
                metrics.malformed += 1
                log.error("feed_snapshot_malformed symbol=%s error=%s", symbol, exc)
                return
            if st == ApplyStatus.SNAPSHOT_TOO_OLD:
                metrics.gaps += 1
                if confirm_after is not None:
                    return  # a try spent: the next buffered diff fetches again, or resubscribes
                await asyncio.sleep(_SNAPSHOT_RETRY_S)
            elif not session.is_synced(symbol):
                return  # waiting for the diff that bridges the snapshot; the timeout re-checks


async def _wait_first(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
