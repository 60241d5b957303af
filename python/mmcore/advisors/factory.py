"""Wiring: the LLM advisors when a relay is configured, the rules advisor otherwise."""

from __future__ import annotations

from dataclasses import dataclass

from mmcore.advisors.llm_advisor import LLMAdvisor
from mmcore.advisors.rules import RulesAdvisor
from mmcore.advisors.service import Advisor, AdvisorService
from mmcore.llm.client import RelayClient
from mmcore.llm.clock import Clock, MonotonicClock
from mmcore.llm.config import LLMConfig
from mmcore.llm.usage import format_usage_summary

__all__ = ["AdvisorRuntime", "build_advisor_service"]


@dataclass
class AdvisorRuntime:
    """The running advisor service and, when online, its relay client."""

    service: AdvisorService
    client: RelayClient | None

    def cooldowns(self, now: float) -> dict[str, float]:
        """Seconds left per model the relay told us to leave alone, at monotonic ``now``
        (the client's clock); empty offline or when no model is cooling down."""
        return {} if self.client is None else self.client.cooldowns(now)

    async def aclose(self) -> str:
        """Stop the workers, close the pool, and return the usage summary to print."""
        await self.service.stop()
        if self.client is None:
            return "LLM usage: offline rules advisor, no calls"
        summary = format_usage_summary(self.client.ledger)
        await self.client.aclose()
        return summary


async def build_advisor_service(config: LLMConfig, *, clock: Clock | None = None) -> AdvisorRuntime:
    """Start the advisors for ``config``: rules when offline, relay-backed otherwise.

    Online start-up checks the configured models against ``GET /models`` and raises
    :class:`~mmcore.llm.errors.ModelCheckError` on an unknown id.
    """
    clock = clock or MonotonicClock()
    tuning = config.advisor
    client: RelayClient | None = None
    advisors: list[Advisor]
    if config.offline:
        advisors = [RulesAdvisor(kind, tuning.ttl_s, clock) for kind in ("signal", "risk")]
    else:
        client = RelayClient(config, clock=clock)
        try:
            await client.start()
        except BaseException:
            await client.aclose()
            raise
        advisors = [LLMAdvisor(kind, client, tuning.ttl_s) for kind in ("signal", "risk")]
    service = AdvisorService(
        advisors,
        min_interval_s=tuning.min_interval_s,
        change_threshold=tuning.change_threshold,
        clock=clock,
    )
    return AdvisorRuntime(service, client)
