"""Untrusted model output → validated advice values.

Extract the JSON object (fences and prose stripped), parse it strictly (no duplicate keys, no
NaN/inf, no unknown or missing fields, exact types), clamp small excursions (flagged), reject
wild values (more than twice the bound, or the wrong sign), and limit the step change against
the previous accepted advice.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mmcore.advisors.schema import FieldSpec

__all__ = ["AdviceRejected", "Validated", "extract_json_object", "validate_advice"]


class AdviceRejected(ValueError):
    """The reply cannot be used as advice; the message says why."""


@dataclass(frozen=True, slots=True)
class Validated:
    """Accepted values plus flags such as ``clamped:spread_bps`` or ``step_limited:...``."""

    values: Mapping[str, Any]
    flags: tuple[str, ...]


def extract_json_object(text: str) -> str:
    """The first balanced ``{...}`` in ``text``, ignoring code fences and surrounding prose."""
    start = text.find("{")
    if start < 0:
        raise AdviceRejected("no JSON object in the reply")
    depth = 0
    in_string = escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    raise AdviceRejected("truncated JSON object (no closing brace)")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise AdviceRejected(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constants(name: str) -> float:
    raise AdviceRejected(f"non-finite number {name}")


def _parse(text: str) -> dict[str, Any]:
    try:
        obj = json.loads(
            extract_json_object(text),
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constants,
        )
    except json.JSONDecodeError as exc:
        raise AdviceRejected(f"invalid JSON: {exc.msg} at {exc.pos}") from None
    if not isinstance(obj, dict):
        raise AdviceRejected("reply is not a JSON object")
    return obj


def _number(spec: FieldSpec, value: Any, flags: list[str]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AdviceRejected(f"{spec.name}: expected a finite number, got {value!r}")
    value = float(value)
    lo, hi = spec.lo, spec.hi
    if hi is not None and value > hi:
        if hi <= 0 or value > 2 * hi:
            raise AdviceRejected(f"{spec.name}: {value} is far above the maximum {hi}")
        flags.append(f"clamped:{spec.name}")
        return float(hi)
    if lo is not None and value < lo:
        wild = value < 0 if lo >= 0 else value < 2 * lo
        if wild or (lo > 0 and value < lo / 2):
            raise AdviceRejected(f"{spec.name}: {value} is far below the minimum {lo}")
        flags.append(f"clamped:{spec.name}")
        return float(lo)
    return value


def validate_advice(
    text: str,
    fields: tuple[FieldSpec, ...],
    previous: Mapping[str, Any] | None = None,
) -> Validated:
    """Validate a reply against ``fields``; raise :class:`AdviceRejected` when unusable."""
    obj = _parse(text)
    names = {f.name for f in fields}
    unknown = sorted(set(obj) - names)
    if unknown:
        raise AdviceRejected(f"unknown field {unknown[0]!r}")
    missing = [f.name for f in fields if f.name not in obj]
    if missing:
        raise AdviceRejected(f"missing field {missing[0]!r}")
    flags: list[str] = []
    values: dict[str, Any] = {}
    for spec in fields:
        raw = obj[spec.name]
        if spec.kind == "enum":
            if raw not in spec.choices:
                raise AdviceRejected(f"{spec.name}: expected one of {spec.choices}, got {raw!r}")
            values[spec.name] = raw
        elif spec.kind == "bool":
            if not isinstance(raw, bool):
                raise AdviceRejected(f"{spec.name}: expected true or false, got {raw!r}")
            values[spec.name] = raw
        else:
            value = _number(spec, raw, flags)
            prev = None if previous is None else previous.get(spec.name)
            if spec.max_step is not None and isinstance(prev, float):
                limited = min(prev + spec.max_step, max(prev - spec.max_step, value))
                if limited != value:
                    flags.append(f"step_limited:{spec.name}")
                    value = limited
            values[spec.name] = value
    return Validated(values, tuple(flags))
