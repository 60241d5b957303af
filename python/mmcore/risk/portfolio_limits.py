"""Portfolio-wide limits across every symbol and venue of a run (``[portfolio_risk]``).

Each symbol's :class:`~mmcore.risk.manager.RiskManager` keeps its own limits; these hold on
top of them: gross and net notional (quote currency, positions at their marks), the gross
notional per venue, and the drawdown of the whole portfolio's equity from its peak. A breach
puts a floor on the state of every engine it concerns (all of them; for a venue limit, those
on that venue) through :meth:`RiskManager.override`, so two symbols each under its own limit
can still be stopped together. Notional limits lift as soon as the exposure is back under
them (the engines are REDUCING or HALTED meanwhile); the drawdown limit latches until
:meth:`PortfolioLimits.reset_drawdown` (an operator's resume).

All symbols are assumed to be quoted in the same currency (USDT on the demo's venues).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

from mmcore.config import ConfigError, bounded
from mmcore.portfolio import Portfolio
from mmcore.risk.manager import RiskManager, TradingState

__all__ = ["Member", "PortfolioExposure", "PortfolioLimits", "PortfolioLimitsConfig"]

log = logging.getLogger("mmcore.risk.portfolio")

SECTION = "portfolio_risk"


@dataclass(frozen=True, slots=True)
class PortfolioLimitsConfig:
    """Limits in the quote currency; an unset limit (the default) is not checked.
    ``action``: the state a breach moves the engines it concerns to (``reduce``: REDUCING,
    only orders that shrink positions; ``halt``: HALTED, everything cancelled)."""

    max_gross_notional: float | None = bounded(None, gt=0)
    max_net_notional: float | None = bounded(None, gt=0)
    max_venue_notional: Mapping[str, float] = bounded(default_factory=lambda: MappingProxyType({}))
    max_drawdown: float | None = bounded(None, gt=0)
    action: str = bounded("reduce", choices=("reduce", "halt"))
    check_every_s: float = bounded(0.1, gt=0)

    def __post_init__(self) -> None:
        for venue, limit in self.max_venue_notional.items():
            if not limit > 0:  # the generic checks do not reach into tables
                raise ConfigError(
                    f'{SECTION}.max_venue_notional."{venue}"', f"must be > 0, got {limit!r}"
                )

    @property
    def active(self) -> bool:
        """Whether any limit is set."""
        return bool(
            self.max_gross_notional
            or self.max_net_notional
            or self.max_venue_notional
            or self.max_drawdown
        )


class Member(NamedTuple):
    """One engine under the limits: its symbol, venue and risk manager."""

    symbol: str
    venue: str
    risk: RiskManager


class PortfolioExposure(NamedTuple):
    """The figures the limits are checked against, in the quote currency."""

    gross: float
    net: float
    by_venue: Mapping[str, float]
    equity: float
    drawdown: float


class PortfolioLimits:
    """Checks the limits and sets or lifts the engines' portfolio overrides."""

    def __init__(
        self, cfg: PortfolioLimitsConfig, portfolio: Portfolio, members: Sequence[Member]
    ) -> None:
        self.cfg = cfg
        self.portfolio = portfolio
        self.members = list(members)
        self._state = TradingState.HALTED if cfg.action == "halt" else TradingState.REDUCING
        self.peak: float | None = None
        self.drawdown_latched = False
        #: The limits in breach at the last check (``gross``, ``net``, ``venue:<v>``,
        #: ``drawdown``).
        self.breached: frozenset[str] = frozenset()
        self.breaches = 0  # checks that found a limit newly breached

    def exposure(self) -> PortfolioExposure:
        """Gross, net and per-venue notional at the positions' marks, equity and drawdown
        from its peak. A position without a finite mark counts as not finite."""
        gross = net = 0.0
        by_venue: dict[str, float] = {}
        for m in self.members:
            pos = self.portfolio.position(m.symbol)
            notional = pos.qty * pos.mark if pos.qty else 0.0
            gross += abs(notional)
            net += notional
            by_venue[m.venue] = by_venue.get(m.venue, 0.0) + abs(notional)
        equity = self.portfolio.equity
        peak = self.peak
        drawdown = 0.0 if peak is None else max(0.0, peak - equity)
        return PortfolioExposure(gross, net, MappingProxyType(by_venue), equity, drawdown)

    def check(self) -> frozenset[str]:
        """Evaluate every limit and set the overrides; returns the limits in breach.
        Non-finite figures breach every limit they feed (fail closed)."""
        cfg = self.cfg
        x = self.exposure()
        if math.isfinite(x.equity) and (self.peak is None or x.equity > self.peak):
            self.peak = x.equity
        breached: set[str] = set()
        if cfg.max_gross_notional is not None and not x.gross <= cfg.max_gross_notional:
            breached.add("gross")
        if cfg.max_net_notional is not None and not abs(x.net) <= cfg.max_net_notional:
            breached.add("net")
        for venue, limit in cfg.max_venue_notional.items():
            if not x.by_venue.get(venue, 0.0) <= limit:
                breached.add(f"venue:{venue}")
        if cfg.max_drawdown is not None and not x.drawdown < cfg.max_drawdown:
            self.drawdown_latched = True
        if self.drawdown_latched:
            breached.add("drawdown")
        new = breached - self.breached
        if new:
            self.breaches += 1
            log.warning(
                "portfolio_limit_breached limits=%s gross=%.2f net=%.2f equity=%.2f drawdown=%.2f",
                ",".join(sorted(new)),
                x.gross,
                x.net,
                x.equity,
                x.drawdown,
            )
        self.breached = frozenset(breached)
        for m in self.members:
            hits = sorted(b for b in breached if not b.startswith("venue:") or b[6:] == m.venue)
            for name in ("gross", "net", "drawdown", *(f"venue:{v}" for v in x.by_venue)):
                source = f"portfolio_{name}"
                m.risk.override(source, self._state if name in hits else None)
        return self.breached

    async def run(self) -> None:
        """Check every ``check_every_s`` until cancelled (a task beside the trader)."""
        while True:
            self.check()
            await asyncio.sleep(self.cfg.check_every_s)

    def reset_drawdown(self) -> None:
        """Lift a latched drawdown breach; the peak restarts from the next equity seen."""
        self.drawdown_latched = False
        self.peak = None
