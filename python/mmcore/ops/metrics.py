"""Prometheus metrics read from the running trader at scrape time.

Nothing is updated on the quote path: :class:`TraderCollector` reads the counters the feeds,
order desks, risk managers, portfolio and LLM ledger already keep when Prometheus scrapes.
The two histograms (tick-to-quote and feed latency) are built from the sample rings the trader
and the feeds already fill: :class:`RingHistogram` buckets the samples added since its last
drain (once a second and at each scrape), counting any the ring dropped before it looked.
Names follow Prometheus conventions: ``mmcore_`` prefix, base units (seconds, base-asset units,
quote currency), ``_total`` counters, labels bounded by the configured venues and symbols.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from mmcore.advisors.factory import AdvisorRuntime
from mmcore.execution import PaperVenue
from mmcore.feeds.health import FeedState
from mmcore.risk.manager import TradingState
from mmcore.risk.portfolio_limits import PortfolioLimits
from mmcore.trader import Trader

__all__ = ["FEED_LATENCY_BUCKETS_S", "TICK_TO_QUOTE_BUCKETS_S", "RingHistogram", "TraderCollector"]

#: Tick-to-quote bucket bounds (seconds): the budget is p99 <= 50 us.
TICK_TO_QUOTE_BUCKETS_S = (5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 5e-3, 0.02)
#: Exchange-to-local feed latency bucket bounds (seconds).
FEED_LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
#: Event-loop lag bucket bounds (seconds).
LOOP_LAG_BUCKETS_S = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

_STATES = tuple(s.value for s in TradingState)
_FEED_STATES = tuple(s.value for s in FeedState)


class RingHistogram:
    """A cumulative histogram fed from a bounded ring of samples and a count of all samples
    ever added to it: each :meth:`drain` buckets the new ones (``scale`` converts them to
    seconds). Samples the ring dropped before a drain are counted in :attr:`lost`."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = np.asarray(bounds, dtype=float)
        self.counts = np.zeros(len(bounds) + 1, dtype=np.int64)  # the last: above every bound
        self.sum = 0.0
        self.count = 0
        self.lost = 0
        self._seen = 0

    def drain(self, ring: deque[float], total: int, scale: float = 1.0) -> int:
        """Bucket the samples added since the last drain; returns how many."""
        new = total - self._seen
        self._seen = total
        if new <= 0:
            return 0
        take = min(new, len(ring))
        self.lost += new - take
        if take == 0:
            return 0
        xs = np.fromiter(itertools.islice(ring, len(ring) - take, None), float, take) * scale
        xs = xs[np.isfinite(xs)]
        # "le" buckets: a sample equal to a bound belongs to that bound's bucket
        self.counts += np.bincount(
            np.searchsorted(self.bounds, xs, side="left"), minlength=len(self.counts)
        )
        self.sum += float(xs.sum())
        self.count += len(xs)
        return take

    def observe(self, value: float) -> None:
        """Add one sample directly (for series without a ring, e.g. the loop lag)."""
        if math.isfinite(value):
            self.counts[int(np.searchsorted(self.bounds, value, side="left"))] += 1
            self.sum += value
            self.count += 1

    def buckets(self) -> list[tuple[str, float]]:
        """Cumulative ``(le, count)`` pairs, ``+Inf`` last."""
        cumulative = np.cumsum(self.counts)
        les = [_le(b) for b in self.bounds] + ["+Inf"]
        return [(le, float(c)) for le, c in zip(les, cumulative, strict=True)]


def _le(bound: float) -> str:
    return repr(float(bound))


