//! The engine step of one symbol, without Python: per book event, features → quote model →
//! risk evaluation → pre-trade gate → order desk diff → paper venue → fills → portfolio; per
//! market trade, calibration input and venue matching.
//!
//! One implementation for live, paper and backtest: `mmcore.engine.Engine` calls
//! [`Engine::step`] once per event (live venues get the desk's actions routed by Python), and
//! a backtest drives many events per call ([`Engine::on_book`], [`Engine::on_trade`] in a
//! loop, see `rust/python/engine.rs`).

pub mod fair;

use crate::arg_error::ArgError;
use crate::book::Side as BookSide;
use crate::model::{Price, Rounding};
use crate::orders::desk::{Action, Desk, Target};
use crate::orders::{Order, Qty, Side};
use crate::paper::{Event, MarketTime, PaperSim};
use crate::portfolio::Position;
use crate::quote::{self, Decision, Inputs, Status};
use crate::risk::{RiskInputs, RiskManager};
use crate::risk_gate::{PreTradeGate, TradingState};
use crate::symbol_book::SymbolBook;

use fair::{fair_price, ladder, FlowSignal};

// Columns of a `FeatureRow` the step reads (checked against `FEATURE_NAMES` in the tests).
const BEST_BID: usize = 0;
const BEST_ASK: usize = 1;
const MID: usize = 4;
const MICROPRICE: usize = 7;
const IMBALANCE: usize = 8;
const OFI_TOTAL: usize = 14;
const VPIN: usize = 18;
const CROSSED: usize = 20;
const SYNCED: usize = 21;
const EVENT_TIME_MS: usize = 22;

/// How the engine reads the book and builds quotes (the `QuoteConfig` and engine settings
/// that live outside the quote model).
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Book levels the features read.
    pub depth: usize,
    /// Book levels a simulated venue sees.
    pub sim_levels: usize,
    pub tick_size: f64,
    /// Quotes per side, `spacing` ticks apart.
    pub levels: usize,
    pub spacing: i64,
    pub microprice_weight: f64,
    /// `(flow_alpha_bps, flow_halflife_s)`; None: no order-flow signal.
    pub flow: Option<(f64, f64)>,
    /// Fair value shift in bps per unit of the advice's lean.
    pub lean_bps: f64,
    /// `now + offset` is Unix time: the book's age is measured from its event time. None
    /// (simulated time): since the last book update.
    pub wall_clock_offset_s: Option<f64>,
    /// How the paper venue dates market events. Some(`c`): by the event time of the frame the
    /// book applied last, on our clock: `event time - wall_clock_offset_s - c`, `c` being how
    /// far the exchange's clock runs ahead of ours (a backtest measures it from the data). None
    /// (or no event time, or no wall clock): the venue's own rule, its `feed_latency_s`.
    pub exchange_clock_offset_s: Option<f64>,
}

/// The advisors' overlay (`mmcore.strategy.Overlay`), updated by Python on its own clock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Overlay {
    pub spread_mult: f64,
    pub size_mult: f64,
    pub limit_mult: f64,
    pub toxic_probability: f64,
    pub halt: bool,
    pub lean: f64,
}

/// No advice.
pub const NEUTRAL: Overlay = Overlay {
    spread_mult: 1.0,
    size_mult: 1.0,
    limit_mult: 1.0,
    toxic_probability: 0.0,
    halt: false,
    lean: 0.0,
};

/// The components one step works on, borrowed for it.
pub struct Parts<'a> {
    pub book: &'a mut SymbolBook,
    pub quoter: &'a mut quote::Quoter,
    pub desk: &'a mut Desk,
    /// The desk's actions not yet sent (routed to `sim` at once when `route` is true).
    pub actions: &'a mut Vec<Action>,
    pub gate: &'a mut PreTradeGate,
    pub risk: &'a mut RiskManager,
    pub position: &'a mut Position,
    /// The paper venue, the desk's client id prefix there and the symbol.
    pub sim: Option<(&'a mut PaperSim, u32, &'a str)>,
    /// Send the desk's actions to `sim` within the step (a backtest); false: the caller routes
    /// them (a live venue, or a journal to tell).
    pub route: bool,
}

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    /// After shutdown: nothing is quoted.
    Stopped,
    /// Halted (every working order cancelled when it just became so).
    Halted { cancelled: bool },
    /// A kill-switch trip acted on by a capped marketable order (left in the actions for the
    /// caller to send as a plain limit order).
    Flatten,
    /// Quotes decided (status quoting or why not) and the desk diffed towards them.
    Quoted(Decision),
}

