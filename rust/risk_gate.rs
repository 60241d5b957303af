//! The pre-trade gate every new order passes: the trading state, position and notional limits
//! that count working orders, lot rounding and an order-rate token bucket.
//!
//! The risk manager (Python, `mmcore.risk`) decides the state and the limits on each book
//! update and sets them here; the order desk asks the gate about each order it is about to
//! send, without a round trip through Python. Sizes are whole lots ([`Qty`]).
//!
//! The gate fails closed: a position or limit that is not finite (or a negative limit) is
//! refused by [`PreTradeGate::set`], which then halts the gate until a valid `set`; an order
//! passes only when the room left under every limit is a positive number of lots.

use crate::arg_error::{positive, ArgError};
use crate::model::{LotSize, Price, Qty, Rounding, Side};

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
    lot: LotSize,
    state: TradingState,
    /// Signed position and position limit, in lots.
    position: i64,
    limit: i64,
    tokens: f64,
    last: Option<f64>,
    /// No new order before this time: the venue refuses new orders until then (its own rate
    /// window or back-off), so asking would only spend client ids and journal rows.
    paused_until: f64,
    /// Orders refused because the order rate was exhausted.
    pub rate_limited: u64,
    /// Orders refused while paused by [`PreTradeGate::pause_new_orders`].
    pub paused: u64,
    /// Inputs refused (not finite, negative): `set` halts on them, `allow` refuses the order.
    pub refused: u64,
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
            lot: LotSize::new(cfg.lot_size)?,
            tokens: cfg.order_burst,
            cfg,
            state: TradingState::Active,
            position: 0,
            limit: 0,
            last: None,
            paused_until: f64::NEG_INFINITY,
            rate_limited: 0,
            paused: 0,
            refused: 0,
        })
    }

    /// The instrument's lot.
    pub fn lot(&self) -> &LotSize {
        &self.lot
    }

    /// The trading state decided last.
    pub fn state(&self) -> TradingState {
        self.state
    }

    /// The signed position in lots.
    pub fn position(&self) -> i64 {
        self.position
    }

    /// The trading state, signed position and position limit (base units) the risk manager
    /// decided. A position that is not finite, or a limit that is not finite and >= 0, is
    /// refused naming it: the gate is then halted (nothing passes) until a valid `set`.
    pub fn set(&mut self, state: TradingState, position: f64, limit: f64) -> Result<(), ArgError> {
        let checked = self
            .signed_lots("position", position)
            .and_then(|position| Ok((position, self.lot.lots("limit", limit, Rounding::Down)?)));
        match checked {
            Ok((position, limit)) => {
                self.state = state;
                self.position = position;
                self.limit = limit.lots();
                Ok(())
            }
            Err(err) => {
                self.state = TradingState::Halted;
                self.refused += 1;
                Err(err)
            }
        }
    }

    /// No new order passes before `until` (the clock of `allow`'s `now`): the venue said it
    /// refuses new orders until then. Cancels are not the gate's business and go on. A later
    /// pause extends an earlier one, never shortens it; a `until` that is not finite is
    /// refused (counted in `refused`, nothing changes).
    pub fn pause_new_orders(&mut self, until: f64) -> Result<(), ArgError> {
        crate::arg_error::finite(&[("until", until)]).inspect_err(|_| self.refused += 1)?;
        self.paused_until = self.paused_until.max(until);
        Ok(())
    }

    fn signed_lots(&self, arg: &'static str, units: f64) -> Result<i64, ArgError> {
        let lots = self.lot.lots(arg, units.abs(), Rounding::Nearest)?.lots();
        Ok(if units < 0.0 { -lots } else { lots })
    }

    /// The size of a new order that the limits allow (zero refuses it).
    ///
    /// `working` is the open size of the orders already on `side`: position plus working plus
    /// the new order must stay within the position and notional limits. Halted: nothing;
    /// reducing: only orders that shrink the position, up to it. No order at a price of zero
    /// or below; none while paused ([`PreTradeGate::pause_new_orders`]). Each order that
    /// passes takes a token; one refused takes none.
    pub fn allow(&mut self, side: Side, price: Price, qty: Qty, working: Qty, now: f64) -> Qty {
        if self.state == TradingState::Halted || !price.is_positive() || now.is_nan() {
            return Qty::ZERO;
        }
        if now < self.paused_until {
            self.paused += 1;
            return Qty::ZERO;
        }
        let pos = self.position;
        let s = side.sign();
        let mut room = qty.lots().min(self.limit - s * pos - working.lots());
        if self.state == TradingState::Reducing {
            if s * pos >= 0 {
                return Qty::ZERO;
            }
            room = room.min(pos.abs() - working.lots());
        }
        let notional_lots =
            self.cfg.max_notional / (price.ticks() as f64 * self.cfg.tick_size * self.lot.size());
        // floor, in lots; beyond i64 it is no limit at all (the position limit still is)
        let notional_lots = if notional_lots < 9.0e18 {
            notional_lots.floor() as i64
        } else {
            i64::MAX / 4
        };
        room = room.min(notional_lots - s * pos - working.lots());
        if room <= 0 {
            return Qty::ZERO;
        }
        if !self.try_take(now) {
            self.rate_limited += 1;
            return Qty::ZERO;
        }
        Qty(room)
    }

    /// Takes one token at `now` if there is one (tokens come back at `max_orders_per_s`, up to
    /// `order_burst`; time going backwards adds none).
    fn try_take(&mut self, now: f64) -> bool {
        match self.last {
            Some(last) if now > last => {
                let refill = self.tokens + (now - last) * self.cfg.max_orders_per_s;
                self.tokens = refill.min(self.cfg.order_burst);
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

    const L: i64 = 1000; // lots per unit

    fn allow(g: &mut PreTradeGate, side: Side, qty: i64, working: i64) -> i64 {
        g.allow(side, Price(10_000), Qty(qty), Qty(working), 0.0)
            .lots()
    }

    #[test]
    fn limits_count_position_and_working_orders() {
        let mut g = gate(1e9, 100.0, 100.0);
        g.set(TradingState::Active, 0.3, 1.0).unwrap();
        assert_eq!(allow(&mut g, Side::Buy, L, L / 2), 200);
        assert_eq!(allow(&mut g, Side::Buy, L, 700), 0);
        assert_eq!(allow(&mut g, Side::Buy, L, 699), 1);
        assert_eq!(allow(&mut g, Side::Sell, L, L / 2), 800);
        let mut g = gate(1000.0, 100.0, 100.0); // 10 units at 100.00
        g.set(TradingState::Active, 2.0, 100.0).unwrap();
        assert_eq!(allow(&mut g, Side::Buy, 10 * L, 5 * L), 3 * L);
        assert_eq!(allow(&mut g, Side::Sell, 30 * L, 0), 12 * L);
    }

    #[test]
    fn states_and_prices() {
        let mut g = gate(1e9, 100.0, 100.0);
        g.set(TradingState::Reducing, 0.85, 1.0).unwrap();
        assert_eq!(allow(&mut g, Side::Buy, 100, 0), 0);
        assert_eq!(allow(&mut g, Side::Sell, 2 * L, 0), 850);
        assert_eq!(allow(&mut g, Side::Sell, 2 * L, 850), 0);
        g.set(TradingState::Reducing, -0.5, 1.0).unwrap();
        assert_eq!(allow(&mut g, Side::Sell, 100, 0), 0);
        assert_eq!(allow(&mut g, Side::Buy, 2 * L, 100), 400);
        g.set(TradingState::Reducing, 0.0, 1.0).unwrap();
        assert_eq!(allow(&mut g, Side::Buy, 100, 0), 0);
        assert_eq!(allow(&mut g, Side::Sell, 100, 0), 0);
        g.set(TradingState::Halted, 0.0, 1.0).unwrap();
        assert_eq!(allow(&mut g, Side::Sell, 100, 0), 0);
        g.set(TradingState::Active, 0.0, 1.0).unwrap();
        assert_eq!(g.allow(Side::Buy, Price(0), Qty(100), Qty(0), 0.0), Qty(0));
        assert_eq!(
            g.allow(Side::Buy, Price(10_000), Qty(100), Qty(0), f64::NAN),
            Qty(0)
        );
        assert_eq!(
            g.allow(Side::Buy, Price(10_000), Qty(0), Qty(0), 0.0),
            Qty(0)
        );
        assert_eq!(g.rate_limited, 0);
    }

    #[test]
    fn a_bad_position_or_limit_halts_until_a_valid_set() {
        for (position, limit, arg) in [
            (f64::NAN, 1.0, "position"),
            (f64::INFINITY, 1.0, "position"),
            (f64::NEG_INFINITY, 1.0, "position"),
            (0.0, f64::NAN, "limit"),
            (0.0, f64::INFINITY, "limit"),
            (0.0, -1.0, "limit"),
        ] {
            for state in [TradingState::Active, TradingState::Reducing] {
                let mut g = gate(1e9, 100.0, 100.0);
                g.set(TradingState::Active, 0.5, 1.0).unwrap();
                assert_eq!(g.set(state, position, limit).unwrap_err().arg, arg);
                assert_eq!(g.state(), TradingState::Halted);
                assert_eq!(g.position(), 500); // the last valid position is kept
                assert_eq!(allow(&mut g, Side::Buy, 100, 0), 0);
                assert_eq!(allow(&mut g, Side::Sell, 100, 0), 0);
                assert_eq!(g.refused, 1);
            }
        }
    }

    /// Lots granted to a 10-lot buy at 100.00 asked at each time of `clock`.
    fn buys_at(g: &mut PreTradeGate, clock: &[f64]) -> Vec<i64> {
        clock
            .iter()
            .map(|&now| {
                g.allow(Side::Buy, Price(10_000), Qty(10), Qty(0), now)
                    .lots()
            })
            .collect()
    }

    #[test]
    fn a_pause_refuses_new_orders_until_it_ends_and_takes_no_token() {
        let mut g = gate(1e9, 1.0, 1.0);
        g.set(TradingState::Active, 0.0, 1.0).unwrap();
        g.pause_new_orders(10.0).unwrap();
        g.pause_new_orders(5.0).unwrap(); // an earlier end does not shorten it
        assert_eq!(buys_at(&mut g, &[0.0, 9.99]), [0, 0]);
        assert_eq!((g.paused, g.rate_limited), (2, 0));
        // the one token of the bucket was kept for the first order after the pause
        assert_eq!(buys_at(&mut g, &[10.0, 10.0]), [10, 0]);
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(g.pause_new_orders(bad).unwrap_err().arg, "until");
        }
        assert_eq!(g.refused, 3);
        assert_eq!(buys_at(&mut g, &[12.0]), [10]); // a refused pause changed nothing
    }

    #[test]
    fn the_order_rate_is_a_token_bucket() {
        let mut g = gate(1e9, 2.0, 3.0);
        g.set(TradingState::Active, 0.0, 1.0).unwrap();
        let got: Vec<bool> = (0..5)
            .map(|_| allow(&mut g, Side::Buy, 10, 0) > 0)
            .collect();
        assert_eq!(got, [true, true, true, false, false]);
        assert_eq!(g.rate_limited, 2);
        // time going back gives nothing; 0.5 s gives one token; 100 s fill up to the burst only
        assert_eq!(
            buys_at(&mut g, &[-1.0, 0.5, 0.5, 100.0, 100.0, 100.0, 100.0]),
            [0, 10, 0, 10, 10, 10, 0]
        );
    }

    #[test]
    fn the_bucket_refills_from_the_last_take_at_any_clock() {
        let mut g = gate(1e9, 2.0, 3.0);
        g.set(TradingState::Active, 0.0, 1.0).unwrap();
        // three at 10 s, then 0.5 s later one more
        assert_eq!(
            buys_at(&mut g, &[10.0, 10.0, 10.0, 10.0, 10.5, 10.5]),
            [10, 10, 10, 0, 10, 0]
        );
        // time going back neither adds nor takes tokens
        let mut g = gate(1e9, 2.0, 3.0);
        g.set(TradingState::Active, 0.0, 1.0).unwrap();
        assert_eq!(buys_at(&mut g, &[5.0, 4.0, 4.0, 4.0]), [10, 10, 10, 0]);
    }

    #[test]
    fn a_notional_limit_beyond_i64_lots_is_no_limit() {
        let mut g = gate(1e300, 100.0, 100.0);
        g.set(TradingState::Active, 0.0, 1e9).unwrap();
        assert_eq!(allow(&mut g, Side::Buy, 1_000_000, 0), 1_000_000);
    }

    #[test]
    fn state_codes_round_trip() {
        for state in [
            TradingState::Active,
            TradingState::Reducing,
            TradingState::Halted,
        ] {
            assert_eq!(TradingState::from_code(state as u8), Some(state));
        }
        assert_eq!(TradingState::from_code(3), None);
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
