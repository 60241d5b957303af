"""Peer order books for ``benches/peers.py``: one module per peer, one shared timing harness.

Every peer turns the same raw Binance spot payloads into a synced L2 book (snapshot, then diffs
with absolute quantities, zero = delete, update ids checked) and computes the same top-N
features, so the timings compare like with like.
"""
