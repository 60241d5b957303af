"""Tapes: every received frame and REST snapshot, recorded for exact replay.

A tape is a directory of gzip files (``<venue>-<UTC start>-<seq>.tape.gz``), rotated by size
and age. Each file starts with a header record (JSON: format, version, venue, symbols) and
the open connections, so every file can be read on its own (books that depend on a REST
snapshot from an earlier file sync again at their next snapshot). Records are binary::

    kind u8 | epoch u32 | wall-clock receive time ns i64 | symbol length u16 | payload length u32
    | symbol (utf-8) | payload (the bytes exactly as received)

Kinds: header, websocket frame, REST snapshot (with its symbol), connect (payload = URL; a new
epoch starts). :func:`replay_tape` feeds the records through :class:`mmcore.feeds.session.
BookSession`, the same decode path the live feed uses, one session per connection epoch.
gzip (stdlib) is used rather than zstd: no extra dependency. Records are compressed in
batches of up to 64 KiB; at the default level 1 that costs about 4 us per frame and shrinks
the synthetic Binance stream 4.8x (level 6: 15 us, 6.6x), cheap enough to record a busy
feed live.
"""

from __future__ import annotations

import enum
import gzip
import json
import logging
import struct
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mmcore import DecodeError
from mmcore.feeds.health import BookUpdates, FeedMetrics
from mmcore.feeds.protocols import make_protocol
from mmcore.feeds.session import BookSession

__all__ = [
    "RecordKind",
    "TapeError",
    "TapeRecord",
    "TapeReplay",
    "TapeWriter",
    "read_tape",
    "replay_tape",
    "tape_files",
    "tape_header",
]

log = logging.getLogger(__name__)

FORMAT = "mmcore-tape"
VERSION = 1
_HEAD = struct.Struct("<BIqHI")
_BATCH_BYTES = 64 * 1024


class RecordKind(enum.IntEnum):
    """What a tape record holds."""

    HEADER = 0
    FRAME = 1
    SNAPSHOT = 2
    CONNECT = 3


class TapeError(ValueError):
    """A tape file is not a tape, or is corrupt; the message names the file and offset."""


@dataclass(frozen=True, slots=True)
class TapeRecord:
    """One recorded event."""

    kind: RecordKind
    epoch: int
    ts_ns: int
    symbol: str
    payload: bytes


