//! The execution core's shared types: order [`Side`], order [`Status`], prices in whole ticks
//! ([`Price`]), sizes in whole lots ([`Qty`]) and the one conversion between a float size and
//! lots ([`LotSize`]).
//!
//! Inside the quote model's outputs, the desk, the gate and the paper venue every price is an
//! integer number of ticks and every size an integer number of lots, so "filled" is
//! `filled == qty` exactly and the desk and the venue always agree on what is open. Floats exist
//! only at the edges (the Python API, a venue's wire, the report), and cross into lots through
//! [`LotSize::lots`], which refuses NaN, ±inf and negative sizes.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};

use crate::arg_error::{positive, ArgError};

/// Order side: +1 buy, -1 sell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    /// `+1` → buy, `-1` → sell, anything else → None.
    pub fn from_sign(sign: i64) -> Option<Side> {
        match sign {
            1 => Some(Side::Buy),
            -1 => Some(Side::Sell),
            _ => None,
        }
    }

    /// `+1` for buy, `-1` for sell.
    pub fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }
}

/// Lifecycle of one order. The discriminants are the codes the Python layer maps to its
/// `OrderStatus` enum (same order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    PendingNew = 0,
    Acked = 1,
    PartiallyFilled = 2,
    Filled = 3,
    PendingCancel = 4,
    Cancelled = 5,
    Rejected = 6,
    Expired = 7,
}

impl Status {
    /// Every status, in code order.
    pub const ALL: [Status; 8] = [
        Status::PendingNew,
        Status::Acked,
        Status::PartiallyFilled,
        Status::Filled,
        Status::PendingCancel,
        Status::Cancelled,
        Status::Rejected,
        Status::Expired,
    ];

    /// True for states an order never leaves.
    pub fn terminal(self) -> bool {
        matches!(
            self,
            Status::Filled | Status::Cancelled | Status::Rejected | Status::Expired
        )
    }

    /// The status with code `code` (its discriminant).
    pub fn from_code(code: u8) -> Option<Status> {
        Status::ALL.get(usize::from(code)).copied()
    }
}

/// A price in whole ticks of the instrument. Distances between prices are plain `i64` ticks
/// (`Price - Price`), and a price moves by a number of ticks (`Price ± i64`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(pub i64);

impl Price {
    /// The number of ticks.
    #[inline]
    pub fn ticks(self) -> i64 {
        self.0
    }

    /// True for a price above zero (venues take no order at or below zero).
    #[inline]
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }
}

impl Add<i64> for Price {
    type Output = Price;
    #[inline]
    fn add(self, ticks: i64) -> Price {
        Price(self.0 + ticks)
    }
}

impl Sub<i64> for Price {
    type Output = Price;
    #[inline]
    fn sub(self, ticks: i64) -> Price {
        Price(self.0 - ticks)
    }
}

impl Sub for Price {
    type Output = i64;
    /// The distance in ticks.
    #[inline]
    fn sub(self, rhs: Price) -> i64 {
        self.0 - rhs.0
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ticks", self.0)
    }
}

/// A size in whole lots of the instrument (never negative where it is an order's or a fill's
/// size; the signed position is a plain `i64` of lots).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Qty(pub i64);

impl Qty {
    /// No size.
    pub const ZERO: Qty = Qty(0);
    /// The largest size a float converts to: 2^53 lots, so every size maps back to a float
    /// exactly and sums of a few never overflow.
    pub const MAX: Qty = Qty(1 << 53);

    /// The number of lots.
    #[inline]
    pub fn lots(self) -> i64 {
        self.0
    }

    /// True for a size above zero.
    #[inline]
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// `self - other`, never below zero.
    #[inline]
    pub fn saturating_sub(self, other: Qty) -> Qty {
        Qty((self.0 - other.0).max(0))
    }
}

impl Add for Qty {
    type Output = Qty;
    #[inline]
    fn add(self, rhs: Qty) -> Qty {
        Qty(self.0 + rhs.0)
    }
}

