"""PnL decomposition of a market maker's fills: spread, adverse selection, inventory, fees.

Every fill ``i`` has a time ``t_i``, a side sign ``s_i`` (+1 we bought, -1 we sold), a price
``p_i``, a quantity ``q_i``, a fee ``f_i`` (paid > 0, rebate < 0) and ``m_i``, the mid that
prevailed when it happened. ``m(x)`` is the mid at time ``x``: the latest mark (or fill mid) at
or before ``x``. Starting flat, the mark-to-market PnL at time ``T`` of the fills made by ``T``
is ``Σ s_i q_i (m(T) - p_i)``, and with ``c_i = min(t_i + h, T)`` (the markout horizon ``h``,
capped at ``T``) it splits into three parts that telescope back to it:

- spread captured ``Σ s_i q_i (m_i - p_i)``: what each fill earned against the mid at its time;
- adverse selection ``Σ s_i q_i (m(c_i) - m_i)``: the markout, how the mid moved against (< 0)
  or for (> 0) the fill in the ``h`` seconds after it;
- inventory ``Σ s_i q_i (m(T) - m(c_i))``: the mid's later moves on the inventory still held
  (zero for a fill younger than ``h``);

and fees ``-Σ f_i``. Each part is computed from its own formula; their sum equals the
mark-to-market PnL by construction (the identity holds to float rounding), so with the
position's last mark as ``m(T)`` it equals the portfolio's net PnL (realized + unrealized -
fees) of a run that started flat.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, TypeVar

import numpy as np

__all__ = [
    "FillAtMid",
    "Interval",
    "Markout",
    "MidPath",
    "PnlParts",
    "PnlPath",
    "decompose",
    "decompose_path",
    "markouts",
    "split_by_intervals",
]


class FillAtMid(Protocol):
    """What the decomposition reads from a fill."""

    @property
    def t(self) -> float: ...
    @property
    def sign(self) -> int: ...  # +1 buy, -1 sell
    @property
    def price(self) -> float: ...
    @property
    def qty(self) -> float: ...
    @property
    def fee(self) -> float: ...  # paid > 0, rebate < 0
    @property
    def mid(self) -> float: ...  # the mid prevailing at the fill


F = TypeVar("F", bound=FillAtMid)


class PnlParts(NamedTuple):
    """The decomposition at one moment (quote currency); ``fees`` is ``-Σ fee``."""

    spread: float
    adverse: float
    inventory: float
    fees: float

    @property
    def total(self) -> float:
        """Spread + adverse + inventory + fees: the net mark-to-market PnL."""
        return self.spread + self.adverse + self.inventory + self.fees


@dataclass(frozen=True)
class PnlPath:
    """The decomposition at each of ``times`` (arrays of the same length)."""

    times: np.ndarray
    spread: np.ndarray
    adverse: np.ndarray
    inventory: np.ndarray
    fees: np.ndarray

    @property
    def total(self) -> np.ndarray:
        """Spread + adverse + inventory + fees at each time."""
        return self.spread + self.adverse + self.inventory + self.fees

    def last(self) -> PnlParts:
        """The parts at the last time."""
        return PnlParts(
            float(self.spread[-1]),
            float(self.adverse[-1]),
            float(self.inventory[-1]),
            float(self.fees[-1]),
        )


class MidPath:
    """A step function of time: the mid is the latest point at or before the time asked.

    Built from ``(time, mid)`` points in any order (NaN mids are ignored); the last point is
    the end of the path. At equal times the point given later wins.
    """

    def __init__(self, points: Iterable[tuple[float, float]]) -> None:
        pts = [(float(t), float(m)) for t, m in points if m == m]
        if not pts:
            raise ValueError("mids: no finite mid to mark to")
        arr = np.array(pts)
        order = np.argsort(arr[:, 0], kind="stable")
        self.times = arr[order, 0]
        self.mids = arr[order, 1]

    @property
    def end(self) -> float:
        """The time of the last point."""
        return float(self.times[-1])

    def at(self, when: np.ndarray) -> np.ndarray:
        """The mid at each time in ``when`` (the first point's mid before it)."""
        i = np.searchsorted(self.times, when, side="right") - 1
        return self.mids[np.maximum(i, 0)]


class _Fills(NamedTuple):
    t: np.ndarray
    sq: np.ndarray  # signed quantity
    price: np.ndarray
    fee: np.ndarray
    mid: np.ndarray


def _arrays(fills: Sequence[FillAtMid], end: float) -> _Fills:
    rows = sorted(fills, key=lambda f: f.t)
    for name in ("t", "price", "qty", "fee", "mid"):
        bad = [getattr(f, name) for f in rows if not np.isfinite(getattr(f, name))]
        if bad:
            raise ValueError(f"fill.{name}: not a finite number ({bad[0]!r})")
    if any(f.sign not in (1, -1) for f in rows):
        raise ValueError("fill.sign: must be +1 (buy) or -1 (sell)")
    if rows and rows[-1].t > end:
        raise ValueError(f"fill.t: {rows[-1].t} is after the end of the mid path ({end})")
    return _Fills(
        np.array([f.t for f in rows], float),
        np.array([f.sign * f.qty for f in rows], float),
        np.array([f.price for f in rows], float),
        np.array([f.fee for f in rows], float),
        np.array([f.mid for f in rows], float),
    )


def _cum(values: np.ndarray) -> np.ndarray:
    """Prefix sums with a leading 0: ``out[n]`` is the sum of the first ``n`` values."""
    return np.concatenate(([0.0], np.cumsum(values)))


def decompose_path(
    fills: Sequence[FillAtMid], mids: MidPath, horizon_s: float, times: Sequence[float]
) -> PnlPath:
    """The decomposition (module docstring) at each of ``times`` (ascending, ≤ the path's
    end), counting the fills made by then; markouts use ``horizon_s``."""
    if not horizon_s >= 0:
        raise ValueError(f"horizon_s: must be >= 0 (got {horizon_s!r})")
    at = np.asarray(times, float)
    if at.size and (np.any(np.diff(at) < 0) or at[-1] > mids.end):
        raise ValueError("times: must be ascending and not after the end of the mid path")
    f = _arrays(fills, mids.end)
    matures = f.t + horizon_s
    n = np.searchsorted(f.t, at, side="right")  # fills made by T
    k = np.searchsorted(matures, at, side="right")  # ... and older than the horizon
    m_now = mids.at(at)
    m_h = mids.at(matures)  # used only for matured fills, so never past T
    sq = _cum(f.sq)
    sq_mid = _cum(f.sq * f.mid)
    sq_mh = _cum(f.sq * m_h)
    spread = _cum(f.sq * (f.mid - f.price))[n]
    adverse = (sq_mh[k] - sq_mid[k]) + (m_now * (sq[n] - sq[k]) - (sq_mid[n] - sq_mid[k]))
    inventory = m_now * sq[k] - sq_mh[k]
    fees = -_cum(f.fee)[n]
    return PnlPath(at, spread, adverse, inventory, fees)


def decompose(fills: Sequence[FillAtMid], mids: MidPath, horizon_s: float = 1.0) -> PnlParts:
    """The decomposition at the end of ``mids`` (markouts capped there)."""
    return decompose_path(fills, mids, horizon_s, [mids.end]).last()


class Markout(NamedTuple):
    """Markouts of a set of fills at one horizon."""

    horizon_s: float
    pnl: float  # Σ s q (m(min(t + h, end)) - m_fill), quote currency
    mean_bps: float  # mean of s (m(...) - m_fill) / m_fill in bps (NaN without fills)
    fills: int
    capped: int  # fills whose horizon passed the end of the path


def markouts(
    fills: Sequence[FillAtMid], mids: MidPath, horizons_s: Sequence[float]
) -> list[Markout]:
    """The adverse-selection markout of ``fills`` at each horizon (information for tables)."""
    f = _arrays(fills, mids.end)
    sign = np.sign(f.sq)
    out = []
    for h in horizons_s:
        later = mids.at(np.minimum(f.t + h, mids.end))
        move = later - f.mid
        bps = sign * move / f.mid * 1e4
        out.append(
            Markout(
                float(h),
                float(np.sum(f.sq * move)),
                float(bps.mean()) if bps.size else float("nan"),
                int(bps.size),
                int(np.sum(f.t + h > mids.end)),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Interval:
    """A stretch of one symbol's run marked for the reader, e.g. an informed-flow episode of a
    simulated market; ``start`` and ``end`` on the same clock as the fills' times."""

    symbol: str
    start: float
    end: float
    label: str

    def shifted(self, by: float) -> Interval:
        """The same interval with ``by`` added to both ends (to move it to another clock)."""
        return Interval(self.symbol, self.start + by, self.end + by, self.label)


def split_by_intervals(
    fills: Sequence[F], intervals: Sequence[Interval]
) -> tuple[list[F], list[F]]:
    """``(inside, outside)``: the fills made inside any of ``intervals`` (ends included) and
    the rest. The decomposition is a sum over fills, so the parts of the two halves add up to
    the parts of all of them."""
    spans = [(i.start, i.end) for i in intervals]
    inside: list[F] = []
    outside: list[F] = []
    for f in fills:
        (inside if any(a <= f.t <= b for a, b in spans) else outside).append(f)
    return inside, outside
