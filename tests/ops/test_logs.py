"""``--log-format json``: one parseable JSON object per line with run id, venue and symbol."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from mmcore.ops.logs import parse_message, setup_logging


def test_each_record_is_one_json_line_with_run_id_venue_and_symbol():
    stream = io.StringIO()
    handler = setup_logging("json", run_id="20261207-031500", stream=stream)
    try:
        log = logging.getLogger("mmcore.trader")
        log.warning(
            "trade_frame_unreadable venue=%s symbol=%s error=%s",
            "bybit-spot",
            "ETHUSDT",
            "bad price 'x' at 3",
        )
        log.info("plain words without an event")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("trader_failed")
    finally:
        logging.getLogger("mmcore").removeHandler(handler)
    lines = stream.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 3 and len(lines) == 3  # the traceback stays inside its line
    first = records[0]
    assert first["run_id"] == "20261207-031500" and first["level"] == "warning"
    assert first["event"] == "trade_frame_unreadable"
    assert (first["venue"], first["symbol"]) == ("bybit-spot", "ETHUSDT")
    assert first["error"] == "bad price 'x' at 3"  # the tail value keeps its spaces
    assert records[1]["message"] == "plain words without an event" and records[1]["venue"] is None
    assert "ValueError: boom" in records[2]["exception"]


def test_message_parsing():
    assert parse_message("feed_closed venue=okx epoch=3 reason=code 1006") == {
        "event": "feed_closed",
        "venue": "okx",
        "epoch": "3",
        "reason": "code 1006",
    }
    assert parse_message("a=b c") == {"message": "a=b c"}


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="log-format"):
        setup_logging("xml")


def test_run_config_ops_errors_name_the_field():
    import tomllib
    from pathlib import Path

    from mmcore.cli_run import load_run_config
    from mmcore.config import ConfigError

    base = tomllib.loads((Path(__file__).resolve().parents[2] / "mm.toml").read_text())
    cases = [
        ({"ops": {"metrics_port": 70000}}, "ops.metrics_port: must be <= 65535"),
        (
            {"ops": {"alerts": {"webhooks": {"w": {"url_env": "NOT_SET_HERE"}}}}},
            'ops.alerts.webhooks."w".url_env: NOT_SET_HERE is not set',
        ),
        ({"portfolio_risk": {"max_venue_notional": {"nowhere": 1.0}}}, "no [[venues]]"),
    ]
    for patch, message in cases:
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_run_config(base | patch, env={})
    cfg = load_run_config(base, env={"MMCORE_OPS_BIND": "0.0.0.0"})
    assert cfg.ops.bind == "0.0.0.0" and cfg.ops.metrics_port == 9464