impl Sub for Qty {
    type Output = Qty;
    #[inline]
    fn sub(self, rhs: Qty) -> Qty {
        Qty(self.0 - rhs.0)
    }
}

impl AddAssign for Qty {
    #[inline]
    fn add_assign(&mut self, rhs: Qty) {
        self.0 += rhs.0;
    }
}

impl SubAssign for Qty {
    #[inline]
    fn sub_assign(&mut self, rhs: Qty) {
        self.0 -= rhs.0;
    }
}

impl std::iter::Sum for Qty {
    fn sum<I: Iterator<Item = Qty>>(iter: I) -> Qty {
        Qty(iter.map(|q| q.0).sum())
    }
}

impl fmt::Display for Qty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} lots", self.0)
    }
}

/// How a float size that is not a whole number of lots becomes lots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// To the nearest lot: sizes that are lot multiples on the wire (fills, orders).
    Nearest,
    /// Down: never more than asked (targets, liquidity that can be taken).
    Down,
    /// Up: never less (the queue ahead of us).
    Up,
}

/// The lot of an instrument and the conversion between float sizes and [`Qty`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LotSize {
    lot: f64,
    /// `1 / lot` when it is a whole number (lots of 10^-k): sizes convert back to floats by
    /// one correctly rounded division, so `0.001` lots print as `0.001`, not `0.0010000000000000002`.
    per_unit: Option<f64>,
}

impl LotSize {
    /// Lots of `lot` base units (finite and > 0).
    pub fn new(lot: f64) -> Result<Self, ArgError> {
        positive(&[("lot_size", lot)])?;
        let inverse = (1.0 / lot).round();
        let per_unit = ((inverse * lot - 1.0).abs() < 1e-12 && inverse >= 1.0).then_some(inverse);
        Ok(LotSize { lot, per_unit })
    }

    /// The lot in base units.
    pub fn size(&self) -> f64 {
        self.lot
    }

    /// `units` (a float size) in lots, rounded as `rounding` says; a size within 1e-9 of a lot
    /// multiple counts as that multiple whatever the rounding. NaN, ±inf, negative sizes and
    /// sizes beyond [`Qty::MAX`] are refused naming `arg`.
    pub fn lots(&self, arg: &'static str, units: f64, rounding: Rounding) -> Result<Qty, ArgError> {
        if !(units.is_finite() && units >= 0.0) {
            return Err(ArgError::new(
                arg,
                format!("must be finite and >= 0, got {units}"),
            ));
        }
        let exact = match self.per_unit {
            Some(per_unit) => units * per_unit,
            None => units / self.lot,
        };
        let nearest = exact.round();
        let lots = if (exact - nearest).abs() <= 1e-9 * nearest.max(1.0) {
            nearest
        } else {
            match rounding {
                Rounding::Nearest => nearest,
                Rounding::Down => exact.floor(),
                Rounding::Up => exact.ceil(),
            }
        };
        if lots > Qty::MAX.0 as f64 {
            return Err(ArgError::new(
                arg,
                format!("{units} is more than {} lots of {}", Qty::MAX.0, self.lot),
            ));
        }
        Ok(Qty(lots as i64))
    }

    /// `qty` in base units (the float the edges report).
    pub fn units(&self, qty: Qty) -> f64 {
        match self.per_unit {
            Some(per_unit) => qty.0 as f64 / per_unit,
            None => qty.0 as f64 * self.lot,
        }
    }

    /// A signed number of lots (a position) in base units.
    pub fn signed_units(&self, lots: i64) -> f64 {
        let units = self.units(Qty(lots.abs()));
        if lots < 0 {
            -units
        } else {
            units
        }
    }
}

/// An instrument's step (its tick or its lot) as an exact decimal, `mantissa × 10^-decimals`:
/// converts integers at a decimal scale (a book's prices and sizes, see `crate::book::Book`)
/// into whole steps without going through floats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecimalStep {
    mantissa: u64,
    decimals: u8,
}

