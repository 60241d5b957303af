"""Risk: trading states, limits counting working orders, kill switch, order-rate limits."""

from mmcore.risk.config import RiskConfig
from mmcore.risk.manager import RiskManager, TradingState

__all__ = ["RiskConfig", "RiskManager", "TradingState"]
