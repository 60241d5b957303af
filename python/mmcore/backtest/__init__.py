"""Backtests and parameter sweeps: the paper-trading engine replayed on recorded market data.

- :mod:`mmcore.backtest.data`: reads mmcore tapes and the third-party ``<ns> <json>`` gzip
  format into one time-ordered stream of messages per session.
- :mod:`mmcore.backtest.latency`: the feed latency measured from the data and order latencies
  fitted from a recorded latency file.
- :mod:`mmcore.backtest.config`: the ``[backtest]`` section on top of a run's ``mm.toml``.
- :mod:`mmcore.backtest.replay`: drives :func:`mmcore.trader.build_engine`'s engines through
  the data (book sync, gaps, timer) in simulated time.
- :mod:`mmcore.backtest.metrics`: PnL, Sharpe/Sortino, drawdown, fill ratio, inventory,
  spread captured and markouts of a finished replay.
- :mod:`mmcore.backtest.sweep`: grid / random / Optuna sweeps on a process pool or Ray.
"""
