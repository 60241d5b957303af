"""Analyses of a run's or a backtest's fills and prices (no trading state, plain data in)."""
