"""The local fake exchange for tests: `mmcore.sim.wire` venues on loopback, driven by their own
seeded random flow, with fault injection: :meth:`~WireVenue.drop_next`,
:meth:`~WireVenue.kill_connections`, :meth:`~WireVenue.stall_connections`,
:meth:`~WireVenue.send_malformed`, :meth:`~WireVenue.serve_old_snapshot`,
:meth:`~WireVenue.rate_limit`, :meth:`~WireVenue.delay_rest` and, for Binance,
:meth:`BinanceWire.server_shutdown`.
"""

from mmcore.sim.wire import (
    BinanceWire,
    BybitWire,
    OkxWire,
    RestHit,
    TrueBook,
    WireVenue,
    okx_checksum,
)

__all__ = [
    "BinanceWire",
    "BybitWire",
    "OkxWire",
    "RestHit",
    "TrueBook",
    "WireVenue",
    "okx_checksum",
]
