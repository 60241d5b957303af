"""Typed configuration: one TOML file plus ``MMCORE_*`` environment overrides.

Sections are frozen dataclasses. :func:`build` turns a plain dict (from TOML) into such a
dataclass, checking types, ranges and unknown keys, and applying environment overrides whose
names derive from the field path: ``llm.budget.daily_usd`` is overridden by
``MMCORE_LLM_BUDGET_DAILY_USD``. Every error is a :class:`ConfigError` naming the field path.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "ConfigError",
    "Secret",
    "bounded",
    "build",
    "env_name",
    "load_toml",
    "read_secret_file",
]

T = TypeVar("T")
ENV_PREFIX = "MMCORE_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message starts with the field path."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


class Secret:
    """A secret string (an API key) that never shows itself in repr, str or error messages."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("a secret must be a non-empty string")
        self._value = value.strip()

    def reveal(self) -> str:
        """Return the secret value; call only where it is put on the wire."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> typing.NoReturn:
        raise TypeError("secrets are not picklable")


def bounded(
    default: Any = dataclasses.MISSING,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    choices: tuple[str, ...] | None = None,
    default_factory: Any = dataclasses.MISSING,
) -> Any:
    """Declare a dataclass field with range or choice constraints checked by :func:`build`."""
    meta = {"ge": ge, "gt": gt, "le": le, "choices": choices}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def env_name(path: str) -> str:
    """The environment variable that overrides the field at ``path`` (``a.b_c`` → MMCORE_A_B_C)."""
    return ENV_PREFIX + path.replace(".", "_").upper()


def load_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read one TOML file into a dict; a missing or malformed file is a :class:`ConfigError`."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(p), "config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(p), f"invalid TOML: {exc}") from None


def read_secret_file(path: str | os.PathLike[str], field_path: str) -> Secret:
    """Read a secret from a file that must live outside any git work tree."""
    p = Path(path).expanduser().resolve()
    for parent in (p, *p.parents):
        if (parent / ".git").exists():
            raise ConfigError(field_path, f"secret file must be outside the repository ({parent})")
    try:
        return Secret(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(field_path, f"cannot read secret file: {exc.strerror}") from None
    except ValueError:
        raise ConfigError(field_path, "secret file is empty") from None


def build(
    cls: type[T],
    data: Mapping[str, Any] | None,
    path: str,
    env: Mapping[str, str] | None = None,
) -> T:
    """Build the frozen dataclass ``cls`` from ``data``, validating every field.

    ``path`` is the dotted location of this section (used in errors and env names); ``env``
    defaults to ``os.environ``. Unknown keys, wrong types and out-of-range values raise
    :class:`ConfigError`. Fields typed :class:`Secret` are only accepted from the environment.
    """
    env = os.environ if env is None else env
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise ConfigError(path, f"must be a table, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(_join(path, unknown[0]), f"unknown key (known: {', '.join(fields)})")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        fpath = _join(path, name)
        tp = hints[name]
        raw_env = env.get(env_name(fpath))
        if _is_secret(tp):
            if name in data:
                raise ConfigError(
                    fpath, f"secrets are not accepted in config files; set {env_name(fpath)}"
                )
            if raw_env:
                kwargs[name] = Secret(raw_env)
            continue
        if dataclasses.is_dataclass(tp):
            kwargs[name] = build(tp, data.get(name), fpath, env)  # type: ignore[arg-type]
            continue
        if raw_env is not None:
            value = _from_env(tp, raw_env, fpath)
        elif name in data:
            value = _coerce(tp, data[name], fpath, env)
        else:
            continue  # the dataclass default applies
        _check_bounds(f.metadata, value, fpath)
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field without a default
        raise ConfigError(path, str(exc)) from None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _is_secret(tp: Any) -> bool:
    return tp is Secret or Secret in typing.get_args(tp)


def _optional_inner(tp: Any) -> Any | None:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0]
    return None


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(tp: Any, value: Any, path: str, env: Mapping[str, str]) -> Any:
    inner = _optional_inner(tp)
    if inner is not None:
        return None if value is None else _coerce(inner, value, path, env)
    origin = typing.get_origin(tp)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(path, f"must be a list, got {type(value).__name__}")
        (item_tp, _ellipsis) = typing.get_args(tp)
        return tuple(_coerce(item_tp, v, f"{path}[{i}]", env) for i, v in enumerate(value))
    if origin is dict or origin is Mapping:
        _key_tp, val_tp = typing.get_args(tp)
        if not isinstance(value, Mapping):
            raise ConfigError(path, f"must be a table, got {type(value).__name__}")
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(path, f"keys must be strings, got {k!r}")
            sub = f'{path}."{k}"'
            if dataclasses.is_dataclass(val_tp):
                out[k] = build(val_tp, v, sub, {})  # type: ignore[arg-type]
            else:
                out[k] = _coerce(val_tp, v, sub, env)
        return types.MappingProxyType(out)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, f"must be a boolean, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, f"must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(path, f"must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(path, f"must be finite, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(path, f"must be a string, got {value!r}")
        return value
    raise ConfigError(path, f"unsupported field type {_type_name(tp)}")


def _from_env(tp: Any, raw: str, path: str) -> Any:
    where = f"{path} (from {env_name(path)})"
    inner = _optional_inner(tp)
    if inner is not None:
        return None if raw == "" else _from_env(inner, raw, path)
    if typing.get_origin(tp) is tuple:
        (item_tp, _ellipsis) = typing.get_args(tp)
        return tuple(_from_env(item_tp, part.strip(), path) for part in raw.split(",") if part)
    try:
        if tp is bool:
            low = raw.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError
        if tp is int:
            return int(raw)
        if tp is float:
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError
            return value
        if tp is str:
            return raw
    except ValueError:
        raise ConfigError(where, f"cannot parse {raw!r} as {_type_name(tp)}") from None
    raise ConfigError(where, f"cannot be set from the environment ({_type_name(tp)})")


def _check_bounds(meta: Mapping[str, Any], value: Any, path: str) -> None:
    if not meta or value is None:
        return
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(path, f"must be one of {', '.join(choices)}, got {value!r}")
    for v in value if isinstance(value, tuple) else (value,):
        if not isinstance(v, int | float):
            continue
        if meta.get("ge") is not None and v < meta["ge"]:
            raise ConfigError(path, f"must be >= {_num(meta['ge'])}, got {_num(v)}")
        if meta.get("gt") is not None and v <= meta["gt"]:
            raise ConfigError(path, f"must be > {_num(meta['gt'])}, got {_num(v)}")
        if meta.get("le") is not None and v > meta["le"]:
            raise ConfigError(path, f"must be <= {_num(meta['le'])}, got {_num(v)}")


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)