class TapeWriter:
    """Appends records to rotated gzip files under ``out_dir``; call :meth:`close` at the end.

    Writes are batched in memory (64 KiB) before compression; :meth:`flush` pushes the batch
    and a gzip sync point to disk, so a crash loses at most the time since the last flush.
    """

    def __init__(
        self,
        out_dir: str | Path,
        venue: str,
        symbols: Iterable[str],
        *,
        rotate_bytes: int = 256 * 1024 * 1024,
        rotate_seconds: float = 3600.0,
        compresslevel: int = 1,
    ) -> None:
        if rotate_bytes <= 0 or rotate_seconds <= 0:
            raise ValueError("rotate_bytes and rotate_seconds must be > 0")
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.venue = venue
        self.symbols = tuple(symbols)
        self.files: list[Path] = []
        self.records = 0
        self._rotate_bytes = rotate_bytes
        self._batch_bytes = min(_BATCH_BYTES, rotate_bytes)
        self._rotate_ns = int(rotate_seconds * 1e9)
        self._level = compresslevel
        self._buf = bytearray()
        self._file: gzip.GzipFile | None = None
        self._file_bytes = 0
        self._file_started_ns = 0
        self._epoch_url: dict[int, str] = {}
        self._open_next()

    def write_frame(self, epoch: int, frame: bytes | str) -> None:
        """Record one websocket frame as received (hot path: one struct pack and a copy)."""
        data = frame.encode() if isinstance(frame, str) else frame
        buf = self._buf
        buf += _HEAD.pack(RecordKind.FRAME, epoch, time.time_ns(), 0, len(data))
        buf += data
        self.records += 1
        if len(buf) >= self._batch_bytes:
            self._drain()

    def write_snapshot(self, epoch: int, symbol: str, body: bytes) -> None:
        """Record one REST snapshot body for ``symbol``."""
        self._append(RecordKind.SNAPSHOT, epoch, symbol, body)

    def write_connect(self, epoch: int, url: str) -> None:
        """Record that connection ``epoch`` opened to ``url`` (replay starts a new session)."""
        self._epoch_url[epoch] = url
        self._append(RecordKind.CONNECT, epoch, "", url.encode())

    def write_disconnect(self, epoch: int) -> None:
        """Connection ``epoch`` closed: a file started from now on no longer repeats its
        connect (nothing is recorded; its frames simply stop)."""
        self._epoch_url.pop(epoch, None)

    def flush(self) -> None:
        """Compress the pending batch and make it readable on disk (gzip sync flush)."""
        self._drain()
        assert self._file is not None
        self._file.flush(zlib.Z_SYNC_FLUSH)

    def close(self) -> None:
        """Write everything and finish the current file."""
        if self._file is None:
            return
        self._drain(rotate=False)
        self._file.close()
        self._file = None

    def __enter__(self) -> TapeWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _append(self, kind: RecordKind, epoch: int, symbol: str, payload: bytes) -> None:
        sym = symbol.encode()
        self._buf += _HEAD.pack(kind, epoch, time.time_ns(), len(sym), len(payload))
        self._buf += sym
        self._buf += payload
        self.records += 1
        if len(self._buf) >= self._batch_bytes:
            self._drain()

    def _drain(self, rotate: bool = True) -> None:
        if not self._buf or self._file is None:
            return
        self._file.write(self._buf)
        self._file_bytes += len(self._buf)
        self._buf.clear()
        if rotate and (
            self._file_bytes >= self._rotate_bytes
            or time.time_ns() - self._file_started_ns >= self._rotate_ns
        ):
            self._file.close()
            self._open_next()

    def _open_next(self) -> None:
        self._file_started_ns = time.time_ns()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(self._file_started_ns / 1e9))
        path = self.out_dir / f"{self.venue}-{stamp}-{len(self.files):04d}.tape.gz"
        self._file = gzip.GzipFile(path, "wb", compresslevel=self._level)
        self._file_bytes = 0
        self.files.append(path)
        header = {
            "format": FORMAT,
            "version": VERSION,
            "venue": self.venue,
            "symbols": self.symbols,
        }
        self._append(RecordKind.HEADER, 0, "", json.dumps(header).encode())
        # a file that starts mid-connection repeats the connect so it replays on its own
        for epoch, url in self._epoch_url.items():
            self._append(RecordKind.CONNECT, epoch, "", url.encode())


