//! `PreTradeGate`: the pre-trade gate (`crate::risk_gate`), driven from Python.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::orders::Side;
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

    /// The trading state (0 active, 1 reducing, 2 halted), signed position and position limit.
    fn set(&mut self, state: u8, position: f64, limit: f64) -> PyResult<()> {
        let state = TradingState::from_code(state).ok_or_else(|| {
            PyValueError::new_err(format!("state: must be 0, 1 or 2, got {state}"))
        })?;
        self.inner.set(state, position, limit);
        Ok(())
    }

    /// The size of a new order of `side` (+1 buy, -1 sell) the limits allow (0 refuses it).
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
        Ok(self.inner.allow(side, price_ticks, qty, working, now))
    }

    /// Orders refused because the order rate was exhausted.
    #[getter]
    fn rate_limited(&self) -> u64 {
        self.inner.rate_limited
    }
}
