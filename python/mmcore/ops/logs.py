"""``--log-format json``: one JSON object per line, with the run id, venue and symbol.

mmcore's log messages are ``event key=value ...`` lines; :class:`JsonFormatter` turns one into
``{"ts", "level", "logger", "event", "run_id", "venue", "symbol", ...the other pairs}`` so a log
shipper needs no pattern. A value with spaces stays inside its pair only if it was logged as
the last pair (the text form has no quoting): ``error=...`` and ``text=...`` are.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, TextIO

import orjson

__all__ = ["JsonFormatter", "add_log_format_argument", "parse_message", "setup_logging"]

_TAIL_KEYS = ("error", "text", "frame", "reason")


def parse_message(message: str) -> dict[str, Any]:
    """``"event a=1 b=x y"`` → ``{"event": "event", "a": "1", "b": "x y"}`` (a word without
    ``=`` continues the previous value; a message that does not start with an event word and
    hold a pair is kept whole as ``message``)."""
    words = message.split(" ")
    if "=" in words[0] or not words[0].isidentifier() or "=" not in message:
        return {"message": message}
    out: dict[str, Any] = {"event": words[0]}
    key = None
    for word in words[1:]:
        k, sep, v = word.partition("=")
        if sep and k.isidentifier() and (key is None or key not in _TAIL_KEYS):
            key = k
            out[k] = v
        elif key is not None:
            out[key] += " " + word
        else:
            out.setdefault("message", "")
            out["message"] = (out["message"] + " " + word).strip()
    return out


class JsonFormatter(logging.Formatter):
    """Formats each record as one JSON line (``run_id`` on every line)."""

    def __init__(self, run_id: str = "") -> None:
        super().__init__()
        self.run_id = run_id

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON: time, level, logger, run id, then the message's fields."""
        fields = parse_message(record.getMessage())
        out: dict[str, Any] = {
            "ts": record.created,
            "level": record.levelname.lower(),
            "logger": record.name,
            "run_id": self.run_id,
            "venue": fields.pop("venue", None),
            "symbol": fields.pop("symbol", None),
            **fields,
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def setup_logging(
    fmt: str, *, run_id: str = "", level: int = logging.INFO, stream: TextIO | None = None
) -> logging.Handler:
    """Send ``mmcore`` logs to ``stream`` (stderr) as ``text`` or ``json`` lines; returns
    the handler (remove it from the ``mmcore`` logger to undo)."""
    if fmt not in ("text", "json"):
        raise ValueError(f"--log-format must be text or json, got {fmt!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter(run_id)
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    logger = logging.getLogger("mmcore")
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler


def add_log_format_argument(parser: argparse.ArgumentParser) -> None:
    """``--log-format text|json`` (the commands that trade take it)."""
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=None,
        help="log lines (INFO and up) on stderr: text, or one JSON object per line "
        "(default: warnings only, as text)",
    )
