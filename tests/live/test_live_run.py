"""A whole live run (``run_live``): market data from the simulated market, orders to the fake
Binance spot venue through ccxt, fills scripted while the engine quotes. At the end the venue
holds no order of ours, the engine's position equals the venue's fills, and the recognisable
keys appear in no output, log line, journal row or report."""

from __future__ import annotations

import asyncio
import gc
import io
import logging
import random
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from mmcore.config import build
from mmcore.execution import ExecutionConfig, PaperConfig
from mmcore.execution.live.config import LiveConfig
from mmcore.live_run import describe, plan_live, run_live
from mmcore.llm.config import LLMConfig
from mmcore.runner import RunOptions
from mmcore.testing.fake_venue import FakeBinanceSpot, ccxt_exchange
from mmcore.testing.trading import quote_config, risk_config
from mmcore.trader import SymbolSetup

from .conftest import btc_market, feed_of

KEY = "KEY-RECOGNISABLE-7f3a9c"
SECRET = "SECRET-RECOGNISABLE-b81d2e"
ENV = {"MMCORE_BINANCE_SPOT_API_KEY": KEY, "MMCORE_BINANCE_SPOT_SECRET": SECRET}


def setup() -> SymbolSetup:
    quote = quote_config(
        tick_size=0.01, lot_size=0.00001, base_size=0.001, max_position=0.02, levels=1
    )
    risk = risk_config(lot_size=0.00001, max_position=0.02, max_notional=5_000.0)
    return SymbolSetup("BTCUSDT", "binance-spot", quote, risk, PaperConfig(), ExecutionConfig())


async def fill_now_and_then(fake: FakeBinanceSpot, stop: asyncio.Event, frozen: list[int]) -> None:
    """Partly fill a random resting order of ours every so often (the fake does no
    matching); note how many objects the collector has frozen each time."""
    rng = random.Random(3)
    while not stop.is_set():
        await asyncio.sleep(0.3)
        frozen.append(gc.get_freeze_count())
        open_orders = [o for o in fake.ledger.open_orders("BTCUSDT") if o.client_id[:2] == "mm"]
        if open_orders:
            order = rng.choice(open_orders)
            qty = min(order.remaining, Decimal("0.0005"))
            fake.fill(order.client_id, qty)


async def cut_stream_once_quoting(fake: FakeBinanceSpot) -> None:
    """Cut the private stream at its next event after the first order of ours reached the venue
    (orders are sent only once the session is ready)."""
    while not any(o.client_id.startswith("mm") for o in fake.ledger.orders.values()):
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    fake.drop_stream_after(0)