/// Where [`Engine::assess`] left the step.
#[derive(Clone, Debug, PartialEq)]
pub enum Assessed {
    /// Nothing to quote (stopped, halted, flattening).
    Done(Outcome),
    /// Quote now: the features read and the trading state (active or reducing).
    Quote(crate::features::FeatureRow, TradingState),
}

/// A fill applied to the position: the venue's fill and the position's mark then.
#[derive(Clone, Debug, PartialEq)]
pub struct FillRecord {
    pub event: Event,
    /// Fill price and signed size (base units).
    pub price: f64,
    pub signed_qty: f64,
    /// The mid the position was marked to, and when the fill was applied.
    pub mark: f64,
    pub now: f64,
}

/// The engine's own state between events.
#[derive(Clone, Debug)]
pub struct Engine {
    cfg: EngineConfig,
    pub overlay: Overlay,
    flow: Option<FlowSignal>,
    /// The last order-flow signal (0 while the signal is off).
    pub flow_signal: f64,
    last_book: Option<f64>,
    /// False while the feed says the book cannot be trusted.
    pub feed_safe: bool,
    lag: f64,
    /// After shutdown: events are still processed, nothing is quoted.
    pub stopped: bool,
    /// True when the last step saw a crossed book (the caller may ask the feed to resync).
    pub crossed: bool,
    /// Fills applied to the position.
    pub fills: u64,
    bids: Vec<Target>,
    asks: Vec<Target>,
    side: Vec<Target>,
    /// The fills taken from the venue, before they are applied (kept for its capacity).
    taken: Vec<Event>,
}

