"""Client order ids as each venue accepts them, derived deterministically from the engine's.

The engine's ids (``mm-BTCUSDT-42``) are unique and never reused; a venue id is a pure function
of the engine's id, so the same order always carries the same venue id (a retried or re-queried
order is recognised, a duplicate is refused by the venue) and a restart derives the same ids
from the journal. An id that already fits the venue's rules is used unchanged; otherwise the
disallowed characters are dropped and, if it is still too long or was changed, a hash of the
whole id keeps it unique.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

__all__ = ["ID_RULES", "IdRule", "VenueIds"]


@dataclass(frozen=True)
class IdRule:
    """A venue's client order id rule: the characters allowed and the longest id."""

    allowed: str  # a regex character class body
    max_len: int

    def fits(self, client_id: str) -> bool:
        """True when the venue accepts ``client_id`` as it is."""
        return (
            0 < len(client_id) <= self.max_len
            and re.fullmatch(f"[{self.allowed}]+", client_id) is not None
        )


#: By ccxt exchange id. Binance: ``^[.A-Z:/a-z0-9_-]{1,36}$``; Bybit: letters, digits, ``-``,
#: ``_``, at most 36; anything else: letters and digits, at most 32 (OKX's rule, the strictest
#: common one).
ID_RULES: dict[str, IdRule] = {
    "binance": IdRule(r".A-Z:/a-z0-9_\-", 36),
    "binanceusdm": IdRule(r".A-Z:/a-z0-9_\-", 36),
    "bybit": IdRule(r"A-Za-z0-9_\-", 36),
}
GENERIC_RULE = IdRule("A-Za-z0-9", 32)


class VenueIds:
    """Maps engine client ids to a venue's and back (for the orders we sent)."""

    def __init__(self, rule: IdRule) -> None:
        self.rule = rule
        self._engine_of: dict[str, str] = {}

    @classmethod
    def for_exchange(cls, exchange_id: str) -> VenueIds:
        """The mapping for a ccxt exchange id (the generic rule for venues not listed)."""
        return cls(ID_RULES.get(exchange_id, GENERIC_RULE))

    def kept(self, text: str) -> str:
        """``text`` without the characters the venue does not allow (how an id's start
        looks at the venue)."""
        return re.sub(f"[^{self.rule.allowed}]", "", text)

    def venue_id(self, client_id: str) -> str:
        """The venue's id for the engine's ``client_id`` (remembered for :meth:`engine_id`)."""
        rule = self.rule
        if rule.fits(client_id):
            vid = client_id
        else:
            kept = self.kept(client_id)
            digest = hashlib.blake2b(client_id.encode(), digest_size=8).hexdigest()
            vid = (kept[: max(0, rule.max_len - len(digest))] + digest)[-rule.max_len :]
        self._engine_of[vid] = client_id
        return vid

    def engine_id(self, venue_client_id: str) -> str | None:
        """The engine's id of a venue id we derived, or None (an order we did not send)."""
        return self._engine_of.get(venue_client_id)