impl DecimalStep {
    /// The step `units` (finite and > 0) with the fewest decimals (at most 18) that writes it
    /// exactly with at most 12 significant digits, up to float noise (`0.3` is `3 × 10^-1`);
    /// refused naming `arg` when no such decimal exists (`1/3`).
    pub fn new(arg: &'static str, units: f64) -> Result<Self, ArgError> {
        positive(&[(arg, units)])?;
        for decimals in 0..=crate::fixed::MAX_DECIMALS {
            let scaled = units * crate::fixed::POW10[usize::from(decimals)] as f64;
            let whole = scaled.round();
            // a step has few significant digits; beyond 1e12 a float no longer tells
            if (1.0..1e12).contains(&whole) && (scaled - whole).abs() <= 1e-6 {
                return Ok(DecimalStep {
                    mantissa: whole as u64,
                    decimals,
                });
            }
        }
        Err(ArgError::new(
            arg,
            format!("{units} is not a decimal with at most 18 decimals"),
        ))
    }

    /// The conversion of values at `scale` decimals into steps, worked out once for many
    /// values (a book's levels).
    #[inline]
    pub fn at(&self, scale: u8) -> StepAt {
        let pow = |d: u8| u128::from(crate::fixed::POW10[usize::from(d)]);
        let mantissa = u128::from(self.mantissa);
        let (mul, den) = if self.decimals >= scale {
            (pow(self.decimals - scale), mantissa)
        } else {
            (1, mantissa * pow(scale - self.decimals))
        };
        let small = u64::try_from(mul).ok().zip(u64::try_from(den).ok());
        StepAt { mul, den, small }
    }
}

/// `value × 10^-scale / step` as `value × mul / den` for one step and scale ([`DecimalStep::at`]);
/// u128 holds `value × 10^18`; the product and the division run on u64 when they fit (a
/// book's levels: u128 arithmetic costs several times more).
#[derive(Clone, Copy, Debug)]
pub struct StepAt {
    mul: u128,
    den: u128,
    /// `(mul, den)` when both fit u64.
    small: Option<(u64, u64)>,
}

impl StepAt {
    /// `value × mul + add` over `den`, and whether it divides exactly.
    #[inline]
    fn div(&self, value: u64, add: u128) -> (u128, bool) {
        if let (Some((mul, den)), Ok(add)) = (self.small, u64::try_from(add)) {
            if let Some(num) = value.checked_mul(mul).and_then(|n| n.checked_add(add)) {
                return (u128::from(num / den), num % den == 0);
            }
        }
        let num = u128::from(value) * self.mul + add;
        (num / self.den, num % self.den == 0)
    }

    /// `(mul, den)` when both fit `u64`: `value × mul / den` then needs no 128-bit arithmetic
    /// unless the product overflows.
    #[inline]
    pub fn small(&self) -> Option<(u64, u64)> {
        self.small
    }

    /// `value` in whole steps, rounded down, and whether it was a whole number of them; None
    /// beyond `i64`.
    #[inline]
    pub fn whole(&self, value: u64) -> Option<(i64, bool)> {
        let (steps, exact) = self.div(value, 0);
        Some((i64::try_from(steps).ok()?, exact))
    }

    /// `value` in steps, rounded to the nearest (ties up); None beyond `i64`.
    #[inline]
    pub fn nearest(&self, value: u64) -> Option<i64> {
        let (steps, _) = self.div(value, self.den / 2);
        i64::try_from(steps).ok()
    }
}

/// A client order id inside the core: the sender's prefix (an index into a [`Prefixes`] table)
/// and a sequence number. The string `{prefix}{seq}` is built only at the edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId {
    pub prefix: u32,
    pub seq: u64,
}

