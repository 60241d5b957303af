"""The embedded simulated market: seeded order flow served as real local Binance/Bybit venues."""

from mmcore.sim.flow import Episode, OrderFlow, SimBook, SymbolSpec
from mmcore.sim.process import SimMarketProcess
from mmcore.sim.venue import SIM_VENUES, SimListing, SimMarket

__all__ = [
    "SIM_VENUES",
    "Episode",
    "OrderFlow",
    "SimBook",
    "SimListing",
    "SimMarket",
    "SimMarketProcess",
    "SymbolSpec",
]
