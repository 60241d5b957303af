"""A local fake exchange: real websocket + REST servers on loopback speaking venue wire formats.

Each fake keeps a true, evolving book per symbol (seeded, deterministic flow) that tests compare
a client's local book with, and offers fault injection: :meth:`~FakeVenue.drop_next`,
:meth:`~FakeVenue.kill_connections`, :meth:`~FakeVenue.stall_connections`,
:meth:`~FakeVenue.send_malformed`, :meth:`~FakeVenue.serve_old_snapshot`,
:meth:`~FakeVenue.rate_limit`, :meth:`~FakeVenue.delay_rest` and, for Binance,
:meth:`BinanceFake.server_shutdown`.
"""

from mmcore.testing.fake_exchange.binance import BinanceFake
from mmcore.testing.fake_exchange.bybit import BybitFake
from mmcore.testing.fake_exchange.flow import TrueBook
from mmcore.testing.fake_exchange.okx import OkxFake, okx_checksum
from mmcore.testing.fake_exchange.server import FakeVenue, RestHit

__all__ = [
    "BinanceFake",
    "BybitFake",
    "FakeVenue",
    "OkxFake",
    "RestHit",
    "TrueBook",
    "okx_checksum",
]