/// The client id prefixes a venue has seen, so ids travel as integers and are turned back into
/// their exact strings at the edge. An id without a canonical decimal tail (`"x"`, `"a01"`) is
/// kept whole as a bare entry (sequence 0); a table grows by one entry per distinct prefix or
/// bare id.
#[derive(Clone, Debug, Default)]
pub struct Prefixes {
    /// `(text, bare)`: a bare entry is a whole id, not followed by a sequence.
    names: Vec<(String, bool)>,
}

impl Prefixes {
    /// The index of `prefix` (followed by sequence numbers), added when new.
    pub fn intern(&mut self, prefix: &str) -> u32 {
        self.index(prefix, false)
    }

    fn index(&mut self, text: &str, bare: bool) -> u32 {
        let found = self.names.iter().position(|(t, b)| *b == bare && t == text);
        let index = found.unwrap_or_else(|| {
            self.names.push((text.to_owned(), bare));
            self.names.len() - 1
        });
        u32::try_from(index).expect("fewer than 2^32 client id prefixes")
    }

    /// The id of the string `id`: its prefix and decimal tail, or the whole string as a bare
    /// entry when the tail is missing or not canonical (a leading zero, beyond `u64`).
    pub fn parse(&mut self, id: &str) -> ClientId {
        match split_seq(id) {
            Some((prefix, seq)) => ClientId {
                prefix: self.index(prefix, false),
                seq,
            },
            None => ClientId {
                prefix: self.index(id, true),
                seq: 0,
            },
        }
    }

    /// The exact string `id` was parsed from (or that `{prefix}{seq}` stands for).
    pub fn format(&self, id: ClientId) -> String {
        match self.names.get(id.prefix as usize) {
            Some((text, true)) => text.clone(),
            Some((text, false)) => format!("{text}{}", id.seq),
            None => format!("?{}-{}", id.prefix, id.seq),
        }
    }
}

