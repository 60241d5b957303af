"""Per-call records and the usage summary (calls, tokens, cost per model, errors by class)."""

from __future__ import annotations

import datetime
import logging
import time
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["CallRecord", "Cooldown", "ModelUsage", "UsageLedger", "format_usage_summary"]

log = logging.getLogger("mmcore.llm")


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One logical call: what was asked, what served it, how long, how much, how it ended.

    ``cost_usd`` is None when the cost is unknown (never silently 0); ``cost_source`` says
    where a known cost came from: ``gateway`` (usage.cost) or ``price_table``.
    """

    role: str
    requested_model: str
    served_model: str | None
    outcome: str
    attempts: int
    latency_s: float
    ttfb_s: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None
    cost_source: str
    error_class: str | None = None


@dataclass(slots=True)
class ModelUsage:
    """Running totals for one served model."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    unknown_cost_calls: int = 0


@dataclass(slots=True)
class Cooldown:
    """How often the relay put one model on hold, and until when (Unix time, the latest)."""

    holds: int = 0
    until_unix: float = 0.0


@dataclass(slots=True)
class UsageLedger:
    """Bounded aggregates of all calls (no per-call list grows without limit)."""

    models: dict[str, ModelUsage] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    cooldowns: dict[str, Cooldown] = field(default_factory=dict)
    last: CallRecord | None = None

    def record_cooldown(self, model: str, until_unix: float) -> None:
        """The relay told us to leave ``model`` alone until ``until_unix`` (wall-clock time)."""
        held = self.cooldowns.setdefault(model, Cooldown())
        held.holds += 1
        held.until_unix = max(held.until_unix, until_unix)

    def record_error(self, error_class: str) -> None:
        """Count one failed attempt by class (``http_429``, ``timeout_first_byte``...)."""
        self.errors[error_class] += 1

    def record_call(self, rec: CallRecord) -> None:
        """Add one logical call and log it as a single structured line."""
        self.last = rec
        self.outcomes[rec.outcome] += 1
        if rec.served_model is not None:
            usage = self.models.setdefault(rec.served_model, ModelUsage())
            usage.calls += 1
            usage.prompt_tokens += rec.prompt_tokens or 0
            usage.completion_tokens += rec.completion_tokens or 0
            if rec.cost_usd is None:
                usage.unknown_cost_calls += 1
            else:
                usage.cost_usd += rec.cost_usd
        log.info(
            "llm_call role=%s requested=%s served=%s outcome=%s attempts=%d latency_ms=%.1f "
            "ttfb_ms=%s tokens_in=%s tokens_out=%s cost_usd=%s cost_source=%s error=%s",
            rec.role,
            rec.requested_model,
            rec.served_model,
            rec.outcome,
            rec.attempts,
            rec.latency_s * 1e3,
            "-" if rec.ttfb_s is None else f"{rec.ttfb_s * 1e3:.1f}",
            rec.prompt_tokens,
            rec.completion_tokens,
            "unknown" if rec.cost_usd is None else f"{rec.cost_usd:.6f}",
            rec.cost_source,
            rec.error_class,
        )

    def summary(self) -> dict[str, object]:
        """A plain-data snapshot: per-model usage, outcomes and errors by class."""
        return {
            "models": {
                m: {
                    "calls": u.calls,
                    "prompt_tokens": u.prompt_tokens,
                    "completion_tokens": u.completion_tokens,
                    "cost_usd": u.cost_usd,
                    "unknown_cost_calls": u.unknown_cost_calls,
                }
                for m, u in sorted(self.models.items())
            },
            "outcomes": dict(self.outcomes),
            "errors": dict(self.errors),
            "cooldowns": {
                m: {"holds": c.holds, "until_unix": c.until_unix}
                for m, c in sorted(self.cooldowns.items())
            },
        }


def format_usage_summary(ledger: UsageLedger, now_unix: float | None = None) -> str:
    """Human-readable usage summary, printed at shutdown; models the relay put on hold are
    listed with the end of their latest hold (UTC), marked while it is still running at
    ``now_unix`` (default now)."""
    lines = ["LLM usage:"]
    if not ledger.models and not ledger.outcomes:
        lines.append("  no calls")
    for model, u in sorted(ledger.models.items()):
        unknown = (
            f" (+{u.unknown_cost_calls} calls of unknown cost)" if u.unknown_cost_calls else ""
        )
        lines.append(
            f"  {model}: {u.calls} calls, {u.prompt_tokens} in / {u.completion_tokens} out tokens, "
            f"${u.cost_usd:.6f}{unknown}"
        )
    if ledger.outcomes:
        lines.append(
            "  outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(ledger.outcomes.items()))
        )
    if ledger.errors:
        lines.append("  errors: " + ", ".join(f"{k}={v}" for k, v in sorted(ledger.errors.items())))
    now_unix = time.time() if now_unix is None else now_unix
    for model, held in sorted(ledger.cooldowns.items()):
        until = datetime.datetime.fromtimestamp(held.until_unix, datetime.UTC)
        state = "cooling down" if held.until_unix > now_unix else "cooled down"
        lines.append(
            f"  {model}: {state} until {until:%H:%M:%S}.{until.microsecond // 1000:03d} UTC "
            f"({held.holds} hold(s) asked by the relay)"
        )
    return "\n".join(lines)
