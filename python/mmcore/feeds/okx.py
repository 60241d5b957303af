"""OKX v5 public: ``op: subscribe`` with channel args, text ``ping`` when idle, resubscribe."""

from __future__ import annotations

import json

from mmcore.feeds.venue import SnapshotRequest, VenueProtocol

__all__ = ["OkxProtocol"]


def _op(op: str, args: list[dict[str, str]]) -> str:
    return json.dumps({"op": op, "args": args}, separators=(",", ":"))


class OkxProtocol(VenueProtocol):
    """``books`` and ``trades`` for every instrument id (``BTC-USDT``).

    Gaps are resynced by resubscribing; when no in-band snapshot comes (the channel change
    OKX announced for 2026), the buffered updates trigger a REST snapshot instead.
    """

    rest_snapshots = True
    heartbeat = "ping"
    heartbeat_when_idle = True  # OKX: ping only when nothing arrived for < 30 s

    def subscribe_frames(self) -> list[str]:
        args = [{"channel": ch, "instId": s} for s in self.symbols for ch in ("books", "trades")]
        return [_op("subscribe", args)]

    def resubscribe_frames(self, symbol: str) -> list[str]:
        arg = [{"channel": "books", "instId": symbol}]
        return [_op("unsubscribe", arg), _op("subscribe", arg)]

    def snapshot_request(self, symbol: str) -> SnapshotRequest:
        # market/books: 40 requests / 2 s per IP, counted here as weight 1 each
        return SnapshotRequest("/api/v5/market/books", {"instId": symbol, "sz": "400"}, 1)

    def is_control(self, frame: bytes) -> bool:
        return frame == b"pong" or frame.startswith(b'{"event"')

    def subscribe_error(self, frame: bytes) -> bool:
        return frame.startswith(b'{"event":"error"')
