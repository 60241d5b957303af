"""A hash of every fill of the hftbacktest peer session, to show a speed-up changed no fill.

``PYTHONPATH=python python benches/fills_hash.py [--events N]`` prints, for the ``quoting``
scenario at requote tolerance 0 and 1 and for both replay paths (the Rust batch and one Python
call per event), the fill count and a sha256 prefix over the fills as the engine hands them to
``on_fill`` (fill, price, signed size, mark, time) and the final position. Run it on two builds
(``PYTHONPATH`` at each checkout's ``python/``): equal lines mean byte-identical fills.
"""

from __future__ import annotations

import argparse
import hashlib

from mmcore.testing.trading import make_engine, session


def main(argv: list[str] | None = None) -> None:
    """Print one line per tolerance and path: ``tolerance path fills hash``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000, help="book events (default 20000)")
    args = ap.parse_args(argv)
    snapshot, items = session(args.events, seed=5)
    for tolerance in (0, 1):
        for path in ("batch", "event"):
            engine = make_engine(
                snapshot, risk={"max_drawdown": 1e12}, execution={"tolerance_ticks": tolerance}
            )
            rows: list[str] = []
            engine.on_fill = lambda *fill, rows=rows: rows.append(repr(fill))
            if path == "event":
                engine.request_resync = lambda _symbol: False  # not batchable: per event
            engine.replay(items)
            pos = engine.portfolio.position(engine.symbol)
            fills = len(rows)
            rows.append(repr((pos.qty, pos.realized, pos.fees, engine.orders.placed)))
            digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]
            print(tolerance, path, fills, digest)


if __name__ == "__main__":
    main()
