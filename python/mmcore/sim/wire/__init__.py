"""Real local venues speaking each exchange's wire format: websocket + REST servers on loopback.

Each venue serves a true, evolving book per symbol and offers fault injection (drop a message,
kill or stall connections, malformed frames, an old snapshot, REST rate limits, Binance
`serverShutdown`). The embedded simulated market (`mmcore.sim`) feeds them its order flow; the
test suite uses them, through `mmcore.testing.fake_exchange`, with a seeded random flow.
"""

from mmcore.sim.wire.binance import BinanceWire
from mmcore.sim.wire.bybit import BybitWire
from mmcore.sim.wire.flow import TrueBook
from mmcore.sim.wire.okx import OkxWire, okx_checksum
from mmcore.sim.wire.server import RestHit, WireVenue

__all__ = [
    "BinanceWire",
    "BybitWire",
    "OkxWire",
    "RestHit",
    "TrueBook",
    "WireVenue",
    "okx_checksum",
]
