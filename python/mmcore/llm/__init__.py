"""LLM advice through an OpenAI-compatible relay, off the quote path.

Importing this package is cheap and does no I/O: submodules (and httpx) load on first use of
the names below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmcore.llm.client import Completion, RelayClient
    from mmcore.llm.config import LLMConfig, load_llm_config
    from mmcore.llm.errors import AdvisorLatched, BudgetExhausted, ModelCheckError, RelayError
    from mmcore.llm.usage import CallRecord, UsageLedger, format_usage_summary

__all__ = [
    "AdvisorLatched",
    "BudgetExhausted",
    "CallRecord",
    "Completion",
    "LLMConfig",
    "ModelCheckError",
    "RelayClient",
    "RelayError",
    "UsageLedger",
    "format_usage_summary",
    "load_llm_config",
]

_HOMES = {
    "Completion": "client",
    "RelayClient": "client",
    "LLMConfig": "config",
    "load_llm_config": "config",
    "AdvisorLatched": "errors",
    "BudgetExhausted": "errors",
    "ModelCheckError": "errors",
    "RelayError": "errors",
    "CallRecord": "usage",
    "UsageLedger": "usage",
    "format_usage_summary": "usage",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'mmcore.llm' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"mmcore.llm.{home}"), name)
    globals()[name] = value
    return value
