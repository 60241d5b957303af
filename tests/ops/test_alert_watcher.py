"""The alert watcher on real engines: each condition alerts once, on its change."""

from __future__ import annotations

from types import SimpleNamespace

from mmcore.feeds.health import FeedState, SymbolHealth
from mmcore.llm.usage import UsageLedger
from mmcore.ops.alerts import AlertWatcher, Notifier
from mmcore.ops.config import AlertsConfig
from mmcore.risk.manager import TradingState
from mmcore.testing.trading import SYMBOL, make_engine, session


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class FeedHealth:
    """A feed as the watcher sees it: the symbol's health, set by the test."""

    def __init__(self) -> None:
        self.safe = True

    def health(self, symbol: str) -> SymbolHealth:
        state = FeedState.SYNCED if self.safe else FeedState.UNSYNCED
        return SymbolHealth(symbol, state, 0.1, self.safe)


def _watcher(**cfg):
    snapshot, items = session(600, seed=2)
    engine = make_engine(snapshot)
    engine.replay(items[:300])
    feed = FeedHealth()
    trader = SimpleNamespace(
        engines={SYMBOL: engine}, feed_of=lambda s: feed, portfolio=engine.portfolio
    )
    ledger = UsageLedger()
    advisors = SimpleNamespace(client=SimpleNamespace(ledger=ledger))
    clock = Clock()
    config = AlertsConfig(dedup_s=0, max_per_minute=1000, **cfg)
    notifier = Notifier(config, [], run_id="r", clock=clock)
    watcher = AlertWatcher(config, trader, notifier, advisors, clock=clock)
    return watcher, engine, feed, ledger, clock, items[300:]


def _kinds(watcher) -> list[tuple[str, str]]:
    out = []
    while not watcher.notifier.queue.empty():
        a = watcher.notifier.queue.get_nowait()
        out.append((a.kind, a.subject))
    return out


def test_each_condition_alerts_once_on_its_change():
    watcher, engine, feed, ledger, clock, rest = _watcher(feed_lost_s=5.0, summary_every_s=0)
    watcher.check()
    assert _kinds(watcher) == []
    engine.risk.override("operator", TradingState.HALTED)
    engine.replay(rest[:20])
    for _ in range(3):
        watcher.check()
    assert _kinds(watcher) == [("halt", SYMBOL)]
    engine.risk.override("operator", None)
    # the kill switch trips: this symbol's PnL falls past its drawdown limit
    risk, now = engine.risk, rest[20][0]
    f = engine.book.features(5)
    peak = risk.peak if risk.peak is not None else 0.0
    risk.evaluate(f, now, 0.0, risk.position, peak - 2 * risk.cfg.max_drawdown)
    assert risk.killed_at == now
    for _ in range(3):
        watcher.check()
    assert _kinds(watcher) == [("kill_switch", SYMBOL)]
    feed.safe = False
    watcher.check()
    clock.t = 4.0
    watcher.check()
    assert _kinds(watcher) == []  # not yet lost for feed_lost_s
    clock.t = 6.0
    watcher.check()
    watcher.check()
    assert _kinds(watcher) == [("feed_lost", SYMBOL)]
    feed.safe = True
    watcher.check()
    watcher.check()
    assert _kinds(watcher) == [("feed_recovered", SYMBOL)]
    ledger.outcomes["budget_exhausted"] += 2
    watcher.check()
    watcher.check()
    assert _kinds(watcher) == [("llm_budget", "run")]


def test_the_summary_comes_every_period():
    watcher, *_, clock, _ = _watcher(summary_every_s=60.0)
    watcher.check()
    assert _kinds(watcher) == []
    clock.t = 60.0
    watcher.check()
    clock.t = 61.0
    watcher.check()
    clock.t = 120.0
    watcher.check()
    assert _kinds(watcher) == [("summary", "run"), ("summary", "run")]
    assert SYMBOL in watcher.summary() and "equity" in watcher.summary()
