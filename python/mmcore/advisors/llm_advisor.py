"""An advisor backed by the relay: prompt, call, validate; any failure means no advice."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from mmcore.advisors.advice import Advice, AdviceOutcome
from mmcore.advisors.prompts import build_messages
from mmcore.advisors.schema import fields_for, json_schema
from mmcore.advisors.validate import AdviceRejected, validate_advice
from mmcore.llm.errors import AdvisorLatched, BudgetExhausted, RelayError

if TYPE_CHECKING:
    from mmcore.llm.client import RelayClient

__all__ = ["LLMAdvisor"]

log = logging.getLogger("mmcore.advisors")
_NO_ADVICE_FINISH = {"length", "content_filter", "error"}


class LLMAdvisor:
    """The ``signal`` or ``risk`` advisor asking the relay client's model chain for that role.

    A reply that fails validation is re-asked at most once (``reask``), with the validation
    error fed back; after that the advisor gives no advice and the last good one decays.
    """

    def __init__(self, kind: str, client: RelayClient, ttl_s: float, *, reask: bool = True) -> None:
        self.kind = kind
        self.fields = fields_for(kind)
        self.schema = json_schema(self.fields)
        self.client = client
        self.ttl_s = ttl_s
        self.reask = reask

    async def advise(
        self, symbol: str, features: Mapping[str, float], previous: Advice | None
    ) -> AdviceOutcome:
        """Ask the relay. Status is ``ok`` or says why there is no advice (never raises for
        relay or content problems)."""
        messages = build_messages(self.kind, symbol, features, previous)
        outcome, rejected_text = await self._ask(symbol, messages, previous)
        if rejected_text is None or not self.reask:
            return outcome
        messages += [
            {"role": "assistant", "content": rejected_text},
            {
                "role": "user",
                "content": f"Invalid reply: {outcome.detail}. "
                "Reply again with only the JSON object, every field within its bounds.",
            },
        ]
        return (await self._ask(symbol, messages, previous))[0]

    async def _ask(
        self, symbol: str, messages: list[dict[str, str]], previous: Advice | None
    ) -> tuple[AdviceOutcome, str | None]:
        """One call and its verdict; the second item is the reply text when it was rejected."""
        try:
            done = await self.client.complete(self.kind, messages, schema=self.schema)
        except AdvisorLatched as exc:
            return AdviceOutcome(None, "latched", exc.reason), None
        except BudgetExhausted as exc:
            return AdviceOutcome(None, "budget_exhausted", str(exc)), None
        except RelayError as exc:
            return AdviceOutcome(None, "relay_error", f"{exc.error_class}: {exc}"), None
        reply = done.reply
        if reply.refusal:
            return AdviceOutcome(None, "refusal", reply.refusal[:200]), None
        if reply.finish_reason in _NO_ADVICE_FINISH:
            return AdviceOutcome(None, f"finish_{reply.finish_reason}"), None
        if not reply.content or not reply.content.strip():
            return AdviceOutcome(
                None, "empty", "reasoning only" if reply.has_reasoning else ""
            ), None
        now = self.client.clock.now()
        fresh = previous is not None and now < previous.expires_at
        try:
            checked = validate_advice(
                reply.content, self.fields, previous.values if fresh and previous else None
            )
        except AdviceRejected as exc:
            log.warning(
                "advice rejected kind=%s symbol=%s model=%s: %s",
                self.kind,
                symbol,
                done.served_model,
                exc,
            )
            return AdviceOutcome(None, "rejected", str(exc)), reply.content[:2000]
        source = f"llm:{done.served_model}"
        advice = Advice(self.kind, symbol, checked.values, now, self.ttl_s, source, checked.flags)
        return AdviceOutcome(advice, "ok", ",".join(checked.flags)), None
