//! The risk manager's per-event evaluation: trading state (active / reducing / halted) and why,
//! from the book's soundness, its age and the feed's lag, toxicity, this symbol's PnL (kill
//! switch from the peak, session stop) and position; the state and limits go to the
//! [`PreTradeGate`] every order passes.
//!
//! One implementation for live, paper and backtest: `mmcore.risk.RiskManager` wraps it, and the
//! Rust engine step (`crate::engine`) calls it on every book event without Python.

mod reasons;

pub use reasons::{Reason, Reasons};

use crate::arg_error::{non_negative, positive, ArgError};
use crate::model::Rounding;
use crate::risk_gate::{PreTradeGate, TradingState};

/// What a kill-switch or session-loss trip does while a position is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillAction {
    /// Quote only the side that shrinks the position.
    ReduceOnly,
    /// Send a capped marketable order that shrinks it (see [`RiskManager::flatten_target`]).
    Flatten,
}

/// How the kill switch lifts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillResume {
    /// Only [`RiskManager::resume`].
    Manual,
    /// After `kill_switch_cooldown_s`, with the peak reset to the PnL then.
    Cooldown,
}

/// The limits and the halt/resume rules (`mmcore.risk.RiskConfig` documents each field).
#[derive(Clone, Debug, PartialEq)]
pub struct RiskConfig {
    pub max_position: f64,
    pub max_drawdown: f64,
    /// `max_session_loss`, or twice `max_drawdown` when it is not set.
    pub session_loss_limit: f64,
    pub kill_action: KillAction,
    pub flatten_max_qty: f64,
    pub flatten_max_bps: f64,
    pub reduce_at: f64,
    pub stale_book_s: f64,
    pub max_feed_lag_s: f64,
    pub toxic_widen: f64,
    pub toxic_pull: f64,
    pub toxic_widen_mult: f64,
    pub kill_switch_resume: KillResume,
    pub kill_switch_cooldown_s: f64,
    pub resume_delay_s: f64,
    pub lot_size: f64,
    pub tick_size: f64,
}

impl RiskConfig {
    /// Refuses a value out of range, naming the field.
    pub fn validate(&self) -> Result<(), ArgError> {
        positive(&[
            ("max_position", self.max_position),
            ("max_drawdown", self.max_drawdown),
            ("max_session_loss", self.session_loss_limit),
            ("reduce_at", self.reduce_at),
            ("stale_book_s", self.stale_book_s),
            ("max_feed_lag_s", self.max_feed_lag_s),
            ("toxic_widen_mult", self.toxic_widen_mult),
            ("lot_size", self.lot_size),
            ("tick_size", self.tick_size),
        ])?;
        non_negative(&[
            ("flatten_max_qty", self.flatten_max_qty),
            ("flatten_max_bps", self.flatten_max_bps),
            ("toxic_widen", self.toxic_widen),
            ("toxic_pull", self.toxic_pull),
            ("kill_switch_cooldown_s", self.kill_switch_cooldown_s),
            ("resume_delay_s", self.resume_delay_s),
        ])?;
        for (name, value) in [
            ("reduce_at", self.reduce_at),
            ("toxic_widen", self.toxic_widen),
            ("toxic_pull", self.toxic_pull),
        ] {
            if value > 1.0 {
                return Err(ArgError::new(name, format!("must be <= 1, got {value}")));
            }
        }
        Ok(())
    }
}

/// The inputs of one evaluation.
#[derive(Clone, Copy, Debug)]
pub struct RiskInputs {
    /// The book's VPIN (NaN: too little volume yet).
    pub vpin: f64,
    /// 1.0 when the book is synced.
    pub synced: f64,
    /// 1.0 when the book is crossed.
    pub crossed: f64,
    pub now: f64,
    /// How old the book's newest data is (s).
    pub book_age_s: f64,
    /// Signed position (base units).
    pub position: f64,
    /// This symbol's PnL (realized + unrealized - fees).
    pub pnl: f64,
    /// The exchange-to-local lag of the last book update (s).
    pub feed_lag_s: f64,
    /// False while the feed says the book is not safe to quote.
    pub feed_safe: bool,
    /// The advisors' overlay: position limit multiplier, toxicity, circuit breaker.
    pub limit_mult: f64,
    pub toxic_probability: f64,
    pub halt: bool,
}

