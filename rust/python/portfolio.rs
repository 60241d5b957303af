//! `PositionCore`: a position in exact integers (`crate::portfolio`), driven from Python.

use pyo3::prelude::*;

use crate::portfolio::{Exact, Grid, Position};

/// The position of one symbol on its instrument's grid (`mmcore.portfolio.Position` extends
/// it): fills, marks and the PnL figures derived from exact integers. Bad fills and marks
/// raise `ValueError` naming the argument before anything changes.
#[pyclass(subclass, module = "mmcore._core")]
pub struct PositionCore {
    pub(super) inner: Position,
}

fn grid(tick: (i128, i128), lot: (i128, i128), tick_size: f64, lot_size: f64) -> PyResult<Grid> {
    Ok(Grid::new(tick, lot, tick_size, lot_size)?)
}

#[pymethods]
impl PositionCore {
    /// A flat position on the grid of tick `tick_num / tick_den` and lot `lot_num / lot_den`
    /// (exact ratios of `tick_size` and `lot_size`).
    #[new]
    fn new(
        tick_num: i128,
        tick_den: i128,
        lot_num: i128,
        lot_den: i128,
        tick_size: f64,
        lot_size: f64,
    ) -> PyResult<Self> {
        let g = grid(
            (tick_num, tick_den),
            (lot_num, lot_den),
            tick_size,
            lot_size,
        )?;
        Ok(PositionCore {
            inner: Position::new(g),
        })
    }

    /// Counts on another grid from now on (the integers are not converted).
    fn _set_grid(
        &mut self,
        tick_num: i128,
        tick_den: i128,
        lot_num: i128,
        lot_den: i128,
        tick_size: f64,
        lot_size: f64,
    ) -> PyResult<()> {
        self.inner.grid = grid(
            (tick_num, tick_den),
            (lot_num, lot_den),
            tick_size,
            lot_size,
        )?;
        Ok(())
    }

    /// Applies a fill (+ buys, - sells); returns the PnL it realized.
    fn apply_fill(&mut self, signed_qty: f64, price: f64, fee: f64) -> PyResult<f64> {
        Ok(self.inner.apply_fill(signed_qty, price, fee)?)
    }

    /// Marks to `mid` (NaN: no mark; ±inf or negative: ValueError).
    fn set_mark(&mut self, mid: f64) -> PyResult<()> {
        Ok(self.inner.mark(mid)?)
    }

    /// Takes the integers of a saved position (counted on this position's grid).
    fn _load(&mut self, lots: i64, cash: i128, basis: i128, fee_units: i128) {
        self.inner.exact = Exact {
            lots,
            cash,
            basis,
            fee_units,
        };
    }

    /// The signed size in lots.
    #[getter]
    fn lots(&self) -> i64 {
        self.inner.exact.lots
    }

    /// The signed cash flow of every fill, in tick-lot units.
    #[getter]
    fn cash(&self) -> i128 {
        self.inner.exact.cash
    }

    /// The cost of the open size in tick-lot units times `BASIS_SCALE`.
    #[getter]
    fn basis(&self) -> i128 {
        self.inner.exact.basis
    }

    /// Fees in quote currency times `FEE_SCALE`.
    #[getter]
    fn fee_units(&self) -> i128 {
        self.inner.exact.fee_units
    }

    /// The last mid (NaN before any).
    #[getter]
    fn mark(&self) -> f64 {
        self.inner.mark
    }

    #[setter(mark)]
    fn put_mark(&mut self, mid: f64) {
        self.inner.mark = mid;
    }

    /// Signed size.
    #[getter]
    fn qty(&self) -> f64 {
        self.inner.qty()
    }

    /// Average cost of the open size (0 when flat).
    #[getter]
    fn avg_cost(&self) -> f64 {
        self.inner.avg_cost()
    }

    /// Realized PnL, gross of fees.
    #[getter]
    fn realized(&self) -> f64 {
        self.inner.realized()
    }

    /// Fees paid (rebates negative).
    #[getter]
    fn fees(&self) -> f64 {
        self.inner.fees()
    }

    /// PnL of the open size at the last mark (0 before any mark).
    #[getter]
    fn unrealized(&self) -> f64 {
        self.inner.unrealized()
    }

    /// Realized + unrealized - fees.
    #[getter]
    fn net(&self) -> f64 {
        self.inner.net()
    }
}
