"""Live trading through ccxt: a venue per symbol behind the engine's ``Venue`` interface,
sharing one session per account (clock, rate limits, private streams, reconciliation,
dead-man switch). See :mod:`mmcore.execution.live.session` and
:mod:`mmcore.execution.live.venue`."""

from mmcore.execution.live.exchange import PRESETS, make_exchange, preset
from mmcore.execution.live.keys import Credentials, KeysError, load_credentials
from mmcore.execution.live.rules import MarketRules, RuleViolation
from mmcore.execution.live.session import LiveConfig, LiveSession, StartReport
from mmcore.execution.live.venue import LiveVenue

__all__ = [
    "PRESETS",
    "Credentials",
    "KeysError",
    "LiveConfig",
    "LiveSession",
    "LiveVenue",
    "MarketRules",
    "RuleViolation",
    "StartReport",
    "load_credentials",
    "make_exchange",
    "preset",
]
