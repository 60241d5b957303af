"""The relay client: one pooled httpx client, one retry owner, limits, breakers and budget.

Every logical call (:meth:`RelayClient.complete`) walks its role's model chain under a single
wall-clock deadline and a single attempt budget shared by retries and fallbacks. Terminal errors
latch the role off until :meth:`RelayClient.reset_latch`. A Retry-After on a 429, a 503 or a
402 in-flight-budget answer holds *every* call to that model (see :mod:`mmcore.llm.cooldown`).
"""

from __future__ import annotations

import asyncio
import difflib
import json
import logging
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mmcore.llm.breaker import CircuitBreaker
from mmcore.llm.budget import Budget, PriceBook, Reservation
from mmcore.llm.clock import Clock, MonotonicClock
from mmcore.llm.config import LLMConfig
from mmcore.llm.cooldown import Cooldowns
from mmcore.llm.errors import (
    AdvisorLatched,
    BudgetExhausted,
    ErrorKind,
    ModelCheckError,
    RelayError,
    classify_http_error,
)
from mmcore.llm.ratelimit import ModelLimiter
from mmcore.llm.usage import CallRecord, UsageLedger
from mmcore.llm.wire import Reply, SSEParser, StreamAssembler, parse_completion_body

if TYPE_CHECKING:
    import httpx

__all__ = ["Completion", "RelayClient"]

log = logging.getLogger("mmcore.llm")
_MAX_ERROR_BODY = 64 * 1024
# Statuses whose Retry-After holds the whole model (a 402 gets here only as an in-flight-budget
# answer; credit exhaustion is terminal).
_COOLDOWN_STATUS = frozenset({402, 429, 503})


@dataclass(frozen=True, slots=True)
class Completion:
    """A successful logical call: the reply plus how it was obtained."""

    reply: Reply
    requested_model: str
    served_model: str
    attempts: int
    latency_s: float
    ttfb_s: float | None
    cost_usd: float | None
    cost_source: str


@dataclass(slots=True)
class _AttemptResult:
    reply: Reply
    ttfb_s: float


