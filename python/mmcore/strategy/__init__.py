"""Quote models: fair value, GLFT / Avellaneda-Stoikov spreads and skew, advice overlay."""

from mmcore.strategy.calibration import Calibration, ModelParams
from mmcore.strategy.config import CalibrationConfig, OverlayConfig, QuoteConfig
from mmcore.strategy.overlay import NEUTRAL, Overlay, overlay_from
from mmcore.strategy.quoter import Quote, QuoteDecision, Quoter

__all__ = [
    "NEUTRAL",
    "Calibration",
    "CalibrationConfig",
    "ModelParams",
    "Overlay",
    "OverlayConfig",
    "Quote",
    "QuoteConfig",
    "QuoteDecision",
    "Quoter",
    "overlay_from",
]
