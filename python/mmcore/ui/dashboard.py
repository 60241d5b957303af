"""Terminal dashboard (rich): books, quotes, inventory, PnL, risk, feed health, advisors.

It only reads the trader and the recorder's latest samples. Frames are rendered a few times a
second by an asyncio task (no refresh thread competing with the quote loop); ``--headless``
prints one log line per symbol instead. :meth:`Dashboard.render_text` renders a frame to a
string (tests, the closing screen).

When stdin is a terminal, the dashboard also takes the operator's keys (:mod:`mmcore.ui.keys`:
``h`` halt, ``r`` resume, ``f`` flatten after a confirmation), listed in its footer.
"""

from __future__ import annotations

import asyncio
import io
import math
import sys
import time
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from mmcore.advisors.factory import AdvisorRuntime
from mmcore.trader import Trader
from mmcore.ui.keys import OperatorKeys, terminal_keys
from mmcore.ui.recorder import Recorder

__all__ = ["Dashboard"]

_STATE_STYLE = {"active": "green", "reducing": "yellow", "halted": "bold red"}
_FEED_STYLE = {"synced": "green", "stale": "yellow", "unsynced": "red"}


def _px(value: float) -> str:
    return "-" if value != value else f"{value:,.6g}"


class Dashboard:
    """Live view of one run."""

    def __init__(
        self,
        trader: Trader,
        recorder: Recorder,
        advisors: AdvisorRuntime,
        *,
        title: str = "mmcore",
        extra: dict[str, object] | None = None,
    ) -> None:
        self.trader = trader
        self.recorder = recorder
        self.advisors = advisors
        self.title = title
        self.extra = extra or {}
        #: The operator's keys; shown in the footer while a terminal feeds them (:meth:`show`).
        self.keys = OperatorKeys(trader)
        self.keys_active = False

    # ---- rendering -------------------------------------------------------------------------
    def render(self) -> Group:
        """The current frame as a rich renderable."""
        return Group(self._markets(), self._advisor_panel(), self._footer())

    def render_text(self, width: int = 140) -> str:
        """The current frame as plain text."""
        console = Console(file=io.StringIO(), width=width, color_system=None, record=True)
        console.print(self.render())
        return console.export_text()

    def _markets(self) -> Table:
        t = self.trader
        table = Table(title=self.title, expand=True)
        for name, justify in (
            ("symbol", "left"),
            ("venue", "left"),
            ("feed", "left"),
            ("bid", "right"),
            ("ask", "right"),
            ("spread bp", "right"),
            ("our bid", "right"),
            ("our ask", "right"),
            ("inventory", "right"),
            ("PnL", "right"),
            ("fees", "right"),
            ("risk", "left"),
        ):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for symbol in t.engines:
            s = self.recorder.latest.get(symbol)
            if s is None:
                table.add_row(symbol, t.setups[symbol].venue, "starting", *["-"] * 9)
                continue
            engine = t.engines[symbol]
            reasons = ",".join(engine.risk.reasons)
            limit = t.setups[symbol].quote.max_position
            table.add_row(
                symbol,
                t.setups[symbol].venue,
                Text(s.feed_state, style=_FEED_STYLE.get(s.feed_state, "")),
                _px(s.best_bid),
                _px(s.best_ask),
                "-" if s.spread_bps != s.spread_bps else f"{s.spread_bps:.2f}",
                _px(s.our_bid),
                _px(s.our_ask),
                f"{s.position:+.4g} ({s.position / limit:+.0%})",
                f"{s.pnl:+.2f}",
                f"{s.fees:.2f}",
                Text(
                    s.risk_state + (f" ({reasons})" if reasons else ""),
                    style=_STATE_STYLE.get(s.risk_state, ""),
                ),
            )
        return table

    def _advisor_panel(self) -> Panel:
        t, rt = self.trader, self.advisors
        now = time.monotonic()
        lines = []
        mode = "offline rules advisor" if rt.client is None else "LLM relay"
        stats = rt.service.stats
        cost = 0.0
        if rt.client is not None:
            cost = sum(u.cost_usd for u in rt.client.ledger.models.values())
        lines.append(
            f"{mode}: calls {stats['calls']}  cost ${cost:.4f}  "
            f"crashed {stats['crashed']}  skipped {stats['skipped_unchanged']}"
        )
        cooling = rt.cooldowns(now)
        if cooling:
            lines.append(
                "cooling down (relay Retry-After): "
                + "  ".join(f"{model} {left:.1f}s left" for model, left in cooling.items())
            )
        for symbol in t.engines:
            latest = rt.service.latest(symbol, now)
            for kind, advice in (("signal", latest.signal), ("risk", latest.risk)):
                if advice is None:
                    lines.append(f"{symbol:<10} {kind:<6} neutral (none or expired)")
                    continue
                values = " ".join(
                    f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in advice.values.items()
                )
                lines.append(
                    f"{symbol:<10} {kind:<6} age {now - advice.created:5.1f}s "
                    f"[{advice.source}] {values}"
                )
        return Panel("\n".join(lines), title="advisors")

    def _footer(self) -> Text | Group:
        t = self.trader
        p50, p99 = t.stats.tick_to_quote_us()
        msgs = sum(f.metrics.msgs for f in t.feeds.values())
        gaps = sum(f.metrics.gaps for f in t.feeds.values())
        reconnects = sum(f.metrics.reconnects for f in t.feeds.values())
        fills = sum(e.fills for e in t.engines.values())
        elapsed = time.monotonic() - t.started_at
        extra = "  ".join(f"{k} {v}" for k, v in self.extra.items())
        stats = Text(
            f"t {elapsed:6.1f}s  msgs {msgs}  gaps {gaps}  reconnects {reconnects}  "
            f"quotes {t.stats.quotes}  fills {fills}  equity {t.portfolio.equity:+.2f}  "
            f"tick-to-quote p50 {_us(p50)} p99 {_us(p99)}  {extra}"
        )
        if not self.keys_active:
            return stats
        style = "bold yellow" if self.keys.confirming else ""
        return Group(stats, Text(self.keys.footer, style=style))

    # ---- showing ---------------------------------------------------------------------------
    async def show(
        self,
        *,
        refresh_per_s: float = 4.0,
        headless: bool = False,
        stream: TextIO | None = None,
        keys_from: TextIO | None = None,
    ) -> None:
        """Refresh the terminal ``refresh_per_s`` times a second (or, ``headless``, log one line
        per symbol every second at most) until cancelled. Not headless, the operator's keys
        are read from ``keys_from`` (default stdin) when it is a terminal, whose mode is
        restored when this ends."""
        period = 1.0 / max(refresh_per_s, 0.1)
        out = stream or sys.stdout
        if headless:
            while True:
                await asyncio.sleep(max(period, 1.0))
                self.log_lines(out)
        console = Console(file=out)
        if not console.is_terminal:  # piped: a fixed width instead of the 80-column fallback
            console = Console(file=out, width=140)
        with terminal_keys(self.keys, keys_from or sys.stdin) as self.keys_active:
            try:
                with Live(self.render(), console=console, auto_refresh=False) as live:
                    while True:
                        await asyncio.sleep(period)
                        live.update(self.render(), refresh=True)
            finally:
                self.keys_active = False

    def log_lines(self, out: TextIO) -> None:
        """One structured line per symbol (headless mode)."""
        now = time.monotonic() - self.trader.started_at
        for symbol, s in self.recorder.latest.items():
            out.write(
                f"t={now:.1f} symbol={symbol} feed={s.feed_state} bid={s.best_bid} "
                f"ask={s.best_ask} our_bid={s.our_bid} our_ask={s.our_ask} "
                f"inventory={s.position:.6g} pnl={s.pnl:.4f} risk={s.risk_state}\n"
            )
        out.flush()


def _us(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}us"
