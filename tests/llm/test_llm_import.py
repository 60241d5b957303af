"""`import mmcore.llm` is cheap: no httpx, no client module, no network until first use."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys, socket
def no_network(*a, **k):
    raise AssertionError("network used at import")
socket.socket.connect = no_network
import mmcore.llm
assert "httpx" not in sys.modules, "httpx imported"
assert "mmcore.llm.client" not in sys.modules, "client imported"
from mmcore.llm import RelayClient, load_llm_config
assert RelayClient.__module__ == "mmcore.llm.client"
assert "httpx" not in sys.modules, "httpx imported before a client starts"
print("ok")
"""


def test_import_is_lazy_and_offline():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
