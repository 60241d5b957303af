"""Binance spot, USD-M and COIN-M futures: combined streams, server ping frames, REST snapshots.

COIN-M (``binance-coinm``, dapi) speaks the USD-M wire format (``pu`` chaining, the same sync
rule) with its own endpoints: ``/dapi/v1/depth`` snapshots and ``@aggTrade`` prints (dapi lists
no raw ``@trade`` stream). Its sizes are contracts (100 USD for BTC, 10 USD for the others),
and the books keep them as the venue sends them.
"""

from __future__ import annotations

import json

from mmcore.feeds.venue import SnapshotRequest, VenueProtocol

__all__ = ["BinanceProtocol", "snapshot_weight"]


_MAX_STREAMS = 1024  # streams one connection may carry
_URL_STREAMS = 200  # streams named in the URL (a few kB); the rest are SUBSCRIBEd
_SUBSCRIBE_PARAMS = 200  # streams per SUBSCRIBE request

#: REST depth path per venue
_DEPTH_PATH = {
    "binance-spot": "/api/v3/depth",
    "binance-usdm": "/fapi/v1/depth",
    "binance-coinm": "/dapi/v1/depth",
}


def snapshot_weight(limit: int, futures: bool) -> int:
    """Request weight of a depth snapshot of ``limit`` levels (spot /api/v3; futures: /fapi/v1
    and /dapi/v1 weigh the same)."""
    if futures:
        return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


class BinanceProtocol(VenueProtocol):
    """Every symbol's ``@depth@100ms`` and trade streams on combined-stream connections of at
    most 1024 streams: the first 200 in the URL, the rest in ``SUBSCRIBE`` requests sent at
    4 a second (Binance cuts a connection that sends more than 5 messages a second, pings and
    pongs included)."""

    resync = "rest"
    rest_snapshots = True
    rotates_connections = True
    connection_capacity = _MAX_STREAMS
    subscribe_interval_s = 0.25

    @property
    def futures(self) -> bool:
        """USD-M or COIN-M futures (``pu`` chaining) rather than spot."""
        return self.venue != "binance-spot"

    @property
    def trade_stream(self) -> str:
        """``aggTrade`` on COIN-M (the only trade stream dapi lists), ``trade`` elsewhere."""
        return "aggTrade" if self.venue == "binance-coinm" else "trade"

    def streams(self) -> list[str]:
        """Every stream name of this connection, two per symbol."""
        names = []
        for sym in self.symbols:
            low = sym.lower()
            names += [f"{low}@depth@100ms", f"{low}@{self.trade_stream}"]
        return names

    def symbol_cost(self, symbol: str) -> float:
        return 2  # depth + trades

    def stream_url(self, ws_base: str) -> str:
        return f"{ws_base}/stream?streams={'/'.join(self.streams()[:_URL_STREAMS])}"

    def subscribe_frames(self) -> list[str]:
        rest = self.streams()[_URL_STREAMS:]
        return [
            json.dumps(
                {"method": "SUBSCRIBE", "params": rest[i : i + _SUBSCRIBE_PARAMS], "id": n + 1},
                separators=(",", ":"),
            )
            for n, i in enumerate(range(0, len(rest), _SUBSCRIBE_PARAMS))
        ]

    def snapshot_request(self, symbol: str) -> SnapshotRequest:
        path = _DEPTH_PATH[self.venue]
        params = {"symbol": symbol, "limit": str(self.snapshot_limit)}
        return SnapshotRequest(path, params, snapshot_weight(self.snapshot_limit, self.futures))

    def is_control(self, frame: bytes) -> bool:
        return frame.startswith(b'{"result"') or b"serverShutdown" in frame

    def is_shutdown(self, frame: bytes) -> bool:
        return b'"serverShutdown"' in frame

    def subscribe_error(self, frame: bytes) -> bool:
        return frame.startswith(b'{"code"')
