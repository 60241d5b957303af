"""Why mmcore and hftbacktest fill differently on the session of ``engine_hftbacktest.py``.

``python benches/peers/engine_hftbacktest_fills.py [--events N]`` (mmcore only; no hftbacktest
needed). It replays the peer bench's session through mmcore's engine and prints:

1. the fills as benched (online GLFT calibration on) and on the priors alone, as the
   hftbacktest strategy quotes, with the model's total spread along the session;
2. on the priors, walking the session event by event, the counts of the situations where the
   two simulators are known to differ, with the first example of each:
   - an order live at the venue (acked, or sent one event earlier and arrived) that a book
     diff crosses without a trade: hftbacktest fills it there, mmcore only on a trade;
   - a cancel sent while the order waits for its ack: hftbacktest cannot cancel a pending new
     order, so it stays at the venue until the next book event (10 ms more);
   - amends: mmcore's desk shrinks an order in place (queue kept), the hftbacktest strategy
     cancels and places anew.
"""

from __future__ import annotations

import argparse

from mmcore._core import ApplyStatus
from mmcore.execution import Trade
from mmcore.strategy.config import CalibrationConfig
from mmcore.testing.trading import TICK, make_engine, session

RISK = {"max_drawdown": 1e12}
EXECUTION = {"tolerance_ticks": 0}
PRIORS = {"calibration": CalibrationConfig(min_intervals=10**9)}
# statuses of an order that is at the venue when a book event comes (a pending new one was
# sent an event earlier: it arrived after the entry latency, its ack is due now)
LIVE = {"PENDING_NEW", "OPEN", "PARTIALLY_FILLED", "PENDING_AMEND"}


def spreads(snapshot: bytes, items: list, stops: tuple[float, ...]) -> None:
    """The benched run (calibration on) in slices: the model's spread and fills so far."""
    engine = make_engine(snapshot, risk=RISK, execution=EXECUTION)
    done = 0
    for stop in stops:
        chunk = [item for item in items[done:] if item[0] <= stop]
        done += len(chunk)
        engine.replay(chunk)
        spread = engine.quoter.core.model_spread_ticks()
        print(f"  t={stop:6.1f} s  model spread {spread:.3f} ticks  fills so far {engine.fills}")


def kinds(snapshot: bytes, items: list) -> None:
    """Event by event on the priors: the simulator differences met, with an example each."""
    engine = make_engine(snapshot, risk=RISK, execution=EXECUTION, quote=PRIORS)
    book, orders = engine.book, engine.orders
    crossed: dict[str, str] = {}
    cancels_before_ack = 0
    example_cancel = ""
    for now, item in items:
        if isinstance(item, Trade):
            engine.on_trade(item, now)
            continue
        if book.apply(item) != ApplyStatus.APPLIED:
            continue
        best_bid = round(book.best_bid()[0] / TICK)
        best_ask = round(book.best_ask()[0] / TICK)
        for order in orders.orders.values():
            if order.status.name not in LIVE or order.client_id in crossed:
                continue
            buy = order.side.name == "BUY"
            if (buy and best_ask <= order.price_ticks) or (
                not buy and best_bid >= order.price_ticks
            ):
                crossed[order.client_id] = (
                    f"t={now:.2f} s {order!r} (sent at {order.created:.2f} s), "
                    f"touch {best_bid}/{best_ask} ticks"
                )
        pending = [cid for cid, o in orders.orders.items() if o.status.name == "PENDING_NEW"]
        engine.on_book(now)
        for cid in pending:
            order = orders.order(cid)
            if order is not None and order.status.name == "PENDING_CANCEL":
                cancels_before_ack += 1
                example_cancel = example_cancel or f"t={now:.2f} s {order!r}"
    print(
        f"  fills {engine.fills}, placed {orders.placed}, cancels {orders.cancels}, "
        f"amends {orders.amends}"
    )
    first = next(iter(crossed.values()), "none")
    print(f"  orders crossed by the book while at the venue: {len(crossed)}; e.g. {first}")
    print(f"  cancels sent before the order's ack: {cancels_before_ack}; e.g. {example_cancel}")


def main(argv: list[str] | None = None) -> None:
    """Print the fill counts and the differences met."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000, help="book events (default 20000)")
    args = ap.parse_args(argv)
    snapshot, items = session(args.events, seed=5)
    end = items[-1][0]
    print("benched (online calibration):")
    spreads(snapshot, items, (*(t for t in (20.0, 31.0, 60.0, 120.0) if t < end), end))
    print("GLFT priors only (as the hftbacktest strategy):")
    kinds(snapshot, items)


if __name__ == "__main__":
    main()