def estimate_prompt_tokens(messages: Sequence[Mapping[str, str]]) -> int:
    """A cheap upper-ish estimate (4 characters per token plus framing) for rate and budget."""
    return sum(len(m.get("content") or "") // 4 + 8 for m in messages)


class RelayClient:
    """Async client for an OpenAI-compatible relay (OpenRouter-style).

    Create once, ``await start()`` (opens the pool and checks ``/models``), share it, and
    ``await aclose()`` at shutdown. ``clock`` and ``rng`` are injectable for tests.
    """

    def __init__(
        self,
        config: LLMConfig,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if config.offline:
            raise ValueError("llm.base_url is not set: use the offline rules advisor")
        self.config = config
        self.clock: Clock = clock or MonotonicClock()
        self._rng = rng or random.Random()
        self.prices = PriceBook(config.price_table())
        self.budget = Budget(config.budget.hourly_usd, config.budget.daily_usd, self.clock)
        self.ledger = UsageLedger()
        self.capabilities: dict[str, frozenset[str]] = {}
        self._limiters: dict[str, ModelLimiter] = {}
        self._breakers: dict[str, CircuitBreaker] = {}
        self._latches: dict[str, str] = {}
        self._cooldowns = Cooldowns(self.clock)
        self._http: httpx.AsyncClient | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, *, check_models: bool = True) -> None:
        """Open the connection pool and (by default) validate the configured model ids."""
        import httpx  # deferred: importing httpx costs ~100 ms, not paid by `import mmcore.llm`

        if self._http is None:
            pool = self.config.pool
            headers = {"X-Title": "mmcore", "Content-Type": "application/json"}
            if self.config.api_key is not None:
                headers["Authorization"] = f"Bearer {self.config.api_key.reveal()}"
            self._http = httpx.AsyncClient(
                base_url=self.config.base_url or "",
                headers=headers,
                limits=httpx.Limits(
                    max_connections=pool.max_connections,
                    max_keepalive_connections=pool.max_keepalive,
                    keepalive_expiry=pool.keepalive_expiry_s,
                ),
                # Read and pool waits are bounded by our own deadline and first-byte limits.
                timeout=httpx.Timeout(None, connect=self.config.timeouts.connect_s),
                follow_redirects=False,
            )
        if check_models:
            await self.check_models()

    async def aclose(self) -> None:
        """Close the pool; idempotent."""
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()

    async def __aenter__(self) -> RelayClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def http(self) -> httpx.AsyncClient:
        """The pooled httpx client (after :meth:`start`)."""
        if self._http is None:
            raise RuntimeError("RelayClient.start() has not been awaited")
        return self._http

    # -- start-up check --------------------------------------------------------------------

    async def check_models(self) -> None:
        """GET /models: every configured id must exist; record ``supported_parameters``."""
        try:
            async with asyncio.timeout(self.config.timeouts.deadline_s):
                resp = await self.http.get("/models")
                raw = await resp.aread()
        except TimeoutError:
            raise ModelCheckError("GET /models timed out") from None
        if resp.status_code != 200:
            raise ModelCheckError(f"GET /models failed with HTTP {resp.status_code}")
        try:
            data = json.loads(raw)["data"]
            listing = {m["id"]: m for m in data if isinstance(m, Mapping) and "id" in m}
        except (ValueError, KeyError, TypeError):
            raise ModelCheckError("GET /models returned an unexpected body") from None
        for entry in list(listing.values()):
            slug = entry.get("canonical_slug")
            if isinstance(slug, str):
                listing.setdefault(slug, entry)
        configured = [m for role in ("signal", "risk") for m in self.config.models.models(role)]
        for model in dict.fromkeys(configured):
            if model not in listing:
                close = difflib.get_close_matches(model, list(listing), n=3, cutoff=0.5)
                hint = f"; close matches: {', '.join(close)}" if close else ""
                raise ModelCheckError(f"model {model!r} is not offered by the relay{hint}")
            params = listing[model].get("supported_parameters") or ()
            self.capabilities[model] = frozenset(p for p in params if isinstance(p, str))
            if self.config.require_response_format and not (
                self.capabilities[model] & {"response_format", "structured_outputs"}
            ):
                raise ModelCheckError(f"model {model!r} does not support response_format")
        self.prices.update_from_listing(listing, keep=set(self.config.prices))

    # -- latches, breakers, limiters ---------------------------------------------------------

    def latched(self, role: str) -> str | None:
        """The reason ``role`` is latched off, or None."""
        return self._latches.get(role)

    def reset_latch(self, role: str) -> None:
        """Operator action: re-enable a role after fixing the cause of a terminal error."""
        if self._latches.pop(role, None) is not None:
            log.warning("llm latch reset role=%s", role)

    def breaker(self, model: str) -> CircuitBreaker:
        """The circuit breaker of ``model``."""
        br = self._breakers.get(model)
        if br is None:
            b = self.config.breaker
            br = CircuitBreaker(b.window_s, b.failure_rate, b.min_calls, b.cooldown_s, self.clock)
            self._breakers[model] = br
        return br

    def limiter(self, model: str) -> ModelLimiter:
        """The RPM/TPM/concurrency limiter of ``model``."""
        lim = self._limiters.get(model)
        if lim is None:
            cfg = self.config.limits
            lim = ModelLimiter(cfg.rpm, cfg.tpm, cfg.max_concurrency, self.clock)
            self._limiters[model] = lim
        return lim

    def cooldowns(self, now: float | None = None) -> dict[str, float]:
        """Seconds left per model the relay told us to leave alone, at ``now`` on this
        client's clock (default: the clock's current time); models not cooling are absent."""
        return self._cooldowns.active(self._base_url, self.clock.now() if now is None else now)

    @property
    def _base_url(self) -> str:
        return self.config.base_url or ""

    def _hold(self, model: str, seconds: float) -> None:
        """Keep every call away from ``model`` for ``seconds`` (never shortening a hold)."""
        now = self.clock.now()
        until = self._cooldowns.hold(self._base_url, model, seconds)
        self.ledger.record_cooldown(model, time.time() + (until - now))
        log.warning("llm model cooling down model=%s for %.3gs", model, until - now)

    # -- the logical call --------------------------------------------------------------------

    async def complete(
        self,
        role: str,
        messages: Sequence[Mapping[str, str]],
        *,
        schema: Mapping[str, Any] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stream: bool | None = None,
    ) -> Completion:
        """Ask ``role``'s model chain for a completion.

        Raises :class:`AdvisorLatched` (terminal error, now or earlier),
        :class:`BudgetExhausted` (caps reached) or :class:`RelayError` (every attempt failed or
        the deadline passed). Never retries more than ``retry.max_attempts`` in total.
        """
        reason = self._latches.get(role)
        if reason is not None:
            raise AdvisorLatched(role, reason)
        tuning = self.config.advisor
        max_tokens = max_tokens or tuning.max_tokens
        stream = self.config.stream if stream is None else stream
        chain = self.config.models.models(role)
        retry = self.config.retry
        started = self.clock.now()
        deadline = started + self.config.timeouts.deadline_s
        est_tokens = estimate_prompt_tokens(messages) + max_tokens
        attempts = 0
        last: RelayError | None = None

        def finish(outcome: str, error: str) -> None:
            self._record_failure(role, chain[0], outcome, attempts, started, error)

        for index, model in enumerate(chain):
            # Waiting out a cooldown is worth it when the attempt after it still has its
            # first-byte limit before the deadline, or when no model is left to try.
            room = 0.0 if index == len(chain) - 1 else self.config.timeouts.first_byte_s
            tries = 0
            while attempts < retry.max_attempts:
                remaining = deadline - self.clock.now()
                if remaining <= 0:
                    break
                cooling = self._cooldowns.wait_s(self._base_url, model)
                if cooling > 0:
                    if cooling + room >= remaining:
                        last = RelayError(
                            ErrorKind.SKIP_MODEL,
                            "cooling_down",
                            f"{model} cooling down for {cooling:.3g}s",
                        )
                        self.ledger.record_error("cooling_down")
                        break
                    await self.clock.sleep(cooling)
                    continue  # re-check: another answer may have extended the hold
                br = self.breaker(model)
                if not br.allow():
                    last = RelayError(ErrorKind.SKIP_MODEL, "breaker_open", f"{model} breaker open")
                    self.ledger.record_error("breaker_open")
                    break
                est_usd = self.prices.estimate((model,), est_tokens - max_tokens, max_tokens)
                try:
                    reservation = self.budget.reserve(est_usd)
                except BudgetExhausted:
                    br.release()
                    finish("budget_exhausted", "budget_exhausted")
                    raise
                lim = self.limiter(model)
                wait = lim.reserve(est_tokens)
                if wait >= remaining:
                    lim.cancel(est_tokens)
                    self.budget.release(reservation)
                    br.release()
                    last = RelayError(ErrorKind.SKIP_MODEL, "rate_limited", f"{model} rate limited")
                    self.ledger.record_error("rate_limited")
                    break
                if wait > 0:
                    await self.clock.sleep(wait)
                attempts += 1
                payload = self._payload(model, messages, schema, max_tokens, temperature, stream)
                try:
                    result = await self._attempt(payload, deadline, stream, lim.semaphore)
                except RelayError as err:
                    last = err
                    self.ledger.record_error(err.error_class)
                    if err.billed:
                        self.budget.settle(reservation, None)
                    else:
                        self.budget.release(reservation)
                        lim.tokens.adjust(-est_tokens)
                    if err.kind is ErrorKind.TERMINAL:
                        br.release()
                        self._latches[role] = f"{model}: {err}"
                        log.error("llm advisor latched off role=%s reason=%s", role, err)
                        finish("terminal", err.error_class)
                        raise AdvisorLatched(role, self._latches[role]) from None
                    br.record(False)
                    log.warning(
                        "llm attempt failed model=%s error=%s: %s", model, err.error_class, err
                    )
                    hint = err.retry_after_s
                    if hint is not None and err.status in _COOLDOWN_STATUS:
                        self._hold(model, min(hint, retry.retry_after_cap_s))
                    if err.kind is ErrorKind.SKIP_MODEL:
                        break
                    if hint is not None and hint > retry.retry_after_cap_s:
                        break  # the server wants a long pause: try the next model now
                    tries += 1
                    if tries > retry.retries_per_model or attempts >= retry.max_attempts:
                        break
                    delay = hint if hint is not None else self._backoff(tries)
                    if self.clock.now() + delay >= deadline:
                        break
                    await self.clock.sleep(delay)
                    continue
                except BaseException:
                    # Cancelled mid-call: the relay may bill it, so keep the money reserved.
                    self.budget.settle(reservation, None)
                    br.release()
                    raise
                return self._succeed(
                    role,
                    chain[0],
                    model,
                    result,
                    reservation,
                    est_tokens,
                    attempts,
                    started,
                )
            if attempts >= retry.max_attempts or deadline - self.clock.now() <= 0:
                break
        if last is None:
            last = RelayError(ErrorKind.TRANSIENT, "deadline", "deadline passed before an attempt")
        finish("failed", last.error_class)
        raise RelayError(
            last.kind,
            last.error_class,
            f"{role}: no completion after {attempts} attempt(s); last error: {last}",
            status=last.status,
        )

    def _record_failure(
        self, role: str, requested: str, outcome: str, attempts: int, started: float, error: str
    ) -> None:
        self.ledger.record_call(
            CallRecord(
                role=role,
                requested_model=requested,
                served_model=None,
                outcome=outcome,
                attempts=attempts,
                latency_s=self.clock.now() - started,
                ttfb_s=None,
                prompt_tokens=None,
                completion_tokens=None,
                cost_usd=None,
                cost_source="none",
                error_class=error,
            )
        )

    def _succeed(
        self,
        role: str,
        requested: str,
        model: str,
        result: _AttemptResult,
        reservation: Reservation,
        est_tokens: int,
        attempts: int,
        started: float,
    ) -> Completion:
        reply = result.reply
        served = reply.served_model or model
        if served != model:
            log.warning("llm model substituted requested=%s served=%s", model, served)
        if reply.gateway_cost is not None:
            cost, source = reply.gateway_cost, "gateway"
        elif reply.prompt_tokens is not None and reply.completion_tokens is not None:
            cost = self.prices.cost(served, reply.prompt_tokens, reply.completion_tokens)
            source = "unknown" if cost is None else "price_table"
        else:
            cost, source = None, "unknown"
        self.budget.settle(reservation, cost)
        actual_tokens = (
            None
            if reply.prompt_tokens is None or reply.completion_tokens is None
            else reply.prompt_tokens + reply.completion_tokens
        )
        self.limiter(model).reconcile(est_tokens, actual_tokens)
        self.breaker(model).record(True)
        latency = self.clock.now() - started
        self.ledger.record_call(
            CallRecord(
                role,
                requested,
                served,
                "ok",
                attempts,
                latency,
                result.ttfb_s,
                reply.prompt_tokens,
                reply.completion_tokens,
                cost,
                source,
            )
        )
        return Completion(reply, requested, served, attempts, latency, result.ttfb_s, cost, source)

    def _backoff(self, tries: int) -> float:
        retry = self.config.retry
        base = min(retry.backoff_cap_s, retry.backoff_base_s * 2 ** (tries - 1))
        return base * (1.0 - retry.jitter * self._rng.random())

    def _payload(
        self,
        model: str,
        messages: Sequence[Mapping[str, str]],
        schema: Mapping[str, Any] | None,
        max_tokens: int,
        temperature: float | None,
        stream: bool,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": model,
            "messages": list(messages),
            "temperature": self.config.advisor.temperature if temperature is None else temperature,
            "max_tokens": max_tokens,
            "stream": stream,
            "user": "mmcore",
        }
        if schema is not None:
            if "structured_outputs" in self.capabilities.get(model, ()):
                payload["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "advice", "strict": True, "schema": schema},
                }
                payload["provider"] = {"require_parameters": True}
            else:
                payload["response_format"] = {"type": "json_object"}
        if stream:
            payload["stream_options"] = {"include_usage": True}
        return payload

    async def _attempt(
        self, payload: dict[str, Any], deadline: float, stream: bool, gate: asyncio.Semaphore
    ) -> _AttemptResult:
        """One HTTP exchange, bounded by the call deadline (including the wait for a
        concurrency slot) and, once sent, by the first-byte limit."""
        import httpx

        body = json.dumps(payload).encode()
        remaining = deadline - self.clock.now()
        sent = got_headers = False
        resp: httpx.Response | None = None
        try:
            async with asyncio.timeout(remaining), gate:
                t0 = time.perf_counter()
                first_byte = min(self.config.timeouts.first_byte_s, deadline - self.clock.now())
                try:
                    async with asyncio.timeout(first_byte):
                        request = self.http.build_request("POST", "/chat/completions", content=body)
                        sent = True
                        resp = await self.http.send(request, stream=True)
                except TimeoutError:
                    if first_byte < self.config.timeouts.first_byte_s:
                        raise  # the call deadline, not the first-byte limit, ran out
                    raise RelayError(
                        ErrorKind.TRANSIENT,
                        "timeout_first_byte",
                        f"no response within {first_byte:.3g}s",
                        billed=not stream,  # a non-streamed request keeps running upstream
                    ) from None
                got_headers = True
                ttfb = time.perf_counter() - t0
                if resp.status_code != 200:
                    raw = await _read_capped(resp)
                    try:
                        err_body = json.loads(raw)
                    except ValueError:
                        err_body = None  # an HTML error page from a proxy
                    raise classify_http_error(resp.status_code, resp.headers, err_body)
                ctype = resp.headers.get("content-type", "")
                if stream and ctype.startswith("text/event-stream"):
                    reply = await _read_stream(resp)
                else:
                    reply = parse_completion_body(await resp.aread())
                return _AttemptResult(reply, ttfb)
        except TimeoutError:
            raise RelayError(
                ErrorKind.TRANSIENT,
                "timeout_deadline",
                "call deadline passed",
                billed=sent and (got_headers or not stream),
            ) from None
        except httpx.HTTPError as exc:
            raise RelayError(
                ErrorKind.TRANSIENT,
                "connection",
                f"{type(exc).__name__}: {exc}"[:200],
                billed=got_headers and not stream,
            ) from None
        finally:
            if resp is not None:
                await resp.aclose()


async def _read_capped(resp: httpx.Response) -> bytes:
    out = bytearray()
    async for part in resp.aiter_bytes():
        out += part
        if len(out) >= _MAX_ERROR_BODY:
            break
    return bytes(out)


async def _read_stream(resp: httpx.Response) -> Reply:
    parser = SSEParser()
    assembler = StreamAssembler()
    async for part in resp.aiter_bytes():
        for data in parser.feed(part):
            assembler.add(data)
    for data in parser.close():
        assembler.add(data)
    return assembler.finish()
