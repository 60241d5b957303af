"""The environment for a child Python process that must import the same ``mmcore`` as this one."""

from __future__ import annotations

import os
from pathlib import Path

import mmcore

__all__ = ["child_env"]


def child_env(**extra: str) -> dict[str, str]:
    """``os.environ`` plus ``extra``, with ``PYTHONPATH`` starting at the folder this process's
    ``mmcore`` was imported from: an installed wheel (site-packages), an editable install or a
    checkout run with ``PYTHONPATH=python`` — never a source tree without its built extension."""
    here = str(Path(mmcore.__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (here, path) if p), **extra}
