"""A market's trading rules (tick, lot, minimum size and notional, price bands) as the venue
publishes them, checked before an order is sent; the exact conversion between the engine's
integer ticks and lots and the decimal strings the venue takes.

Inside mmcore prices and sizes are integers (ticks, lots); only here do they become decimal
text, by exact :class:`~decimal.Decimal` arithmetic (3 lots of 0.1 are ``"0.3"``, never
``"0.30000000000000004"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["MarketRules", "RuleViolation", "decimal_text", "exact_decimal"]


class RuleViolation(ValueError):
    """An order the venue's rules refuse; ``rule`` names the rule (``tick``, ``lot``,
    ``min_qty``, ``max_qty``, ``min_notional``, ``min_price``, ``max_price``, ``price_band``)."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule


def exact_decimal(value: Any, field: str) -> Decimal:
    """A venue number as the decimal it was written as (a float through its shortest repr:
    ``0.1`` is ``Decimal('0.1')``); refuses NaN, infinities and non-numbers, naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"{field}: not a number: {value!r}")
    try:
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except ArithmeticError as exc:  # decimal.InvalidOperation
        raise ValueError(f"{field}: not a number: {value!r}") from exc
    if not d.is_finite():
        raise ValueError(f"{field}: not finite: {value!r}")
    return d


def decimal_text(d: Decimal) -> str:
    """Plain decimal text without an exponent or trailing zeros (``'0.0001'``, ``'65000'``)."""
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _positive(value: Any, field: str) -> Decimal:
    d = exact_decimal(value, field)
    if d <= 0:
        raise ValueError(f"{field}: must be > 0, got {value!r}")
    return d


def _optional(value: Any, field: str) -> Decimal | None:
    if value is None:
        return None
    d = exact_decimal(value, field)
    return d if d > 0 else None


def _steps(value: Any, step: Decimal, field: str, name: str) -> int:
    """``value`` in whole ``step``s; off the grid raises ``ValueError`` naming ``field``."""
    n, rem = divmod(exact_decimal(value, field), step)
    if rem:
        raise ValueError(f"{field}: {value!r} is not a multiple of the {name} {step}")
    return int(n)


def _filters(info: Any) -> dict[str, dict[str, Any]]:
    """Binance's ``filters`` list by filter type (empty for other venues)."""
    if not isinstance(info, dict) or not isinstance(info.get("filters"), list):
        return {}
    return {
        f["filterType"]: f for f in info["filters"] if isinstance(f, dict) and "filterType" in f
    }


