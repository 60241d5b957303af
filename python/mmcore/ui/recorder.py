"""Periodic samples and the fills of a running :class:`~mmcore.trader.Trader`, for the
dashboard and report.

Read-only: each :meth:`Recorder.sample` looks at the books, working orders, positions, risk
states and latest advice and appends one row per symbol to a bounded ring; every fill an
engine applies is kept with the mid its position was marked to at that moment (the PnL
decomposition's "mid at fill").
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass

from mmcore.execution.orders import OrderFilled
from mmcore.trader import Trader

__all__ = ["FillRow", "Recorder", "Sample"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One symbol at one moment; times are seconds since the trader started."""

    t: float
    symbol: str
    best_bid: float
    best_ask: float
    mid: float
    mark: float  # the mid the position is marked to (its PnL's); NaN before the first mark
    spread_bps: float
    our_bid: float
    our_ask: float
    position: float
    pnl: float
    fees: float
    risk_state: str
    feed_state: str
    advice_spread_bps: float  # signal advisor's total spread (NaN: none or expired)
    advice_size_factor: float
    advice_risk_score: float
    advice_toxic_prob: float

    def as_row(self) -> dict[str, float | str]:
        """Plain dict for CSV."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class FillRow:
    """One fill as the portfolio took it; ``t`` in seconds since the trader started."""

    t: float
    symbol: str
    sign: int  # +1 we bought, -1 we sold
    price: float
    qty: float
    fee: float  # paid > 0, rebate < 0
    maker: bool
    mid: float  # the mark (mid) prevailing when the fill happened
    fill_id: str

    @property
    def side(self) -> str:
        """``buy`` or ``sell``."""
        return "buy" if self.sign > 0 else "sell"

    def as_row(self) -> dict[str, float | str | bool]:
        """Plain dict for CSV."""
        return {**asdict(self), "side": self.side}


def _num(advice: object, name: str) -> float:
    if advice is None:
        return math.nan
    value = advice.values.get(name)  # type: ignore[attr-defined]
    return float(value) if isinstance(value, int | float) else math.nan


class Recorder:
    """Samples every symbol of ``trader``; keeps at most ``max_rows`` samples (oldest
    dropped) and every fill (it takes each engine's ``on_fill``)."""

    def __init__(self, trader: Trader, max_rows: int = 500_000) -> None:
        self.trader = trader
        self.rows: deque[Sample] = deque(maxlen=max_rows)
        self.latest: dict[str, Sample] = {}
        self.dropped = 0
        self.fills: list[FillRow] = []
        for symbol, engine in trader.engines.items():
            engine.on_fill = self._fill_listener(symbol)

    def _fill_listener(
        self, symbol: str
    ) -> Callable[[OrderFilled, float, float, float, float], None]:
        trader = self.trader

        def on_fill(
            fill: OrderFilled, price: float, signed_qty: float, mid: float, now: float
        ) -> None:
            # stamped when the engine applied it, as the samples' PnL sees it (not fill.ts)
            self.fills.append(
                FillRow(
                    now - trader.started_at,
                    symbol,
                    1 if signed_qty > 0 else -1,
                    price,
                    abs(signed_qty),
                    fill.fee,
                    fill.maker,
                    mid,
                    fill.fill_id,
                )
            )

        return on_fill

    def sample(self, now: float) -> None:
        """Append one row per symbol at monotonic ``now``."""
        trader = self.trader
        t = now - trader.started_at
        for symbol, engine in trader.engines.items():
            feed = trader.feed_of(symbol)
            health = feed.health(symbol)
            book = feed.book(symbol)
            bid = ask = math.nan
            if book is not None and health.state.value != "unsynced":
                top_bid, top_ask = book.best_bid(), book.best_ask()
                bid = top_bid[0] if top_bid else math.nan
                ask = top_ask[0] if top_ask else math.nan
            our_bid, our_ask = trader.working_quotes(symbol)
            pos = trader.portfolio.position(symbol)
            latest = trader.advisors.latest(symbol, now) if trader.advisors else None
            signal = latest.signal if latest else None
            risk = latest.risk if latest else None
            mid = (bid + ask) / 2
            row = Sample(
                t=t,
                symbol=symbol,
                best_bid=bid,
                best_ask=ask,
                mid=mid,
                mark=pos.mark,
                spread_bps=(ask - bid) / mid * 1e4 if mid == mid else math.nan,
                our_bid=our_bid,
                our_ask=our_ask,
                position=pos.qty,
                pnl=pos.net,
                fees=pos.fees,
                risk_state=engine.risk.state.value,
                feed_state=health.state.value,
                advice_spread_bps=_num(signal, "spread_bps"),
                advice_size_factor=_num(signal, "quantity_factor"),
                advice_risk_score=_num(risk, "risk_score"),
                advice_toxic_prob=_num(risk, "toxic_flow_probability"),
            )
            if len(self.rows) == self.rows.maxlen:
                self.dropped += 1
            self.rows.append(row)
            self.latest[symbol] = row
