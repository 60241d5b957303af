"""Market rules and exact decimal text, venue client ids, keys and the ``run --live`` rails."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from mmcore.cli import main
from mmcore.execution.live.client_ids import ID_RULES, VenueIds
from mmcore.execution.live.exchange import make_exchange
from mmcore.execution.live.keys import Credentials, KeysError, load_credentials, redact
from mmcore.execution.live.profile import resolve
from mmcore.execution.live.rules import MarketRules, RuleViolation

ROOT = Path(__file__).resolve().parents[2]

MARKET = {
    "symbol": "BTC/USDT",
    "precision": {"price": 0.01, "amount": 1e-05},
    "limits": {"amount": {"min": 1e-05, "max": 9000.0}, "cost": {"min": 5.0}, "price": {}},
    "info": {
        "filters": [
            {
                "filterType": "PERCENT_PRICE_BY_SIDE",
                "bidMultiplierUp": "1.2",
                "bidMultiplierDown": "0.8",
                "askMultiplierUp": "1.25",
                "askMultiplierDown": "0.75",
            }
        ]
    },
}


def test_rules_from_a_ccxt_market_are_exact_decimals() -> None:
    r = MarketRules.from_ccxt(MARKET)
    assert (r.tick, r.lot, r.min_notional) == (Decimal("0.01"), Decimal("0.00001"), Decimal(5))
    assert (r.band_down, r.band_up) == (Decimal("0.8"), Decimal("1.25"))
    # no float noise at the edge: 3 lots of 0.1, a tick of 0.1 times 3
    coarse = MarketRules("X", Decimal("0.1"), Decimal("0.1"))
    assert coarse.qty_text(3) == "0.3" and coarse.price_text(3) == "0.3"
    assert r.price_text(6_500_012) == "65000.12" and r.qty_text(123) == "0.00123"
    assert r.ticks_of("65000.12") == 6_500_012 and r.lots_of(0.00123) == 123
    assert r.lots_near(0.1 + 0.2) == 30000  # 0.30000000000000004 is 30000 lots
    with pytest.raises(ValueError, match="not a multiple of the tick"):
        r.ticks_of("65000.125")


def test_decimal_places_precision_mode() -> None:
    r = MarketRules.from_ccxt({**MARKET, "precision": {"price": 2, "amount": 5}}, False)
    assert (r.tick, r.lot) == (Decimal("0.01"), Decimal("0.00001"))


@pytest.mark.parametrize(
    ("ticks", "lots", "ref", "rule"),
    [
        (0, 100, None, "tick"),
        (6_500_000, 0, None, "lot"),
        (6_500_000, 7, None, "min_notional"),  # 0.00007 x 65000 = 4.55 < 5
        (6_500_000, 900_000_001, None, "max_qty"),
        (9_000_000, 100, 65_000.0, "price_band"),  # 1.38 x the reference
        (4_000_000, 100, 65_000.0, "price_band"),
    ],
)
def test_a_refusal_names_the_rule(ticks: int, lots: int, ref: float | None, rule: str) -> None:
    r = MarketRules.from_ccxt(MARKET)
    with pytest.raises(RuleViolation) as err:
        r.check(ticks, lots, ref)
    assert err.value.rule == rule and str(err.value).startswith(rule)


def test_an_order_inside_every_rule_passes() -> None:
    MarketRules.from_ccxt(MARKET).check(6_500_000, 100, 65_000.0)


def test_a_market_without_a_tick_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"precision\.price"):
        MarketRules.from_ccxt({**MARKET, "precision": {"amount": 1e-5}})
    with pytest.raises(ValueError, match=r"precision\.amount: not finite"):
        MarketRules.from_ccxt({**MARKET, "precision": {"price": 0.01, "amount": float("nan")}})


def test_client_ids_fit_each_venue_and_are_stable() -> None:
    engine_id = "mmtpnmkc-BTC/USDT:USDT-123456789012"
    for exchange in ("binance", "bybit", "okx"):
        ids = VenueIds.for_exchange(exchange)
        vid = ids.venue_id(engine_id)
        assert ids.rule.fits(vid), (exchange, vid)
        assert VenueIds.for_exchange(exchange).venue_id(engine_id) == vid  # a restart agrees
        assert ids.engine_id(vid) == engine_id
    assert VenueIds(ID_RULES["binance"]).venue_id("mm-BTCUSDT-7") == "mm-BTCUSDT-7"
    okx = VenueIds.for_exchange("okx")
    assert okx.venue_id("mm-BTCUSDT-7") != okx.venue_id("mm-BTCUSDT-8")


def test_keys_come_from_the_environment_and_never_show() -> None:
    env = {"MMCORE_BINANCE_USDM_API_KEY": "k-123456", "MMCORE_BINANCE_USDM_SECRET": "s-abcdef"}
    cred = load_credentials("binance-usdm", environ=env)
    assert cred.api_key.reveal() == "k-123456"
    for text in (repr(cred), str(cred), f"{cred}"):
        assert "k-123456" not in text and "s-abcdef" not in text
    assert redact("X-MBX-APIKEY: k-123456 signature=ab12", cred) == (
        "X-MBX-APIKEY: <redacted> signature=<redacted>"
    )
    with pytest.raises(KeysError, match="MMCORE_BYBIT_SPOT_API_KEY and MMCORE_BYBIT_SPOT_SECRET"):
        load_credentials("bybit-spot", environ={})


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    path.write_text('[binance-spot]\napi_key = "k-file-1"\nsecret = "s-file-1"\n')
    path.chmod(0o644)
    with pytest.raises(KeysError, match="chmod 600") as err:
        load_credentials("binance-spot", path)
    assert "k-file-1" not in str(err.value)
    path.chmod(0o600)
    assert load_credentials("binance-spot", path).secret.reveal() == "s-file-1"
    with pytest.raises(KeysError, match=r"no \[bybit-spot\] table"):
        load_credentials("bybit-spot", path)


def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "mm.toml"
    cfg.write_text((ROOT / "mm.toml").read_text())
    return cfg


def test_live_refuses_without_keys_and_names_the_variables(tmp_path, capsys, monkeypatch):
    for name in list(os.environ):
        if name.startswith("MMCORE_"):
            monkeypatch.delenv(name)
    assert main(["run", "--config", str(_config(tmp_path)), "--live"]) == 2
    out = capsys.readouterr().out
    assert "refusing to start" in out and "MMCORE_BINANCE_SPOT_API_KEY" in out


def test_live_prints_the_plan_and_needs_the_confirmation(tmp_path, capsys, monkeypatch):
    secrets = {}
    for venue in ("BINANCE_SPOT", "BYBIT_SPOT"):
        secrets[f"MMCORE_{venue}_API_KEY"] = f"key-{venue}-visible?"
        secrets[f"MMCORE_{venue}_SECRET"] = f"secret-{venue}-visible?"
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    assert main(["run", "--config", str(_config(tmp_path)), "--live"]) == 2
    out = capsys.readouterr().out
    assert "REAL MONEY" in out and "--yes-trade-real-money" in out
    assert "BTCUSDT" in out and "max position" in out and "order size" in out
    for value in secrets.values():
        assert value not in out


@pytest.mark.parametrize(
    ("venue", "throttled"),
    [("binance-spot", False), ("binance-usdm", False), ("bybit-linear", False), ("okx", True)],
)
async def test_ccxt_throttles_only_venues_whose_usage_mmcore_cannot_read(
    venue: str, throttled: bool
) -> None:
    # A preset's usage headers feed the RateGuard; ccxt's throttle on top of it would space
    # every request of a requote burst by the exchange's rateLimit (50 ms on Binance).
    exchange = make_exchange(resolve(venue), Credentials("k" * 16, "s" * 16, "test"))
    try:
        assert exchange.enableRateLimit is throttled
    finally:
        await exchange.close()


@pytest.mark.parametrize("venue", ["binance-spot", "binance-usdm", "bybit-linear", "okx"])
async def test_every_venue_sends_rest_over_the_lean_pool_and_keeps_ccxts_class(venue: str) -> None:
    import ccxt.pro

    from mmcore.execution.live.lean_fetch import LeanFetch

    profile = resolve(venue)
    exchange = make_exchange(profile, Credentials("k" * 16, "s" * 16, "test"))
    fallback = make_exchange(profile, Credentials("k" * 16, "s" * 16, "test"), lean_http=False)
    try:
        assert isinstance(exchange, LeanFetch) and exchange.lean_http
        assert isinstance(exchange, getattr(ccxt.pro, profile.exchange_id))
        assert type(exchange).__name__ == profile.exchange_id
        assert not fallback.lean_http  # ccxt's aiohttp fetch, e.g. to compare
    finally:
        await exchange.close()
        await fallback.close()