/// `id` split into a prefix and its canonical decimal tail (`"mm-X-12"` → `("mm-X-", 12)`);
/// None without one (no digits, a leading zero, beyond `u64`).
pub fn split_seq(id: &str) -> Option<(&str, u64)> {
    let start = id.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let tail = &id[start..];
    if tail.is_empty() || (tail.len() > 1 && tail.starts_with('0')) {
        return None;
    }
    Some((&id[..start], tail.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_sizes_convert_exactly_both_ways() {
        let lot = LotSize::new(0.001).unwrap();
        let whole = lot.lots("q", 129_579.556, Rounding::Nearest).unwrap();
        let part = lot.lots("q", 34_024.903, Rounding::Nearest).unwrap();
        let rest = lot
            .lots("q", 129_579.556 - 34_024.903, Rounding::Nearest)
            .unwrap();
        assert_eq!(part + rest, whole);
        assert_eq!(lot.units(whole), 129_579.556);
        assert_eq!(lot.units(Qty(1)), 0.001);
        assert_eq!(lot.signed_units(-1500), -1.5);
        let odd = LotSize::new(0.3).unwrap();
        assert_eq!(odd.units(Qty(2)), 0.6);
    }

    #[test]
    fn rounding_and_refusals() {
        let lot = LotSize::new(0.01).unwrap();
        assert_eq!(lot.lots("q", 0.015, Rounding::Down).unwrap(), Qty(1));
        assert_eq!(lot.lots("q", 0.015, Rounding::Up).unwrap(), Qty(2));
        assert_eq!(lot.lots("q", 0.014, Rounding::Nearest).unwrap(), Qty(1));
        assert_eq!(lot.lots("q", 0.07, Rounding::Down).unwrap(), Qty(7)); // 7.000000000000001
        assert_eq!(lot.lots("q", 0.0, Rounding::Up).unwrap(), Qty(0));
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.01, 1e300] {
            assert_eq!(lot.lots("q", bad, Rounding::Down).unwrap_err().arg, "q");
        }
        assert_eq!(LotSize::new(0.0).unwrap_err().arg, "lot_size");
        assert_eq!(LotSize::new(f64::NAN).unwrap_err().arg, "lot_size");
    }

    #[test]
    fn decimal_steps_convert_scaled_integers_exactly() {
        let lot = DecimalStep::new("lot_size", 0.001).unwrap();
        // 1.2345 at 4 decimals is 1234.5 lots of 0.001
        assert_eq!(lot.at(4).whole(12_345), Some((1234, false)));
        assert_eq!(lot.at(4).whole(12_340), Some((1234, true)));
        // a book coarser than the lot: 7 at 0 decimals is 7000 lots
        assert_eq!(lot.at(0).whole(7), Some((7000, true)));
        let odd = DecimalStep::new("lot_size", 0.3).unwrap();
        assert_eq!(odd.at(1).whole(9), Some((3, true)));
        assert_eq!(odd.at(1).whole(10), Some((3, false)));
        let tick = DecimalStep::new("tick_size", 0.5).unwrap();
        assert_eq!(tick.at(2).nearest(100_025), Some(2001)); // 1000.25 is 2000.5 ticks: up
        assert_eq!(tick.at(2).nearest(100_024), Some(2000));
        let tiny = DecimalStep::new("lot_size", 1e-18).unwrap();
        assert_eq!(tiny.at(0).whole(u64::MAX), None); // beyond i64

        // a numerator beyond u64 takes the u128 division, with the same results: u64::MAX × 10
        // over a step of 1234.5
        let big = DecimalStep::new("tick_size", 1234.5).unwrap().at(0);
        let num = u128::from(u64::MAX) * 10;
        let exact = i64::try_from(num / 12_345).unwrap();
        assert_eq!(big.whole(u64::MAX), Some((exact, num % 12_345 == 0)));
        let up = i64::from(num % 12_345 > 12_345 / 2);
        assert_eq!(big.nearest(u64::MAX), Some(exact + up));
        assert_eq!(big.whole(24_690), Some((20, true))); // 24690 is 20 steps, on u64
        assert_eq!(
            DecimalStep::new("lot_size", 1.0 / 3.0).unwrap_err().arg,
            "lot_size"
        );
        assert_eq!(
            DecimalStep::new("tick_size", f64::NAN).unwrap_err().arg,
            "tick_size"
        );
        assert_eq!(
            DecimalStep::new("tick_size", 0.0).unwrap_err().arg,
            "tick_size"
        );
    }

    #[test]
    fn sides_and_statuses() {
        assert_eq!(Side::from_sign(0), None);
        assert_eq!(Side::from_sign(-1).map(Side::sign), Some(-1));
        assert_eq!(Side::from_sign(1), Some(Side::Buy));
        for status in Status::ALL {
            assert_eq!(Status::from_code(status as u8), Some(status));
        }
        assert_eq!(Status::from_code(8), None);
        assert_eq!(Qty(3).saturating_sub(Qty(5)), Qty::ZERO);
        assert_eq!(
            (Price(7) + 2, Price(7) - 2, Price(7) - Price(10)),
            (Price(9), Price(5), -3)
        );
        assert!(Price(1).is_positive() && !Price(0).is_positive());
        assert_eq!(Price(-4).to_string(), "-4 ticks");
    }

    #[test]
    fn client_ids_round_trip_through_the_prefix_table() {
        let mut p = Prefixes::default();
        for id in [
            "mm-X-1",
            "mm-X-12",
            "b1",
            "x",
            "a01",
            "mm-Y-0",
            "7",
            "z99999999999999999999",
        ] {
            let parsed = p.parse(id);
            assert_eq!(p.format(parsed), id, "{id}");
        }
        assert_eq!(p.parse("mm-X-12"), ClientId { prefix: 0, seq: 12 });
        assert_eq!(p.intern("mm-X-"), 0);
        assert_ne!(
            p.parse("x"),
            p.parse("x0"),
            "a bare id is not the prefix followed by 0"
        );
        assert_eq!(split_seq("mm-X-012"), None);
        assert_eq!(split_seq("mm-X-"), None);
    }
}
