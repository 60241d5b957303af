"""`python -m mmcore` runs the simulated-market demo; `capture` replays the bundled capture."""

from __future__ import annotations

import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mmcore", *args], capture_output=True, text=True, timeout=120
    )


def test_capture_replays_the_bundled_capture():
    result = run("capture")
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
    quiet = run("capture", "--quiet")
    assert quiet.returncode == 0 and " bid " not in quiet.stdout
    top = run("--help").stdout
    for command in ("demo", "capture", "record", "run"):
        assert command in top
    assert "--speed" in run("demo", "--help").stdout
    bad = run("capture", "--every", "x")
    assert bad.returncode == 2 and "invalid int value" in bad.stderr
    # options without a command belong to the default demo
    bad_demo = run("--duration", "soon")
    assert bad_demo.returncode == 2 and "invalid float value" in bad_demo.stderr
    negative = run("--duration", "-1")
    assert negative.returncode == 2 and "--duration must be > 0" in negative.stdout
