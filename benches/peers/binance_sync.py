"""Binance spot diff-depth sync rules, shared by the pure-Python peers.

Rules (exchange-protocols.md §1.4): after the REST snapshot sets ``last_update_id``, an event
with ``u <= last_update_id`` is stale and dropped; one with ``U > last_update_id + 1`` is a gap
(the book is unusable until a new snapshot); otherwise every level is applied (absolute size,
zero deletes, a delete for an unknown level is ignored) and ``last_update_id = u``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from .features import top_features

APPLIED, STALE, GAP, IGNORED, UNSYNCED = range(5)


class SyncedBinanceBook(ABC):
    """A peer's book plus the update-id bookkeeping; subclasses own parsing and storage."""

    name: str

    def __init__(self) -> None:
        self.last_update_id: int | None = None

    @staticmethod
    @abstractmethod
    def loads(payload: bytes) -> dict:
        """Parse one JSON payload."""

    @abstractmethod
    def set_levels(self, bids: list, asks: list) -> None:
        """Apply ``[price, qty]`` string pairs to each side (zero qty deletes)."""

    @abstractmethod
    def clear(self) -> None:
        """Empty both sides."""

    @abstractmethod
    def top(self, depth: int) -> tuple[list, list]:
        """Best-first ``(price, size)`` pairs per side, at most ``depth`` each."""

    def features(self, depth: int) -> tuple:
        """Top-``depth`` features (see ``features.top_features``)."""
        return top_features(*self.top(depth))

    feature_values = features  # what the correctness check reads

    def load_snapshot(self, body: bytes) -> None:
        """Rebuild the book from a REST ``/api/v3/depth`` body."""
        snapshot = self.loads(body)
        self.clear()
        self.set_levels(snapshot["bids"], snapshot["asks"])
        self.last_update_id = snapshot["lastUpdateId"]

    def apply(self, payload: bytes) -> int:
        """Apply one ``depthUpdate`` payload; return APPLIED, STALE, GAP, IGNORED or UNSYNCED."""
        msg = self.loads(payload)
        if msg.get("e") != "depthUpdate":
            return IGNORED
        last = self.last_update_id
        if last is None:
            return UNSYNCED
        if msg["u"] <= last:
            return STALE
        if msg["U"] > last + 1:
            self.clear()
            self.last_update_id = None
            return GAP
        self.set_levels(msg["b"], msg["a"])
        self.last_update_id = msg["u"]
        return APPLIED