async def test_a_live_run_ends_flat_at_the_venue_and_never_shows_the_keys(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    plan = plan_live([setup()], LiveConfig(deadman_s=0.0), testnet=False, environ=ENV)
    summary = describe(plan) + repr(plan) + repr(plan.credentials)
    fake = FakeBinanceSpot(api_key=KEY, secret=SECRET)
    fake.seed_balance("USDT", "1000000")
    fake.seed_balance("BTC", "10")
    fake.seed_open_order("BTCUSDT", "sell", "0.001", "150000", client_id="someone-else")
    out = io.StringIO()
    stop = asyncio.Event()
    async with btc_market(seed=5, speed=10) as market, fake:
        feed = feed_of(market)
        frozen: list[int] = []
        filler = asyncio.create_task(fill_now_and_then(fake, stop, frozen))
        # the private stream is cut once, mid-run, once quoting has begun (a cut during a slow
        # start-up is no loss of a ready stream: CI failed on a fixed 1.5 s timer); the run
        # lasts long enough for the reconciliation and the resumed quoting on a loaded machine
        cutter = asyncio.create_task(cut_stream_once_quoting(fake))
        options = RunOptions(tmp_path / "run", duration_s=8.0, headless=True)
        result = await run_live(
            plan,
            [feed],
            LLMConfig(),
            options,
            stream=out,
            exchanges={"binance-spot": ccxt_exchange(fake, timeout_ms=2000)},
        )
        stop.set()
        await filler
        assert cutter.done(), "the run never quoted, so the stream was never cut"
        ours = [o for o in fake.ledger.open_orders() if o.client_id.startswith("mm")]
        fills = fake.ledger.fills
        assert fake.ledger.orders  # it quoted
    assert not ours, f"orders left open at the venue: {ours}"
    # start-up's heap frozen while trading, given back at the end
    assert max(frozen) > 10_000 and gc.get_freeze_count() == 0
    assert not fake.order("someone-else").is_open  # cancelled at start (foreign_orders=cancel)
    assert fills, "no fill happened: the run proved nothing"
    venue_qty = sum((f.qty if f.side == "buy" else -f.qty) for f in fills)
    with sqlite3.connect(result.out_dir / "journal.sqlite") as conn:
        (engine_qty,) = conn.execute(
            "SELECT qty FROM positions WHERE symbol = 'BTCUSDT'"
        ).fetchone()
        dump = "\n".join(" ".join(map(str, row)) for row in conn.iterdump())
        events = conn.execute("SELECT client_id, kind, ts FROM order_events ORDER BY id").fetchall()
        requests = conn.execute(
            "SELECT count(*) FROM order_events WHERE kind = 'venue_request'"
        ).fetchone()[0]
        replies = conn.execute(
            "SELECT count(*) FROM order_events WHERE kind = 'venue_reply'"
        ).fetchone()[0]
    assert Decimal(repr(engine_qty)) == venue_qty  # position equals the sum of fills
    # no order was placed between the stream's loss and the end of the reconciliation
    losses = [ts for c, kind, ts in events if kind == "venue_stream_lost"]
    assert len(losses) == 1, f"stream losses journaled: {losses}"
    lost = losses[0]
    reconciled = [ts for c, kind, ts in events if kind == "venue_reconciled" and ts > lost]
    assert len(reconciled) == 1, f"reconciliations after the loss: {reconciled}"
    back = reconciled[0]
    assert not [ts for c, kind, ts in events if kind == "submitted" and lost <= ts <= back]
    assert [ts for c, kind, ts in events if kind == "submitted" and ts > back]  # quoting resumed
    assert requests == replies > 0  # every request has its outcome
    texts = [summary, out.getvalue(), caplog.text, dump]
    texts += [p.read_text(errors="replace") for p in result.out_dir.rglob("*") if p.is_file()
              and p.suffix in (".html", ".md", ".txt", ".json", ".csv", ".log")]  # fmt: skip
    texts.append((result.out_dir / "journal.sqlite").read_bytes().decode("latin-1"))
    for text in texts:
        assert KEY not in text and SECRET not in text


async def test_a_live_run_through_the_generic_adapter_selected_by_config(tmp_path: Path) -> None:
    """``[live] order_venue`` sends the binance-spot symbols' orders through the generic
    adapter (ccxt's binance class, unified API only); the run quotes and ends flat."""
    live = build(LiveConfig, {"deadman_s": 0, "order_venue": {"binance-spot": "ccxt:binance"}},
                 "live", {})  # fmt: skip
    plan = plan_live([setup()], live, testnet=False, environ=ENV)
    assert plan.profiles["binance-spot"].generic
    fake = FakeBinanceSpot(api_key=KEY, secret=SECRET)
    fake.seed_balance("USDT", "1000000")
    fake.seed_balance("BTC", "10")
    async with btc_market(seed=6, speed=10) as market, fake:
        options = RunOptions(tmp_path / "run", duration_s=2.0, headless=True)
        await run_live(
            plan,
            [feed_of(market)],
            LLMConfig(),
            options,
            stream=io.StringIO(),
            exchanges={"binance-spot": ccxt_exchange(fake, timeout_ms=2000)},
        )
        assert fake.ledger.orders  # it quoted
        assert all(o.client_id.isalnum() for o in fake.ledger.orders.values())  # generic ids
        assert not fake.ledger.open_orders()  # every order cancelled at the end
        cancels = [r for r in fake.requests if r.method == "DELETE" and r.path == "/api/v3/order"]
        assert all("origClientOrderId" not in r.params for r in cancels)  # by the venue's id
