//! `PreTradeGate`: the pre-trade gate (`crate::risk_gate`), driven from Python.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::model::{Qty, Rounding, Side};
use crate::risk_gate::{self, GateConfig, TradingState};

/// The pre-trade gate of one symbol (`RiskManager` owns it and sets the state and limits on
/// every evaluation; `OrderDesk` consults it for each new order without calling into Python).
#[pyclass(module = "mmcore._core")]
pub struct PreTradeGate {
    pub(super) inner: risk_gate::PreTradeGate,
}

#[pymethods]
impl PreTradeGate {
    /// A gate in the active state with a flat position and a limit of 0 until `set`.
    #[new]
    #[pyo3(signature = (*, max_notional, tick_size, lot_size, max_orders_per_s, order_burst))]
    fn new(
        max_notional: f64,
        tick_size: f64,
        lot_size: f64,
        max_orders_per_s: f64,
        order_burst: f64,
    ) -> PyResult<Self> {
        let inner = risk_gate::PreTradeGate::new(GateConfig {
            max_notional,
            tick_size,
            lot_size,
            max_orders_per_s,
            order_burst,
        })?;
        Ok(PreTradeGate { inner })
    }

    /// The trading state (0 active, 1 reducing, 2 halted), signed position and position limit
    /// (base units). A position that is not finite, or a limit that is not finite and >= 0,
    /// raises ValueError naming it and halts the gate (nothing passes) until a valid `set`.
    fn set(&mut self, state: u8, position: f64, limit: f64) -> PyResult<()> {
        let state = TradingState::from_code(state).ok_or_else(|| {
            PyValueError::new_err(format!("state: must be 0, 1 or 2, got {state}"))
        })?;
        Ok(self.inner.set(state, position, limit)?)
    }

    /// The size of a new order of `side` (+1 buy, -1 sell) the limits allow (0 refuses it), in
    /// base units: `qty` rounds down to whole lots, `working` to the nearest. NaN, ±inf and
    /// negative sizes raise ValueError naming them (counted in `refused`; no token taken).
    fn allow(
        &mut self,
        side: i64,
        price_ticks: i64,
        qty: f64,
        working: f64,
        now: f64,
    ) -> PyResult<f64> {
        let side = Side::from_sign(side).ok_or_else(|| {
            PyValueError::new_err(format!("side: must be +1 (buy) or -1 (sell), got {side}"))
        })?;
        let lot = *self.inner.lot();
        let sizes = lot.lots("qty", qty, Rounding::Down).and_then(|qty| {
            let working = lot.lots("working", working, Rounding::Nearest)?;
            crate::arg_error::finite(&[("now", now)])?;
            Ok((qty, working))
        });
        let (qty, working): (Qty, Qty) = match sizes {
            Ok(sizes) => sizes,
            Err(err) => {
                self.inner.refused += 1;
                return Err(err.into());
            }
        };
        let price = crate::model::Price(price_ticks);
        Ok(lot.units(self.inner.allow(side, price, qty, working, now)))
    }

    /// No new order passes before `until` (the clock of `allow`'s `now`): the venue refuses
    /// new orders until then. A later pause extends an earlier one, never shortens it; an
    /// `until` that is not finite raises ValueError naming it (counted in `refused`).
    fn pause_new_orders(&mut self, until: f64) -> PyResult<()> {
        Ok(self.inner.pause_new_orders(until)?)
    }

    /// Orders refused while paused by `pause_new_orders`.
    #[getter]
    fn paused(&self) -> u64 {
        self.inner.paused
    }

    /// Inputs refused (bad `set`, `allow` or `pause_new_orders` arguments).
    #[getter]
    fn refused(&self) -> u64 {
        self.inner.refused
    }

    /// The lot every size is counted in (base units).
    #[getter]
    fn lot_size(&self) -> f64 {
        self.inner.lot().size()
    }

    /// The signed position last set, in base units.
    #[getter]
    fn position(&self) -> f64 {
        self.inner.lot().signed_units(self.inner.position())
    }

    /// The signed position last set, in lots.
    #[getter]
    fn position_lots(&self) -> i64 {
        self.inner.position()
    }

    /// `qty` (base units, finite and >= 0) in whole lots, rounded down: how a size from the
    /// configuration becomes a cap in lots. Bad sizes raise ValueError naming `qty`.
    fn lots(&self, qty: f64) -> PyResult<i64> {
        Ok(self.inner.lot().lots("qty", qty, Rounding::Down)?.lots())
    }

    /// The trading state code last set (2, halted, after a refused `set`).
    #[getter]
    fn state(&self) -> u8 {
        self.inner.state() as u8
    }

    /// Orders refused because the order rate was exhausted.
    #[getter]
    fn rate_limited(&self) -> u64 {
        self.inner.rate_limited
    }
}
