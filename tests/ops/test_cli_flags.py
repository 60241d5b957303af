"""The demo's ``--ops-port`` and ``--log-format json`` flags, end to end in a child process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx


def test_the_demo_serves_ops_on_request_and_logs_json_lines(tmp_path: Path):
    cmd = [sys.executable, "-m", "mmcore", "--duration", "60", "--speed", "10", "--headless"]
    cmd += ["--ops-port", "0", "--log-format", "json", "--out", str(tmp_path / "run")]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        url = None
        for line in child.stdout:
            found = re.search(r"ops endpoints on (http://127\.0\.0\.1:\d+)", line)
            if found:
                url = found.group(1)
                break
        assert url, "no ops line"
        assert httpx.get(f"{url}/health", timeout=10).json() == {"status": "ok"}
        child.send_signal(2)
        _, stderr = child.communicate(timeout=60)
    finally:
        child.kill()
        child.wait()
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    records = [json.loads(ln) for ln in lines]  # every line is one JSON object
    assert any(r.get("event") == "ops_listening" for r in records)
    assert all(r["run_id"] == "run" for r in records)