class TraderCollector(Collector):
    """Every ``mmcore_*`` metric of one run, read from ``trader`` (and the advisors' runtime
    and the portfolio limits when given) at scrape time. ``loop_lag`` is the event-loop lag
    histogram the ops runtime observes; ``extra`` yields further families (the alerts')."""

    def __init__(
        self,
        trader: Trader,
        *,
        advisors: AdvisorRuntime | None = None,
        limits: PortfolioLimits | None = None,
        loop_lag: RingHistogram | None = None,
        extra: Callable[[], Iterator[Metric]] | None = None,
    ) -> None:
        self.trader = trader
        self.advisors = advisors
        self.limits = limits
        self.loop_lag = loop_lag or RingHistogram(LOOP_LAG_BUCKETS_S)
        self.extra = extra
        self.tick_to_quote = RingHistogram(TICK_TO_QUOTE_BUCKETS_S)
        self.feed_latency = {v: RingHistogram(FEED_LATENCY_BUCKETS_S) for v in trader.feeds}

    def drain(self) -> None:
        """Bucket the samples added to the rings since the last drain (call often enough that
        the rings do not wrap: once a second is plenty)."""
        stats = self.trader.stats
        self.tick_to_quote.drain(stats.tick_to_quote, stats.quotes)
        for venue, feed in self.trader.feeds.items():
            m = feed.metrics
            self.feed_latency[venue].drain(m.latency_ms, m.latency_sampled, 1e-3)

    def collect(self) -> Iterator[Metric]:
        """The metric families (called by the registry on each scrape)."""
        self.drain()
        yield from self._feeds()
        yield from self._symbols()
        yield from self._portfolio()
        yield from self._histograms()
        if self.advisors is not None:
            yield from self._llm(self.advisors)
        if self.extra is not None:
            yield from self.extra()

    # ---- families ---------------------------------------------------------------------------
    def _feeds(self) -> Iterator[Metric]:
        counters = {
            "msgs": ("mmcore_feed_messages_total", "Websocket frames received"),
            "bytes": ("mmcore_feed_received_bytes_total", "Websocket bytes received"),
            "trades": ("mmcore_feed_trades_total", "Trade prints received"),
            "gaps": ("mmcore_feed_gaps_total", "Sequence gaps, checksum or overflow statuses"),
            "resyncs": ("mmcore_feed_resyncs_total", "Book resyncs started"),
            "reconnects": ("mmcore_feed_reconnects_total", "Reconnections"),
            "malformed": ("mmcore_feed_malformed_total", "Frames that could not be decoded"),
            "stale_disconnects": (
                "mmcore_feed_stale_disconnects_total",
                "Connections dropped for silence",
            ),
            "coalesced": ("mmcore_feed_coalesced_total", "Book notifications coalesced"),
        }
        families = {
            k: CounterMetricFamily(n.removesuffix("_total"), d, labels=["venue"])
            for k, (n, d) in counters.items()
        }
        connected = GaugeMetricFamily(
            "mmcore_feed_connected", "1 while the feed has a live connection", labels=["venue"]
        )
        for venue, feed in self.trader.feeds.items():
            m = feed.metrics
            for key, family in families.items():
                family.add_metric([venue], getattr(m, key))
            connected.add_metric([venue], 0.0 if feed.epoch is None else 1.0)
        yield from families.values()
        yield connected

    def _symbols(self) -> Iterator[Metric]:
        t = self.trader
        labels = ["venue", "symbol"]
        book_state = GaugeMetricFamily(
            "mmcore_book_state", "1 for the book's current state", labels=[*labels, "state"]
        )
        book_age = GaugeMetricFamily(
            "mmcore_book_age_seconds", "Time since the book's last update", labels=labels
        )
        risk_state = GaugeMetricFamily(
            "mmcore_risk_state", "1 for the symbol's trading state", labels=[*labels, "state"]
        )
        kill = GaugeMetricFamily(
            "mmcore_kill_switch_tripped", "1 while the kill switch is tripped", labels=labels
        )
        placed = CounterMetricFamily("mmcore_orders_placed", "Orders placed", labels=labels)
        cancels = CounterMetricFamily("mmcore_orders_cancelled", "Cancels sent", labels=labels)
        rejected = CounterMetricFamily(
            "mmcore_orders_rejected", "Orders the venue rejected", labels=labels
        )
        vetoed = CounterMetricFamily(
            "mmcore_orders_vetoed", "Target quotes the pre-trade gate did not send", labels=labels
        )
        fills = CounterMetricFamily("mmcore_fills", "Fills applied", labels=labels)
        fill_ratio = GaugeMetricFamily("mmcore_fill_ratio", "Fills per order placed", labels=labels)
        working = GaugeMetricFamily(
            "mmcore_orders_working", "Orders working at the venue", labels=labels
        )
        position = GaugeMetricFamily(
            "mmcore_position", "Signed position in base-asset units", labels=labels
        )
        notional = GaugeMetricFamily(
            "mmcore_position_notional", "Signed position at its mark, quote currency", labels=labels
        )
        realized = GaugeMetricFamily(
            "mmcore_pnl_realized", "Realized PnL, quote currency", labels=labels
        )
        unrealized = GaugeMetricFamily(
            "mmcore_pnl_unrealized", "Unrealized PnL at the mark, quote currency", labels=labels
        )
        fees = GaugeMetricFamily("mmcore_fees", "Fees paid, quote currency", labels=labels)
        drawdown = GaugeMetricFamily(
            "mmcore_drawdown", "PnL below its peak, quote currency", labels=labels
        )
        for symbol, engine in t.engines.items():
            venue = t.setups[symbol].venue
            lv = [venue, symbol]
            health = t.feed_of(symbol).health(symbol)
            for state in _FEED_STATES:
                book_state.add_metric([*lv, state], 1.0 if health.state.value == state else 0.0)
            book_age.add_metric(lv, math.nan if health.age_s is None else health.age_s)
            risk = engine.risk
            for state in _STATES:
                risk_state.add_metric([*lv, state], 1.0 if risk.state.value == state else 0.0)
            kill.add_metric(lv, 0.0 if risk.killed_at is None else 1.0)
            orders = engine.orders
            placed.add_metric(lv, orders.placed)
            cancels.add_metric(lv, orders.cancels)
            if isinstance(engine.venue, PaperVenue):
                rejected.add_metric(lv, engine.venue.rejects)
            vetoed.add_metric(lv, orders.vetoed)
            fills.add_metric(lv, engine.fills)
            fill_ratio.add_metric(lv, engine.fills / orders.placed if orders.placed else 0.0)
            working.add_metric(lv, len(orders.orders))
            pos = t.portfolio.position(symbol)
            position.add_metric(lv, pos.qty)
            notional.add_metric(lv, pos.qty * pos.mark if pos.qty else 0.0)
            realized.add_metric(lv, pos.realized)
            unrealized.add_metric(lv, pos.unrealized)
            fees.add_metric(lv, pos.fees)
            drawdown.add_metric(lv, risk.drawdown)
        yield from (book_state, book_age, risk_state, kill, placed, cancels, rejected, vetoed)
        yield from (fills, fill_ratio, working, position, notional, realized, unrealized, fees)
        yield drawdown

    def _portfolio(self) -> Iterator[Metric]:
        t = self.trader
        yield GaugeMetricFamily(
            "mmcore_portfolio_equity",
            "Realized + unrealized - fees over every symbol, quote currency",
            value=t.portfolio.equity,
        )
        yield CounterMetricFamily(
            "mmcore_book_events", "Book changes the trader reacted to", value=t.stats.book_events
        )
        yield CounterMetricFamily("mmcore_quotes", "Quote decisions made", value=t.stats.quotes)
        yield GaugeMetricFamily(
            "mmcore_uptime_seconds",
            "Seconds since the trader started",
            value=time.monotonic() - t.started_at,
        )
        limits = self.limits
        if limits is None:
            return
        x = limits.exposure()
        yield GaugeMetricFamily(
            "mmcore_portfolio_gross_notional", "Sum of |position x mark|", value=x.gross
        )
        yield GaugeMetricFamily(
            "mmcore_portfolio_net_notional", "Sum of position x mark", value=x.net
        )
        yield GaugeMetricFamily(
            "mmcore_portfolio_drawdown", "Equity below its peak, quote currency", value=x.drawdown
        )
        venue = GaugeMetricFamily(
            "mmcore_venue_gross_notional", "Sum of |position x mark| per venue", labels=["venue"]
        )
        for v, value in x.by_venue.items():
            venue.add_metric([v], value)
        yield venue
        breached = GaugeMetricFamily(
            "mmcore_portfolio_limit_breached", "1 while the limit is breached", labels=["limit"]
        )
        names = ["gross", "net", "drawdown", *(f"venue:{v}" for v in t.feeds)]
        for name in names:
            breached.add_metric([name], 1.0 if name in limits.breached else 0.0)
        yield breached

    def _histograms(self) -> Iterator[Metric]:
        ttq = HistogramMetricFamily(
            "mmcore_tick_to_quote_seconds", "Frame received to target quotes decided"
        )
        ttq.add_metric([], self.tick_to_quote.buckets(), self.tick_to_quote.sum)
        yield ttq
        lat = HistogramMetricFamily(
            "mmcore_feed_latency_seconds",
            "Exchange event time to local receipt (sampled frames)",
            labels=["venue"],
        )
        for venue, h in self.feed_latency.items():
            lat.add_metric([venue], h.buckets(), h.sum)
        yield lat
        lag = HistogramMetricFamily(
            "mmcore_event_loop_lag_seconds", "How late the event loop woke a timer"
        )
        lag.add_metric([], self.loop_lag.buckets(), self.loop_lag.sum)
        yield lag
        lost = CounterMetricFamily(
            "mmcore_histogram_samples_lost",
            "Samples a ring dropped before they were bucketed",
            labels=["histogram"],
        )
        lost.add_metric(["tick_to_quote"], self.tick_to_quote.lost)
        lost.add_metric(["feed_latency"], sum(h.lost for h in self.feed_latency.values()))
        yield lost

    def _llm(self, runtime: AdvisorRuntime) -> Iterator[Metric]:
        stats = runtime.service.stats
        yield CounterMetricFamily(
            "mmcore_advisor_calls", "Advisor calls made", value=stats.get("calls", 0)
        )
        client = runtime.client
        if client is None:
            return
        ledger = client.ledger
        calls = CounterMetricFamily("mmcore_llm_calls", "LLM calls by outcome", labels=["outcome"])
        for outcome, n in sorted(ledger.outcomes.items()):
            calls.add_metric([outcome], n)
        yield calls
        errors = CounterMetricFamily(
            "mmcore_llm_errors", "Failed LLM attempts by kind", labels=["kind"]
        )
        for kind, n in sorted(ledger.errors.items()):
            errors.add_metric([kind], n)
        yield errors
        yield CounterMetricFamily(
            "mmcore_llm_cost_usd",
            "Known LLM cost, USD",
            value=sum(u.cost_usd for u in ledger.models.values()),
        )
        budget = client.budget
        left = GaugeMetricFamily(
            "mmcore_llm_budget_remaining_usd", "Budget left in the window", labels=["window"]
        )
        left.add_metric(["hour"], max(0.0, budget.hourly_usd - budget.spent_hour()))
        left.add_metric(["day"], max(0.0, budget.daily_usd - budget.spent_day()))
        yield left
        yield GaugeMetricFamily(
            "mmcore_llm_models_cooling_down",
            "Models the relay told us to leave alone",
            value=len(runtime.cooldowns(time.monotonic())),
        )
