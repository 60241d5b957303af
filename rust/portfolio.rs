//! The position of one symbol in exact integers: per-fill accounting (average cost, realized
//! PnL, fees) and marks, for live, paper and backtest alike (`mmcore.portfolio` wraps it; the
//! engine step applies fills here without Python).
//!
//! A position counts on its instrument's grid, tick and lot given as exact ratios
//! (`tick = tick_num / tick_den`): `lots` is the signed size in lots; `cash` the signed cash
//! flow of every fill in tick-lot units (a buy of `n` lots at `p` ticks adds `-n·p`); `basis`
//! the signed cost of the open size in tick-lot units times [`BASIS_SCALE`] (a partial close
//! keeps the average, rounding half to even at that scale; a flip opens at the fill price);
//! `fee_units` the fees in quote currency times [`FEE_SCALE`] (each fill's fee rounded once).
//! Realized PnL is `cash + basis`; the float figures are derived from the integers, never
//! accumulated. Bad fills are refused naming the argument before anything changes.

use crate::arg_error::ArgError;

/// The cost basis is held in tick-lot units times this.
pub const BASIS_SCALE: i128 = 1_000_000_000;
/// Fees are held in quote-currency units times this.
pub const FEE_SCALE: f64 = 1e12;
/// How far (relative) a size or price may sit off its grid and still be taken as on it.
pub const GRID_TOLERANCE: f64 = 1e-9;

/// An instrument's tick and lot as exact ratios, and their float sizes (for messages).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grid {
    pub tick_num: i128,
    pub tick_den: i128,
    pub lot_num: i128,
    pub lot_den: i128,
    pub tick_size: f64,
    pub lot_size: f64,
}

impl Grid {
    /// A grid from the ratios (each part > 0) and the sizes they stand for.
    pub fn new(
        (tick_num, tick_den): (i128, i128),
        (lot_num, lot_den): (i128, i128),
        tick_size: f64,
        lot_size: f64,
    ) -> Result<Self, ArgError> {
        for (name, num, den) in [
            ("tick_size", tick_num, tick_den),
            ("lot_size", lot_num, lot_den),
        ] {
            if num <= 0 || den <= 0 {
                return Err(ArgError::new(
                    name,
                    format!("ratio must be > 0, got {num}/{den}"),
                ));
            }
        }
        Ok(Grid {
            tick_num,
            tick_den,
            lot_num,
            lot_den,
            tick_size,
            lot_size,
        })
    }

    /// `qty` in whole lots, or an error naming `name` when it is off the grid.
    pub fn lots(&self, qty: f64, name: &'static str) -> Result<i64, ArgError> {
        let per_unit = self.lot_den as f64 / self.lot_num as f64;
        whole(qty * per_unit, qty, name, "lot", self.lot_size)
    }

    /// `price` in whole ticks, or an error naming `name` when it is off the grid.
    pub fn ticks(&self, price: f64, name: &'static str) -> Result<i64, ArgError> {
        let per_unit = self.tick_den as f64 / self.tick_num as f64;
        whole(price * per_unit, price, name, "tick", self.tick_size)
    }
}

fn whole(
    units: f64,
    value: f64,
    name: &'static str,
    step: &str,
    size: f64,
) -> Result<i64, ArgError> {
    let n = units.round_ties_even();
    let off = units - n;
    if (off != 0.0 && off.abs() > GRID_TOLERANCE * units.abs().max(1.0)) || n.abs() >= 9.0e18 {
        return Err(ArgError::new(
            name,
            format!("{value} is not a whole number of {step}s ({step} {size})"),
        ));
    }
    Ok(n as i64)
}

/// `a / b` as the nearest float (exact when both fit a float's mantissa).
fn ratio(a: i128, b: i128) -> f64 {
    const EXACT: i128 = 1 << 53;
    if a.abs() <= EXACT && b.abs() <= EXACT {
        // exact as i64 too: a hardware conversion, not the software i128 one (every step
        // reads the position and the PnL)
        return a as i64 as f64 / b as i64 as f64;
    }
    // the integer part is exact in i128; the remainder adds what is left
    let (q, r) = (a / b, a % b);
    q as f64 + r as f64 / b as f64
}

