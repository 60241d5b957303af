"""Relay errors and their classification: retry, skip the model, or latch the advisor off."""

from __future__ import annotations

import datetime
import email.utils
import enum
import time
from collections.abc import Mapping
from typing import Any

__all__ = [
    "AdvisorLatched",
    "BudgetExhausted",
    "ErrorKind",
    "ModelCheckError",
    "RelayError",
    "classify_http_error",
    "parse_retry_after",
]


class ErrorKind(enum.Enum):
    """What the retry owner does with a failed attempt."""

    TRANSIENT = "transient"  # 408, 429, 5xx, timeouts, connection drops, errors inside a 200
    SKIP_MODEL = "skip_model"  # this model cannot serve now (404 no endpoints, hint above cap)
    TERMINAL = "terminal"  # 400/401/402/403/422/insufficient_quota: latch the advisor off


class RelayError(Exception):
    """One failed attempt or a failed logical call, classified.

    ``error_class`` is a short stable label used in metrics (``http_429``, ``timeout_first_byte``,
    ``stream_error``...). Messages never include request headers, so never the API key.
    """

    def __init__(
        self,
        kind: ErrorKind,
        error_class: str,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
        billed: bool = False,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.error_class = error_class
        self.status = status
        self.retry_after_s = retry_after_s
        self.billed = billed


class AdvisorLatched(Exception):
    """The advisor role is latched off after a terminal error until an operator resets it."""

    def __init__(self, role: str, reason: str) -> None:
        super().__init__(f"advisor {role!r} is latched off: {reason}")
        self.role = role
        self.reason = reason


class BudgetExhausted(Exception):
    """The hourly or daily spending cap would be exceeded by this call."""


class ModelCheckError(Exception):
    """A configured model id is unknown to the relay or lacks a required capability."""


_TERMINAL_STATUS = {400, 401, 402, 403, 422}
_TERMINAL_CODES = {"insufficient_quota", "invalid_api_key"}


def parse_retry_after(headers: Mapping[str, str], wall_now: float | None = None) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms`` wins over ``Retry-After``.

    ``Retry-After`` is seconds or an HTTP-date (RFC 9110), the latter measured from
    ``wall_now`` (Unix time, default now); a date already past means no wait (0).
    """
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000.0
            if value >= 0:
                return value
        except ValueError:
            pass
    sec = headers.get("retry-after")
    if sec is None:
        return None
    try:
        value = float(sec)
    except ValueError:
        return _seconds_until_http_date(sec, time.time() if wall_now is None else wall_now)
    return value if value >= 0 else None


def _seconds_until_http_date(text: str, wall_now: float) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # HTTP-dates are GMT
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - wall_now)


def _error_fields(body: Any) -> tuple[str, str]:
    """(code, message) from an OpenAI (string code) or OpenRouter (int code) error body."""
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        err = body["error"]
        code = err.get("code")
        etype = err.get("type")
        meta = err.get("metadata") if isinstance(err.get("metadata"), Mapping) else {}
        label = code if isinstance(code, str) else etype if isinstance(etype, str) else ""
        if meta.get("limit_source"):
            label = f"{label}:{meta['limit_source']}" if label else str(meta["limit_source"])
        return label, str(err.get("message", ""))[:200]
    return "", ""


def classify_http_error(status: int, headers: Mapping[str, str], body: Any) -> RelayError:
    """Classify a non-2xx response by status *and* body code (a 429 can be terminal)."""
    code, message = _error_fields(body)
    retry_after = parse_retry_after(headers)
    text = f"HTTP {status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
    error_class = f"http_{status}"
    if any(c in code for c in _TERMINAL_CODES):
        return RelayError(ErrorKind.TERMINAL, error_class, text, status=status)
    if status == 402 and retry_after is not None and "in_flight" in code:
        return RelayError(
            ErrorKind.TRANSIENT, error_class, text, status=status, retry_after_s=retry_after
        )
    if status in _TERMINAL_STATUS:
        return RelayError(ErrorKind.TERMINAL, error_class, text, status=status)
    if headers.get("x-should-retry", "").lower() == "false" or status == 404:
        return RelayError(ErrorKind.SKIP_MODEL, error_class, text, status=status)
    if status in (408, 409, 429) or status >= 500:
        return RelayError(
            ErrorKind.TRANSIENT, error_class, text, status=status, retry_after_s=retry_after
        )
    return RelayError(ErrorKind.SKIP_MODEL, error_class, text, status=status)
