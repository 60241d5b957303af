"""Child process for the crash test: replays a session with a journal, reporting commits.

After each chunk it flushes the journal and prints the number of fills committed so far;
the parent kills it with SIGKILL while it keeps going.
"""

from __future__ import annotations

import sys
import time

from mmcore.journal import Journal
from mmcore.testing.trading import make_engine, session


def main(path: str) -> None:
    snapshot, items = session(20_000, seed=11, trade_every=2)
    journal = Journal(path, max_queue=256, batch=64)
    engine = make_engine(snapshot, journal=journal, paper=dict(maker_fee_bps=0.0))
    for start in range(0, len(items), 500):
        engine.replay(items[start : start + 500])
        journal.flush()
        print(engine.fills, flush=True)
    while True:  # the parent kills us
        time.sleep(1)


if __name__ == "__main__":
    main(sys.argv[1])
