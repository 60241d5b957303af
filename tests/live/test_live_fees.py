"""Fees charged in a third asset (Binance's BNB discount) on the fake Binance spot venue: valued
at the configured price, or kept in their asset and shown in the run report, never counted as
0 in silence."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from mmcore.config import ConfigError, build
from mmcore.execution import OrderStatus
from mmcore.execution.live.config import LiveConfig
from mmcore.journal import Journal
from mmcore.ui.report import _fees_other_assets

from .conftest import SYMBOL, Live, live_on, spot


def bnb_spot() -> object:
    """The spot account of the other tests, paying its fees in BNB worth 600 USDT."""
    fake = spot()
    fake.seed_balance("BNB", "10")
    fake.pay_fees_in("BNB", "600")
    return fake


async def buy_and_fill(live: Live) -> None:
    cid = live.place(+1, 99_000.0, 0.002)
    await live.until(lambda: live.engine.orders.order(cid).status is OrderStatus.ACKED)
    live.fake.fill(cid, "0.002")
    await live.until(lambda: live.engine.fills == 1)


async def test_a_bnb_fee_is_valued_at_the_configured_price() -> None:
    async with live_on(bnb_spot(), fee_prices={"BNB": 600.0}) as live:
        await buy_and_fill(live)
        (fill,) = live.fake.ledger.fills
        assert fill.fee_asset == "BNB"
        # 0.002 BTC at 99000 = 198 USDT, 0.1% = 0.198 USDT = 0.00033 BNB at 600
        assert fill.fee == Decimal("0.00033")
        assert live.engine.portfolio.position(SYMBOL).fees == pytest.approx(0.198)
        assert live.venue.fees_unvalued == {}


async def test_a_bnb_fee_without_a_price_is_kept_in_bnb_and_reported(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    async with live_on(bnb_spot(), journal=journal) as live:
        await buy_and_fill(live)
        assert live.engine.portfolio.position(SYMBOL).fees == 0.0  # not valued: not in the PnL
        assert live.venue.fees_unvalued == {"BNB": pytest.approx(0.00033)}
    journal.close()
    with sqlite3.connect(tmp_path / "journal.sqlite") as conn:
        fills = [d for (d,) in conn.execute("SELECT detail FROM order_events WHERE kind = ?",
                                            ("venue_fill",))]  # fmt: skip
    assert any("fee 0.00033 BNB" in d for d in fills)
    assert _fees_other_assets(tmp_path / "journal.sqlite") == "BNB 0.00033"


def test_fee_prices_and_spot_baselines_are_checked_naming_the_field() -> None:
    with pytest.raises(ConfigError, match=r'live\.fee_prices\."BNB": must be > 0'):
        build(LiveConfig, {"fee_prices": {"BNB": 0.0}}, "live", {})
    with pytest.raises(ConfigError, match=r'live\.spot_baseline\."BTC": must be >= 0'):
        build(LiveConfig, {"spot_baseline": {"BTC": -1.0}}, "live", {})
    cfg = build(LiveConfig, {"fee_prices": {"BNB": 600}}, "live", {})
    assert cfg.fee_prices["BNB"] == 600.0
