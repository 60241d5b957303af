"""Recorded market data for a backtest: mmcore tapes and the third-party raw line format.

Two formats are read, detected from each file's first bytes:

- **mmcore tapes** (:mod:`mmcore.tape`): every frame and REST snapshot of one feed, with the
  venue and symbols in the header. A connection epoch that opens after the first replays as a
  reconnect: the books of the old connection are dropped and resync from the new one's data.
- **raw lines** (the format of hftbacktest's data collector): gzip text, one message per line,
  ``<local receive time, ns since the Unix epoch> <raw JSON as received>``; websocket messages
  keep Binance's combined-stream wrapper (``{"stream":"btcusdt@depth@100ms","data":{...}}``,
  also ``@trade``/``@aggTrade``), REST depth snapshots are their response body
  (``{"lastUpdateId":...,"bids":...,"asks":...}``). The lines carry no symbol: the files of one
  symbol are named by a ``SYMBOL=GLOB`` data argument (or a plain glob when the config trades
  one symbol).

The files of one symbol (or one tape) are one continuous session, in the order of their first
timestamps; several symbols' sessions are merged by time. :func:`open_session` checks up front
that every symbol of a venue whose books need REST snapshots has one in the data.

A :class:`MessageCache` keeps the decoded messages of files between backtests in one process
(a sweep worker runs many on the same data): a session opened with one reads each file once.
"""

from __future__ import annotations

import glob
import gzip
import heapq
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from mmcore.feeds.protocols import make_protocol
from mmcore.tape import FORMAT as TAPE_FORMAT
from mmcore.tape import RecordKind, TapeError, read_tape, tape_header

__all__ = [
    "DataError",
    "DataSource",
    "Message",
    "MessageCache",
    "Session",
    "open_session",
    "parse_data_args",
]


class DataError(ValueError):
    """Data that cannot be backtested; the message names the file or symbol and the reason."""


@dataclass(frozen=True, slots=True)
class Message:
    """One recorded input: a websocket frame (``symbol`` empty: the router finds it), a REST
    snapshot body for ``symbol``, or a reconnect (``reconnect``: books resync)."""

    ts_ns: int
    payload: bytes
    symbol: str = ""
    snapshot: bool = False
    reconnect: bool = False


@dataclass(frozen=True)
class DataSource:
    """The files of one session: a tape (its symbols from the header) or one symbol's raw
    files; ``files`` are in the order of their first timestamps."""

    kind: str  # "tape" | "raw"
    files: tuple[Path, ...]
    symbol: str = ""  # raw files only


# bytes a cached message takes beside its payload: the Message, the payload's bytes header,
# the timestamp int and the list slot (measured with tracemalloc: ~150)
_MESSAGE_OVERHEAD = 150

_CacheKey = tuple[str, str, int, int, str]  # kind, resolved path, mtime ns, size, symbol


