//! `RiskCore`: the risk manager's evaluation (`crate::risk`), driven from Python.

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::risk_gate::PreTradeGate;
use crate::risk::{KillAction, KillResume, RiskConfig, RiskInputs, RiskManager};
use crate::risk_gate::TradingState;

/// The trading state of one symbol (`RiskManager` wraps it): evaluated from the book's flags,
/// its age, the feed's lag, toxicity, PnL and position; hands the state and limits to `gate`
/// (the `PreTradeGate` the order desk consults). Bad configuration values raise `ValueError`
/// naming the field.
#[pyclass(module = "mmcore._core")]
pub struct RiskCore {
    pub(super) inner: RiskManager,
    pub(super) gate: Py<PreTradeGate>,
}

#[pymethods]
impl RiskCore {
    /// A manager in the active state with nothing counted; keyword arguments are the
    /// `RiskConfig` fields of the same names (`session_loss_limit` is resolved already).
    #[new]
    #[pyo3(signature = (gate, *, max_position, max_drawdown, session_loss_limit, kill_action,
                        flatten_max_qty, flatten_max_bps, reduce_at, stale_book_s,
                        max_feed_lag_s, toxic_widen, toxic_pull, toxic_widen_mult,
                        kill_switch_resume, kill_switch_cooldown_s, resume_delay_s, lot_size,
                        tick_size))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        gate: Py<PreTradeGate>,
        max_position: f64,
        max_drawdown: f64,
        session_loss_limit: f64,
        kill_action: &str,
        flatten_max_qty: f64,
        flatten_max_bps: f64,
        reduce_at: f64,
        stale_book_s: f64,
        max_feed_lag_s: f64,
        toxic_widen: f64,
        toxic_pull: f64,
        toxic_widen_mult: f64,
        kill_switch_resume: &str,
        kill_switch_cooldown_s: f64,
        resume_delay_s: f64,
        lot_size: f64,
        tick_size: f64,
    ) -> PyResult<Self> {
        let kill_action = match kill_action {
            "reduce_only" => KillAction::ReduceOnly,
            "flatten" => KillAction::Flatten,
            other => {
                return Err(PyValueError::new_err(format!(
                    "kill_action: expected 'reduce_only' or 'flatten', got {other:?}"
                )))
            }
        };
        let kill_switch_resume = match kill_switch_resume {
            "manual" => KillResume::Manual,
            "cooldown" => KillResume::Cooldown,
            other => {
                return Err(PyValueError::new_err(format!(
                    "kill_switch_resume: expected 'manual' or 'cooldown', got {other:?}"
                )))
            }
        };
        let inner = RiskManager::new(RiskConfig {
            max_position,
            max_drawdown,
            session_loss_limit,
            kill_action,
            flatten_max_qty,
            flatten_max_bps,
            reduce_at,
            stale_book_s,
            max_feed_lag_s,
            toxic_widen,
            toxic_pull,
            toxic_widen_mult,
            kill_switch_resume,
            kill_switch_cooldown_s,
            resume_delay_s,
            lot_size,
            tick_size,
        })?;
        Ok(RiskCore { inner, gate })
    }

    /// Updates the trading state and hands it to the gate; returns its code (0 active, 1
    /// reducing, 2 halted). See `RiskManager.evaluate`.
    #[pyo3(signature = (vpin, synced, crossed, now, book_age_s, position, pnl, feed_lag_s,
                        feed_safe, limit_mult, toxic_probability, halt))]
    #[allow(clippy::too_many_arguments)]
    fn evaluate(
        &mut self,
        py: Python<'_>,
        vpin: f64,
        synced: f64,
        crossed: f64,
        now: f64,
        book_age_s: f64,
        position: f64,
        pnl: f64,
        feed_lag_s: f64,
        feed_safe: bool,
        limit_mult: f64,
        toxic_probability: f64,
        halt: bool,
    ) -> PyResult<u8> {
        let mut gate = self
            .gate
            .bind(py)
            .try_borrow_mut()
            .map_err(|_| PyRuntimeError::new_err("gate: in use elsewhere"))?;
        let x = RiskInputs {
            vpin,
            synced,
            crossed,
            now,
            book_age_s,
            position,
            pnl,
            feed_lag_s,
            feed_safe,
            limit_mult,
            toxic_probability,
            halt,
        };
        Ok(self.inner.evaluate(&x, &mut gate.inner) as u8)
    }

    /// The capped marketable order while flattening: `(side, price_ticks, lots)` or None.
    fn flatten_target(
        &self,
        py: Python<'_>,
        best_bid: f64,
        best_ask: f64,
    ) -> PyResult<Option<(i64, i64, i64)>> {
        let gate = self
            .gate
            .bind(py)
            .try_borrow()
            .map_err(|_| PyRuntimeError::new_err("gate: in use elsewhere"))?;
        Ok(self.inner.flatten_target(best_bid, best_ask, &gate.inner))
    }

    /// Holds the state at `state` (a code) or worse for `source` until `clear_override`
    /// (see `RiskManager.override`).
    fn set_override(&mut self, source: &str, state: u8, flatten: bool) -> PyResult<()> {
        let floor = TradingState::from_code(state).ok_or_else(|| {
            PyValueError::new_err(format!("state: must be 0, 1 or 2, got {state}"))
        })?;
        self.inner.set_override(source, floor, flatten);
        Ok(())
    }

    /// Lifts the override of `source`.
    fn clear_override(&mut self, source: &str) {
        self.inner.clear_override(source);
    }

    /// Manual resume after the kill switch (the peak restarts from the next PnL).
    fn resume(&mut self) {
        self.inner.resume();
    }

    /// A new session: lifts the session stop.
    fn reset_session(&mut self) {
        self.inner.reset_session();
    }

    /// The state code decided last (0 active, 1 reducing, 2 halted).
    #[getter]
    fn state(&self) -> u8 {
        self.inner.state as u8
    }

    /// Why the state is not active, in the order found.
    #[getter]
    fn reasons<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let names: Vec<&str> = self.inner.reason_names().collect();
        PyTuple::new(py, names)
    }

    /// The last finite position (base units).
    #[getter]
    fn position(&self) -> f64 {
        self.inner.position
    }

    /// The position limit in force (base units).
    #[getter]
    fn limit(&self) -> f64 {
        self.inner.limit
    }

    /// The spread multiplier toxicity asks for.
    #[getter]
    fn spread_mult(&self) -> f64 {
        self.inner.spread_mult
    }

    /// The PnL peak the kill switch measures from (None: the next PnL seen).
    #[getter]
    fn peak(&self) -> Option<f64> {
        self.inner.peak
    }

    /// When the kill switch tripped (None: not tripped).
    #[getter]
    fn killed_at(&self) -> Option<f64> {
        self.inner.killed_at
    }

    /// How far PnL is below its peak.
    #[getter]
    fn drawdown(&self) -> f64 {
        self.inner.drawdown
    }

    /// PnL when the session started (None: the next PnL seen).
    #[getter]
    fn session_start(&self) -> Option<f64> {
        self.inner.session_start
    }

    /// How far PnL is below the session start.
    #[getter]
    fn session_loss(&self) -> f64 {
        self.inner.session_loss
    }

    /// True once the session stop tripped (until `reset_session`).
    #[getter]
    fn session_stopped(&self) -> bool {
        self.inner.session_stopped
    }

    /// True while a trip is acted on by flattening.
    #[getter]
    fn flattening(&self) -> bool {
        self.inner.flattening
    }

    /// The last error the gate raised on a state update ("" if none).
    #[getter]
    fn gate_error(&self) -> &str {
        &self.inner.gate_error
    }
}
