"""`python -m mmcore` replays the bundled capture with every book synced and no gap."""

from __future__ import annotations

import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mmcore", *args], capture_output=True, text=True, timeout=120
    )


def test_default_command_replays_the_bundled_capture():
    result = run()
    assert result.returncode == 0, result.stderr
    assert "NKNUSDT  bid 0.35" in result.stdout
    for symbol in ("NKNUSDT", "LRCBTC", "BLZETH", "RUNEEUR"):
        summary = next(
            line
            for line in result.stdout.splitlines()
            if line.strip().startswith(symbol) and "levels" in line
        )
        assert "SYNCED" in summary and "gaps 0" in summary and "crossed 0" in summary


def test_options_and_help():
    quiet = run("--quiet")
    assert quiet.returncode == 0 and " bid " not in quiet.stdout
    assert "record" in run("--help").stdout
    bad = run("--every", "x")
    assert bad.returncode == 2 and "invalid int value" in bad.stderr