def tape_files(path: str | Path) -> list[Path]:
    """The tape files at ``path`` (a file, or a directory's ``*.tape.gz`` in name order)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(p.glob("*.tape.gz"))
        if not files:
            raise TapeError(f"{p}: no *.tape.gz files")
        return files
    if not p.exists():
        raise TapeError(f"{p}: no such tape file")
    return [p]


def read_tape(path: str | Path) -> Iterator[TapeRecord]:
    """Every record of the tape at ``path`` (file or directory), in order.

    A file cut short (the recorder was killed) yields what was complete and logs a warning.
    """
    for file in tape_files(path):
        yield from _read_file(file)


def _read_file(file: Path) -> Iterator[TapeRecord]:
    try:
        with gzip.open(file, "rb") as fh:
            data = fh.read()
    except EOFError:
        data = _read_truncated(file)
    except (OSError, zlib.error) as exc:
        raise TapeError(f"{file}: not a gzip tape ({exc})") from None
    offset = 0
    first = True
    while offset < len(data):
        end = offset + _HEAD.size
        if end <= len(data):
            kind, epoch, ts_ns, sym_len, pay_len = _HEAD.unpack_from(data, offset)
            start = end
            end = start + sym_len + pay_len
        if end > len(data):
            if first:
                raise TapeError(f"{file}: not an mmcore tape (bad header)")
            log.warning("tape_truncated file=%s offset=%d", file, offset)
            return
        try:
            record = TapeRecord(
                RecordKind(kind),
                epoch,
                ts_ns,
                data[start : start + sym_len].decode(),
                data[start + sym_len : end],
            )
        except (ValueError, UnicodeDecodeError):
            raise TapeError(f"{file}: corrupt record at offset {offset}") from None
        if first:
            _check_header(file, record)
            first = False
        yield record
        offset = end


def _read_truncated(file: Path) -> bytes:
    """Decompress as much of a gzip file without its trailer as possible."""
    log.warning("tape_unfinished file=%s (no gzip trailer; reading what is there)", file)
    out = bytearray()
    decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
    with open(file, "rb") as fh:
        while chunk := fh.read(1 << 20):
            try:
                out += decomp.decompress(chunk)
            except zlib.error:
                break
    return bytes(out)


def _check_header(file: Path, record: TapeRecord) -> None:
    try:
        header = json.loads(record.payload) if record.kind is RecordKind.HEADER else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise TapeError(f"{file}: not an mmcore tape (bad header)")
    if header.get("version") != VERSION:
        raise TapeError(f"{file}: tape version {header.get('version')}, expected {VERSION}")


def tape_header(path: str | Path) -> dict[str, object]:
    """The header (venue, symbols, ...) of the first file of the tape at ``path``."""
    for record in read_tape(path):
        return json.loads(record.payload)
    raise TapeError(f"{path}: empty tape")


@dataclass
class TapeReplay:
    """The outcome of :func:`replay_tape`: the last epoch's session and the counters."""

    session: BookSession
    metrics: FeedMetrics
    frames: int = 0
    snapshots: int = 0
    epochs: list[int] = field(default_factory=list)
    sessions: dict[int, BookSession] = field(default_factory=dict)

    def session_for(self, symbol: str) -> BookSession:
        """The newest session that carried ``symbol``: a feed split over several connections
        runs one epoch per connection, each with its own share of the symbols."""
        for epoch in reversed(self.epochs):
            book = self.sessions[epoch].router.book(symbol)
            if book.applied or book.buffered:
                return self.sessions[epoch]
        return self.session


def replay_tape(path: str | Path, *, max_buffer: int = 1024) -> TapeReplay:
    """Replay a tape through the live decode path; return the final books and counters."""
    header = tape_header(path)
    venue, symbols = str(header["venue"]), tuple(header["symbols"])  # type: ignore[arg-type]
    protocol = make_protocol(venue, symbols)
    metrics = FeedMetrics()
    updates = BookUpdates(metrics)

    def new_session(epoch: int) -> BookSession:
        return BookSession(
            venue, symbols, epoch, metrics=metrics, updates=updates, max_buffer=max_buffer
        )

    result = TapeReplay(new_session(0), metrics)
    sessions = result.sessions
    for rec in read_tape(path):
        if rec.kind is RecordKind.CONNECT:
            if rec.epoch not in sessions:
                sessions[rec.epoch] = new_session(rec.epoch)
                result.epochs.append(rec.epoch)
            continue
        if rec.kind is RecordKind.HEADER:
            continue
        session = sessions.setdefault(rec.epoch, new_session(rec.epoch))
        result.session = session
        if rec.kind is RecordKind.SNAPSHOT:
            result.snapshots += 1
            session.on_snapshot(rec.symbol, rec.payload, rec.ts_ns)
            continue
        result.frames += 1
        try:
            session.on_frame(rec.payload, rec.ts_ns)
        except DecodeError:
            if not protocol.is_control(rec.payload):
                metrics.malformed += 1
    return result