/// `a / b` rounded half to even, exactly (`b` != 0).
fn div_round(a: i128, b: i128) -> i128 {
    let (a, b) = if b < 0 { (-a, -b) } else { (a, b) };
    let q = a.div_euclid(b);
    let twice = 2 * a.rem_euclid(b);
    if twice > b || (twice == b && q % 2 != 0) {
        q + 1
    } else {
        q
    }
}

/// The integers of a position (what a journal saves and a restore loads).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Exact {
    pub lots: i64,
    pub cash: i128,
    pub basis: i128,
    pub fee_units: i128,
}

/// The position of one symbol.
#[derive(Clone, Debug)]
pub struct Position {
    pub grid: Grid,
    pub exact: Exact,
    /// The last mid (NaN before any).
    pub mark: f64,
}

impl Position {
    /// A flat position on `grid`.
    pub fn new(grid: Grid) -> Self {
        Position {
            grid,
            exact: Exact::default(),
            mark: f64::NAN,
        }
    }

    /// Applies a fill (+ buys, - sells); returns the PnL it realized. A fill of no size moves
    /// only its fee. A size or fee that is not finite, a price not finite and > 0, a size or
    /// price off the grid, or a price below one tick are refused naming it; nothing changes.
    pub fn apply_fill(&mut self, signed_qty: f64, price: f64, fee: f64) -> Result<f64, ArgError> {
        if !signed_qty.is_finite() {
            return Err(ArgError::new(
                "signed_qty",
                format!("must be finite, got {signed_qty}"),
            ));
        }
        if !(price.is_finite() && price > 0.0) {
            return Err(ArgError::new(
                "price",
                format!("must be finite and > 0, got {price}"),
            ));
        }
        if !fee.is_finite() {
            return Err(ArgError::new("fee", format!("must be finite, got {fee}")));
        }
        let n = self.grid.lots(signed_qty, "signed_qty")? as i128;
        let p = self.grid.ticks(price, "price")? as i128;
        if p < 1 {
            return Err(ArgError::new(
                "price",
                format!("{price} is below one tick ({})", self.grid.tick_size),
            ));
        }
        let e = &mut self.exact;
        e.fee_units += (fee * FEE_SCALE).round_ties_even() as i128;
        if n == 0 {
            return Ok(0.0);
        }
        let q = e.lots as i128;
        let new = q + n;
        if q == 0 || (q > 0) == (n > 0) {
            // opening or adding: the fill's cost joins the basis
            e.cash -= n * p;
            e.basis += n * p * BASIS_SCALE;
            e.lots = new as i64;
            return Ok(0.0);
        }
        let before = e.cash * BASIS_SCALE + e.basis;
        e.cash -= n * p;
        e.basis = if new == 0 {
            0
        } else if (new > 0) != (q > 0) {
            new * p * BASIS_SCALE // flipped: the rest opens at this price
        } else {
            div_round(e.basis * new, q) // reduced: the average stays
        };
        e.lots = new as i64;
        let g = &self.grid;
        Ok(ratio(
            (e.cash * BASIS_SCALE + e.basis - before) * g.tick_num * g.lot_num,
            g.tick_den * g.lot_den * BASIS_SCALE,
        ))
    }

    /// Marks the position to `mid`: a NaN mid is no mark (the last one stays); ±inf or a
    /// negative mid is refused.
    pub fn mark(&mut self, mid: f64) -> Result<(), ArgError> {
        if mid.is_nan() {
            return Ok(());
        }
        if mid.is_infinite() || mid < 0.0 {
            return Err(ArgError::new(
                "mid",
                format!("must be finite and >= 0 (or NaN), got {mid}"),
            ));
        }
        self.mark = mid;
        Ok(())
    }

    /// Signed size (base units).
    pub fn qty(&self) -> f64 {
        ratio(
            self.exact.lots as i128 * self.grid.lot_num,
            self.grid.lot_den,
        )
    }

    /// Average cost of the open size (0 when flat).
    pub fn avg_cost(&self) -> f64 {
        if self.exact.lots == 0 {
            return 0.0;
        }
        let g = &self.grid;
        ratio(
            self.exact.basis * g.tick_num,
            self.exact.lots as i128 * g.tick_den * BASIS_SCALE,
        )
    }

    /// Realized PnL, gross of fees.
    pub fn realized(&self) -> f64 {
        let g = &self.grid;
        ratio(
            (self.exact.cash * BASIS_SCALE + self.exact.basis) * g.tick_num * g.lot_num,
            g.tick_den * g.lot_den * BASIS_SCALE,
        )
    }

