"""Live trading through ccxt: a venue per symbol behind the engine's ``Venue`` interface
(:mod:`~mmcore.execution.live.venue`), sharing one session per account
(:mod:`~mmcore.execution.live.session`: clock, rate limits, private streams, reconciliation,
dead-man switch). Import from the submodules: this package does not import ccxt (seconds to
load) until a live session is used."""
