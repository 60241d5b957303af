"""The fake venue's account arithmetic, checked by hand: linear positions, PnL, fees, locks."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from mmcore.testing.fake_venue import Ledger, MarketSpec, Reject
from mmcore.testing.fake_venue.ledger import RejectReason

LINEAR = MarketSpec("BTCUSDT", "BTC", "USDT", "linear", D("0.1"), D("0.001"), D("0.001"))
SPOT = MarketSpec("ETHUSDT", "ETH", "USDT", "spot", D("0.01"), D("0.001"), D("0.001"))


def ledger() -> Ledger:
    book = Ledger({m.symbol: m for m in (LINEAR, SPOT)}, lambda: 1, D("0.001"), D("0.002"))
    book.balance("USDT").free = D("1000")
    return book


def trade(book: Ledger, side: str, qty: str, price: str, maker: bool = True) -> None:
    order = book.place("BTCUSDT", side, D(qty), D(price), f"c{len(book.orders)}")
    book.fill(order, D(qty), D(price), maker=maker)


def test_long_then_flip_short_then_flat():
    book = ledger()
    trade(book, "buy", "2", "100")
    trade(book, "buy", "1", "130")  # average entry (200 + 130) / 3 = 110
    assert (book.position("BTCUSDT").qty, book.position("BTCUSDT").entry) == (D(3), D(110))
    trade(book, "sell", "4", "120", maker=False)  # closes 3 at +10 each, opens 1 short at 120
    pos = book.position("BTCUSDT")
    assert (pos.qty, pos.entry, pos.realized) == (D(-1), D(120), D(30))
    trade(book, "buy", "1", "125")  # the short loses 5
    assert (pos.qty, pos.entry, pos.realized) == (D(0), D(0), D(25))
    fees = D("0.001") * (200 + 130 + 125) + D("0.002") * 480
    assert book.balance("USDT").free == D(1000) + D(25) - fees
    assert [f.realized_pnl for f in book.fills] == [D(0), D(0), D(30), D(-5)]


def test_spot_locks_and_releases():
    book = ledger()
    order = book.place("ETHUSDT", "buy", D("1"), D("100"), "s1")
    assert (book.balance("USDT").free, book.balance("USDT").locked) == (D(900), D(100))
    with pytest.raises(Reject) as refused:
        book.place("ETHUSDT", "buy", D("10"), D("100"), "s2")
    assert refused.value.reason is RejectReason.INSUFFICIENT_BALANCE
    book.amend(order, qty=D("2"), price=D("99"))
    assert book.balance("USDT").locked == D(198)
    book.fill(order, D("0.5"), D("98"))  # price improvement 1 per unit comes back
    book.cancel(order)
    usdt, eth = book.balance("USDT"), book.balance("ETH")
    assert usdt.locked == 0 and usdt.free == D(1000) - D(49)
    assert eth.free == D("0.5") - D("0.0005")  # the buy's fee is paid in ETH
    with pytest.raises(Reject):
        book.cancel(order)


def test_filters_name_the_rule():
    book = ledger()
    cases = [
        (D("0.001"), D("100.05"), RejectReason.PRICE_FILTER),
        (D("0.0015"), D("100"), RejectReason.LOT_SIZE),
        (D("0.001"), D("100"), RejectReason.MIN_NOTIONAL),
    ]
    for qty, price, reason in cases:
        with pytest.raises(Reject) as refused:
            book.place("BTCUSDT", "buy", qty, price, "f")
        assert refused.value.reason is reason
    with pytest.raises(Reject) as refused:
        book.place("BTCUSDT", "sell", D("1"), D("100"), "r", reduce_only=True)
    assert refused.value.reason is RejectReason.REDUCE_ONLY
    assert book.orders == {}


def test_spot_fees_paid_in_a_third_asset():
    book = ledger()
    book.balance("BNB").free = D("1")
    book.fee_payment = ("BNB", D("500"))
    buy = book.place("ETHUSDT", "buy", D("2"), D("100"), "b1")
    fill = book.fill(buy, D("2"), D("100"))  # 200 USDT at 0.1% = 0.2 USDT = 0.0004 BNB
    assert (fill.fee_asset, fill.fee) == ("BNB", D("0.0004"))
    assert book.balance("ETH").free == D("2")  # the whole fill, no fee taken from it
    assert book.balance("USDT").free == D("800")
    assert book.balance("BNB").free == D("0.9996")