    /// Fees paid (rebates negative).
    pub fn fees(&self) -> f64 {
        // the nearest float (as `ratio` converts: a hardware conversion when exact in i64)
        ratio(self.exact.fee_units, 1) / FEE_SCALE
    }

    /// PnL of the open size at the last mark (0 before any mark).
    pub fn unrealized(&self) -> f64 {
        if self.exact.lots == 0 || self.mark.is_nan() {
            return 0.0;
        }
        let g = &self.grid;
        self.qty() * self.mark
            - ratio(
                self.exact.basis * g.tick_num * g.lot_num,
                g.tick_den * g.lot_den * BASIS_SCALE,
            )
    }

    /// Realized + unrealized - fees (at a mark: the cash flow plus the open size at the mark,
    /// the basis cancelling out).
    pub fn net(&self) -> f64 {
        if self.mark.is_nan() {
            return self.realized() - self.fees();
        }
        let g = &self.grid;
        ratio(
            self.exact.cash * g.tick_num * g.lot_num,
            g.tick_den * g.lot_den,
        ) + self.qty() * self.mark
            - self.fees()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position() -> Position {
        // tick 0.01, lot 0.001
        Position::new(Grid::new((1, 100), (1, 1000), 0.01, 0.001).unwrap())
    }

    #[test]
    fn average_cost_realized_and_flip() {
        let mut p = position();
        assert_eq!(p.apply_fill(0.002, 100.0, 0.0).unwrap(), 0.0);
        assert_eq!(p.apply_fill(0.002, 101.0, 0.0).unwrap(), 0.0);
        assert_eq!(p.avg_cost(), 100.5);
        // sell 3 of 4 lots at 102: realizes 3 x 1.5 x 0.001
        let realized = p.apply_fill(-0.003, 102.0, 0.0).unwrap();
        assert!((realized - 0.0045).abs() < 1e-15, "{realized}");
        assert_eq!(p.avg_cost(), 100.5);
        // flip: sell 2 lots at 103 closes 1 and opens a short of 1 at 103
        p.apply_fill(-0.002, 103.0, 0.0).unwrap();
        assert_eq!(p.exact.lots, -1);
        assert_eq!(p.avg_cost(), 103.0);
        assert!((p.realized() - (0.0045 + 0.0025)).abs() < 1e-15);
        p.mark(102.0).unwrap();
        assert!((p.unrealized() - 0.001).abs() < 1e-15);
        assert!((p.net() - (p.realized() + p.unrealized())).abs() < 1e-15);
    }

    #[test]
    fn fees_are_summed_exactly_and_a_sizeless_fill_moves_only_its_fee() {
        let mut p = position();
        for _ in 0..10 {
            p.apply_fill(0.0, 100.0, 0.1).unwrap();
        }
        assert_eq!(p.exact.fee_units, 1_000_000_000_000);
        assert_eq!(p.fees(), 1.0);
        assert_eq!(p.exact.lots, 0);
    }

    #[test]
    fn bad_fills_and_marks_are_refused_before_anything_changes() {
        let mut p = position();
        p.apply_fill(0.001, 100.0, 0.0).unwrap();
        let before = p.exact;
        for (qty, price, fee, arg) in [
            (f64::NAN, 100.0, 0.0, "signed_qty"),
            (0.0015, 100.0, 0.0, "signed_qty"),
            (0.001, 100.005, 0.0, "price"),
            (0.001, 0.0, 0.0, "price"),
            (0.001, 100.0, f64::INFINITY, "fee"),
        ] {
            assert_eq!(p.apply_fill(qty, price, fee).unwrap_err().arg, arg);
        }
        assert_eq!(p.exact, before);
        assert_eq!(p.mark(-1.0).unwrap_err().arg, "mid");
        p.mark(f64::NAN).unwrap();
        assert!(p.mark.is_nan());
    }

    #[test]
    fn half_lots_of_basis_round_to_even() {
        assert_eq!(div_round(5, 2), 2);
        assert_eq!(div_round(7, 2), 4);
        assert_eq!(div_round(-5, 2), -2);
        assert_eq!(div_round(5, -2), -2);
        assert_eq!(div_round(10, 3), 3);
    }
}