@dataclass(frozen=True)
class MarketRules:
    """The rules of one market. ``band_down``/``band_up``: the lowest and highest price as a
    multiple of the reference price (Binance's PERCENT_PRICE filters), None when the venue
    publishes none. ``contract_size``: the base quantity of one contract (1 on spot)."""

    symbol: str
    tick: Decimal
    lot: Decimal
    min_qty: Decimal | None = None
    max_qty: Decimal | None = None
    min_notional: Decimal | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    band_down: Decimal | None = None
    band_up: Decimal | None = None
    contract_size: Decimal = Decimal(1)

    @classmethod
    def from_ccxt(cls, market: dict[str, Any], tick_size_mode: bool = True) -> MarketRules:
        """The rules of a ccxt market (``exchange.markets[symbol]``). ``tick_size_mode``:
        ccxt's ``precisionMode`` is TICK_SIZE (precision values are step sizes), otherwise
        they are numbers of decimal places. A missing or invalid tick or lot raises
        ``ValueError`` naming the market and field."""
        symbol = market.get("symbol", "?")
        precision = market.get("precision") or {}
        limits = market.get("limits") or {}

        def step(name: str) -> Decimal:
            raw = precision.get(name)
            if raw is None:
                raise ValueError(f"{symbol}: precision.{name}: not published by the venue")
            if tick_size_mode:
                return _positive(raw, f"{symbol}: precision.{name}")
            places = exact_decimal(raw, f"{symbol}: precision.{name}")
            if places != places.to_integral_value():
                raise ValueError(f"{symbol}: precision.{name}: not a number of places: {raw!r}")
            return Decimal(1).scaleb(-int(places))

        def limit(group: str, bound: str) -> Decimal | None:
            return _optional(
                (limits.get(group) or {}).get(bound), f"{symbol}: limits.{group}.{bound}"
            )

        band_down = band_up = None
        filters = _filters(market.get("info"))
        by_side = filters.get("PERCENT_PRICE_BY_SIDE")
        plain = filters.get("PERCENT_PRICE")
        if by_side is not None:  # the loosest of the two sides; each side's own is stricter
            band_down = _optional(by_side.get("bidMultiplierDown"), f"{symbol}: bidMultiplierDown")
            band_up = _optional(by_side.get("askMultiplierUp"), f"{symbol}: askMultiplierUp")
        elif plain is not None:
            band_down = _optional(plain.get("multiplierDown"), f"{symbol}: multiplierDown")
            band_up = _optional(plain.get("multiplierUp"), f"{symbol}: multiplierUp")
        contract = market.get("contractSize")
        return cls(
            symbol=symbol,
            tick=step("price"),
            lot=step("amount"),
            min_qty=limit("amount", "min"),
            max_qty=limit("amount", "max"),
            min_notional=limit("cost", "min"),
            min_price=limit("price", "min"),
            max_price=limit("price", "max"),
            band_down=band_down,
            band_up=band_up,
            contract_size=Decimal(1) if contract is None else _positive(contract, "contractSize"),
        )

    # -- conversions ----------------------------------------------------------------------
    def price(self, ticks: int) -> Decimal:
        """The price of ``ticks`` whole ticks."""
        return ticks * self.tick

    def qty(self, lots: int) -> Decimal:
        """The quantity of ``lots`` whole lots."""
        return lots * self.lot

    def price_text(self, ticks: int) -> str:
        """``ticks`` as the venue's decimal price text."""
        return decimal_text(self.price(ticks))

    def qty_text(self, lots: int) -> str:
        """``lots`` as the venue's decimal quantity text."""
        return decimal_text(self.qty(lots))

    def ticks_of(self, price: Any, field: str = "price") -> int:
        """The whole number of ticks of a venue price; a price off the tick grid raises."""
        return _steps(price, self.tick, field, "tick")

    def lots_of(self, qty: Any, field: str = "qty") -> int:
        """The whole number of lots of a quantity; a quantity off the lot grid raises."""
        return _steps(qty, self.lot, field, "lot")

    def lots_near(self, qty: float, field: str = "qty") -> int:
        """The whole number of lots of a float quantity counted in lots (it may carry float
        noise: ``0.30000000000000004`` of lot 0.1 is 3 lots); more than a millionth of a lot
        away from a whole number raises, naming the ``lot`` rule."""
        if not math.isfinite(qty) or qty < 0:
            raise RuleViolation("lot", f"{field} {qty!r} is not a finite size")
        exact = qty / float(self.lot)
        n = round(exact)
        if abs(exact - n) > 1e-6:
            raise RuleViolation("lot", f"{field} {qty!r} is not a whole number of lots {self.lot}")
        return n

    # -- checks ---------------------------------------------------------------------------
    def check(self, price_ticks: int, lots: int, reference: float | None = None) -> None:
        """Refuse an order the venue would refuse: raises :class:`RuleViolation` naming the
        rule. ``reference``: the price the venue's bands are relative to (e.g. the mid);
        bands are not checked without one."""
        if price_ticks <= 0:
            raise RuleViolation("tick", f"price of {price_ticks} ticks is not positive")
        if lots <= 0:
            raise RuleViolation("lot", f"size of {lots} lots is not positive")
        price, qty = self.price(price_ticks), self.qty(lots)
        if self.min_qty is not None and qty < self.min_qty:
            raise RuleViolation("min_qty", f"{decimal_text(qty)} < {decimal_text(self.min_qty)}")
        if self.max_qty is not None and qty > self.max_qty:
            raise RuleViolation("max_qty", f"{decimal_text(qty)} > {decimal_text(self.max_qty)}")
        notional = price * qty * self.contract_size
        if self.min_notional is not None and notional < self.min_notional:
            raise RuleViolation(
                "min_notional", f"{decimal_text(notional)} < {decimal_text(self.min_notional)}"
            )
        if self.min_price is not None and price < self.min_price:
            raise RuleViolation(
                "min_price", f"{decimal_text(price)} < {decimal_text(self.min_price)}"
            )
        if self.max_price is not None and price > self.max_price:
            raise RuleViolation(
                "max_price", f"{decimal_text(price)} > {decimal_text(self.max_price)}"
            )
        if reference is None or not (math.isfinite(reference) and reference > 0):
            return
        ref = exact_decimal(reference, "reference")
        if self.band_down is not None and price < ref * self.band_down:
            raise RuleViolation(
                "price_band", f"{decimal_text(price)} < {self.band_down} x {decimal_text(ref)}"
            )
        if self.band_up is not None and price > ref * self.band_up:
            raise RuleViolation(
                "price_band", f"{decimal_text(price)} > {self.band_up} x {decimal_text(ref)}"
            )
