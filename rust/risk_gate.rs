//! The pre-trade gate every new order passes: the trading state, position and notional limits
//! that count working orders, lot rounding and an order-rate token bucket.
//!
//! The risk manager (Python, `mmcore.risk`) decides the state and the limits on each book
//! update and sets them here; the order desk asks the gate about each order it is about to
//! send, without a round trip through Python.

use crate::arg_error::{positive, ArgError};
use crate::orders::Side;
use crate::pymath::py_min;
use crate::quote::to_lots;

/// What the risk manager allows: both sides, only orders that shrink the position, nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TradingState {
    Active = 0,
    Reducing = 1,
    Halted = 2,
}

impl TradingState {
    /// The state with code `code` (its discriminant).
    pub fn from_code(code: u8) -> Option<TradingState> {
        match code {
            0 => Some(TradingState::Active),
            1 => Some(TradingState::Reducing),
            2 => Some(TradingState::Halted),
            _ => None,
        }
    }
}

/// Fixed limits: notional (quote currency), tick and lot sizes, order rate and burst.
#[derive(Clone, Debug, PartialEq)]
pub struct GateConfig {
    pub max_notional: f64,
    pub tick_size: f64,
    pub lot_size: f64,
    pub max_orders_per_s: f64,
    pub order_burst: f64,
}

/// The gate of one symbol.
#[derive(Clone, Debug)]
pub struct PreTradeGate {
    cfg: GateConfig,
    state: TradingState,
    position: f64,
    limit: f64,
    tokens: f64,
    last: Option<f64>,
    /// Orders refused because the order rate was exhausted.
    pub rate_limited: u64,
}

impl PreTradeGate {
    /// A gate in the active state with a flat position, a `limit` of 0 (nothing passes until
    /// [`PreTradeGate::set`]) and a full token bucket.
    pub fn new(cfg: GateConfig) -> Result<Self, ArgError> {
        positive(&[
            ("max_notional", cfg.max_notional),
            ("tick_size", cfg.tick_size),
            ("lot_size", cfg.lot_size),
            ("max_orders_per_s", cfg.max_orders_per_s),
            ("order_burst", cfg.order_burst),
        ])?;
        Ok(PreTradeGate {
            tokens: cfg.order_burst,
            cfg,
            state: TradingState::Active,
            position: 0.0,
            limit: 0.0,
            last: None,
            rate_limited: 0,
        })
    }

    /// The trading state, signed position and position limit the risk manager decided.
    pub fn set(&mut self, state: TradingState, position: f64, limit: f64) {
        self.state = state;
        self.position = position;
        self.limit = limit;
    }

    /// The size of a new order that the limits allow (0 refuses it).
    ///
    /// `working` is the open size of the orders already on `side`: position plus working plus
    /// the new order must stay within the position and notional limits. Halted: nothing;
    /// reducing: only orders that shrink the position, up to it. No order at a price of zero
    /// or below. Sizes are rounded down to whole lots; each order that passes takes a token.
    pub fn allow(&mut self, side: Side, price_ticks: i64, qty: f64, working: f64, now: f64) -> f64 {
        if self.state == TradingState::Halted || price_ticks <= 0 {
            return 0.0;
        }
        let pos = self.position;
        let s = side.sign() as f64;
        let mut qty = qty;
        if self.state == TradingState::Reducing {
            if s * pos >= 0.0 {
                return 0.0;
            }
            qty = py_min(qty, pos.abs() - working);
        }
        let room = self.limit - s * pos - working;
        let notional_room =
            self.cfg.max_notional / (price_ticks as f64 * self.cfg.tick_size) - s * pos - working;
        qty = py_min(py_min(qty, room), notional_room);
        qty = to_lots(qty, self.cfg.lot_size);
        if qty.is_nan() || qty <= 0.0 {
            return 0.0;
        }
        if !self.try_take(now) {
            self.rate_limited += 1;
            return 0.0;
        }
        qty
    }

    /// Takes one token at `now` if there is one (tokens come back at `max_orders_per_s`, up to
    /// `order_burst`; time going backwards adds none).
    fn try_take(&mut self, now: f64) -> bool {
        match self.last {
            Some(last) if now > last => {
                let refill = self.tokens + (now - last) * self.cfg.max_orders_per_s;
                self.tokens = py_min(self.cfg.order_burst, refill);
                self.last = Some(now);
            }
            None => self.last = Some(now),
            Some(_) => {}
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(max_notional: f64, rate: f64, burst: f64) -> PreTradeGate {
        PreTradeGate::new(GateConfig {
            max_notional,
            tick_size: 0.01,
            lot_size: 0.001,
            max_orders_per_s: rate,
            order_burst: burst,
        })
        .unwrap()
    }

    #[test]
    fn limits_count_position_and_working_orders() {
        let mut g = gate(1e9, 100.0, 100.0);
        g.set(TradingState::Active, 0.3, 1.0);
        assert!((g.allow(Side::Buy, 10_000, 1.0, 0.5, 0.0) - 0.2).abs() < 1e-9);
        assert_eq!(g.allow(Side::Buy, 10_000, 1.0, 0.7, 0.0), 0.0);
        assert!((g.allow(Side::Sell, 10_000, 1.0, 0.5, 0.0) - 0.8).abs() < 1e-9);
        let mut g = gate(1000.0, 100.0, 100.0); // 10 units at 100.00
        g.set(TradingState::Active, 2.0, 100.0);
        assert!((g.allow(Side::Buy, 10_000, 10.0, 5.0, 0.0) - 3.0).abs() < 1e-9);
    }

    #[test]
    fn states_and_prices() {
        let mut g = gate(1e9, 100.0, 100.0);
        g.set(TradingState::Reducing, 0.85, 1.0);
        assert_eq!(g.allow(Side::Buy, 10_000, 0.1, 0.0, 0.0), 0.0);
        assert!((g.allow(Side::Sell, 10_000, 2.0, 0.0, 0.0) - 0.85).abs() < 1e-9);
        g.set(TradingState::Halted, 0.0, 1.0);
        assert_eq!(g.allow(Side::Sell, 10_000, 0.1, 0.0, 0.0), 0.0);
        g.set(TradingState::Active, 0.0, 1.0);
        assert_eq!(g.allow(Side::Buy, 0, 0.1, 0.0, 0.0), 0.0);
        assert_eq!(g.allow(Side::Buy, 10_000, f64::NAN, 0.0, 0.0), 0.0);
    }

    #[test]
    fn the_order_rate_is_a_token_bucket() {
        let mut g = gate(1e9, 2.0, 3.0);
        g.set(TradingState::Active, 0.0, 1.0);
        let got: Vec<bool> = (0..5)
            .map(|_| g.allow(Side::Buy, 10_000, 0.01, 0.0, 0.0) > 0.0)
            .collect();
        assert_eq!(got, [true, true, true, false, false]);
        assert_eq!(g.rate_limited, 2);
        assert!(g.allow(Side::Buy, 10_000, 0.01, 0.0, -1.0) == 0.0); // time going back: none
        assert!(g.allow(Side::Buy, 10_000, 0.01, 0.0, 0.5) > 0.0); // one token after 0.5 s
    }

    #[test]
    fn bad_config_names_the_field() {
        let err = PreTradeGate::new(GateConfig {
            max_notional: 1.0,
            tick_size: 0.01,
            lot_size: 0.0,
            max_orders_per_s: 1.0,
            order_burst: 1.0,
        })
        .unwrap_err();
        assert_eq!(err.arg, "lot_size");
    }
}
