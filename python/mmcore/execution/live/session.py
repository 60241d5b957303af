"""One account on one venue: the ccxt client, its clock, rate limits, private streams,
reconciliation and dead-man switch, shared by the :class:`LiveVenue` of each symbol.

Lifecycle: :meth:`LiveSession.start` loads the markets and their rules, measures the clock,
reconciles what the venue holds (open orders ours or foreign, adopted or cancelled per
``foreign_orders``; balances and positions), starts the private streams and arms the dead-man
switch; :meth:`LiveSession.close` disarms it and closes the client. Until the first
reconciliation, and again after a private stream drops until the REST reconciliation that
follows has finished, :attr:`LiveSession.ready` is False and the engines must not quote.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from mmcore.execution.live import generic
from mmcore.execution.live.client_ids import VenueIds
from mmcore.execution.live.clock import ClockSync
from mmcore.execution.live.config import LiveConfig
from mmcore.execution.live.deadman import DeadMan
from mmcore.execution.live.errors import classify, venue_code
from mmcore.execution.live.keys import Credentials, RedactingFilter, redact
from mmcore.execution.live.profile import VenueProfile, profile_for
from mmcore.execution.live.ratelimit import RateGuard
from mmcore.execution.live.rules import MarketRules, exact_decimal
from mmcore.execution.live.venue import LiveOrder, LiveVenue
from mmcore.journal import Journal
from mmcore.portfolio import Portfolio, PositionSnapshot

__all__ = ["LiveConfig", "LiveSession", "StartReport", "load_positions"]

log = logging.getLogger("mmcore.live")

#: Start-up snapshots tried while trades keep arriving between them.
_SNAPSHOT_TRIES = 3

_MSG = re.compile(r'"(?:msg|retMsg|ret_msg)"\s*:\s*"([^"]{0,160})')


@dataclass
class StartReport:
    """What the venue held at start."""

    adopted: list[str] = field(default_factory=list)  # foreign client ids left working
    cancelled: list[str] = field(default_factory=list)  # client ids cancelled at start
    own_open: dict[str, set[str]] = field(default_factory=dict)  # per symbol, engine ids
    #: (signed base quantity, entry price) per symbol: contracts as the venue reports them,
    #: spot as the base balance minus ``spot_baseline`` (valued at the mid at start)
    positions: dict[str, tuple[float, float]] = field(default_factory=dict)
    balances: dict[str, float] = field(default_factory=dict)  # total per asset (non-zero)


def load_positions(portfolio: Portfolio, report: StartReport) -> list[str]:
    """Put the venue's positions into ``portfolio`` (the venue is the truth for a position
    held at start: a contract position as the venue reports it, a spot one as its base
    balance minus ``spot_baseline``); returns the symbols whose position changed from what
    the portfolio held."""
    changed = []
    snapshots = []
    for symbol, (qty, entry) in report.positions.items():
        held = portfolio.position(symbol)
        if abs(held.qty - qty) > 0.5 * held.grid.lot_size:
            changed.append(symbol)
            log.warning("position_from_venue symbol=%s journal=%r venue=%r", symbol, held.qty, qty)
        snapshots.append(PositionSnapshot(symbol, qty, entry, 0.0, 0.0, float("nan")))
    portfolio.restore(snapshots)
    return changed


class LiveSession:
    """See the module docstring. ``exchange``: a ccxt.pro exchange (REST and websockets),
    already configured with keys and URLs; ``name``: the venue's name (fill ids, journal);
    ``own_prefix``: the start of the engine's client ids (``ExecutionConfig.client_id_prefix``
    plus ``-``), which tells our orders from foreign ones; ``on_halt``: called once with a
    reason when the venue bans us; ``profile``: what the session knows of the venue beyond
    ccxt's unified API (default: the preset of the client's exchange id and
    ``cfg.market_type``, else the generic profile)."""

    def __init__(
        self,
        exchange: Any,
        name: str,
        cfg: LiveConfig,
        *,
        journal: Journal | None = None,
        credentials: Credentials | None = None,
        own_prefix: str = "mm-",
        on_halt: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        profile: VenueProfile | None = None,
    ) -> None:
        self.exchange = exchange
        self.profile = profile or profile_for(exchange.id, cfg.market_type)
        self.name = name
        self.cfg = cfg
        self.journal = journal
        self.credentials = credentials
        self.own_prefix = own_prefix
        self.on_halt = on_halt
        self.clock = clock
        self.ids = VenueIds(self.profile.id_rule)
        # a venue without a server time endpoint (generic) is signed on the local clock
        self.time = ClockSync(exchange, cfg.clock_every_s, bool(exchange.has.get("fetchTime")))
        self.guard = RateGuard(cfg.rate, on_ban=self._banned)
        self.deadman = DeadMan(self, cfg.deadman_s)
        self.venues: dict[str, LiveVenue] = {}
        self._by_market: dict[str, LiveVenue] = {}  # by ccxt's unified symbol
        self.ready = False
        self.start_report = StartReport()  # what the venue held at start
        self.halted = ""
        self.requests = 0
        self.reconciles = 0
        self.stream_drops = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._last_trade_ms: dict[str, int] = {}
        self._resync: asyncio.Task[None] | None = None
        self._closed = False
        exchange.options["recvWindow"] = cfg.recv_window_ms
        self._hook_responses()
        # ccxt logs request headers (the API key) at debug level: redact its records
        self._log_filter = RedactingFilter(*((credentials,) if credentials else ()))
        self._ccxt_log = getattr(exchange, "logger", None) or logging.getLogger("ccxt")
        self._ccxt_log.addFilter(self._log_filter)
        # the engine's prefix, also as the venue's client id rule leaves it (a generic
        # venue drops the dashes)
        self._own_prefixes = (own_prefix, self.ids.kept(own_prefix))

    # -- set-up ---------------------------------------------------------------------------
    def _hook_responses(self) -> None:
        """Every HTTP reply's status and headers reach the rate guard (ccxt's per-response
        hook, called before its own error handling)."""
        exchange, guard = self.exchange, self.guard
        inner = exchange.on_rest_response
        usage = self.profile.usage_headers

        def on_rest_response(code, reason, url, method, headers, body, req_headers, req_body):
            # a generic venue's headers are not read: only the status and its Retry-After
            seen = (headers or {}) if usage else _retry_after(headers or {})
            guard.observe(int(code), seen)
            return inner(code, reason, url, method, headers, body, req_headers, req_body)

        exchange.on_rest_response = on_rest_response

    async def start(self, symbols: list[str], *, cancel_own: bool = False) -> StartReport:
        """Load markets and rules, measure the clock, reconcile, start streams and the
        dead-man switch; returns what the venue held. ``symbols``: the venue's market ids
        (``BTCUSDT``) of ``cfg.market_type``; an unknown one raises ``ValueError`` naming it.
        ``cancel_own``: cancel open orders of an earlier run too (when the engine does not
        restore them from its journal)."""
        if self.profile.generic:
            generic.check_capabilities(self.exchange, self.name)
        await self.exchange.load_markets()
        tick_mode = self.exchange.precisionMode == 4  # ccxt.base.decimal_to_precision.TICK_SIZE
        for symbol in symbols:
            market = self._market(symbol)
            rules = MarketRules.from_ccxt(market, tick_mode)
            self.venues[symbol] = LiveVenue(self, symbol, market, rules)
            self._by_market[market["symbol"]] = self.venues[symbol]
        await self.time.measure()
        report = StartReport()
        for venue in self.venues.values():
            await self._start_symbol(venue, report, cancel_own)
        await self._load_holdings(report)
        orders, trades = generic.streams(self.exchange) if self.profile.generic else (True, True)
        # a preset venue is watched once per account (see _watch); a generic one per symbol,
        # since not every exchange ccxt supports watches without one
        scopes: list[str | None] = [None]
        if self.profile.generic:
            scopes = [venue.market_symbol for venue in self.venues.values()]
        for scope in scopes:
            suffix = f" {scope}" if scope else ""
            if orders:
                watch = functools.partial(self.exchange.watch_orders, scope)
                self.spawn(self._watch(watch, LiveVenue.on_order), "watch_orders" + suffix)
            if trades:
                watch = functools.partial(self.exchange.watch_my_trades, scope)
                self.spawn(self._watch(watch, LiveVenue.on_trade), "watch_my_trades" + suffix)
        if not (orders and trades):
            for venue in self.venues.values():
                self.spawn(self._poll(venue), f"watch_poll {venue.symbol}")
        if orders or trades:
            await self._streams_up(self.cfg.stream_timeout_s)
        for venue in self.venues.values():
            await self.reconcile_symbol(venue)
        self.ready = True
        self.start_report = report
        self.spawn(self._housekeeping(), "housekeeping")
        await self.deadman.arm()
        return report

    def _market(self, symbol: str) -> dict[str, Any]:
        kind = self.cfg.market_type
        candidates = self.exchange.markets_by_id.get(symbol) or []
        for market in candidates:
            if market.get("type") == kind and (kind == "spot" or market.get("linear")):
                return market
        known = sorted(m for m, ms in self.exchange.markets_by_id.items() if ms)[:20]
        raise ValueError(f"symbols: {symbol} is not a {kind} market on {self.name} ({known})")

    async def _start_symbol(self, venue: LiveVenue, report: StartReport, cancel_own: bool) -> None:
        opens = await self._retrying(
            lambda: self.exchange.fetch_open_orders(venue.market_symbol), "fetch_open_orders"
        )
        own: set[str] = set()
        for item in opens:
            vid = item.get("clientOrderId") or ""
            venue.on_order(item, "start")
            mine = vid.startswith(self._own_prefixes)
            if mine and not cancel_own:
                own.add(venue.engine_id(item))
            elif not mine and self.cfg.foreign_orders == "adopt":
                report.adopted.append(vid or str(item.get("id")))
            else:
                _, kind = await self.request(
                    vid or str(item.get("id")),
                    f"cancel at start id={vid}",
                    lambda item=item: self.exchange.cancel_order(
                        str(item.get("id")), venue.market_symbol
                    ),
                    retry_ambiguous=True,
                )
                if kind == "ok":
                    report.cancelled.append(vid or str(item.get("id")))
                    venue.on_order({**item, "status": "canceled"}, "start")
        report.own_open[venue.symbol] = own

    async def _load_holdings(self, report: StartReport) -> None:
        """Balances and positions, consistent with the trade history: the fills the venue
        made before this snapshot are in it, so they are remembered as seen and never counted
        again (an earlier run's, by hand). The history is read before and after the snapshot;
        if a trade came in between, the snapshot is taken again."""
        before = await self._history()
        for _ in range(_SNAPSHOT_TRIES):
            positions, balance = await self._snapshot()
            after = await self._history()
            if _ids(after) == _ids(before):
                break
            before = after
        else:
            raise RuntimeError(f"{self.name}: trades kept coming during the start-up snapshot")
        for market, trades in after.items():
            for trade in trades:
                self.first_sight(market, str(trade.get("id")))
                self.note_trade(trade)
        for asset, total in (balance.get("total") or {}).items():
            if isinstance(total, int | float) and total:
                report.balances[asset] = float(total)
        for p in positions:
            venue = self._venue_of(p.get("symbol"))
            contracts = float(p.get("contracts") or 0.0)
            if venue is None or not contracts:
                continue
            sign = -1.0 if p.get("side") == "short" else 1.0
            qty = sign * contracts * float(venue.rules.contract_size)
            report.positions[venue.symbol] = (qty, float(p.get("entryPrice") or 0.0))
        if self.cfg.market_type == "spot":
            await self._spot_positions(balance, report)

    async def _snapshot(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        positions: list[dict[str, Any]] = []
        if self.cfg.market_type == "swap" and self.exchange.has.get("fetchPositions"):
            markets = [v.market_symbol for v in self.venues.values()]
            positions = await self._retrying(
                lambda: self.exchange.fetch_positions(markets), "fetch_positions"
            )
        balance = await self._retrying(lambda: self.exchange.fetch_balance(), "fetch_balance")
        return positions, balance

    async def _history(self) -> dict[str, list[dict[str, Any]]]:
        """The venue's latest trades per market (its default page)."""
        history = {}
        for venue in self.venues.values():
            history[venue.market_symbol] = await self._retrying(
                lambda venue=venue: self.exchange.fetch_my_trades(venue.market_symbol),
                "fetch_my_trades",
            )
        return history

    async def _spot_positions(self, balance: dict[str, Any], report: StartReport) -> None:
        """A spot symbol's position: its base asset's balance minus ``spot_baseline`` (the
        inventory the operator means to hold), on the lot grid (the rest, fee dust, is
        logged); without a baseline the balance at start is the baseline (flat). A position
        is valued at the venue's mid now (its cost is not known)."""
        totals = balance.get("total") or {}
        by_base: dict[str, list[LiveVenue]] = {}
        for venue in self.venues.values():
            by_base.setdefault(str(venue.market.get("base")), []).append(venue)
        for base, venues in by_base.items():
            held = exact_decimal(totals.get(base) or 0, f"balance.{base}")
            baseline = self.cfg.spot_baseline.get(base)
            field = f'live.spot_baseline."{base}"'
            if baseline is not None and len(venues) > 1:
                names = ", ".join(v.symbol for v in venues)
                raise ValueError(f"{field}: {base} is the base of {names}: one position per asset")
            start = held if baseline is None else exact_decimal(baseline, field)
            venue = venues[0]
            lots = round((held - start) / venue.rules.lot)
            qty = venue.rules.qty(lots)
            dust = held - start - qty
            self.journal_event(
                f"*{venue.symbol}",
                "venue_spot_inventory",
                f"{base} balance={held} baseline={start} position={qty} dust={dust}",
            )
            if baseline is None:
                continue
            if dust:
                log.info("spot_dust symbol=%s asset=%s dust=%s", venue.symbol, base, dust)
            entry = await self._mid_now(venue, field) if lots else 0.0
            report.positions[venue.symbol] = (float(qty), entry)

    async def _mid_now(self, venue: LiveVenue, field: str) -> float:
        """The venue's mid (or last price) now: the value of a spot position at start."""
        if not self.exchange.has.get("fetchTicker"):
            raise ValueError(f"{field}: {self.name} has no ticker to value the position with")
        ticker = await self._retrying(
            lambda: self.exchange.fetch_ticker(venue.market_symbol), "fetch_ticker"
        )
        bid, ask, last = ticker.get("bid"), ticker.get("ask"), ticker.get("last")
        price = (bid + ask) / 2 if bid and ask else last
        if not (isinstance(price, int | float) and math.isfinite(price) and price > 0):
            raise ValueError(f"{field}: no price for {venue.symbol} to value the position with")
        return float(price)

    def venue(self, symbol: str) -> LiveVenue:
        """The venue of ``symbol`` (after :meth:`start`)."""
        return self.venues[symbol]

    # -- requests -------------------------------------------------------------------------
    def refusal(self) -> tuple[str, float] | None:
        """Why no new order may be sent now, and for how many seconds more at most when the
        rate limits say (0: unknown, e.g. halted); None: it may."""
        if self.halted:
            return f"halted:{self.halted}", 0.0
        if not self.ready:
            return "venue_not_ready", 0.0
        return self.guard.order_refusal()

    def server_ms(self) -> float:
        """The venue's clock now (ms), by the last measured offset."""
        return time.time() * 1000.0 - (self.time.offset_ms or 0.0)

    async def request(
        self,
        client_id: str,
        detail: str,
        call: Callable[[], Awaitable[Any]],
        *,
        retry_ambiguous: bool = False,
    ) -> tuple[Any, str]:
        """Send one request, journalled with its outcome: ``(result, "ok")`` or
        ``(reason, kind)`` with kind from :func:`~mmcore.execution.live.errors.classify`.
        A timestamp refusal re-measures the clock and retries once; with
        ``retry_ambiguous`` (cancels, queries) an ambiguous failure or a throttle is retried
        up to ``retries`` times. Nothing is sent while banned."""
        self.journal_event(client_id, "venue_request", detail)
        retried_clock = False
        attempts = 0
        while True:
            wait = self.guard.wait_s()
            if self.guard.banned and wait > 0 and not retry_ambiguous:
                return self._outcome(client_id, "rate:banned", "ban")
            if wait > 0:
                await asyncio.sleep(wait)  # a cancel waits for the ban or back-off to end
            self.guard.sent()
            self.requests += 1
            try:
                result = await call()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # every ccxt failure is classified, none escapes
                codes = self.profile.venue_codes
                kind = "ban" if self.guard.banned else classify(exc, venue_codes=codes)
                reason = self._reason(kind, exc)
                if kind == "ban" and not self.guard.banned:  # a ban message without a 418
                    self.guard.ban(self.cfg.rate.ban_s, "ban_message")
                if kind == "timestamp" and not retried_clock:
                    retried_clock = True
                    self.journal_event(client_id, "venue_clock", "timestamp refused: re-measure")
                    with contextlib.suppress(Exception):
                        await self.time.measure()
                    continue
                if (
                    retry_ambiguous
                    and kind in ("ambiguous", "rate", "ban")
                    and attempts < self.cfg.retries
                ):
                    attempts += 1
                    await asyncio.sleep(self.cfg.retry_pause_s * attempts)
                    continue
                return self._outcome(client_id, reason, kind)
            self.journal_event(client_id, "venue_reply", "ok")
            return result, "ok"

    def _reason(self, kind: str, exc: BaseException) -> str:
        code = venue_code(exc)
        msg = _MSG.search(str(exc))
        text = f"{kind}:{type(exc).__name__}"
        if code:
            text += f" code={code}"
        if msg:
            text += f" {msg.group(1)}"
        return self._redact(text)

    def _outcome(self, client_id: str, reason: str, kind: str) -> tuple[str, str]:
        self.journal_event(client_id, "venue_reply", reason)
        return reason, kind

    async def _retrying(self, call: Callable[[], Awaitable[Any]], what: str) -> Any:
        result, kind = await self.request(f"*{self.name}", what, call, retry_ambiguous=True)
        if kind != "ok":
            raise RuntimeError(f"{self.name}: {what} failed: {result}")
        return result

    async def fetch_by_client_id(self, venue: LiveVenue, venue_client_id: str) -> dict | None:
        """The venue's order with this client id, or None when it has none."""
        ex, market = self.exchange, venue.market_symbol
        if self.profile.query == "generic":
            return await generic.find_by_client_id(self, venue, venue_client_id)
        if self.profile.query == "bybit":  # no unified query by orderLinkId: open, then history
            params = {"orderLinkId": venue_client_id}
            for call in (ex.fetch_open_orders, ex.fetch_canceled_and_closed_orders):
                found, kind = await self.request(
                    venue_client_id,
                    f"query id={venue_client_id}",
                    lambda call=call: call(market, None, None, params),
                    retry_ambiguous=True,
                )
                if kind == "ok" and found:
                    return found[0]
                if kind not in ("ok", "not_found"):
                    raise RuntimeError(str(found))
            return None
        found, kind = await self.request(
            venue_client_id,
            f"query id={venue_client_id}",
            lambda: ex.fetch_order(None, market, {"clientOrderId": venue_client_id}),
            retry_ambiguous=True,
        )
        if kind == "not_found":
            return None
        if kind != "ok":
            raise RuntimeError(str(found))
        return found

    async def resolve_unknown(self, venue: LiveVenue, order: LiveOrder) -> None:
        """Query an UNKNOWN order by client id until its fate is known."""
        window = self.cfg.recv_window_ms + self.cfg.unknown_grace_s * 1000.0
        while order.state == "unknown" and not self._closed:
            await asyncio.sleep(self.cfg.query_every_s)
            try:
                found = await self.fetch_by_client_id(venue, order.venue_client_id)
            except RuntimeError as exc:
                log.warning("unknown_order_query_failed id=%s: %s", order.client_id, exc)
                continue
            if found is not None:
                venue.on_order({**found, "clientOrderId": order.venue_client_id}, "query")
                await self.reconcile_trades(venue)
            elif self.server_ms() - order.sent_server_ms > window:
                # the venue refuses a request older than its receive window: it never will
                venue.resolve_absent(order)

    # -- reconciliation -------------------------------------------------------------------
    async def fetch_open(self, venue: LiveVenue) -> list[dict[str, Any]]:
        """The venue's open orders of one symbol (``RuntimeError`` when it does not say)."""
        opens, kind = await self.request(
            f"*{venue.symbol}",
            "fetch_open_orders",
            lambda: self.exchange.fetch_open_orders(venue.market_symbol),
            retry_ambiguous=True,
        )
        if kind != "ok":
            raise RuntimeError(f"{venue.symbol}: open orders not known: {opens}")
        return opens

    async def reconcile_symbol(self, venue: LiveVenue) -> None:
        """Open orders and fills of one symbol over REST (ours acked, final states learned,
        fills since the last seen one)."""
        opens = await self.fetch_open(venue)
        held = set()
        for item in opens:
            venue.on_order(item, "reconcile")
            held.add(venue.engine_id(item))
        for order in list(venue.orders.values()):
            if order.state == "open" and order.client_id not in held:
                found = await self.fetch_by_client_id(venue, order.venue_client_id)
                if found is not None:
                    venue.on_order({**found, "clientOrderId": order.venue_client_id}, "reconcile")
        await self.reconcile_trades(venue)
        self.reconciles += 1

    async def reconcile_trades(self, venue: LiveVenue) -> None:
        """Fills since the last one seen (with a minute's overlap; duplicates are dropped)."""
        since = self._last_trade_ms.get(venue.market_symbol)
        since = None if since is None else since - 60_000
        trades, kind = await self.request(
            f"*{venue.symbol}",
            "fetch_my_trades",
            lambda: self.exchange.fetch_my_trades(venue.market_symbol, since),
            retry_ambiguous=True,
        )
        if kind != "ok":
            raise RuntimeError(f"{venue.symbol}: fills not reconciled: {trades}")
        for trade in trades:
            venue.on_trade(trade, "reconcile")

    def first_sight(self, market_symbol: str, trade_id: str) -> bool:
        """True the first time a trade id is seen (a bounded memory of recent ones)."""
        key = (market_symbol, trade_id)
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > 100_000:
            self._seen.popitem(last=False)
        return True

    def note_trade(self, trade: dict[str, Any]) -> None:
        """Remember the newest trade time per market (where the next REST look starts)."""
        ts = trade.get("timestamp")
        symbol = trade.get("symbol") or ""
        if isinstance(ts, int | float):
            self._last_trade_ms[symbol] = max(self._last_trade_ms.get(symbol, 0), int(ts))

    # -- streams --------------------------------------------------------------------------
    async def _watch(
        self,
        watch: Callable[[], Awaitable[list[dict[str, Any]]]],
        handle: Callable[[LiveVenue, dict[str, Any], str], None],
    ) -> None:
        """One private stream (orders or trades), each item handed to its symbol's venue
        (``handle``: ``LiveVenue.on_order`` or ``LiveVenue.on_trade``); items of symbols not
        traded here are not ours to act on. A preset venue's stream is account-wide, not per
        symbol: ccxt answers a per-symbol watch by filtering its whole cache of recent items
        (up to ``ordersLimit``, 1000) on every update, milliseconds of CPU per order once the
        cache is full (benches/README.md); without a symbol it hands over only the new
        items."""
        pause = 0.1
        while not self._closed:
            try:
                items = await watch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a dropped stream: not ready until reconciled
                self._stream_lost(exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
                continue
            pause = 0.1
            for item in items:
                venue = self._venue_of(item.get("symbol"))
                if venue is not None:
                    handle(venue, item, "stream")

    async def _poll(self, venue: LiveVenue) -> None:
        """A venue without private streams (generic): its open orders and fills over REST,
        every ``poll_every_s``."""
        while not self._closed:
            await asyncio.sleep(self.cfg.poll_every_s)
            if self.guard.wait_s() > 0:
                continue
            try:
                await self.reconcile_symbol(venue)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("poll_failed venue=%s: %s", self.name, self._redact(str(exc)))

    def _stream_lost(self, exc: BaseException) -> None:
        self.stream_drops += 1
        if self.ready:
            self.journal_event(f"*{self.name}", "venue_stream_lost", type(exc).__name__)
        self.ready = False
        log.warning("private_stream_lost venue=%s: %s", self.name, self._redact(repr(exc)))
        if isinstance(exc, KeyError):
            # ccxt's ws-api subscription refused (a clock jump): it will not subscribe again
            # on this client; drop it so the next watch opens a fresh one
            for url in [u for u in self.exchange.clients if "ws-api" in u]:
                client = self.exchange.clients.pop(url)
                self.spawn(client.close(), "close ws-api client")
        if self._resync is None or self._resync.done():
            self._resync = self.spawn(self._resynchronise(), "resync")

    def _streams_connected(self) -> bool:
        """Every private websocket is open and none is still authenticating (ccxt keeps a
        future per pending subscription request)."""
        # ccxt keeps bookkeeping entries (e.g. ``authenticationFlights``) among its clients
        clients = [
            c
            for url, c in self.exchange.clients.items()
            if str(url).startswith(("ws://", "wss://")) and hasattr(c, "connected")
        ]
        if not clients:
            return False
        for client in clients:
            connected = client.connected
            if not connected.done() or connected.cancelled() or connected.exception():
                return False
            pending = [k for k, f in client.futures.items() if not f.done()]
            if any(str(key).startswith("authenticat") for key in pending):
                return False
        return True

    async def _streams_up(self, timeout_s: float) -> None:
        """Wait until the streams are (re)subscribed, then ``stream_settle_s`` more; raises
        ``TimeoutError`` after ``timeout_s``."""
        deadline = self.clock() + timeout_s
        while not self._streams_connected():
            if self.clock() > deadline:
                raise TimeoutError(f"{self.name}: private streams not connected in {timeout_s}s")
            await asyncio.sleep(0.02)
        await asyncio.sleep(self.cfg.stream_settle_s)

    async def _resynchronise(self) -> None:
        """After a drop: let the streams re-subscribe, then reconcile over REST, then ready."""
        while not self._closed:
            try:
                await self._streams_up(self.cfg.stream_timeout_s)
                await self.time.measure()
                for venue in self.venues.values():
                    await self.reconcile_symbol(venue)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("reconcile_failed venue=%s: %s", self.name, self._redact(str(exc)))
                continue
            if not self.halted:
                self.ready = True
            self.journal_event(f"*{self.name}", "venue_reconciled", "")
            log.info("private_streams_reconciled venue=%s", self.name)
            return

    async def _housekeeping(self) -> None:
        """The periodic clock measurement and REST reconciliation (the stream's safety net)."""
        next_reconcile = self.clock() + self.cfg.reconcile_every_s
        while not self._closed:
            await asyncio.sleep(min(1.0, self.cfg.reconcile_every_s))
            now = self.clock()
            if self.guard.wait_s() > 0:
                continue
            try:
                if self.time.due(now):
                    await self.time.measure()
                if now >= next_reconcile and self.ready:
                    next_reconcile = now + self.cfg.reconcile_every_s
                    for venue in self.venues.values():
                        await self.reconcile_symbol(venue)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("housekeeping_failed venue=%s: %s", self.name, self._redact(str(exc)))

    # -- halting, tasks, journal ----------------------------------------------------------
    def _banned(self, reason: str) -> None:
        """The venue banned us: no order until an operator resumes; the engines are halted
        (their cancels wait for the ban to end); the dead-man switch is left to fire."""
        self.halted = f"venue_ban:{reason}"
        self.ready = False
        self.deadman.stop()
        self.journal_event(f"*{self.name}", "venue_ban", reason)
        if self.on_halt is not None:
            self.on_halt("venue_ban")

    def resume(self) -> None:
        """An operator resumes: after a ban that has ended, reconcile, re-arm the dead-man
        switch and take orders again (a ban still running keeps the halt: logged)."""
        if not self.halted:
            return
        if self.guard.wait_s() > 0:
            log.error(
                "resume_refused venue=%s: banned for %.0fs more", self.name, self.guard.wait_s()
            )
            return
        self.halted = ""
        self.guard.banned = False
        self.deadman = DeadMan(self, self.cfg.deadman_s)
        self.spawn(self.deadman.arm(), "deadman arm")
        if self._resync is None or self._resync.done():
            self._resync = self.spawn(self._resynchronise(), "resync")

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run ``coro`` as a task the session owns (cancelled by :meth:`close`); a failure is
        logged (keys redacted), never lost silently."""
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.name}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("task_failed %s: %s", task.get_name(), self._redact(repr(exc)))

    def journal_event(self, client_id: str, kind: str, detail: str) -> None:
        """Record one request or outcome (keys and signatures redacted)."""
        if self.journal is not None:
            self.journal.record_event(client_id, kind, self.clock(), self._redact(detail))

    def _redact(self, text: str) -> str:
        creds = (self.credentials,) if self.credentials is not None else ()
        return redact(text, *creds)

    async def settle(self, timeout_s: float = 5.0) -> None:
        """Wait for the requests in flight (creates, cancels, queries) to finish, at most
        ``timeout_s`` (the streams and housekeeping run on)."""
        deadline = self.clock() + timeout_s
        while self.clock() < deadline:
            busy = [
                t
                for t in self._tasks
                if not t.get_name()
                .split(":", 1)[1]
                .startswith(("watch", "housekeeping", "deadman"))
            ]
            if not busy:
                return
            await asyncio.wait(busy, timeout=max(0.0, deadline - self.clock()))

    async def close(self) -> None:
        """Disarm the dead-man switch, stop every task and close the client."""
        with contextlib.suppress(Exception):
            await self.deadman.disarm()
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.exchange.close()
        self._ccxt_log.removeFilter(self._log_filter)

    def _venue_of(self, market_symbol: str | None) -> LiveVenue | None:
        return self._by_market.get(market_symbol or "")


def _ids(history: dict[str, list[dict[str, Any]]]) -> dict[str, set[str]]:
    return {market: {str(t.get("id")) for t in trades} for market, trades in history.items()}


def _retry_after(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() == "retry-after"}
