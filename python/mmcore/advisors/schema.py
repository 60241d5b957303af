"""The advice fields each advisor returns: bounds, neutral values and step limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = ["RISK_FIELDS", "SIGNAL_FIELDS", "FieldSpec", "fields_for", "json_schema"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One output field. ``kind`` is ``number``, ``enum`` or ``bool``.

    ``neutral`` is the value that changes nothing (None: no neutral, the caller's own value is
    the baseline); ``max_step`` limits the change against the previous accepted advice.
    """

    name: str
    kind: str
    lo: float | None = None
    hi: float | None = None
    neutral: Any = None
    max_step: float | None = None
    choices: tuple[str, ...] = ()
    description: str = ""


SIGNAL_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "action",
        "enum",
        neutral="hold",
        choices=("bid", "ask", "hold"),
        description="side to lean towards: bid (buy), ask (sell) or hold",
    ),
    FieldSpec(
        "spread_bps",
        "number",
        20,
        200,
        neutral=None,
        max_step=50,
        description="total quoted spread in basis points",
    ),
    FieldSpec(
        "quantity_factor",
        "number",
        0.3,
        2.5,
        neutral=1.0,
        max_step=0.5,
        description="multiplier on the base quote size",
    ),
    FieldSpec("confidence", "number", 0, 1, neutral=0.0, description="confidence 0..1"),
)

RISK_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("risk_score", "number", 0, 1, neutral=0.0, description="overall risk 0..1"),
    FieldSpec(
        "max_position",
        "number",
        0,
        1,
        neutral=1.0,
        description="allowed position as a fraction of the configured limit",
    ),
    FieldSpec(
        "spread_adjustment_bps",
        "number",
        -50,
        100,
        neutral=0.0,
        max_step=30,
        description="basis points added to the strategy's spread",
    ),
    FieldSpec(
        "toxic_flow_probability",
        "number",
        0,
        1,
        neutral=0.0,
        description="probability that incoming flow is informed",
    ),
    FieldSpec("circuit_breaker", "bool", neutral=False, description="true: stop quoting now"),
)

_BY_KIND: Mapping[str, tuple[FieldSpec, ...]] = MappingProxyType(
    {"signal": SIGNAL_FIELDS, "risk": RISK_FIELDS}
)
_SPECS: Mapping[str, Mapping[str, FieldSpec]] = MappingProxyType(
    {kind: MappingProxyType({f.name: f for f in specs}) for kind, specs in _BY_KIND.items()}
)


def field_spec(kind: str, name: str) -> FieldSpec | None:
    """The field ``name`` of advisor ``kind``, or None (a dict probe: this is on the quote path)."""
    return _SPECS[kind].get(name) if kind in _SPECS else None


def fields_for(kind: str) -> tuple[FieldSpec, ...]:
    """The fields of advisor ``kind`` (``signal`` or ``risk``)."""
    try:
        return _BY_KIND[kind]
    except KeyError:
        raise ValueError(f"unknown advisor kind {kind!r} (known: signal, risk)") from None


def json_schema(fields: tuple[FieldSpec, ...]) -> dict[str, Any]:
    """A strict JSON schema for the fields (all required, no extra keys)."""
    props: dict[str, Any] = {}
    for f in fields:
        if f.kind == "enum":
            props[f.name] = {"type": "string", "enum": list(f.choices)}
        elif f.kind == "bool":
            props[f.name] = {"type": "boolean"}
        else:
            props[f.name] = {"type": "number", "minimum": f.lo, "maximum": f.hi}
        props[f.name]["description"] = f.description
    return {
        "type": "object",
        "properties": props,
        "required": [f.name for f in fields],
        "additionalProperties": False,
    }
