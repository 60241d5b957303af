"""Third-party raw market data files from the simulated market, for backtest tests and benches.

:func:`write_binance_raw` writes the simulated order flow (:class:`mmcore.sim.flow.OrderFlow`)
of one symbol as hftbacktest's data collector records Binance spot: gzip files of
``<local receive time ns> <raw JSON>`` lines, websocket messages in the combined-stream
wrapper (``<symbol>@depth@100ms`` diffs, ``<symbol>@trade`` prints) and REST depth snapshots
as their response body. Faults a backtest must handle can be written in: a dropped diff (a
gap in the update ids) and a later snapshot to resync from.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from mmcore.sim.flow import OrderFlow, SymbolSpec
from mmcore.sim.wire.flow import BookChange

__all__ = ["RawSession", "write_binance_raw"]

_T0_NS = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z
_STEP_S = 0.01


@dataclass(frozen=True)
class RawSession:
    """What was written: the files (in time order), the message counts and the true book at
    the end (bids, asks as venue strings, best first)."""

    files: list[Path]
    diffs: int
    trades: int
    snapshots: int
    dropped: int
    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]


def write_binance_raw(
    folder: str | Path,
    spec: SymbolSpec,
    *,
    seconds: float,
    seed: int = 1,
    files: int = 1,
    latency_ms: float = 2.0,
    drop_at_s: float | None = None,
    resnapshot_at_s: float | None = None,
    names: list[str] | None = None,
) -> RawSession:
    """Write ``seconds`` of ``spec``'s flow into ``files`` gzip files in ``folder``.

    Every message is received ``latency_ms`` after its exchange event time ``E``. A first diff
    and then a snapshot start the session (the collector fetches one when diffs arrive); the
    diff at ``drop_at_s`` is left out (a gap) and a snapshot is taken at ``resnapshot_at_s``.
    The files split the messages evenly; ``names`` (one per file, in time order) may give them
    names whose sort order is not their time order.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    flow = OrderFlow([spec], seed)
    book = flow.books[spec.symbol]
    sym = spec.symbol
    lower = sym.lower()
    u = 1_000
    lines: list[bytes] = []
    counts = {"diffs": 0, "trades": 0, "snapshots": 0, "dropped": 0}
    dropped = resnapped = False
    lag_ns = round(latency_ms * 1e6)

    def line(t: float, payload: str) -> None:
        event_ns = _T0_NS + round(t * 1e9)
        lines.append(f"{event_ns + lag_ns} {payload}".encode())

    def snapshot(t: float) -> None:
        body = {"lastUpdateId": u, "bids": book.levels("bids"), "asks": book.levels("asks")}
        line(t, json.dumps(body, separators=(",", ":")))
        counts["snapshots"] += 1

    first = True
    steps = max(1, round(seconds / _STEP_S))
    for k in range(steps):
        # small steps: a snapshot must show the book as it was then, not at the end
        events = flow.advance_timed(_STEP_S)
        for t, _, item in events:
            e_ms = (_T0_NS + round(t * 1e9)) // 1_000_000
            if isinstance(item, BookChange):
                u += 1
                if drop_at_s is not None and not dropped and t >= drop_at_s:
                    dropped = True
                    counts["dropped"] += 1
                    continue
                data = {"e": "depthUpdate", "E": e_ms, "s": sym, "U": u, "u": u}
                data |= {"b": item.bids, "a": item.asks}
                stream = f"{lower}@depth@100ms"
                counts["diffs"] += 1
            else:
                data = {"e": "trade", "E": e_ms, "s": sym, "t": item.trade_id, "p": item.price}
                data |= {"q": item.size, "T": e_ms, "m": not item.taker_buy, "M": True}
                stream = f"{lower}@trade"
                counts["trades"] += 1
            line(t, json.dumps({"stream": stream, "data": data}, separators=(",", ":")))
        end = (k + 1) * _STEP_S
        if first and counts["diffs"]:
            first = False
            snapshot(end)
        elif resnapshot_at_s is not None and not resnapped and end >= resnapshot_at_s:
            resnapped = True
            snapshot(end)
    names = names or [f"{lower}_{i:02d}.gz" for i in range(files)]
    if len(names) != files:
        raise ValueError(f"names: {files} files need {files} names, got {len(names)}")
    per = -(-len(lines) // files)
    paths = []
    for i, name in enumerate(names):
        path = folder / name
        with gzip.open(path, "wb", compresslevel=1) as fh:
            for raw in lines[i * per : (i + 1) * per]:
                fh.write(raw + b"\n")
        paths.append(path)
    return RawSession(
        paths,
        counts["diffs"],
        counts["trades"],
        counts["snapshots"],
        counts["dropped"],
        book.levels("bids"),
        book.levels("asks"),
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m mmcore.testing.raw_data OUT [--seconds S] [--seed N] [--files K]``: the
    demo's simulated BTCUSDT (binance-spot) as raw collector files, to try the backtest on."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("out", type=Path, help="folder for the .gz files")
    parser.add_argument("--seconds", type=float, default=120.0, help="simulated seconds")
    parser.add_argument("--seed", type=int, default=1, help="order-flow seed")
    parser.add_argument("--files", type=int, default=2, help="files to split the session into")
    args = parser.parse_args(argv)
    spec = SymbolSpec("BTCUSDT", 60_000.0, tick_decimals=0, lot_decimals=3)
    raw = write_binance_raw(args.out, spec, seconds=args.seconds, seed=args.seed, files=args.files)
    print(
        f"{raw.diffs} depth diffs, {raw.trades} trades, {raw.snapshots} snapshot(s) in "
        + ", ".join(str(f) for f in raw.files)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
