"""The soak script, short: 40 s at 20x with a fault every 1.5 s; every check must pass
(each fault kind at least once)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mmcore.testing.child import child_env

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_soak_recovers_every_fault_without_leaks(tmp_path: Path):
    env = child_env()
    cmd = [sys.executable, str(ROOT / "scripts" / "soak.py"), "--seconds", "40"]
    cmd += ["--fault-every", "1.5", "--warmup", "8", "--out", str(tmp_path / "run")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["checks"] == {
        "faults_recovered": True,
        "rss_flat": True,
        "no_task_leak": True,
        "no_fd_leak": True,
        "journal_consistent": True,
    }, figures
    assert done.returncode == 0
    assert figures["faults"] >= 7 and all(figures["faults_by_kind"].values()), figures
    assert figures["fills"] > 0 and figures["open_orders_after_shutdown"] == 0
