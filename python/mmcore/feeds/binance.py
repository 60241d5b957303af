"""Binance spot and USD-M futures: combined streams, server ping frames, REST snapshots."""

from __future__ import annotations

from mmcore.feeds.venue import SnapshotRequest, VenueProtocol

__all__ = ["BinanceProtocol", "snapshot_weight"]


def snapshot_weight(limit: int, futures: bool) -> int:
    """Request weight of a depth snapshot of ``limit`` levels (spot /api/v3, futures /fapi/v1)."""
    if futures:
        return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


class BinanceProtocol(VenueProtocol):
    """All symbols' ``@depth@100ms`` and ``@trade`` streams on one combined-stream connection."""

    resync = "rest"
    rest_snapshots = True
    rotates_connections = True

    @property
    def futures(self) -> bool:
        """USD-M futures (``pu`` chaining, /fapi/v1/depth) rather than spot."""
        return self.venue == "binance-usdm"

    def stream_url(self, ws_base: str) -> str:
        names = []
        for sym in self.symbols:
            low = sym.lower()
            names += [f"{low}@depth@100ms", f"{low}@trade"]
        return f"{ws_base}/stream?streams={'/'.join(names)}"

    def snapshot_request(self, symbol: str) -> SnapshotRequest:
        path = "/fapi/v1/depth" if self.futures else "/api/v3/depth"
        params = {"symbol": symbol, "limit": str(self.snapshot_limit)}
        return SnapshotRequest(path, params, snapshot_weight(self.snapshot_limit, self.futures))

    def is_control(self, frame: bytes) -> bool:
        return frame.startswith(b'{"result"') or b"serverShutdown" in frame

    def is_shutdown(self, frame: bytes) -> bool:
        return b'"serverShutdown"' in frame

    def subscribe_error(self, frame: bytes) -> bool:
        return frame.startswith(b'{"code"')