impl Engine {
    /// An engine that has seen no book.
    pub fn new(cfg: EngineConfig) -> Result<Self, ArgError> {
        crate::arg_error::positive(&[
            ("tick_size", cfg.tick_size),
            (
                "microprice_weight",
                cfg.microprice_weight.max(f64::MIN_POSITIVE),
            ),
        ])?;
        let flow = cfg.flow.map(|(_, halflife)| FlowSignal::new(halflife));
        Ok(Engine {
            cfg,
            overlay: NEUTRAL,
            flow,
            flow_signal: 0.0,
            last_book: None,
            feed_safe: true,
            lag: 0.0,
            stopped: false,
            crossed: false,
            fills: 0,
            bids: Vec::new(),
            asks: Vec::new(),
            side: Vec::new(),
            taken: Vec::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// Sets `wall_clock_offset_s` (the caller learns it after the engine is built).
    pub fn set_wall_clock_offset(&mut self, offset: Option<f64>) {
        self.cfg.wall_clock_offset_s = offset;
    }

    /// Sets `exchange_clock_offset_s` (how the paper venue dates market events).
    pub fn set_exchange_clock_offset(&mut self, offset: Option<f64>) {
        self.cfg.exchange_clock_offset_s = offset;
    }

    /// The book just changed (applied from a safe feed) on a simulated venue: the venue sees
    /// it, its responses that have arrived are taken (`fill` gets each fill applied), then
    /// the step quotes.
    pub fn on_book(
        &mut self,
        p: &mut Parts<'_>,
        now: f64,
        fill: &mut impl FnMut(FillRecord),
    ) -> Result<Outcome, ArgError> {
        self.show_book(p, now)?;
        self.take(p, now, fill)?;
        self.last_book = Some(now);
        self.feed_safe = true;
        self.step(p, now, true)
    }

    /// A simulated venue sees the book we see at `now` (dated by [`Engine::market_time`]);
    /// nothing without one.
    pub fn show_book(&self, p: &mut Parts<'_>, now: f64) -> Result<(), ArgError> {
        let at = self.market_time(p.book, now);
        if let Some((sim, _, _)) = p.sim.as_mut() {
            let book = p.book.book();
            let levels = self.cfg.sim_levels;
            // the book's integers, converted exactly: no float round trip per level
            sim.on_book_scaled(
                book.scaled_levels(BookSide::Bid, levels),
                book.scaled_levels(BookSide::Ask, levels),
                book.price_scale,
                book.qty_scale,
                at,
            )?;
        }
        Ok(())
    }

    /// A market trade: calibration input and, on a simulated venue, possible fills (applied).
    pub fn on_trade(
        &mut self,
        p: &mut Parts<'_>,
        price_ticks: i64,
        qty: f64,
        buyer_aggressor: bool,
        now: f64,
        fill: &mut impl FnMut(FillRecord),
    ) -> Result<(), ArgError> {
        let tick = self.cfg.tick_size;
        // the price in quote units and back, as a live feed's trade reaches the calibration
        p.quoter.on_trade(price_ticks as f64 * tick * (1.0 / tick));
        self.show_trade(p, price_ticks, qty, buyer_aggressor, now)?;
        self.take(p, now, fill)
    }

    /// A simulated venue sees the market trade we see at `now` (dated by
    /// [`Engine::market_time`]: the book's event time is the trade frame's); nothing without
    /// one.
    pub fn show_trade(
        &self,
        p: &mut Parts<'_>,
        price_ticks: i64,
        qty: f64,
        buyer_aggressor: bool,
        now: f64,
    ) -> Result<(), ArgError> {
        let at = self.market_time(p.book, now);
        if let Some((sim, _, _)) = p.sim.as_mut() {
            let qty = sim.lot().lots("qty", qty, Rounding::Down)?;
            sim.on_trade(Price(price_ticks), qty, buyer_aggressor, at)?;
        }
        Ok(())
    }

    /// When the market event the book applied last happened at the venue, on our clock (see
    /// `EngineConfig::exchange_clock_offset_s`), as the paper venue takes it.
    #[inline]
    pub fn market_time(&self, book: &SymbolBook, now: f64) -> MarketTime {
        let venue = match (
            self.cfg.exchange_clock_offset_s,
            self.cfg.wall_clock_offset_s,
            book.event_time_ms(),
        ) {
            (Some(skew), Some(wall), Some(ms)) => Some(ms as f64 * 1e-3 - wall - skew),
            _ => None,
        };
        MarketTime { now, venue }
    }

    /// Applies the simulated venue's responses due by `now`; each new fill goes to the
    /// position and then to `fill`.
    pub fn take(
        &mut self,
        p: &mut Parts<'_>,
        now: f64,
        fill: &mut impl FnMut(FillRecord),
    ) -> Result<(), ArgError> {
        let Some((sim, prefix, _)) = p.sim.as_mut() else {
            return Ok(());
        };
        // the fills are collected first (the desk holds the venue while it takes), into a
        // buffer kept for its capacity
        let mut fills = std::mem::take(&mut self.taken);
        p.desk.take_from_paper(
            sim,
            *prefix,
            now,
            |event: &Event, new, _: Option<&Order>| {
                if new && event.fill_fields().is_some() {
                    fills.push(event.clone());
                }
            },
        );
        let lot = *sim.lot();
        let mut applied = Ok(());
        for event in fills.drain(..) {
            let Some((_, _, _, side, price_ticks, qty, fee, _)) = event.fill_fields() else {
                continue;
            };
            let price = price_ticks.ticks() as f64 * self.cfg.tick_size;
            let units = lot.units(qty);
            let signed_qty = if side > 0 { units } else { -units };
            if let Err(err) = p.position.apply_fill(signed_qty, price, fee) {
                applied = Err(err);
                break;
            }
            self.fills += 1;
            fill(FillRecord {
                event,
                price,
                signed_qty,
                mark: p.position.mark,
                now,
            });
        }
        fills.clear();
        self.taken = fills;
        applied
    }

    /// The feed cannot be trusted (resyncing, stale, disconnected): halt until a book from a
    /// safe feed comes.
    pub fn feed_unsafe(&mut self, p: &mut Parts<'_>, now: f64) -> Result<Outcome, ArgError> {
        self.feed_safe = false;
        self.step(p, now, false)
    }

    /// The reaction to the book (or a timer, `received` false): features, mark, risk, and
    /// then cancel everything (halted), flatten, or quote and diff the desk towards the
    /// quotes (only the reducing side while reducing).
    pub fn step(
        &mut self,
        p: &mut Parts<'_>,
        now: f64,
        received: bool,
    ) -> Result<Outcome, ArgError> {
        let (f, state) = match self.assess(p, now, received)? {
            Assessed::Done(outcome) => return Ok(outcome),
            Assessed::Quote(f, state) => (f, state),
        };
        let position = p.position.qty();
        let decision = self.decide(p, &f, position, now)?;
        self.bids.clear();
        self.asks.clear();
        if decision.status == Status::Quoting {
            let (levels, spacing) = (self.cfg.levels, self.cfg.spacing);
            // while reducing, only the side that shrinks the position
            let reducing = state == TradingState::Reducing;
            if decision.bid_qty.is_positive() && !(reducing && position > 0.0) {
                let qty = decision.bid_qty;
                ladder(
                    decision.bid.ticks(),
                    qty,
                    -1,
                    levels,
                    spacing,
                    &mut self.side,
                );
                self.bids.extend_from_slice(&self.side);
            }
            if decision.ask_qty.is_positive() && !(reducing && position < 0.0) {
                let qty = decision.ask_qty;
                ladder(
                    decision.ask.ticks(),
                    qty,
                    1,
                    levels,
                    spacing,
                    &mut self.side,
                );
                self.asks.extend_from_slice(&self.side);
            }
        }
        self.diff(p, decision.fair, now)?;
        self.send(p, now)?;
        Ok(Outcome::Quoted(decision))
    }

    /// The step up to the quote decision: features, mark, risk; halted (every working order
    /// cancelled when it just became so) and flattening end here. Otherwise the features
    /// and the state to quote in.
    pub fn assess(
        &mut self,
        p: &mut Parts<'_>,
        now: f64,
        received: bool,
    ) -> Result<Assessed, ArgError> {
        if self.stopped {
            return Ok(Assessed::Done(Outcome::Stopped));
        }
        let f = p.book.features(self.cfg.depth, None);
        let mid = f[MID];
        p.position.mark(mid)?;
        let before = p.risk.state;
        let age = self.book_age(now, f[EVENT_TIME_MS]);
        if received {
            self.lag = age;
        }
        let o = self.overlay;
        let inputs = RiskInputs {
            vpin: f[VPIN],
            synced: f[SYNCED],
            crossed: f[CROSSED],
            now,
            book_age_s: age,
            position: p.position.qty(),
            pnl: p.position.net(),
            feed_lag_s: self.lag,
            feed_safe: self.feed_safe,
            limit_mult: o.limit_mult,
            toxic_probability: o.toxic_probability,
            halt: o.halt,
        };
        let state = p.risk.evaluate(&inputs, p.gate);
        self.crossed = inputs.crossed == 1.0;
        if state == TradingState::Halted {
            let cancelled = before != TradingState::Halted;
            if cancelled {
                p.desk.cancel_all(now, p.actions);
                self.send(p, now)?;
            }
            return Ok(Assessed::Done(Outcome::Halted { cancelled }));
        }
        if p.risk.flattening {
            // a capped marketable order, no quotes (none when the touch is unknown)
            self.bids.clear();
            self.asks.clear();
            let target = p.risk.flatten_target(f[BEST_BID], f[BEST_ASK], p.gate);
            if let Some((side, price, lots)) = target {
                let target = if side > 0 {
                    &mut self.bids
                } else {
                    &mut self.asks
                };
                target.push((Price(price), Qty(lots)));
            }
            self.diff(p, mid / self.cfg.tick_size, now)?;
            // a plain limit order that may take liquidity: the caller sends it
            return Ok(Assessed::Done(Outcome::Flatten));
        }
        Ok(Assessed::Quote(f, state))
    }

    /// The slow path's end (a strategy written in Python decided after [`Engine::assess`]):
    /// diffs the desk towards `bids` / `asks` (best first), only the side that shrinks the
    /// position while reducing, and sends the orders when routing here.
    pub fn submit(
        &mut self,
        p: &mut Parts<'_>,
        bids: &[Target],
        asks: &[Target],
        fair_ticks: f64,
        now: f64,
    ) -> Result<(), ArgError> {
        let position = p.position.qty();
        let reducing = p.risk.state == TradingState::Reducing;
        self.bids.clear();
        self.asks.clear();
        if !(reducing && position > 0.0) {
            self.bids.extend_from_slice(bids);
        }
        if !(reducing && position < 0.0) {
            self.asks.extend_from_slice(asks);
        }
        self.diff(p, fair_ticks, now)?;
        self.send(p, now)
    }

    /// The quote model's decision on the fair value the flow signal and the advice move.
    fn decide(
        &mut self,
        p: &mut Parts<'_>,
        f: &crate::features::FeatureRow,
        position: f64,
        now: f64,
    ) -> Result<Decision, ArgError> {
        let (mid, microprice) = (f[MID], f[MICROPRICE]);
        let o = self.overlay;
        let mut shift_bps = o.lean * self.cfg.lean_bps;
        if let (Some(flow), Some((alpha, _))) = (self.flow.as_mut(), self.cfg.flow) {
            self.flow_signal = flow.update(f[OFI_TOTAL], now);
            shift_bps += alpha * self.flow_signal;
        }
        let microprice = fair_price(mid, microprice, self.cfg.microprice_weight, shift_bps)
            .unwrap_or(microprice);
        let spread_mult = o.spread_mult * p.risk.spread_mult;
        p.quoter.decide(&Inputs {
            best_bid: f[BEST_BID],
            best_ask: f[BEST_ASK],
            mid,
            microprice,
            imbalance: f[IMBALANCE],
            position,
            now,
            spread_mult,
            size_mult: o.size_mult,
            limit_mult: o.limit_mult,
            halt: o.halt,
        })
    }

    /// Diffs the desk towards `self.bids` / `self.asks`, the pre-trade gate vetting each new
    /// order (the side that reduces the position first).
    fn diff(&mut self, p: &mut Parts<'_>, fair_ticks: f64, now: f64) -> Result<(), ArgError> {
        let gate = &mut *p.gate;
        let lead = p.desk.lead_side(gate.position());
        let mut allow = |side: Side, price: Price, qty: Qty, working: Qty, now: f64| {
            Ok::<Qty, ArgError>(gate.allow(side, price, qty, working, now))
        };
        p.desk.reconcile(
            &self.bids, &self.asks, fair_ticks, now, lead, &mut allow, p.actions,
        )
    }

    /// Sends the desk's pending actions to the paper venue (when routing here).
    fn send(&mut self, p: &mut Parts<'_>, now: f64) -> Result<(), ArgError> {
        if !p.route {
            return Ok(());
        }
        let Some((sim, prefix, symbol)) = p.sim.as_mut() else {
            return Ok(());
        };
        let sent = p.desk.send_to_paper(sim, symbol, *prefix, p.actions, now);
        p.actions.clear();
        sent
    }

    /// How old the book's newest data is: on the exchange's clock when the wall clock and the
    /// event time are known, and never less than the time since the last book update.
    fn book_age(&self, now: f64, event_time_ms: f64) -> f64 {
        let Some(last) = self.last_book else {
            return f64::INFINITY;
        };
        let mut age = now - last;
        if let Some(offset) = self.cfg.wall_clock_offset_s {
            if !event_time_ms.is_nan() {
                age = age.max(now + offset - event_time_ms * 1e-3);
            }
        }
        age
    }

    /// The targets the last quoting step sent to the desk: `(bids, asks)`, best first.
    pub fn targets(&self) -> (&[Target], &[Target]) {
        (&self.bids, &self.asks)
    }

    /// A book from a safe feed arrived at `now` (the per-event caller's `quote`).
    pub fn book_received(&mut self, now: f64) {
        self.last_book = Some(now);
        self.feed_safe = true;
    }
}

#[cfg(test)]
mod tests;
