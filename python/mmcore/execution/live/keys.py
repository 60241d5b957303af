"""API keys for live trading: from the environment or a key file only readable by its owner.

``MMCORE_<VENUE>_API_KEY`` and ``MMCORE_<VENUE>_SECRET`` (``<VENUE>`` the venue name upper-cased,
non-alphanumerics as ``_``: ``binance-usdm`` → ``MMCORE_BINANCE_USDM_API_KEY``), or a TOML key
file with ``[<venue>] api_key = "..." secret = "..."`` whose mode allows no access to group or
others (``chmod 600``). A :class:`Credentials` never shows its values: its ``repr`` and ``str``
are redacted, and :func:`redact` removes them from any text that might (an exception message).
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path

from mmcore.config import Secret

__all__ = [
    "Credentials",
    "KeysError",
    "RedactingFilter",
    "env_names",
    "load_credentials",
    "redact",
]


class KeysError(ValueError):
    """Keys missing, or a key file that is unreadable or readable by others."""


class Credentials:
    """An API key and secret, each a :class:`~mmcore.config.Secret` (revealed only where
    they are handed to the exchange client); ``repr`` hides them."""

    __slots__ = ("api_key", "secret", "source")

    def __init__(self, api_key: str, secret: str, source: str) -> None:
        self.api_key = Secret(api_key)
        self.secret = Secret(secret)
        self.source = source  # where they came from (an env var name or a file path)

    def __repr__(self) -> str:
        return f"Credentials(source={self.source!r}, api_key=<redacted>, secret=<redacted>)"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Credentials are not serialisable")


def env_names(venue: str) -> tuple[str, str]:
    """The environment variables holding ``venue``'s key and secret."""
    stem = re.sub(r"[^A-Z0-9]", "_", venue.upper())
    return f"MMCORE_{stem}_API_KEY", f"MMCORE_{stem}_SECRET"


def load_credentials(
    venue: str, key_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> Credentials:
    """``venue``'s keys from ``key_file`` when given, else from the environment. Raises
    :class:`KeysError` naming what is missing or wrong (never a key's value)."""
    if key_file is not None:
        return _from_file(venue, key_file)
    env = os.environ if environ is None else environ
    key_name, secret_name = env_names(venue)
    key, secret = env.get(key_name, ""), env.get(secret_name, "")
    missing = [n for n, v in ((key_name, key), (secret_name, secret)) if not v.strip()]
    if missing:
        raise KeysError(f"{venue}: no API key: set {' and '.join(missing)} or use --key-file")
    return Credentials(key.strip(), secret.strip(), f"env:{key_name}")


def _from_file(venue: str, path: Path) -> Credentials:
    try:
        st = path.stat()
    except OSError as exc:
        raise KeysError(f"key file {path}: cannot read it ({exc.strerror})") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeysError(
            f"key file {path}: mode {stat.S_IMODE(st.st_mode):04o} lets others read it; "
            f"run chmod 600 {path}"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        # the parser's message may quote a line of the file: only its kind is reported
        raise KeysError(f"key file {path}: not readable TOML ({type(exc).__name__})") from None
    section = data.get(venue)
    if not isinstance(section, dict):
        raise KeysError(f"key file {path}: no [{venue}] table")
    key, secret = section.get("api_key"), section.get("secret")
    for name, value in (("api_key", key), ("secret", secret)):
        if not isinstance(value, str) or not value.strip():
            raise KeysError(f"key file {path}: [{venue}] {name} missing or empty")
    assert isinstance(key, str) and isinstance(secret, str)
    return Credentials(key.strip(), secret.strip(), f"file:{path}")


def redact(text: str, *secrets: Credentials) -> str:
    """``text`` with every key and secret of ``secrets``, and any request signature, removed."""
    for cred in secrets:
        for value in (cred.api_key.reveal(), cred.secret.reveal()):
            text = text.replace(value, "<redacted>")
    return re.sub(r"(signature|sign)=[0-9A-Fa-f]+", r"\1=<redacted>", text)


class RedactingFilter(logging.Filter):
    """Removes keys and signatures from every record of the logger it is added to (ccxt's
    debug log prints request headers, the API key among them)."""

    def __init__(self, *secrets: Credentials) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = redact(text, *self.secrets)
        if clean != text:
            record.msg, record.args = clean, ()
        return True