/// The risk state of one symbol.
#[derive(Clone, Debug)]
pub struct RiskManager {
    cfg: RiskConfig,
    /// The state decided last and why it is not active.
    pub state: TradingState,
    pub reasons: Reasons,
    /// The last finite position and limit (base units).
    pub position: f64,
    pub limit: f64,
    /// The spread multiplier toxicity asks for (1 or `toxic_widen_mult`).
    pub spread_mult: f64,
    pub peak: Option<f64>,
    pub killed_at: Option<f64>,
    /// How far PnL is below its peak at the last evaluation.
    pub drawdown: f64,
    /// PnL when the session started (the first evaluation, or [`RiskManager::reset_session`]).
    pub session_start: Option<f64>,
    pub session_loss: f64,
    /// Latched: only [`RiskManager::reset_session`] lifts it.
    pub session_stopped: bool,
    /// True while a trip is acted on by flattening.
    pub flattening: bool,
    /// The last error the gate raised on a state update ("" if none).
    pub gate_error: String,
    disturbed: bool,
    calm_since: Option<f64>,
    /// External floors on the state, in the order set: `(source, floor, flatten)`.
    overrides: Vec<(String, TradingState, bool)>,
}

impl RiskManager {
    /// An active manager with nothing counted.
    pub fn new(cfg: RiskConfig) -> Result<Self, ArgError> {
        cfg.validate()?;
        Ok(RiskManager {
            limit: cfg.max_position,
            cfg,
            state: TradingState::Active,
            reasons: Reasons::default(),
            position: 0.0,
            spread_mult: 1.0,
            peak: None,
            killed_at: None,
            drawdown: 0.0,
            session_start: None,
            session_loss: 0.0,
            session_stopped: false,
            flattening: false,
            gate_error: String::new(),
            disturbed: false,
            calm_since: None,
            overrides: Vec::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RiskConfig {
        &self.cfg
    }

    /// Updates and returns the trading state ([`RiskManager::reasons`] says why it is not
    /// active) and hands it, the position and the limit to `gate`. A non-finite position,
    /// PnL or limit halts, and so does a gate that refuses its inputs (`gate_refused`).
    pub fn evaluate(&mut self, x: &RiskInputs, gate: &mut PreTradeGate) -> TradingState {
        let cfg = &self.cfg;
        let limit = cfg.max_position * x.limit_mult;
        self.reasons.clear();
        if !(x.position.is_finite() && x.pnl.is_finite() && limit.is_finite()) {
            // the books are broken: refuse everything, keep the last finite values
            self.disturb();
            self.flattening = false;
            for (bad, reason) in [
                (x.position, Reason::PositionNotFinite),
                (x.pnl, Reason::PnlNotFinite),
                (limit, Reason::LimitNotFinite),
            ] {
                if !bad.is_finite() {
                    self.reasons.push(reason);
                }
            }
            return self.set(TradingState::Halted, self.position, gate);
        }
        self.position = x.position;
        self.limit = limit;
        self.track_pnl(x.now, x.pnl);
        let cfg = &self.cfg;
        // the larger of VPIN and the advice (a NaN VPIN is too little volume: not toxic)
        let toxicity = if x.vpin > x.toxic_probability {
            x.vpin
        } else {
            x.toxic_probability
        };
        self.spread_mult = if toxicity >= cfg.toxic_widen {
            cfg.toxic_widen_mult
        } else {
            1.0
        };
        // trips first in the reasons, then what halts
        let killed = self.trip_drawdown(x.now, x.pnl);
        let trips = usize::from(killed) + usize::from(self.session_stopped);
        let cfg = &self.cfg;
        // causes that halt only while they last: a fresh synced book cures them
        let mut unsound = false;
        for (bad, reason) in [
            (!x.feed_safe, Reason::FeedUnsafe),
            (x.synced != 1.0, Reason::BookUnsynced),
            (x.crossed == 1.0, Reason::BookCrossed),
        ] {
            if bad {
                self.reasons.push(reason);
                unsound = true;
            }
        }
        // a book being rebuilt has no age: staleness counts only for a sound book
        let (age, lag) = if unsound {
            (0.0, 0.0)
        } else {
            (x.book_age_s, x.feed_lag_s)
        };
        // causes after which quoting resumes only after `resume_delay_s` of calm
        let mut calm = true;
        for (bad, reason) in [
            (age.is_nan() || age > cfg.stale_book_s, Reason::BookStale),
            (lag > cfg.max_feed_lag_s, Reason::FeedLag),
            (toxicity >= cfg.toxic_pull, Reason::ToxicFlow),
            (x.halt, Reason::CircuitBreaker),
        ] {
            if bad {
                self.reasons.push(reason);
                calm = false;
            }
        }
        if calm {
            if self.calm_for(x.now) {
                self.reasons.push(Reason::ResumeDelay);
            }
        } else {
            self.disturb();
        }
        let halts = self.reasons.len() > trips;
        let flat = x.position.abs() < 0.5 * self.cfg.lot_size;
        self.flattening =
            trips > 0 && !halts && !flat && self.cfg.kill_action == KillAction::Flatten;
        if halts || (trips > 0 && flat) {
            return self.set(TradingState::Halted, x.position, gate);
        }
        if trips > 0 {
            return self.set(TradingState::Reducing, x.position, gate);
        }
        if x.position.abs() >= self.cfg.reduce_at * self.limit {
            self.reasons.push(Reason::PositionLimit);
            return self.set(TradingState::Reducing, x.position, gate);
        }
        self.set(TradingState::Active, x.position, gate)
    }

    /// Hands the state, position and limit to the gate; a gate that refuses them (it halts
    /// itself until a valid set) halts with `gate_refused`, its error kept in `gate_error`.
    fn set(
        &mut self,
        mut state: TradingState,
        position: f64,
        gate: &mut PreTradeGate,
    ) -> TradingState {
        // external floors apply after the symbol's own decision
        for index in 0..self.overrides.len() {
            let (_, mut floor, flatten) = self.overrides[index];
            if flatten && state != TradingState::Halted {
                // a trip acted on by flattening
                let flat = position.abs() < 0.5 * self.cfg.lot_size;
                floor = if flat {
                    TradingState::Halted
                } else {
                    TradingState::Reducing
                };
                self.flattening = !flat;
            }
            if floor as u8 > state as u8 {
                state = floor;
            }
            if floor != TradingState::Active {
                self.reasons.push(Reason::Override(index));
            }
        }
        self.state = match gate.set(state, position, self.limit) {
            Ok(()) => state,
            Err(err) => {
                self.gate_error = format!("ValueError: {err}");
                self.disturb();
                self.flattening = false;
                self.reasons.push(Reason::GateRefused);
                TradingState::Halted
            }
        };
        self.state
    }

    /// Peak, drawdown and session loss of this symbol's PnL; trips the kill switch and the
    /// session stop.
    fn track_pnl(&mut self, now: f64, pnl: f64) {
        let peak = match self.peak {
            Some(peak) if pnl <= peak => peak,
            _ => pnl,
        };
        self.peak = Some(peak);
        self.drawdown = peak - pnl;
        if self.killed_at.is_none() && self.drawdown >= self.cfg.max_drawdown {
            self.killed_at = Some(now);
        }
        let start = *self.session_start.get_or_insert(pnl);
        self.session_loss = start - pnl;
        if self.session_loss >= self.cfg.session_loss_limit {
            self.session_stopped = true;
        }
    }

    /// Pushes the trips in force (`drawdown`, `session_loss`) and says whether the kill switch
    /// is; runs its cool-down resume.
    fn trip_drawdown(&mut self, now: f64, pnl: f64) -> bool {
        let mut killed = false;
        if let Some(at) = self.killed_at {
            let cfg = &self.cfg;
            if cfg.kill_switch_resume == KillResume::Cooldown
                && now - at >= cfg.kill_switch_cooldown_s
            {
                self.resume();
                self.peak = Some(pnl);
            } else {
                self.reasons.push(Reason::Drawdown);
                killed = true;
            }
        }
        if self.session_stopped {
            self.reasons.push(Reason::SessionLoss);
        }
        killed
    }

    fn disturb(&mut self) {
        self.disturbed = true;
        self.calm_since = None;
    }

    /// With no cause seen now: true while the calm since the last disturbance is shorter
    /// than `resume_delay_s` (`resume_delay` halts).
    fn calm_for(&mut self, now: f64) -> bool {
        if !self.disturbed {
            return false;
        }
        let since = *self.calm_since.get_or_insert(now);
        if now - since < self.cfg.resume_delay_s {
            return true;
        }
        self.disturbed = false;
        false
    }

    /// Manual resume after the kill switch: the peak restarts from the next PnL seen. Does
    /// not lift the session stop.
    pub fn resume(&mut self) {
        self.killed_at = None;
        self.peak = None;
    }

    /// Holds the state at `floor` or worse for `source` (an operator's halt, a portfolio-wide
    /// limit) until [`RiskManager::clear_override`]; `source` joins the reasons while it
    /// holds. `flatten` acts like a trip acted on by flattening whatever `kill_action` says:
    /// reducing (flattening) while a position is held, halted once flat. Applied at the next
    /// evaluation; setting a source again keeps its place in the order.
    pub fn set_override(&mut self, source: &str, floor: TradingState, flatten: bool) {
        match self.overrides.iter_mut().find(|(s, _, _)| s == source) {
            Some(entry) => *entry = (source.to_owned(), floor, flatten),
            None => self.overrides.push((source.to_owned(), floor, flatten)),
        }
    }

    /// Lifts the override of `source` (none: nothing changes).
    pub fn clear_override(&mut self, source: &str) {
        self.overrides.retain(|(s, _, _)| s != source);
    }

    /// The overrides in force: `(source, floor, flatten)`, in the order set.
    pub fn overrides(&self) -> &[(String, TradingState, bool)] {
        &self.overrides
    }

    /// The names of the reasons of the last evaluation (an override's is its source).
    pub fn reason_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.reasons.iter().map(|r| match r {
            Reason::Override(i) => self.overrides.get(i).map_or("override", |o| o.0.as_str()),
            other => other.name(),
        })
    }

    /// A new session: lifts the session stop; the loss counts from the next PnL seen.
    pub fn reset_session(&mut self) {
        self.session_stopped = false;
        self.session_start = None;
    }

    /// The capped marketable order that shrinks the position while flattening: `(side +1 buy
    /// / -1 sell, price_ticks, lots)`, or None when not flattening or the touch it must cross
    /// (`best_bid` to sell, `best_ask` to buy) is unknown. Its size is the gate's position in
    /// lots, at most `flatten_max_qty` (rounded down to whole lots); its price at most
    /// `flatten_max_bps` through the touch, in whole ticks.
    pub fn flatten_target(
        &self,
        best_bid: f64,
        best_ask: f64,
        gate: &PreTradeGate,
    ) -> Option<(i64, i64, i64)> {
        if !self.flattening {
            return None;
        }
        let cfg = &self.cfg;
        let mut qty = gate.position().abs();
        if cfg.flatten_max_qty > 0.0 {
            let cap = gate
                .lot()
                .lots("flatten_max_qty", cfg.flatten_max_qty, Rounding::Down);
            qty = qty.min(cap.map_or(0, |cap| cap.lots()));
        }
        let cap = cfg.flatten_max_bps * 1e-4;
        if self.position > 0.0 {
            if best_bid.is_nan() || best_bid <= 0.0 {
                return None; // NaN or an empty side: nothing to price against
            }
            let ticks = round6(best_bid * (1.0 - cap) / cfg.tick_size).ceil();
            return Some((-1, ticks as i64, qty));
        }
        if best_ask.is_nan() || best_ask <= 0.0 {
            return None;
        }
        let ticks = round6(best_ask * (1.0 + cap) / cfg.tick_size).floor();
        Some((1, ticks as i64, qty))
    }
}

/// `x` rounded to 6 decimals, so a price a float hair off a tick is that tick before the
/// ceil/floor.
fn round6(x: f64) -> f64 {
    (x * 1e6).round_ties_even() / 1e6
}

#[cfg(test)]
mod tests;