class MessageCache:
    """Decoded messages of data files, kept between backtests in one process.

    A file's entry is keyed by its resolved path, modification time and size (a rewritten
    file is read again) and the symbol its raw lines are read for; entries are evicted least
    recently used to stay within ``max_bytes`` (payloads plus per-message overhead). A file is
    cached only once it was read to its end, so an abandoned read leaves nothing partial; a
    file larger than ``max_bytes`` is streamed every time, as without a cache.
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[_CacheKey, tuple[list[Message], int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def messages(self, key: _CacheKey, read: Callable[[], Iterator[Message]]) -> Iterator[Message]:
        """The messages of ``key``'s file: from the cache, or from ``read()`` (kept when they
        fit)."""
        entry = self._entries.get(key)
        if entry is not None:
            self.hits += 1
            self._entries.move_to_end(key)
            yield from entry[0]
            return
        self.misses += 1
        kept: list[Message] | None = []
        size = 0
        for msg in read():
            if kept is not None:
                size += len(msg.payload) + _MESSAGE_OVERHEAD
                if size <= self.max_bytes:
                    kept.append(msg)
                else:
                    kept = None  # too large to keep: streamed, as without a cache
            yield msg
        if kept is not None:
            self._store(key, kept, size)

    def _store(self, key: _CacheKey, messages: list[Message], size: int) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        while self._entries and self.bytes + size > self.max_bytes:
            _, (_, freed) = self._entries.popitem(last=False)
            self.bytes -= freed
        self._entries[key] = (messages, size)
        self.bytes += size


@dataclass
class Session:
    """The messages of every source merged by time, with the venue and symbols they cover.

    ``consumed_bytes`` grows as compressed input is read (for a progress bar against
    ``total_bytes``). With a ``cache``, each file's messages come from it when they are there
    (:class:`MessageCache`)."""

    venue: str
    symbols: tuple[str, ...]
    sources: list[DataSource]
    total_bytes: int = 0
    consumed_bytes: int = 0
    cache: MessageCache | None = field(default=None, repr=False)
    _done_bytes: int = field(default=0, repr=False)

    def messages(self) -> Iterator[Message]:
        """Every message in receive-time order (each source is already in order)."""
        streams = [self._read(src) for src in self.sources]
        if len(streams) == 1:
            return streams[0]
        return heapq.merge(*streams, key=lambda m: m.ts_ns)

    def _read(self, src: DataSource) -> Iterator[Message]:
        for file in src.files:
            stat = file.stat()

            def read(file: Path = file) -> Iterator[Message]:
                if src.kind == "tape":
                    return _tape_messages(file)
                return _raw_messages(file, src.symbol, self)

            if self.cache is None:
                yield from read()
            else:
                key = (src.kind, str(file.resolve()), stat.st_mtime_ns, stat.st_size, src.symbol)
                yield from self.cache.messages(key, read)
            self._done_bytes += stat.st_size
            self.consumed_bytes = self._done_bytes


_RAW_HEAD = 64  # bytes read to recognise a raw line


def _detect(file: Path) -> str:
    """``"tape"`` or ``"raw"``; :class:`DataError` for anything else."""
    try:
        with gzip.open(file, "rb") as fh:
            head = fh.read(_RAW_HEAD)
    except FileNotFoundError:
        raise DataError(f"{file}: no such file") from None
    except (OSError, EOFError, zlib.error):
        raise DataError(
            f"{file}: unknown format (not gzip; expected an mmcore tape or gzip "
            "'<local time ns> <json>' lines)"
        ) from None
    if TAPE_FORMAT.encode() in head:
        return "tape"
    ts, _, rest = head.partition(b" ")
    if ts.isdigit() and rest.lstrip().startswith((b"{", b"[")):
        return "raw"
    raise DataError(
        f"{file}: unknown format (expected an mmcore tape or '<local time ns> <json>' lines, "
        f"starts with {head[:24]!r})"
    )


def _first_ts(file: Path, kind: str) -> int:
    if kind == "tape":
        for rec in read_tape(file):
            if rec.kind is not RecordKind.HEADER:
                return rec.ts_ns
        return 0
    with gzip.open(file, "rb") as fh:
        return int(fh.readline().partition(b" ")[0])


def _is_snapshot(payload: bytes) -> bool:
    """A REST depth body (``{"lastUpdateId":..}``), not a wrapped websocket message."""
    return payload.startswith(b'{"lastUpdateId"') or (
        not payload.startswith(b'{"stream"') and b'"lastUpdateId"' in payload[:64]
    )


_CHUNK = 1 << 22  # decompressed bytes read at a time (lines are split in bulk: no readline)


def _lines(fh: BinaryIO) -> Iterator[bytes]:
    """The lines of a binary stream read in large chunks (much faster than ``readline``)."""
    tail = b""
    while chunk := fh.read(_CHUNK):
        parts = (tail + chunk).split(b"\n")
        tail = parts.pop()
        yield from parts
    if tail:
        yield tail


def _raw_messages(file: Path, symbol: str, session: Session) -> Iterator[Message]:
    with open(file, "rb") as compressed, gzip.open(compressed, "rb") as fh:
        for n, line in enumerate(_lines(fh), 1):
            ts, sep, payload = line.partition(b" ")
            if not sep or not ts.isdigit():
                if not line.strip():
                    continue
                raise DataError(f"{file}:{n}: not '<local time ns> <json>': {line[:60]!r}")
            payload = payload.strip()
            if not n & 1023:
                session.consumed_bytes = session._done_bytes + compressed.tell()
            if _is_snapshot(payload):
                yield Message(int(ts), payload, symbol, snapshot=True)
            else:
                yield Message(int(ts), payload)


def _tape_messages(file: Path) -> Iterator[Message]:
    epoch: int | None = None
    for rec in read_tape(file):
        if rec.kind is RecordKind.HEADER:
            continue
        if rec.kind is RecordKind.CONNECT:
            # a file repeats the open connections at its start: only a newer epoch reconnects
            if epoch is None or rec.epoch > epoch:
                first = epoch is None
                epoch = rec.epoch
                if not first:
                    yield Message(rec.ts_ns, b"", reconnect=True)
            continue
        if epoch is not None and rec.epoch < epoch:
            continue  # the old connection's last frames during a rotation
        epoch = rec.epoch if epoch is None else epoch
        if rec.kind is RecordKind.SNAPSHOT:
            yield Message(rec.ts_ns, rec.payload, rec.symbol, snapshot=True)
        else:
            yield Message(rec.ts_ns, rec.payload)


def parse_data_args(args: Sequence[str]) -> dict[str, list[str]]:
    """``["SYMBOL=GLOB", "GLOB", ...]`` → globs by symbol (``""``: tapes, or raw files of the
    config's only symbol)."""
    out: dict[str, list[str]] = {}
    for arg in args:
        sym, eq, pattern = arg.partition("=")
        if not eq or "/" in sym or "*" in sym:
            sym, pattern = "", arg
        out.setdefault(sym, []).append(pattern)
    return out


def _expand(patterns: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for pattern in patterns:
        p = Path(pattern)
        found = sorted(p.iterdir()) if p.is_dir() else [Path(f) for f in sorted(glob.glob(pattern))]
        if not found:
            raise DataError(f"{pattern}: no file matches")
        files += [f for f in found if f.is_file()]
    return list(dict.fromkeys(files))


def open_session(
    data: Mapping[str, Sequence[str]],
    venue_of: Mapping[str, str],
    default_symbol: str | None,
    cache: MessageCache | None = None,
) -> Session:
    """The session of the files named by ``data`` (globs by symbol, :func:`parse_data_args`),
    its messages read through ``cache`` when one is given.

    ``venue_of`` maps each configured symbol to its venue; ``default_symbol`` is the symbol of
    raw files named without one (None: the config trades several symbols, so they must be
    named). Raises :class:`DataError` naming the file or symbol for an unknown format, mixed
    formats, several venues, a symbol the config does not trade, or a symbol without a REST
    snapshot on a venue that needs one.
    """
    sources: list[DataSource] = []
    venues: set[str] = set()
    symbols: list[str] = []
    total = 0
    for sym, patterns in data.items():
        files = _expand(patterns)
        kinds = {f: _detect(f) for f in files}
        total += sum(f.stat().st_size for f in files)
        tapes = [f for f in files if kinds[f] == "tape"]
        raws = [f for f in files if kinds[f] == "raw"]
        if tapes and raws:
            raise DataError(f"{patterns}: tapes and raw line files mixed in one session")
        if tapes:
            if sym:
                raise DataError(f"{sym}={patterns}: a tape names its symbols; drop '{sym}='")
            by_venue: dict[str, list[Path]] = {}
            for f in tapes:
                try:
                    header = tape_header(f)
                except TapeError as exc:
                    raise DataError(str(exc)) from None
                by_venue.setdefault(str(header["venue"]), []).append(f)
                symbols += [str(s) for s in header["symbols"]]  # type: ignore[attr-defined]
            venues |= set(by_venue)
            for group in by_venue.values():
                group.sort(key=lambda f: _first_ts(f, "tape"))
                sources.append(DataSource("tape", tuple(group)))
            continue
        symbol = sym or default_symbol
        if not symbol:
            raise DataError(
                f"{patterns}: raw line files carry no symbol and the config trades several; "
                "name it as SYMBOL=GLOB"
            )
        if symbol not in venue_of:
            raise DataError(f"{symbol}: not a symbol of the config ({', '.join(venue_of)})")
        venues.add(venue_of[symbol])
        raws.sort(key=lambda f: _first_ts(f, "raw"))
        sources.append(DataSource("raw", tuple(raws), symbol))
        symbols.append(symbol)
    if not sources:
        raise DataError("no data given")
    if len(venues) != 1:
        raise DataError(f"one venue per backtest, the data covers {', '.join(sorted(venues))}")
    venue = venues.pop()
    symbols = list(dict.fromkeys(symbols))
    session = Session(venue, tuple(symbols), sources, total_bytes=total, cache=cache)
    _check_snapshots(session)
    return session


def _check_snapshots(session: Session) -> None:
    """Refuse a symbol that could never sync: its venue's books start from a REST snapshot
    and the data has none for it. Reads each source only until every symbol has one."""
    if not make_protocol(session.venue, session.symbols).rest_snapshots:
        return
    for src in session.sources:
        wanted = {src.symbol} if src.kind == "raw" else set(session.symbols)
        for file in src.files:
            messages = _tape_messages(file) if src.kind == "tape" else _raw_scan(file, src.symbol)
            for msg in messages:
                if msg.snapshot:
                    wanted.discard(msg.symbol)
                    if not wanted:
                        break
            if not wanted:
                break
        if wanted:
            names = ", ".join(f.name for f in src.files)
            raise DataError(
                f"{', '.join(sorted(wanted))}: no REST depth snapshot in the data ({names}); "
                f"{session.venue} books sync only from one"
            )


def _raw_scan(file: Path, symbol: str) -> Iterator[Message]:
    with gzip.open(file, "rb") as fh:
        for line in _lines(fh):
            payload = line.partition(b" ")[2].strip()
            if _is_snapshot(payload):
                yield Message(0, b"", symbol, snapshot=True)
