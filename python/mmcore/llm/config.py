"""The ``[llm]`` config section: relay endpoint, model routing, retries, limits and budgets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from mmcore.config import ConfigError, Secret, bounded, build, read_secret_file

__all__ = [
    "DEFAULT_PRICES",
    "AdvisorTuning",
    "BreakerConfig",
    "BudgetConfig",
    "LLMConfig",
    "ModelLimits",
    "PoolConfig",
    "Price",
    "RetryConfig",
    "RolesConfig",
    "TimeoutConfig",
    "load_llm_config",
]


@dataclass(frozen=True, slots=True)
class Price:
    """List price of one model in USD per million tokens, input and output separately."""

    input_per_mtok: float = bounded(ge=0)
    output_per_mtok: float = bounded(ge=0)


# Published list prices (USD per million tokens, input / output).
DEFAULT_PRICES: Mapping[str, Price] = MappingProxyType(
    {
        "deepseek/v3-2": Price(0.28, 0.42),
        "anthropic/claude-sonnet-4.5": Price(3.0, 15.0),
        "google/gemini-2.5-flash": Price(0.30, 2.50),
        "openai/gpt-4.1": Price(2.0, 8.0),
    }
)


@dataclass(frozen=True, slots=True)
class RolesConfig:
    """Ordered model ids per advisor role; the first is the primary, the rest are fallbacks."""

    signal: tuple[str, ...] = ("deepseek/v3-2", "google/gemini-2.5-flash")
    risk: tuple[str, ...] = ("anthropic/claude-sonnet-4.5", "openai/gpt-4.1")

    def models(self, role: str) -> tuple[str, ...]:
        """The model chain of ``role``."""
        return getattr(self, role)


@dataclass(frozen=True, slots=True)
class RetryConfig:
    """The one retry policy: a shared attempt budget for retries and fallbacks."""

    max_attempts: int = bounded(4, ge=1, le=20)
    retries_per_model: int = bounded(2, ge=0, le=10)
    backoff_base_s: float = bounded(0.5, ge=0)
    backoff_cap_s: float = bounded(8.0, ge=0)
    jitter: float = bounded(0.5, ge=0, le=1)
    retry_after_cap_s: float = bounded(10.0, ge=0)


@dataclass(frozen=True, slots=True)
class TimeoutConfig:
    """Wall-clock limits: whole logical call, first byte of each attempt, TCP connect."""

    deadline_s: float = bounded(20.0, gt=0)
    first_byte_s: float = bounded(8.0, gt=0)
    connect_s: float = bounded(3.0, gt=0)


@dataclass(frozen=True, slots=True)
class ModelLimits:
    """Per-model rate control: requests and tokens per minute, calls in flight."""

    rpm: float = bounded(60.0, gt=0)
    tpm: float = bounded(200_000.0, gt=0)
    max_concurrency: int = bounded(8, ge=1)


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """Failure-rate circuit breaker per model over a sliding window."""

    window_s: float = bounded(60.0, gt=0)
    failure_rate: float = bounded(0.5, gt=0, le=1)
    min_calls: int = bounded(4, ge=1)
    cooldown_s: float = bounded(15.0, gt=0)


@dataclass(frozen=True, slots=True)
class BudgetConfig:
    """Hard spending caps in USD over rolling windows; 0 disables LLM calls."""

    hourly_usd: float = bounded(1.0, ge=0)
    daily_usd: float = bounded(10.0, ge=0)


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """httpx connection pool limits for the single long-lived client."""

    max_connections: int = bounded(256, ge=1)
    max_keepalive: int = bounded(32, ge=0)
    keepalive_expiry_s: float = bounded(30.0, gt=0)


@dataclass(frozen=True, slots=True)
class AdvisorTuning:
    """How often advisors ask and how long their advice lives."""

    ttl_s: float = bounded(60.0, gt=0)
    min_interval_s: float = bounded(5.0, ge=0)
    change_threshold: float = bounded(0.1, ge=0)
    max_tokens: int = bounded(400, ge=16)
    temperature: float = bounded(0.2, ge=0, le=2)


@dataclass(frozen=True, slots=True)
class LLMConfig:
    """Everything the relay client and the advisors need. ``base_url`` empty means offline."""

    base_url: str | None = None
    api_key: Secret | None = None
    api_key_file: str | None = None
    stream: bool = False
    require_response_format: bool = True
    models: RolesConfig = field(default_factory=RolesConfig)
    retry: RetryConfig = field(default_factory=RetryConfig)
    timeouts: TimeoutConfig = field(default_factory=TimeoutConfig)
    limits: ModelLimits = field(default_factory=ModelLimits)
    breaker: BreakerConfig = field(default_factory=BreakerConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    pool: PoolConfig = field(default_factory=PoolConfig)
    advisor: AdvisorTuning = field(default_factory=AdvisorTuning)
    prices: Mapping[str, Price] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def offline(self) -> bool:
        """True when no relay is configured: the in-process rules advisor is used."""
        return not self.base_url

    def price_table(self) -> dict[str, Price]:
        """Default list prices overlaid with the configured ones."""
        return {**DEFAULT_PRICES, **self.prices}


def load_llm_config(
    section: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> LLMConfig:
    """Build and validate :class:`LLMConfig` from the ``[llm]`` table plus ``MMCORE_LLM_*``."""
    env = os.environ if env is None else env
    cfg = build(LLMConfig, section, "llm", env)
    if cfg.base_url is not None and cfg.base_url:
        if not cfg.base_url.startswith(("http://", "https://")):
            raise ConfigError(
                "llm.base_url", f"must start with http:// or https://, got {cfg.base_url!r}"
            )
        cfg = replace(cfg, base_url=cfg.base_url.rstrip("/"))
    if cfg.api_key is None and cfg.api_key_file:
        cfg = replace(cfg, api_key=read_secret_file(cfg.api_key_file, "llm.api_key_file"))
    for role in ("signal", "risk"):
        chain = cfg.models.models(role)
        if not chain:
            raise ConfigError(f"llm.models.{role}", "needs at least one model id")
        for model in chain:
            if not model or model != model.strip() or " " in model:
                raise ConfigError(f"llm.models.{role}", f"invalid model id {model!r}")
    if cfg.retry.backoff_cap_s < cfg.retry.backoff_base_s:
        raise ConfigError("llm.retry.backoff_cap_s", "must be >= llm.retry.backoff_base_s")
    return cfg
