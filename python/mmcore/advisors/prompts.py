"""Prompts for the LLM advisors, built from a feature snapshot."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mmcore.advisors.advice import Advice
from mmcore.advisors.rules import RULES_TEXT
from mmcore.advisors.schema import fields_for, json_schema

__all__ = ["build_messages"]

_ROLE = {
    "signal": "You advise a crypto market maker on quoting: which side to lean to, the spread "
    "and the size multiplier.",
    "risk": "You are the risk officer of a crypto market maker: score risk, detect toxic flow "
    "and decide whether to stop quoting.",
}


def build_messages(
    kind: str, symbol: str, features: Mapping[str, float], previous: Advice | None
) -> list[dict[str, str]]:
    """System and user messages asking for one JSON object matching the kind's schema."""
    schema = json.dumps(json_schema(fields_for(kind)), separators=(",", ":"))
    system = (
        f"{_ROLE[kind]} Baseline rules: {RULES_TEXT[kind]} Deviate only with a clear reason. "
        f"Reply with one JSON object and nothing else, matching this JSON schema: {schema}"
    )
    user: dict[str, Any] = {
        "symbol": symbol,
        "features": {k: round(v, 6) for k, v in features.items()},
    }
    if previous is not None:
        user["previous_advice"] = dict(previous.values)
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": json.dumps(user, separators=(",", ":"))},
    ]
