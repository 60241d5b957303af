"""Cancel-on-disconnect: the venue's dead-man switch, armed and refreshed while healthy.

* Binance USD-M: ``POST /fapi/v1/countdownCancelAll`` per symbol with ``countdownTime`` (ms);
  refreshed every third of it while the session is ready; if mmcore dies or loses the venue,
  the countdown runs out and the venue cancels the symbol's orders. Disarmed (0) on close.
* Bybit v5: ``POST /v5/order/disconnected-cancel-all`` (``timeWindow`` 3 to 300 s, ``product``
  SPOT or DERIVATIVES), set once, and the private websocket kept subscribed to the ``dcp``
  topic (ccxt.pro 4.5.90 does not subscribe it by itself): the venue cancels every order when
  that connection is lost for longer than the window. Only on accounts the venue enabled it
  for.
* Binance spot and the generic profile's venues: none; cancel-all on halt, shutdown and feed
  loss is the engine's (see :mod:`mmcore.control`).
A stopped switch (a ban: no request may be sent) is left to run out.
"""

from __future__ import annotations

import asyncio
import logging

from mmcore.execution.live.port import SessionPort

__all__ = ["DeadMan"]

log = logging.getLogger("mmcore.live.deadman")


class DeadMan:
    """The dead-man switch of one session (``countdown_s`` 0: off)."""

    def __init__(self, session: SessionPort, countdown_s: float) -> None:
        self.session = session
        self.countdown_s = countdown_s
        self.refreshes = 0
        self.kind = self._kind()
        self._stopped = False

    def _kind(self) -> str:
        if self.countdown_s <= 0:
            return "off"
        return self.session.profile.deadman

    async def arm(self) -> None:
        """Arm it (and keep refreshing it, for a countdown)."""
        if self.kind == "binance_countdown":
            await self._countdown(round(self.countdown_s * 1000))
            self.session.spawn(self._refresh(), "deadman")
        elif self.kind == "bybit_dcp":
            window = int(min(300, max(3, self.countdown_s)))
            product = "SPOT" if self.session.cfg.market_type == "spot" else "DERIVATIVES"
            await self._send(
                lambda: self.session.exchange.privatePostV5OrderDisconnectedCancelAll(
                    {"timeWindow": window, "product": product}
                ),
                f"dcp timeWindow={window} product={product}",
            )
            self.session.spawn(self._dcp_topic(), "deadman dcp")

    async def _dcp_topic(self) -> None:
        """Keep the private websocket subscribed to ``dcp`` (the venue arms DCP only for a
        connection subscribed to it; ccxt.pro does not subscribe it itself)."""
        exchange = self.session.exchange
        venue = next(iter(self.session.venues.values()))
        url = await exchange.get_url_by_market_type(venue.market_symbol, True)
        while not self._stopped:
            try:
                await exchange.authenticate(url)
                await exchange.watch_topics(url, ["dcp"], ["dcp"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the stream dropped: subscribe again once it is back
                log.info("dcp_topic_lost: %s", type(exc).__name__)
                await asyncio.sleep(0.2)

    async def _refresh(self) -> None:
        while not self._stopped:
            await asyncio.sleep(self.countdown_s / 3)
            if self._stopped:
                return
            if self.session.ready and not self.session.guard.wait_s():
                await self._countdown(round(self.countdown_s * 1000))

    async def _countdown(self, ms: int) -> None:
        for venue in self.session.venues.values():
            market_id = venue.market["id"]
            await self._send(
                lambda market_id=market_id: self.session.exchange.fapiPrivatePostCountdownCancelAll(
                    {"symbol": market_id, "countdownTime": ms}
                ),
                f"countdownCancelAll {market_id} {ms}ms",
            )
        self.refreshes += 1

    async def _send(self, call, detail: str) -> None:
        result, kind = await self.session.request(f"*{self.session.name}", detail, call)
        if kind != "ok":
            log.warning("deadman_request_failed %s: %s", detail, result)

    def stop(self) -> None:
        """Stop refreshing (the venue's countdown then runs out)."""
        self._stopped = True

    async def disarm(self) -> None:
        """Stop refreshing and switch the countdown off (a clean shutdown)."""
        self._stopped = True
        if self.kind == "binance_countdown" and not self.session.guard.wait_s():
            await self._countdown(0)
