//! Paper venue simulation: latency-delayed order entry and cancels, post-only rejects, taker
//! fills against the visible book view, a queue-position fill model and fees.
//!
//! On arrival the venue refuses, as exchanges do, an order whose client id is already resting
//! ([`DUPLICATE_CLIENT_ID`]; the resting order is untouched), an order for a symbol that already
//! has [`PaperConfig::max_open_orders`] resting ([`TOO_MANY_OPEN_ORDERS`]) and a post-only
//! order that would take liquidity ([`POST_ONLY_REJECT`]). A marketable order takes only real
//! liquidity (visible levels with size > 0), so no fill is ever of size 0.
//!
//! A resting order fills only when a market trade reaches it: a trade at our price first eats
//! the queue ahead of us, a trade through our price fills us (up to the trade's size). One
//! trade's size is shared by our orders best price first, so the same liquidity never fills
//! twice. On arrival an order joins the back of its level; the conservative model advances it
//! only on trades at its price (and caps the queue ahead at the level's visible size), the
//! probabilistic model also credits part of each unexplained size decrease as cancels ahead of
//! us with probability `ahead^n / (ahead^n + behind^n)`.
//!
//! Latency is simulated time: orders and cancels reach the venue after their latency, every
//! response reaches us after the response latency; each latency may get a seeded random extra
//! (`latency_jitter_s`), so the run stays deterministic. The market data we see lags the venue
//! (the exchange-to-local delay, as in hftbacktest): a book or trade we pass at local time
//! `now` happened at an earlier venue time ([`MarketTime`]), which the caller gives when it
//! knows it (a backtest: the event's exchange time on our clock); otherwise the event lags as
//! much as the last one did (`feed_latency_s` before the first), so a constant
//! `feed_latency_s` means venue time `now - feed_latency_s` for every event. An order sent at
//! `t` meets the market as it was at venue time `t + entry latency`, which we see only later.
//! The venue processes what arrived only up to the venue time its market data reaches (a poll
//! at `now` assumes the last event's lag), so a response can reach us later than its latency
//! alone says (never earlier). The venue's clock never runs back: an event dated before what
//! the venue already processed (its delay grew by more than the time since the last event) is
//! dated at the venue's clock, after it, and no event is dated after we see it.
//!
//! Sizes are whole lots ([`Qty`], `lot_size` base units each). A visible size that is not a
//! whole number of lots counts, rounded down, as liquidity a marketable order can take, and,
//! rounded up, as the queue ahead of an order joining its level: neither flatters us. A trade
//! size rounds down.
//!
//! One instrument per simulation: the symbol of the first order; an order for another symbol is
//! refused at [`PaperSim::submit`], so a trade of one instrument never fills another's order.
//! An order priced beyond the visible depth joins a queue of unknown size: it fills only from
//! trades through its price until a book view shows its level.
//!
//! Bounded state: resting orders are at most `max_open_orders` per symbol; in-flight orders
//! and cancels and undelivered responses are bounded by what the caller sends between polls.

use crate::arg_error::{finite, non_negative, positive, ArgError};
pub use crate::model::Side;
use crate::model::{ClientId, DecimalStep, LotSize, Price, Qty, Rounding, StepAt};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Reason of a post-only order that would have taken liquidity.
pub const POST_ONLY_REJECT: &str = "post-only order would cross";
/// Reason of an order whose client id is already resting at the venue.
pub const DUPLICATE_CLIENT_ID: &str = "duplicate client order id";
/// Reason of an order for a symbol that already has `max_open_orders` resting.
pub const TOO_MANY_OPEN_ORDERS: &str = "too many open orders";
/// Reason of a marketable order that would trade against one of our own resting orders
/// (self-trade prevention, expiring the taker as Binance's default mode does).
pub const SELF_TRADE_PREVENTED: &str = "self-trade prevented";
/// Reason of a cancel or amend for an order the venue does not hold.
pub const UNKNOWN_ORDER: &str = "unknown order (filled or not open)";
/// Reason of an amend that does not reduce the order's size.
pub const AMEND_NOT_REDUCING: &str = "an amend may only reduce the size";
/// Reason of an order for another instrument than the one the venue simulates.
pub const OTHER_SYMBOL: &str = "the venue simulates one instrument";
/// The queue ahead of an order priced beyond the visible depth: unknown, so nothing ahead of
/// it ever trades away before a book view shows its level.
const UNKNOWN_AHEAD: i64 = i64::MAX;

/// Latencies (seconds), queue model, fees (bps of notional; negative = rebate), the tick size
/// shared by every symbol of the venue and the venue's name (prefix of venue and fill ids).
#[derive(Clone, Debug, PartialEq)]
pub struct PaperConfig {
    pub entry_latency_s: f64,
    pub cancel_latency_s: f64,
    pub response_latency_s: f64,
    /// The probabilistic (power) queue model instead of the conservative one.
    pub probabilistic: bool,
    /// Exponent `n` of the probabilistic model.
    pub queue_power: f64,
    pub maker_fee_bps: f64,
    pub taker_fee_bps: f64,
    pub tick_size: f64,
    /// The lot (base units) shared by every size of the venue.
    pub lot_size: f64,
    /// How far our market data lags the venue (exchange-to-local delay), seconds: every
    /// event's when the caller gives no venue times, else until the first that it gives.
    pub feed_latency_s: f64,
    /// Each entry, cancel and response latency gets a random extra in `[0, latency_jitter_s)`,
    /// drawn from a generator seeded with `seed`.
    pub latency_jitter_s: f64,
    pub seed: u64,
    pub name: String,
    /// Resting orders per symbol; an order arriving when its symbol has this many is rejected
    /// (Binance's per-symbol open-order limit is 200).
    pub max_open_orders: usize,
}

impl Default for PaperConfig {
    /// The Python `PaperConfig` defaults, with a 0.01 tick, a 1e-8 lot, no feed latency or
    /// jitter and the name `paper`.
    fn default() -> Self {
        PaperConfig {
            entry_latency_s: 0.005,
            cancel_latency_s: 0.005,
            response_latency_s: 0.005,
            probabilistic: false,
            queue_power: 2.0,
            maker_fee_bps: 1.0,
            taker_fee_bps: 5.0,
            tick_size: 0.01,
            lot_size: 1e-8,
            feed_latency_s: 0.0,
            latency_jitter_s: 0.0,
            seed: 0,
            name: "paper".to_owned(),
            max_open_orders: 200,
        }
    }
}

impl PaperConfig {
    /// Checks every value: latencies finite and >= 0, power and tick size finite and > 0,
    /// fees finite, at least one open order per symbol.
    pub fn validate(&self) -> Result<(), ArgError> {
        if self.max_open_orders == 0 {
            return Err(ArgError::new("max_open_orders", "must be >= 1, got 0"));
        }
        non_negative(&[
            ("entry_latency_s", self.entry_latency_s),
            ("cancel_latency_s", self.cancel_latency_s),
            ("response_latency_s", self.response_latency_s),
            ("feed_latency_s", self.feed_latency_s),
            ("latency_jitter_s", self.latency_jitter_s),
        ])?;
        LotSize::new(self.lot_size)?;
        positive(&[
            ("queue_power", self.queue_power),
            ("tick_size", self.tick_size),
        ])?;
        finite(&[
            ("maker_fee_bps", self.maker_fee_bps),
            ("taker_fee_bps", self.taker_fee_bps),
        ])?;
        Ok(())
    }
}

/// When a market event happened: `now`, our local time when we pass it to the venue, and
/// `venue`, the venue's time of it on our clock when the caller knows it (None: as long before
/// `now` as the last event, see the module docs). A bare `f64` is `now` alone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MarketTime {
    pub now: f64,
    pub venue: Option<f64>,
}

impl From<f64> for MarketTime {
    fn from(now: f64) -> Self {
        MarketTime { now, venue: None }
    }
}

/// A new limit order. `post_only` orders are rejected rather than filled if they cross.
#[derive(Clone, Debug, PartialEq)]
pub struct NewOrder {
    pub client_id: ClientId,
    pub symbol: String,
    pub side: Side,
    pub price_ticks: Price,
    pub qty: Qty,
    pub post_only: bool,
}

/// A response of the venue; `ts` is when it reaches us.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The venue accepted the order (its venue id is `{name}-{client_id}`, formatted at the
    /// edge by [`PaperSim::venue_id`]).
    Acked { client_id: ClientId, ts: f64 },
    /// The venue refused the order.
    Rejected {
        client_id: ClientId,
        ts: f64,
        reason: &'static str,
    },
    /// An execution; `maker` is false for the marketable part of an arriving order; `fill_id`
    /// is the venue's fill sequence number (1, 2, …; `{name}-f{n}` at the edge, see
    /// [`PaperSim::fill_id`]).
    Filled {
        client_id: ClientId,
        ts: f64,
        fill_id: u64,
        side: Side,
        price_ticks: Price,
        qty: Qty,
        fee: f64,
        maker: bool,
    },
    /// The order is off the book.
    Cancelled { client_id: ClientId, ts: f64 },
    /// A cancel failed (the order had filled or was never open).
    CancelRejected {
        client_id: ClientId,
        ts: f64,
        reason: &'static str,
    },
    /// The order now has `qty` lots in total (filled part included); its queue position is
    /// kept.
    Amended {
        client_id: ClientId,
        ts: f64,
        qty: Qty,
    },
    /// An amend failed (the order had filled or was never open, or the size did not shrink).
    AmendRejected {
        client_id: ClientId,
        ts: f64,
        reason: &'static str,
    },
}

impl Event {
    /// When the response reaches us.
    pub fn ts(&self) -> f64 {
        match self {
            Event::Acked { ts, .. }
            | Event::Rejected { ts, .. }
            | Event::Filled { ts, .. }
            | Event::Cancelled { ts, .. }
            | Event::CancelRejected { ts, .. }
            | Event::Amended { ts, .. }
            | Event::AmendRejected { ts, .. } => *ts,
        }
    }

    /// A fill's `(client_id, ts, fill_id, side sign, price_ticks, qty, fee, maker)`; None for
    /// the other responses.
    #[allow(clippy::type_complexity)]
    pub fn fill_fields(&self) -> Option<(ClientId, f64, u64, i64, Price, Qty, f64, bool)> {
        match self {
            Event::Filled {
                client_id,
                ts,
                fill_id,
                side,
                price_ticks,
                qty,
                fee,
                maker,
            } => Some((
                *client_id,
                *ts,
                *fill_id,
                side.sign(),
                *price_ticks,
                *qty,
                *fee,
                *maker,
            )),
            _ => None,
        }
    }

    /// The order the response is about.
    pub fn client_id(&self) -> ClientId {
        match self {
            Event::Acked { client_id, .. }
            | Event::Rejected { client_id, .. }
            | Event::Filled { client_id, .. }
            | Event::Cancelled { client_id, .. }
            | Event::CancelRejected { client_id, .. }
            | Event::Amended { client_id, .. }
            | Event::AmendRejected { client_id, .. } => *client_id,
        }
    }
}

/// An item due at `at`; heap order is `(at, seq)` ascending (a min-heap in `BinaryHeap`).
/// Times are never NaN (checked on entry), so the partial order is total here.
#[derive(Debug)]
struct Timed<T> {
    at: f64,
    seq: u64,
    item: T,
}

impl<T> Ord for Timed<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .at
            .partial_cmp(&self.at)
            .unwrap_or(Ordering::Equal)
            .then(other.seq.cmp(&self.seq))
    }
}

impl<T> PartialOrd for Timed<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> PartialEq for Timed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T> Eq for Timed<T> {}

#[derive(Debug)]
enum Action {
    New(NewOrder),
    Cancel(ClientId),
    Amend(ClientId, Qty),
}

/// An order resting at the venue; sizes in lots.
#[derive(Clone, Debug)]
struct Resting {
    order: NewOrder,
    remaining: Qty,
    /// Visible size at our price at the last book view (the queue's lots).
    level: i64,
    /// Lots queued ahead of us ([`UNKNOWN_AHEAD`] beyond the visible depth).
    ahead: i64,
    /// Lots traded at our price since that view.
    traded: i64,
    /// Fully filled during the current trade (removed after it).
    done: bool,
}

/// One visible level: its price, the lots a marketable order can take (size rounded down) and
/// the lots of its queue (size rounded up).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Level {
    price: Price,
    take: Qty,
    queue: i64,
}

/// Whether a level at `level_price` on the side opposite `side` is marketable for an order of
/// `side` at `price`.
#[inline]
fn crosses(side: Side, level_price: Price, price: Price) -> bool {
    match side {
        Side::Buy => level_price <= price,
        Side::Sell => level_price >= price,
    }
}

/// Queue lots at `price` on one side of the view (`bids` for a buy): None beyond the deepest
/// visible level (or with no view), 0 for an absent level inside the visible range.
#[inline]
fn visible(view: &[Level], bid_side: bool, price: Price) -> Option<i64> {
    let deepest = view.last()?.price;
    if (bid_side && price < deepest) || (!bid_side && price > deepest) {
        return None;
    }
    Some(
        view.iter()
            .find(|l| l.price == price)
            .map_or(0, |l| l.queue),
    )
}

/// A float level `(price, size)` of the Python edge as a [`Level`]: the price to the nearest
/// tick, the size rounded down as liquidity and up as queue.
fn float_level(
    (price, size): (f64, f64),
    inv_tick: f64,
    lot: &LotSize,
    arg: &'static str,
) -> Result<Level, ArgError> {
    if !(price.is_finite() && price >= 0.0) {
        return Err(ArgError::new(
            arg,
            format!("prices must be finite and >= 0, got {price}"),
        ));
    }
    let take = lot.lots(arg, size, Rounding::Down)?;
    let queue = lot.lots(arg, size, Rounding::Up)?.lots();
    let ticks = price * inv_tick + 0.5;
    if ticks >= 9.2e18 {
        return Err(ArgError::new(
            arg,
            format!("price {price} is too large for the tick size"),
        ));
    }
    // truncation of a non-negative value: rounds to nearest
    Ok(Level {
        price: Price(ticks as i64),
        take,
        queue,
    })
}

/// The exact conversion of a book's integer levels into ticks and lots.
#[derive(Clone, Copy, Debug)]
struct Scaled {
    tick: StepAt,
    lot: StepAt,
    price_scale: u8,
    qty_scale: u8,
    /// `(tick mul, tick den, lot mul, lot den)` when all fit `u64` (see [`StepAt::small`]).
    small: Option<(u64, u64, u64, u64)>,
}

impl Scaled {
    fn new(tick: StepAt, lot: StepAt, price_scale: u8, qty_scale: u8) -> Self {
        let small = match (tick.small(), lot.small()) {
            (Some((tm, td)), Some((lm, ld))) => Some((tm, td, lm, ld)),
            _ => None,
        };
        Scaled {
            tick,
            lot,
            price_scale,
            qty_scale,
            small,
        }
    }

    /// [`Scaled::level`] of a level whose arithmetic fits `u64` (a book's, nearly always),
    /// done in one place (every book event converts the whole view); None: take the general
    /// path.
    #[inline]
    fn small_level(&self, (price, size): (i64, u64)) -> Option<Level> {
        let (tmul, tden, lmul, lden) = self.small?;
        // the nearest tick: (price × mul + den / 2) / den, as `StepAt::nearest`
        let num = u64::try_from(price)
            .ok()?
            .checked_mul(tmul)?
            .checked_add(tden / 2)?;
        let ticks = i64::try_from(num / tden).ok()?;
        // whole lots and whether exact, as `StepAt::whole`
        let qty = size.checked_mul(lmul)?;
        let lots = i64::try_from(qty / lden).ok()?;
        if lots >= Qty::MAX.lots() {
            return None;
        }
        Some(Level {
            price: Price(ticks),
            take: Qty(lots),
            queue: lots + i64::from(qty % lden != 0),
        })
    }

    /// The level `(price, size)` at the book's scales: the price to the nearest tick (a book on
    /// the venue's grid is exact), the size in lots, rounded down as liquidity and up as queue
    /// when the book's size grid is finer than the lot.
    #[inline]
    fn level(&self, level: (i64, u64), arg: &'static str) -> Result<Level, ArgError> {
        match self.small_level(level) {
            Some(level) => Ok(level),
            None => self.general_level(level, arg),
        }
    }

    /// [`Scaled::level`] with 128-bit arithmetic where needed, and its errors.
    #[cold]
    fn general_level(
        &self,
        (price, size): (i64, u64),
        arg: &'static str,
    ) -> Result<Level, ArgError> {
        let ticks = u64::try_from(price).ok().and_then(|p| self.tick.nearest(p));
        let Some(ticks) = ticks else {
            return Err(ArgError::new(
                arg,
                format!(
                    "price {price} at {} decimals is negative or beyond the ticks",
                    self.price_scale
                ),
            ));
        };
        let lots = self
            .lot
            .whole(size)
            .filter(|(lots, _)| *lots < Qty::MAX.lots());
        let Some((lots, whole)) = lots else {
            return Err(ArgError::new(
                arg,
                format!(
                    "size {size} at {} decimals is more than {} lots",
                    self.qty_scale,
                    Qty::MAX.lots()
                ),
            ));
        };
        Ok(Level {
            price: Price(ticks),
            take: Qty(lots),
            queue: lots + i64::from(!whole),
        })
    }
}

/// Fills `levels` (a side's levels) into `dst`, best first, one entry per tick (a later
/// duplicate overwrites the size, as a dict would).
fn stage(
    dst: &mut Vec<Level>,
    levels: impl IntoIterator<Item = Result<Level, ArgError>>,
    bid_side: bool,
) -> Result<(), ArgError> {
    dst.clear();
    let mut ordered = true;
    for level in levels {
        let level = level?;
        if let Some(last) = dst.last() {
            ordered &= if bid_side {
                level.price < last.price
            } else {
                level.price > last.price
            };
        }
        dst.push(level);
    }
    if !ordered {
        // Unsorted or repeated prices (never from an `OrderBook`): dict semantics, then sort.
        let mut unique: Vec<Level> = Vec::with_capacity(dst.len());
        for &level in dst.iter() {
            match unique.iter_mut().find(|l| l.price == level.price) {
                Some(entry) => *entry = level,
                None => unique.push(level),
            }
        }
        if bid_side {
            unique.sort_by_key(|l| std::cmp::Reverse(l.price));
        } else {
            unique.sort_by_key(|l| l.price);
        }
        *dst = unique;
    }
    Ok(())
}

fn check_time(now: f64) -> Result<(), ArgError> {
    finite(&[("now", now)])
}

fn check_market_time(at: MarketTime) -> Result<(), ArgError> {
    check_time(at.now)?;
    match at.venue {
        Some(venue) => finite(&[("venue_time", venue)]),
        None => Ok(()),
    }
}

/// Subtracts a fill from a resting order; true when it is now fully filled.
#[inline]
fn settle(r: &mut Resting, qty: Qty) -> bool {
    r.remaining -= qty;
    !r.remaining.is_positive()
}

/// A deterministic generator (splitmix64) for the latency jitter.
#[derive(Debug)]
struct Jitter {
    state: u64,
    scale: f64,
}

impl Jitter {
    /// A random extra latency in `[0, scale)` (0 without jitter, drawing nothing).
    fn next(&mut self) -> f64 {
        if self.scale == 0.0 {
            return 0.0;
        }
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64 * self.scale
    }
}

/// A simulated venue for one instrument.
#[derive(Debug)]
pub struct PaperSim {
    cfg: PaperConfig,
    inv_tick: f64,
    lot: LotSize,
    /// The tick and the lot as exact decimals for [`PaperSim::on_book_scaled`] (the error
    /// when one is not a decimal).
    tick_step: Result<DecimalStep, ArgError>,
    lot_step: Result<DecimalStep, ArgError>,
    /// The instrument: the symbol of the first order.
    symbol: Option<String>,
    jitter: Jitter,
    /// One counter orders both heaps' ties, as in the Python model.
    seq: u64,
    fill_seq: u64,
    actions: BinaryHeap<Timed<Action>>,
    outbox: BinaryHeap<Timed<Event>>,
    /// Insertion order decides ties between orders at one price.
    resting: Vec<Resting>,
    /// The visible book, best first; taker fills decrement it until the next book.
    bids: Vec<Level>,
    asks: Vec<Level>,
    staged_bids: Vec<Level>,
    staged_asks: Vec<Level>,
    hit: Vec<usize>,
    fills: u64,
    rejects: u64,
    /// The venue time its market data has reached (never runs back).
    clock: f64,
    /// How far the last market event lagged the venue: `now - venue time`.
    lag: f64,
}

impl PaperSim {
    /// A venue with no orders and no book view.
    pub fn new(cfg: PaperConfig) -> Result<Self, ArgError> {
        cfg.validate()?;
        let cfg_lag = cfg.feed_latency_s;
        Ok(PaperSim {
            inv_tick: 1.0 / cfg.tick_size,
            lot: LotSize::new(cfg.lot_size)?,
            tick_step: DecimalStep::new("tick_size", cfg.tick_size),
            lot_step: DecimalStep::new("lot_size", cfg.lot_size),
            symbol: None,
            jitter: Jitter {
                state: cfg.seed,
                scale: cfg.latency_jitter_s,
            },
            cfg,
            seq: 0,
            fill_seq: 0,
            actions: BinaryHeap::new(),
            outbox: BinaryHeap::new(),
            resting: Vec::new(),
            bids: Vec::new(),
            asks: Vec::new(),
            staged_bids: Vec::new(),
            staged_asks: Vec::new(),
            hit: Vec::new(),
            fills: 0,
            rejects: 0,
            clock: f64::NEG_INFINITY,
            lag: cfg_lag,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &PaperConfig {
        &self.cfg
    }

    /// The lot every size of the venue is counted in.
    pub fn lot(&self) -> &LotSize {
        &self.lot
    }

    /// The venue id of the order `client_id`, as a venue's wire would carry it.
    pub fn venue_id(&self, client_id: &str) -> String {
        venue_id(&self.cfg.name, client_id)
    }

    /// The fill id of fill number `fill_seq`, as a venue's wire would carry it.
    pub fn fill_id(&self, fill_seq: u64) -> String {
        fill_id(&self.cfg.name, fill_seq)
    }

    /// The instrument simulated (None before the first order).
    pub fn symbol(&self) -> Option<&str> {
        self.symbol.as_deref()
    }

    /// Fills executed (maker and taker).
    pub fn fills(&self) -> u64 {
        self.fills
    }

    /// Orders rejected (post-only crossing, duplicate client id, too many open orders).
    pub fn rejects(&self) -> u64 {
        self.rejects
    }

    /// Lots still open of the order `client_id` resting at the venue (None when it does not
    /// rest there: in flight, filled, cancelled or unknown).
    pub fn resting_qty(&self, client_id: ClientId) -> Option<Qty> {
        self.resting
            .iter()
            .find(|r| r.order.client_id == client_id)
            .map(|r| r.remaining)
    }

    fn next_seq(&mut self) -> u64 {
        let seq = self.seq;
        self.seq += 1;
        seq
    }

    /// The venue time a poll at local time `now` may process up to: the last event's lag on,
    /// never before what the market data reached.
    #[inline]
    fn venue_time(&self, now: f64) -> f64 {
        (now - self.lag).max(self.clock)
    }

    /// The venue time of a market event (module docs): the caller's, at most `now`, or the
    /// last event's lag; never before the venue's clock, which it moves to.
    #[inline]
    fn market_time(&mut self, at: MarketTime) -> f64 {
        let venue = match at.venue {
            Some(venue) => venue.min(at.now),
            None => at.now - self.lag,
        }
        .max(self.clock);
        self.clock = venue;
        self.lag = at.now - venue;
        venue
    }

    // -- order entry ---------------------------------------------------------------------

    /// Sends a new order; it reaches the venue after the entry latency. Refuses a negative
    /// price, a size of no lots, another instrument than the venue's and a time that is not
    /// finite. Nothing bounds the orders in flight but the caller: the venue holds at most
    /// `max_open_orders` resting.
    pub fn submit(&mut self, order: NewOrder, now: f64) -> Result<(), ArgError> {
        check_time(now)?;
        if order.price_ticks < Price(0) {
            return Err(ArgError::new(
                "price_ticks",
                format!("must be >= 0, got {}", order.price_ticks),
            ));
        }
        if !order.qty.is_positive() {
            return Err(ArgError::new(
                "qty",
                format!("must be > 0, got {}", order.qty),
            ));
        }
        match &self.symbol {
            Some(symbol) if *symbol != order.symbol => {
                return Err(ArgError::new(
                    "symbol",
                    format!("{OTHER_SYMBOL} ({symbol}), got {}", order.symbol),
                ))
            }
            Some(_) => {}
            None => self.symbol = Some(order.symbol.clone()),
        }
        let at = now + self.cfg.entry_latency_s + self.jitter.next();
        let seq = self.next_seq();
        self.actions.push(Timed {
            at,
            seq,
            item: Action::New(order),
        });
        Ok(())
    }

    /// Sends a cancel; it lands after the cancel latency (the order may fill until then).
    pub fn cancel(&mut self, client_id: ClientId, now: f64) -> Result<(), ArgError> {
        check_time(now)?;
        let at = now + self.cfg.cancel_latency_s + self.jitter.next();
        let seq = self.next_seq();
        self.actions.push(Timed {
            at,
            seq,
            item: Action::Cancel(client_id),
        });
        Ok(())
    }

    /// Sends an amend of the order `client_id` to `qty` lots in total (filled part included);
    /// it lands after the cancel latency. On arrival an order still resting with more than
    /// `qty` lots is reduced and keeps its queue position ([`Event::Amended`]); one that has
    /// filled `qty` or more by then is cancelled ([`Event::Cancelled`], as venues do); one
    /// not resting (filled, cancelled, unknown), or a `qty` that does not reduce it, is
    /// refused ([`Event::AmendRejected`]). A size of no lots and a time that is not finite
    /// are refused here.
    pub fn amend(&mut self, client_id: ClientId, qty: Qty, now: f64) -> Result<(), ArgError> {
        check_time(now)?;
        if !qty.is_positive() {
            return Err(ArgError::new(
                "qty",
                format!("must be > 0 (cancel instead), got {qty}"),
            ));
        }
        let at = now + self.cfg.cancel_latency_s + self.jitter.next();
        let seq = self.next_seq();
        self.actions.push(Timed {
            at,
            seq,
            item: Action::Amend(client_id, qty),
        });
        Ok(())
    }

    /// True when [`PaperSim::poll`] at `now` would process an action or return an event.
    #[inline]
    pub fn has_due(&self, now: f64) -> bool {
        let venue_now = self.venue_time(now);
        self.actions.peek().is_some_and(|a| a.at <= venue_now)
            || self.outbox.peek().is_some_and(|e| e.at <= now)
    }

    /// Processes what has reached the venue by the venue time our view at `now` describes,
    /// then pops the next response that has reached us by `now`, if any (call until None).
    pub fn pop_ready(&mut self, now: f64) -> Option<Event> {
        let venue_now = self.venue_time(now);
        self.clock = venue_now;
        self.advance(venue_now);
        if self.outbox.peek().is_some_and(|e| e.at <= now) {
            return self.outbox.pop().map(|e| e.item);
        }
        None
    }

    /// Every response that has reached us by `now`, in order.
    pub fn poll(&mut self, now: f64) -> Vec<Event> {
        let mut out = Vec::new();
        while let Some(event) = self.pop_ready(now) {
            out.push(event);
        }
        out
    }

    /// Client ids resting (or in flight) at the venue for `symbol`, in no particular order;
    /// an id may repeat (a resting id is unique, but an order with it may be in flight).
    pub fn open_orders<'a>(&'a self, symbol: &'a str) -> impl Iterator<Item = ClientId> + 'a {
        let resting = self
            .resting
            .iter()
            .filter(move |r| r.order.symbol == symbol)
            .map(|r| r.order.client_id);
        let in_flight = self.actions.iter().filter_map(move |a| match &a.item {
            Action::New(order) if order.symbol == symbol => Some(order.client_id),
            _ => None,
        });
        resting.chain(in_flight)
    }

    // -- market data ---------------------------------------------------------------------

    /// The visible book we see at `at` (its venue time: [`MarketTime`]): `(price,
    /// size)` floats per side, best first (the rows of `OrderBook.bids(n)` / `asks(n)`, the
    /// Python edge). Sizes that are not whole lots count rounded down as liquidity and up as
    /// queue; see [`PaperSim::on_book_scaled`] for the rest.
    pub fn on_book<B, A>(
        &mut self,
        bids: B,
        asks: A,
        at: impl Into<MarketTime>,
    ) -> Result<(), ArgError>
    where
        B: IntoIterator<Item = (f64, f64)>,
        A: IntoIterator<Item = (f64, f64)>,
    {
        let at = at.into();
        check_market_time(at)?;
        let (inv_tick, lot) = (self.inv_tick, self.lot);
        let bids = bids
            .into_iter()
            .map(|l| float_level(l, inv_tick, &lot, "bids"));
        stage(&mut self.staged_bids, bids, true)?;
        let asks = asks
            .into_iter()
            .map(|l| float_level(l, inv_tick, &lot, "asks"));
        stage(&mut self.staged_asks, asks, false)?;
        self.show_staged(at);
        Ok(())
    }

    /// The visible book we see at `now` as an `OrderBook` holds it: `(price, size)` integers
    /// per side at `price_scale` and `qty_scale` decimals, best first
    /// ([`crate::book::Book::scaled_levels`]). Converted exactly: prices to ticks, sizes to
    /// lots; a size that is not a whole number of lots (a book grid finer than the lot) counts
    /// rounded down as liquidity a marketable order can take and rounded up as the queue ahead
    /// of an order joining its level, so neither flatters us. Actions due by then are processed
    /// first, against the previous view; then the view is replaced and every resting order's
    /// queue updated. A tick or lot that is not a decimal, or a level beyond `i64` ticks or
    /// [`Qty::MAX`] lots, is refused before anything changes.
    pub fn on_book_scaled<B, A>(
        &mut self,
        bids: B,
        asks: A,
        price_scale: u8,
        qty_scale: u8,
        at: impl Into<MarketTime>,
    ) -> Result<(), ArgError>
    where
        B: IntoIterator<Item = (i64, u64)>,
        A: IntoIterator<Item = (i64, u64)>,
    {
        let at = at.into();
        check_market_time(at)?;
        if price_scale > crate::fixed::MAX_DECIMALS || qty_scale > crate::fixed::MAX_DECIMALS {
            return Err(ArgError::new(
                "scale",
                format!(
                    "at most {} decimals, got {price_scale} and {qty_scale}",
                    crate::fixed::MAX_DECIMALS
                ),
            ));
        }
        let scaled = Scaled::new(
            self.tick_step.clone()?.at(price_scale),
            self.lot_step.clone()?.at(qty_scale),
            price_scale,
            qty_scale,
        );
        let bids = bids.into_iter().map(|l| scaled.level(l, "bids"));
        stage(&mut self.staged_bids, bids, true)?;
        let asks = asks.into_iter().map(|l| scaled.level(l, "asks"));
        stage(&mut self.staged_asks, asks, false)?;
        self.show_staged(at);
        Ok(())
    }

    /// Processes the actions due by the book's venue time against the previous view, then
    /// makes the staged levels the view and updates every resting order's queue.
    fn show_staged(&mut self, at: MarketTime) {
        let venue_now = self.market_time(at);
        self.advance(venue_now);
        std::mem::swap(&mut self.bids, &mut self.staged_bids);
        std::mem::swap(&mut self.asks, &mut self.staged_asks);
        let probabilistic = self.cfg.probabilistic;
        let power = self.cfg.queue_power;
        for r in &mut self.resting {
            let view = match r.order.side {
                Side::Buy => &self.bids,
                Side::Sell => &self.asks,
            };
            let Some(level) = visible(view, r.order.side == Side::Buy, r.order.price_ticks) else {
                continue; // beyond the visible depth: nothing known
            };
            if probabilistic && r.ahead != UNKNOWN_AHEAD {
                credit_cancels(r, level, power);
            }
            r.ahead = r.ahead.min(level);
            r.level = level;
            r.traded = 0;
        }
    }

    /// A market trade of `qty` lots that we see at `at` (its venue time: [`MarketTime`]):
    /// fills resting orders it reaches, best price first (ties in arrival
    /// order). Refuses a negative price or size and a time that is not finite.
    pub fn on_trade(
        &mut self,
        price_ticks: Price,
        qty: Qty,
        buyer_aggressor: bool,
        at: impl Into<MarketTime>,
    ) -> Result<(), ArgError> {
        let at = at.into();
        check_market_time(at)?;
        if price_ticks < Price(0) {
            return Err(ArgError::new(
                "price_ticks",
                format!("must be >= 0, got {price_ticks}"),
            ));
        }
        if qty < Qty::ZERO {
            return Err(ArgError::new("qty", format!("must be >= 0, got {qty}")));
        }
        let now = self.market_time(at);
        self.advance(now);
        let side = if buyer_aggressor {
            Side::Sell
        } else {
            Side::Buy
        }; // the passive side
        let mut hit = std::mem::take(&mut self.hit);
        hit.clear();
        hit.extend(self.resting.iter().enumerate().filter_map(|(i, r)| {
            let reached = match side {
                Side::Sell => r.order.price_ticks <= price_ticks,
                Side::Buy => r.order.price_ticks >= price_ticks,
            };
            (r.order.side == side && reached).then_some(i)
        }));
        if hit.is_empty() {
            self.hit = hit;
            return Ok(());
        }
        // Best price first; the sort is stable, so ties keep arrival order.
        let resting = &self.resting;
        match side {
            Side::Sell => hit.sort_by_key(|&i| resting[i].order.price_ticks),
            Side::Buy => hit.sort_by_key(|&i| std::cmp::Reverse(resting[i].order.price_ticks)),
        }
        let mut resting = std::mem::take(&mut self.resting);
        let mut any_done = false;
        let mut available = qty.lots();
        for &i in &hit {
            if available <= 0 {
                break;
            }
            let r = &mut resting[i];
            if r.order.price_ticks == price_ticks {
                r.traded = r.traded.saturating_add(available);
                let eaten = r.ahead.min(available);
                if r.ahead != UNKNOWN_AHEAD {
                    r.ahead -= eaten;
                }
                available -= eaten;
            }
            let fill = Qty(r.remaining.lots().min(available));
            if fill.is_positive() {
                available -= fill.lots();
                if settle(r, fill) {
                    r.done = true;
                    any_done = true;
                }
                let r = &resting[i];
                self.emit_fill(&r.order, r.order.price_ticks, fill, now, true);
            }
        }
        if any_done {
            resting.retain(|r| !r.done);
        }
        self.resting = resting;
        self.hit = hit;
        Ok(())
    }

    // -- simulation ----------------------------------------------------------------------

    /// Processes orders and cancels that have reached the venue by venue time `venue_now`.
    pub fn advance(&mut self, venue_now: f64) {
        while self.actions.peek().is_some_and(|a| a.at <= venue_now) {
            let Some(Timed { at, item, .. }) = self.actions.pop() else {
                break;
            };
            match item {
                Action::New(order) => self.arrive(order, at),
                Action::Cancel(client_id) => self.cancel_arrives(client_id, at),
                Action::Amend(client_id, qty) => self.amend_arrives(client_id, qty, at),
            }
        }
    }

    fn arrive(&mut self, order: NewOrder, ts: f64) {
        let side = order.side;
        let price = order.price_ticks;
        let mut duplicate = false;
        // Our resting orders are in the real book too: one on the other side at or through
        // this price is crossed (the view holds only the market's visible sizes).
        let mut crosses_own = false;
        for r in &self.resting {
            duplicate |= r.order.client_id == order.client_id;
            crosses_own |= r.order.side != side && crosses(side, r.order.price_ticks, price);
        }
        if duplicate {
            return self.reject(order, ts, DUPLICATE_CLIENT_ID);
        }
        if self.resting.len() >= self.cfg.max_open_orders {
            return self.reject(order, ts, TOO_MANY_OPEN_ORDERS);
        }
        if crosses_own {
            let reason = if order.post_only {
                POST_ONLY_REJECT
            } else {
                SELF_TRADE_PREVENTED
            };
            return self.reject(order, ts, reason);
        }
        let book = match side {
            Side::Buy => &self.asks,
            Side::Sell => &self.bids,
        };
        // The view is best first, so the marketable levels are a prefix, best price first;
        // a level with no lots left (eaten by an earlier taker) is no liquidity.
        let crossing = book
            .iter()
            .take_while(|l| crosses(side, l.price, price))
            .count();
        if order.post_only && book[..crossing].iter().any(|l| l.take.is_positive()) {
            return self.reject(order, ts, POST_ONLY_REJECT);
        }
        let event = Event::Acked {
            client_id: order.client_id,
            ts: self.at(ts),
        };
        self.respond(event);
        let own = match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        };
        let level = visible(own, side == Side::Buy, price);
        let mut r = Resting {
            remaining: order.qty,
            order,
            level: level.unwrap_or(0),
            ahead: level.unwrap_or(UNKNOWN_AHEAD),
            traded: 0,
            done: false,
        };
        for k in 0..crossing {
            // The marketable part takes liquidity, best price first.
            let book = match side {
                Side::Buy => &mut self.asks,
                Side::Sell => &mut self.bids,
            };
            let Level { price, take, .. } = book[k];
            if !take.is_positive() {
                continue;
            }
            let qty = r.remaining.min(take);
            book[k].take -= qty;
            let filled = settle(&mut r, qty);
            self.emit_fill(&r.order, price, qty, ts, false);
            if filled {
                return;
            }
        }
        self.resting.push(r);
    }

    fn reject(&mut self, order: NewOrder, ts: f64, reason: &'static str) {
        self.rejects += 1;
        let event = Event::Rejected {
            client_id: order.client_id,
            ts: self.at(ts),
            reason,
        };
        self.respond(event);
    }

    fn cancel_arrives(&mut self, client_id: ClientId, ts: f64) {
        let event = if self.remove_resting(client_id) {
            Event::Cancelled {
                client_id,
                ts: self.at(ts),
            }
        } else {
            Event::CancelRejected {
                client_id,
                ts: self.at(ts),
                reason: UNKNOWN_ORDER,
            }
        };
        self.respond(event);
    }

    fn amend_arrives(&mut self, client_id: ClientId, qty: Qty, ts: f64) {
        let found = self
            .resting
            .iter()
            .position(|r| r.order.client_id == client_id);
        let ts = self.at(ts);
        let rejected = |reason| Event::AmendRejected {
            client_id,
            ts,
            reason,
        };
        let event = match found {
            None => rejected(UNKNOWN_ORDER),
            Some(i) if qty >= self.resting[i].order.qty => rejected(AMEND_NOT_REDUCING),
            Some(i) => {
                let r = &mut self.resting[i];
                let filled = r.order.qty - r.remaining;
                if qty <= filled {
                    self.resting.remove(i);
                    Event::Cancelled { client_id, ts }
                } else {
                    // the queue ahead (`ahead`) is untouched: a reduction keeps the position
                    r.order.qty = qty;
                    r.remaining = qty - filled;
                    Event::Amended { client_id, ts, qty }
                }
            }
        };
        self.respond(event);
    }

    fn remove_resting(&mut self, client_id: ClientId) -> bool {
        match self
            .resting
            .iter()
            .position(|r| r.order.client_id == client_id)
        {
            Some(i) => {
                self.resting.remove(i);
                true
            }
            None => false,
        }
    }

    fn emit_fill(&mut self, order: &NewOrder, price_ticks: Price, qty: Qty, ts: f64, maker: bool) {
        let bps = if maker {
            self.cfg.maker_fee_bps
        } else {
            self.cfg.taker_fee_bps
        };
        let fee =
            price_ticks.ticks() as f64 * self.cfg.tick_size * self.lot.units(qty) * bps * 1e-4;
        self.fills += 1;
        self.fill_seq += 1;
        let event = Event::Filled {
            client_id: order.client_id,
            ts: self.at(ts),
            fill_id: self.fill_seq,
            side: order.side,
            price_ticks,
            qty,
            fee,
            maker,
        };
        self.respond(event);
    }

    /// When a response produced at venue time `ts` reaches us.
    #[inline]
    fn at(&mut self, ts: f64) -> f64 {
        ts + self.cfg.response_latency_s + self.jitter.next()
    }

    fn respond(&mut self, event: Event) {
        let seq = self.next_seq();
        self.outbox.push(Timed {
            at: event.ts(),
            seq,
            item: event,
        });
    }
}

/// The venue id of our order `client_id` at the venue `name`: `{name}-{client_id}` (the edge's
/// format; inside the core an order is known by its client id).
pub fn venue_id(name: &str, client_id: &str) -> String {
    format!("{name}-{client_id}")
}

/// The fill id of fill number `fill_seq` of the venue `name`: `{name}-f{n}` (the edge's
/// format; inside the core a fill id is its number).
pub fn fill_id(name: &str, fill_seq: u64) -> String {
    format!("{name}-f{fill_seq}")
}

/// The probabilistic model: credits part of a size decrease not explained by trades as cancels
/// ahead of us, in proportion `ahead^n / (ahead^n + behind^n)` (rounded down: the queue ahead
/// never shrinks by more than the model says).
fn credit_cancels(r: &mut Resting, level: i64, power: f64) {
    let cancelled = (r.level - r.traded) - level;
    if cancelled <= 0 {
        return;
    }
    let ahead = r.ahead;
    let behind = (r.level - r.traded - ahead).max(0);
    let wa = (ahead as f64).powf(power);
    let wb = (behind as f64).powf(power);
    if wa + wb > 0.0 {
        let credit = (cancelled as f64 * wa / (wa + wb)).floor() as i64;
        r.ahead = (ahead - credit).max(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Prefixes;
    use std::cell::RefCell;

    thread_local! {
        /// The tests' client id table: they name orders by strings, the venue by integers.
        static IDS: RefCell<Prefixes> = RefCell::new(Prefixes::default());
    }

    fn id(text: &str) -> ClientId {
        IDS.with(|ids| ids.borrow_mut().parse(text))
    }

    fn name(id: ClientId) -> String {
        IDS.with(|ids| ids.borrow().format(id))
    }

    const TICK: f64 = 0.01;
    const BIDS: [(f64, f64); 3] = [(100.00, 5.0), (99.99, 3.0), (99.98, 2.0)];
    const ASKS: [(f64, f64); 2] = [(100.01, 4.0), (100.02, 3.0)];

    fn venue_with(edit: impl FnOnce(&mut PaperConfig)) -> PaperSim {
        let mut cfg = PaperConfig {
            entry_latency_s: 0.01,
            cancel_latency_s: 0.01,
            response_latency_s: 0.005,
            tick_size: TICK,
            lot_size: 0.01,
            ..PaperConfig::default()
        };
        edit(&mut cfg);
        let mut v = PaperSim::new(cfg).unwrap();
        v.on_book(BIDS, ASKS, 0.0).unwrap();
        v
    }

    fn venue() -> PaperSim {
        venue_with(|_| {})
    }

    /// `x` base units in lots of 0.01.
    fn q(x: f64) -> Qty {
        LotSize::new(0.01)
            .unwrap()
            .lots("qty", x, Rounding::Nearest)
            .unwrap()
    }

    fn order(cid: &str, side: Side, price_ticks: i64, qty: f64, post_only: bool) -> NewOrder {
        NewOrder {
            client_id: id(cid),
            symbol: "X".to_owned(),
            side,
            price_ticks: Price(price_ticks),
            qty: q(qty),
            post_only,
        }
    }

    fn bid(v: &mut PaperSim, cid: &str, price_ticks: i64, qty: f64, now: f64) {
        v.submit(order(cid, Side::Buy, price_ticks, qty, true), now)
            .unwrap();
    }

    /// `(client_id, qty, maker)` of the fills among `events`.
    fn fills(events: &[Event]) -> Vec<(String, f64, bool)> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Filled {
                    client_id,
                    qty,
                    maker,
                    ..
                } => Some((name(*client_id), qty.lots() as f64 / 100.0, *maker)),
                _ => None,
            })
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn latency_orders_arrival_and_responses() {
        let mut v = venue();
        bid(&mut v, "b1", 10_000, 1.0, 0.0);
        assert!(!v.has_due(0.009));
        assert!(v.poll(0.009).is_empty());
        assert!(v.poll(0.014).is_empty()); // at the venue since 0.01, the ack is on its way
        let events = v.poll(0.015);
        assert!(matches!(&events[..], [Event::Acked { client_id, ts }]
            if name(*client_id) == "b1" && close(*ts, 0.015)));
        assert_eq!(v.venue_id("b1"), "paper-b1");
        assert_eq!(v.fill_id(3), "paper-f3");
        // a cancel sent before a later order lands first when its latency is shorter
        let mut v = venue_with(|c| c.cancel_latency_s = 0.001);
        bid(&mut v, "b1", 9_998, 1.0, 0.0);
        v.cancel(id("b1"), 0.0).unwrap();
        let kinds: Vec<_> = v.poll(1.0).into_iter().collect();
        assert!(
            matches!(kinds[0], Event::CancelRejected { reason, .. } if reason == UNKNOWN_ORDER)
        );
        assert!(matches!(kinds[1], Event::Acked { .. }));
        assert_eq!(v.open_orders("X").map(name).collect::<Vec<_>>(), ["b1"]);
    }

    #[test]
    fn equal_times_keep_send_order() {
        let mut v = venue_with(|c| {
            c.entry_latency_s = 0.0;
            c.cancel_latency_s = 0.0;
        });
        bid(&mut v, "a", 9_990, 1.0, 0.0);
        bid(&mut v, "b", 9_990, 1.0, 0.0);
        v.cancel(id("a"), 0.0).unwrap();
        let ids: Vec<_> = v.poll(1.0).iter().map(|e| name(e.client_id())).collect();
        assert_eq!(ids, ["a", "b", "a"]);
    }

    #[test]
    fn queue_ahead_trades_first_then_partial_fills() {
        let mut v = venue();
        bid(&mut v, "b1", 10_000, 1.0, 0.0); // joins behind 5.0 at 100.00
        v.poll(0.02);
        v.on_book([(100.00, 5.0)], [(100.00 + TICK, 1.0)], 0.03)
            .unwrap();
        assert!(fills(&v.poll(0.1)).is_empty()); // touch alone never fills
        v.on_trade(Price(10_000), q(4.0), false, 0.2).unwrap();
        assert!(fills(&v.poll(0.3)).is_empty());
        v.on_trade(Price(10_000), q(1.5), false, 0.4).unwrap(); // 1 ahead + 0.5 for us
        let got = fills(&v.poll(0.5));
        assert_eq!(got.len(), 1);
        assert!(close(got[0].1, 0.5) && got[0].2);
        v.on_trade(Price(10_000), q(2.0), false, 0.6).unwrap();
        let got = fills(&v.poll(0.7));
        assert!(got.len() == 1 && close(got[0].1, 0.5));
        assert_eq!(v.open_orders("X").count(), 0);
        assert_eq!(v.fills(), 2);
    }

    #[test]
    fn a_trade_is_shared_best_price_first_ties_in_arrival_order() {
        let mut v = venue();
        bid(&mut v, "b2", 9_998, 1.0, 0.0);
        bid(&mut v, "b1", 9_999, 1.0, 0.0);
        bid(&mut v, "b3", 9_998, 1.0, 0.001);
        v.poll(0.02);
        v.on_trade(Price(9_997), q(2.5), false, 0.1).unwrap();
        let got = fills(&v.poll(0.2));
        let ids: Vec<_> = got.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(ids, ["b1", "b2", "b3"]);
        assert!(close(got[2].1, 0.5));
        // buy aggressors never fill bids
        v.on_trade(Price(9_000), q(100.0), true, 0.3).unwrap();
        assert!(fills(&v.poll(0.4)).is_empty());
    }

    #[test]
    fn post_only_crossing_is_rejected_and_taker_fills_pay_taker_fees() {
        let mut v = venue();
        bid(&mut v, "b1", 10_001, 1.0, 0.0);
        let events = v.poll(0.1);
        assert!(
            matches!(&events[..], [Event::Rejected { reason, .. }] if *reason == POST_ONLY_REJECT)
        );
        assert_eq!(v.rejects(), 1);
        // not post-only: takes 4.0 @ 100.01 then 1.0 @ 100.02 and rests nothing
        v.submit(order("t1", Side::Buy, 10_002, 5.0, false), 0.1)
            .unwrap();
        let events = v.poll(0.2);
        let taker: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Filled {
                    price_ticks,
                    qty,
                    fee,
                    maker: false,
                    fill_id,
                    ..
                } => Some((
                    price_ticks.ticks(),
                    qty.lots() as f64 / 100.0,
                    *fee,
                    *fill_id,
                )),
                _ => None,
            })
            .collect();
        assert_eq!(taker.len(), 2);
        assert_eq!((taker[0].0, taker[0].1), (10_001, 4.0));
        assert_eq!(taker[0].2, 10_001.0 * TICK * 4.0 * 5.0 * 1e-4);
        assert_eq!((taker[1].0, taker[1].1), (10_002, 1.0));
        assert_eq!((taker[0].3, taker[1].3), (1, 2));
        assert_eq!(v.open_orders("X").count(), 0);
        // the liquidity taken stays taken until the next book: nothing to fill, t2 rests
        v.submit(order("t2", Side::Buy, 10_001, 1.0, false), 0.2)
            .unwrap();
        assert!(fills(&v.poll(0.3)).is_empty());
        assert_eq!(v.open_orders("X").map(name).collect::<Vec<_>>(), ["t2"]);
    }

    /// `(price_ticks, qty, maker)` of the fills among `events`.
    fn fill_prices(events: &[Event]) -> Vec<(i64, f64, bool)> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Filled {
                    price_ticks,
                    qty,
                    maker,
                    ..
                } => Some((price_ticks.ticks(), qty.lots() as f64 / 100.0, *maker)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_level_eaten_to_zero_is_no_liquidity() {
        let mut v = venue();
        v.submit(order("t1", Side::Buy, 10_001, 4.0, false), 0.0)
            .unwrap(); // eats 100.01 to 0.0
        assert_eq!(fill_prices(&v.poll(0.1)), [(10_001, 4.0, false)]);
        // a post-only bid at the emptied price takes nothing, so it is accepted and rests
        bid(&mut v, "p1", 10_001, 1.0, 0.1);
        let events = v.poll(0.2);
        assert!(
            matches!(&events[..], [Event::Acked { client_id, .. }] if name(*client_id) == "p1")
        );
        // a marketable order skips the emptied level: one fill, at 100.02, never one of 0.0
        v.submit(order("t2", Side::Buy, 10_002, 1.0, false), 0.2)
            .unwrap();
        assert_eq!(fill_prices(&v.poll(0.3)), [(10_002, 1.0, false)]);
        // our own resting bid would stop the sells below (self-trade prevention)
        v.cancel(id("p1"), 0.3).unwrap();
        // the same on the bid side: 100.00 eaten, a post-only sell there takes nothing
        v.submit(order("s1", Side::Sell, 10_000, 5.0, false), 0.3)
            .unwrap();
        assert_eq!(fill_prices(&v.poll(0.4)), [(10_000, 5.0, false)]);
        v.submit(order("p2", Side::Sell, 10_000, 1.0, true), 0.4)
            .unwrap();
        assert!(matches!(&v.poll(0.5)[..], [Event::Acked { .. }]));
        v.cancel(id("p2"), 0.5).unwrap();
        // a zero-size level in the view itself is no liquidity either
        v.on_book([(100.00, 1.0)], [(100.01, 0.0), (100.03, 1.0)], 0.5)
            .unwrap();
        bid(&mut v, "p3", 10_002, 1.0, 0.51);
        assert!(matches!(
            &v.poll(0.6)[..],
            [Event::Cancelled { .. }, Event::Acked { .. }]
        ));
        v.submit(order("t3", Side::Buy, 10_003, 2.0, false), 0.6)
            .unwrap();
        assert_eq!(fill_prices(&v.poll(0.7)), [(10_003, 1.0, false)]);
        assert_eq!(v.fills(), 4);
        assert_eq!(v.rejects(), 0);
    }

    #[test]
    fn visible_sizes_round_down_as_liquidity_and_up_as_queue() {
        let mut v = venue();
        // 0.305 is 30.5 lots: a taker can take 30, an order joining the bid has 31 ahead
        v.on_book([(100.00, 0.305)], [(100.01, 0.305)], 0.0)
            .unwrap();
        v.submit(order("t1", Side::Buy, 10_001, 1.0, false), 0.0)
            .unwrap();
        assert_eq!(fill_prices(&v.poll(0.1)), [(10_001, 0.3, false)]);
        v.cancel(id("t1"), 0.1).unwrap(); // the rest of t1 rests at 100.01: out of the way
        bid(&mut v, "b1", 10_000, 1.0, 0.1);
        v.poll(0.2);
        v.on_trade(Price(10_000), q(0.31), false, 0.2).unwrap();
        assert!(fills(&v.poll(0.3)).is_empty());
        v.on_trade(Price(10_000), q(0.01), false, 0.3).unwrap();
        assert_eq!(fills(&v.poll(0.4)), [("b1".to_owned(), 0.01, true)]);
    }

    #[test]
    fn book_integers_convert_exactly_and_round_like_floats_off_the_lot() {
        let mut v = venue();
        // the book's integers: prices at 2 decimals, sizes at 3; 0.305 is 30.5 lots of 0.01
        v.on_book_scaled([(10_000, 305)], [(10_001, 305)], 2, 3, 0.0)
            .unwrap();
        v.submit(order("t1", Side::Buy, 10_001, 1.0, false), 0.0)
            .unwrap();
        assert_eq!(fill_prices(&v.poll(0.1)), [(10_001, 0.3, false)]);
        v.cancel(id("t1"), 0.1).unwrap();
        bid(&mut v, "b1", 10_000, 1.0, 0.1);
        v.poll(0.2);
        v.on_trade(Price(10_000), q(0.31), false, 0.2).unwrap();
        assert!(fills(&v.poll(0.3)).is_empty()); // 31 lots ahead: rounded up
        v.on_trade(Price(10_000), q(0.01), false, 0.3).unwrap();
        assert_eq!(fills(&v.poll(0.4)), [("b1".to_owned(), 0.01, true)]);
        // a book coarser than the lot and tick: 100 at no decimals is 10,000 ticks, 7 is 700 lots
        v.on_book_scaled([(100, 7)], [(101, 2)], 0, 0, 0.5).unwrap();
        assert_eq!(
            v.bids[0],
            Level {
                price: Price(10_000),
                take: Qty(700),
                queue: 700
            }
        );
        assert_eq!(v.asks[0].price, Price(10_100));
    }

    #[test]
    fn the_u64_conversion_of_a_level_is_the_general_one() {
        for (tick, lot, price_scale, qty_scale) in [
            (0.01, 0.0001, 2, 8),
            (0.01, 0.0001, 8, 8),
            (0.5, 0.3, 3, 1),
            (1e-8, 1e-8, 8, 8),
            (25.0, 1.0, 0, 0),
        ] {
            let step = |arg, x| DecimalStep::new(arg, x).unwrap();
            let scaled = Scaled::new(
                step("tick_size", tick).at(price_scale),
                step("lot_size", lot).at(qty_scale),
                price_scale,
                qty_scale,
            );
            for price in [
                -1,
                0,
                1,
                12,
                13,
                49,
                50,
                51,
                6_500_001,
                i64::MAX / 3,
                i64::MAX,
            ] {
                for size in [0, 1, 2, 9_999, 10_000, 10_001, u64::MAX / 7, u64::MAX] {
                    let general = scaled.general_level((price, size), "x").ok();
                    if let Some(level) = scaled.small_level((price, size)) {
                        assert_eq!(Some(level), general, "{tick} {lot} {price} {size}");
                    }
                    assert_eq!(scaled.level((price, size), "x").ok(), general);
                }
            }
        }
    }

    #[test]
    fn book_integers_that_cannot_convert_are_refused_before_anything_changes() {
        let mut v = venue();
        let before = v.bids.clone();
        // beyond Qty::MAX lots of 0.01
        let err = v.on_book_scaled([(10_000, u64::MAX >> 8)], [], 2, 0, 0.1);
        assert_eq!(err.unwrap_err().arg, "bids");
        assert_eq!(
            v.on_book_scaled([], [(-1, 1)], 2, 0, 0.1).unwrap_err().arg,
            "asks"
        );
        assert_eq!(
            v.on_book_scaled([], [], 19, 0, 0.1).unwrap_err().arg,
            "scale"
        );
        assert_eq!(
            v.on_book_scaled([], [], 2, 0, f64::NAN).unwrap_err().arg,
            "now"
        );
        assert_eq!(v.bids, before);
        let mut thirds = venue_with(|c| c.lot_size = 1.0 / 3.0);
        let err = thirds.on_book_scaled([(10_000, 3)], [], 2, 0, 0.1);
        assert_eq!(err.unwrap_err().arg, "lot_size");
    }

    #[test]
    fn sizes_of_no_lots_and_bad_times_are_refused() {
        let mut v = venue();
        for qty in [0, -1] {
            for post_only in [true, false] {
                let mut o = order("z", Side::Sell, 10_001, 1.0, post_only);
                o.qty = Qty(qty);
                assert_eq!(v.submit(o, 0.0).unwrap_err().arg, "qty");
            }
        }
        for now in [f64::NAN, f64::INFINITY] {
            let o = order("z", Side::Sell, 10_001, 1.0, true);
            assert_eq!(v.submit(o, now).unwrap_err().arg, "now");
            assert_eq!(
                v.on_trade(Price(1), Qty(1), true, now).unwrap_err().arg,
                "now"
            );
        }
        assert_eq!(v.open_orders("X").count(), 0);
        assert!(v.poll(1.0).is_empty());
    }

    fn rejected(events: &[Event]) -> Vec<(String, &'static str)> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Rejected {
                    client_id, reason, ..
                } => Some((name(*client_id), *reason)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_duplicate_client_id_is_rejected_and_the_resting_order_untouched() {
        let mut v = venue();
        bid(&mut v, "b1", 9_999, 1.0, 0.0);
        bid(&mut v, "b1", 9_998, 2.0, 0.0); // in flight behind the first: arrives second
        let events = v.poll(0.1);
        assert!(matches!(events[0], Event::Acked { .. }));
        assert_eq!(rejected(&events), [("b1".to_owned(), DUPLICATE_CLIENT_ID)]);
        // a marketable order with the id is a duplicate as well
        v.submit(order("b1", Side::Sell, 10_000, 1.0, false), 0.1)
            .unwrap();
        assert_eq!(
            rejected(&v.poll(0.2)),
            [("b1".to_owned(), DUPLICATE_CLIENT_ID)]
        );
        assert_eq!(v.rejects(), 2);
        assert_eq!(v.fills(), 0); // the marketable duplicate took nothing
                                  // the resting b1 keeps its price, size and queue place: 3.0 ahead at 99.99, then 1.0
        v.on_trade(Price(9_999), q(4.5), false, 0.3).unwrap();
        assert_eq!(fill_prices(&v.poll(0.4)), [(9_999, 1.0, true)]);
        // once b1 is done its id may be used again (as on Binance)
        bid(&mut v, "b1", 9_990, 1.0, 0.4);
        assert!(matches!(&v.poll(0.5)[..], [Event::Acked { .. }]));
        v.cancel(id("b1"), 0.5).unwrap();
        bid(&mut v, "b1", 9_990, 1.0, 0.5); // the cancel lands first
        let events = v.poll(0.6);
        assert!(matches!(
            &events[..],
            [Event::Cancelled { .. }, Event::Acked { .. }]
        ));
    }

    #[test]
    fn an_order_crossing_our_own_resting_order_is_rejected() {
        let mut v = venue();
        v.on_book([(99.95, 5.0)], [(100.05, 5.0)], 0.0).unwrap(); // a wide market
        v.submit(order("a1", Side::Sell, 10_002, 1.0, true), 0.0)
            .unwrap();
        v.poll(0.1);
        bid(&mut v, "b1", 10_002, 1.0, 0.1); // post-only at our own ask: it would cross it
        v.submit(order("t1", Side::Buy, 10_003, 1.0, false), 0.1)
            .unwrap(); // marketable into our own ask: self-trade prevented
        bid(&mut v, "b2", 10_001, 1.0, 0.1); // below our ask: fine
        let events = v.poll(0.2);
        assert_eq!(
            rejected(&events),
            [
                ("b1".to_owned(), POST_ONLY_REJECT),
                ("t1".to_owned(), SELF_TRADE_PREVENTED)
            ]
        );
        assert!(fills(&events).is_empty());
        let mut open: Vec<_> = v.open_orders("X").map(name).collect();
        open.sort_unstable();
        assert_eq!(open, ["a1", "b2"]);
    }

    #[test]
    fn one_instrument_per_venue_so_another_symbols_print_never_fills_ours() {
        let mut v = venue();
        bid(&mut v, "b1", 9_999, 1.0, 0.0);
        let mut y = order("y1", Side::Buy, 9_999, 1.0, true);
        y.symbol = "Y".to_owned();
        assert_eq!(v.submit(y, 0.0).unwrap_err().arg, "symbol");
        assert_eq!(v.symbol(), Some("X"));
        assert_eq!(v.open_orders("Y").count(), 0);
    }

    #[test]
    fn open_orders_are_bounded() {
        let mut v = venue_with(|c| c.max_open_orders = 2);
        bid(&mut v, "b1", 9_990, 1.0, 0.0);
        bid(&mut v, "b2", 9_991, 1.0, 0.0);
        bid(&mut v, "b3", 9_992, 1.0, 0.0);
        // even a marketable order that would fill at once is refused at the limit
        v.submit(order("t1", Side::Sell, 10_000, 1.0, false), 0.0)
            .unwrap();
        let events = v.poll(0.1);
        assert_eq!(
            rejected(&events),
            [
                ("b3".to_owned(), TOO_MANY_OPEN_ORDERS),
                ("t1".to_owned(), TOO_MANY_OPEN_ORDERS)
            ]
        );
        assert_eq!(v.rejects(), 2);
        assert_eq!(v.fills(), 0);
        // a cancel frees a place
        v.cancel(id("b1"), 0.1).unwrap();
        bid(&mut v, "b4", 9_993, 1.0, 0.2);
        v.poll(0.3);
        let mut open: Vec<_> = v.open_orders("X").map(name).collect();
        open.sort_unstable();
        assert_eq!(open, ["b2", "b4"]);
        let bad = PaperConfig {
            max_open_orders: 0,
            ..PaperConfig::default()
        };
        assert_eq!(PaperSim::new(bad).unwrap_err().arg, "max_open_orders");
    }

    #[test]
    fn cancel_racing_a_fill() {
        let mut v = venue_with(|c| c.cancel_latency_s = 0.05);
        bid(&mut v, "b1", 9_998, 1.0, 0.0);
        v.poll(0.02);
        v.cancel(id("b1"), 0.03).unwrap(); // lands at 0.08
        v.on_trade(Price(9_990), q(1.0), false, 0.05).unwrap();
        let events = v.poll(0.2);
        assert!(matches!(events[events.len() - 2], Event::Filled { .. }));
        assert!(matches!(
            events[events.len() - 1],
            Event::CancelRejected { .. }
        ));
        // after the cancel landed nothing fills
        let mut v = venue_with(|c| c.cancel_latency_s = 0.05);
        bid(&mut v, "b1", 9_998, 1.0, 0.0);
        v.poll(0.02);
        v.cancel(id("b1"), 0.03).unwrap();
        v.on_trade(Price(9_990), q(1.0), false, 0.09).unwrap();
        let events = v.poll(0.2);
        assert!(matches!(events.last(), Some(Event::Cancelled { .. })));
        assert!(fills(&events).is_empty());
    }

    /// The answers to amends among `events`: `(client_id, Ok(new size) or Err(reason))`, a
    /// cancel as `Ok(0.0)`.
    fn amends(events: &[Event]) -> Vec<(String, Result<f64, &'static str>)> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Amended { client_id, qty, .. } => {
                    Some((name(*client_id), Ok(qty.lots() as f64 / 100.0)))
                }
                Event::Cancelled { client_id, .. } => Some((name(*client_id), Ok(0.0))),
                Event::AmendRejected {
                    client_id, reason, ..
                } => Some((name(*client_id), Err(*reason))),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn an_amend_down_keeps_the_queue_position() {
        // b1 joins the 100.00 bid behind 5.0; 4.0 trades: 1.0 is left ahead of it
        let mut v = venue();
        bid(&mut v, "b1", 10_000, 2.0, 0.0);
        v.poll(0.02);
        v.on_trade(Price(10_000), q(4.0), false, 0.03).unwrap();
        v.amend(id("b1"), q(1.0), 0.04).unwrap(); // lands at 0.05
        assert_eq!(amends(&v.poll(0.1)), [("b1".to_owned(), Ok(1.0))]);
        assert_eq!(v.resting_qty(id("b1")), Some(q(1.0)));
        // 1.0 ahead, then b1: 1.5 traded fills 0.5 of it (a new order would wait behind 5.0)
        v.on_trade(Price(10_000), q(1.5), false, 0.1).unwrap();
        assert_eq!(fills(&v.poll(0.2)), [("b1".to_owned(), 0.5, true)]);
        v.on_trade(Price(10_000), q(1.0), false, 0.2).unwrap();
        assert_eq!(fills(&v.poll(0.3)), [("b1".to_owned(), 0.5, true)]); // 1.0 in total
        assert_eq!(v.resting_qty(id("b1")), None);
    }

    #[test]
    fn an_amend_racing_a_fill() {
        // filled 1.5 of 2.0 before an amend to 1.0 lands: cancelled, as venues do
        let mut v = venue_with(|c| c.cancel_latency_s = 0.05);
        bid(&mut v, "b1", 9_998, 2.0, 0.0);
        v.poll(0.02);
        v.amend(id("b1"), q(1.0), 0.03).unwrap(); // lands at 0.08
        v.on_trade(Price(9_990), q(1.5), false, 0.05).unwrap();
        let events = v.poll(0.2);
        assert_eq!(fills(&events), [("b1".to_owned(), 1.5, true)]);
        assert_eq!(amends(&events), [("b1".to_owned(), Ok(0.0))]);
        assert_eq!(v.open_orders("X").count(), 0);
        // filled in full before the amend lands: the amend finds nothing
        let mut v = venue_with(|c| c.cancel_latency_s = 0.05);
        bid(&mut v, "b1", 9_998, 2.0, 0.0);
        v.poll(0.02);
        v.amend(id("b1"), q(1.0), 0.03).unwrap();
        v.on_trade(Price(9_990), q(2.0), false, 0.05).unwrap();
        let events = v.poll(0.2);
        assert_eq!(amends(&events), [("b1".to_owned(), Err(UNKNOWN_ORDER))]);
        // filled less than the new size: reduced to it, the filled part included
        let mut v = venue_with(|c| c.cancel_latency_s = 0.05);
        bid(&mut v, "b1", 9_998, 2.0, 0.0);
        v.poll(0.02);
        v.amend(id("b1"), q(1.0), 0.03).unwrap();
        v.on_trade(Price(9_990), q(0.25), false, 0.05).unwrap();
        assert_eq!(amends(&v.poll(0.2)), [("b1".to_owned(), Ok(1.0))]);
        assert_eq!(v.resting_qty(id("b1")), Some(q(0.75)));
    }

    #[test]
    fn an_amend_that_does_not_reduce_is_refused() {
        let mut v = venue();
        bid(&mut v, "b1", 9_998, 1.0, 0.0);
        v.poll(0.02);
        v.amend(id("b1"), q(1.0), 0.03).unwrap();
        v.amend(id("b1"), q(2.0), 0.03).unwrap();
        let events = v.poll(0.1);
        let refused = Err(AMEND_NOT_REDUCING);
        assert_eq!(
            amends(&events),
            [("b1".to_owned(), refused), ("b1".to_owned(), refused)]
        );
        assert_eq!(v.resting_qty(id("b1")), Some(q(1.0)));
        assert_eq!(v.amend(id("b1"), Qty(0), 0.1).unwrap_err().arg, "qty");
        assert_eq!(v.amend(id("b1"), q(0.5), f64::NAN).unwrap_err().arg, "now");
    }

    fn queue_after_cancels(probabilistic: bool) -> f64 {
        let mut v = venue_with(|c| c.probabilistic = probabilistic);
        bid(&mut v, "b1", 10_000, 5.0, 0.0); // 5.0 ahead
        v.poll(0.02);
        v.on_book([(100.00, 7.0)], ASKS, 0.03).unwrap(); // 2.0 joins behind us
        v.on_book([(100.00, 3.0)], ASKS, 0.04).unwrap(); // 4.0 cancelled
        v.on_trade(Price(10_000), q(3.0), false, 0.05).unwrap();
        fills(&v.poll(0.1)).iter().map(|f| f.1).sum()
    }

    #[test]
    fn probabilistic_model_credits_cancels_ahead() {
        assert_eq!(queue_after_cancels(false), 0.0); // ahead capped at 3, all traded

        // ahead 5, behind 2, 4 cancelled: 4 * 25 / 29 credited ahead, rounded down to lots
        let ahead = 5.0 - (400.0 * 25.0 / 29.0_f64).floor() / 100.0;
        assert!(close(queue_after_cancels(true), 3.0 - ahead));
    }

    #[test]
    fn trades_seen_before_the_book_are_not_counted_twice() {
        let mut v = venue_with(|c| c.probabilistic = true);
        bid(&mut v, "b1", 10_000, 1.0, 0.0);
        v.poll(0.02);
        v.on_trade(Price(10_000), q(2.0), false, 0.03).unwrap(); // ahead 5 → 3
        v.on_book([(100.00, 3.0)], ASKS, 0.04).unwrap();
        v.on_trade(Price(10_000), q(3.0), false, 0.05).unwrap();
        assert!(fills(&v.poll(0.1)).is_empty());
    }

    /// `ts` of each fill among `events`.
    fn fill_times(events: &[Event]) -> Vec<f64> {
        events
            .iter()
            .filter(|e| e.fill_fields().is_some())
            .map(Event::ts)
            .collect()
    }

    #[test]
    fn market_events_are_dated_at_the_venue_time_the_caller_gives() {
        let at = |now, venue| MarketTime {
            now,
            venue: Some(venue),
        };
        // no feed latency; the bid is at the venue at 0.01, so a trade seen at 0.02 that
        // happened at 0.005 fills nothing
        let mut v = venue();
        bid(&mut v, "b1", 10_000, 2.0, 0.0);
        v.on_trade(Price(9_990), q(0.5), false, at(0.02, 0.005))
            .unwrap();
        // seen at 0.03, it happened at 0.012: a fill stamped 0.012 + 0.005 response latency
        v.on_trade(Price(9_990), q(0.5), false, at(0.03, 0.012))
            .unwrap();
        let got = v.poll(0.03);
        assert_eq!(fills(&got), [("b1".to_owned(), 0.5, true)]);
        assert!(close(fill_times(&got)[0], 0.017));
        // no venue time: as far back as the last event (0.018): 0.022
        v.on_trade(Price(9_990), q(0.5), false, 0.04).unwrap();
        // dated before what the venue already reached: at its clock, 0.022
        v.on_trade(Price(9_990), q(0.5), false, at(0.05, 0.0))
            .unwrap();
        let times = fill_times(&v.poll(0.05));
        assert!(times.len() == 2 && close(times[0], 0.027) && close(times[1], 0.027));
        // dated after we see it: when we see it (the last 0.5 of the bid)
        v.on_trade(Price(9_990), q(0.5), false, at(0.2, 0.5))
            .unwrap();
        let times = fill_times(&v.poll(1.0));
        assert!(times.len() == 1 && close(times[0], 0.205));
        // a venue time that is not finite is refused
        let err = v.on_trade(Price(9_990), q(0.5), false, at(0.3, f64::NAN));
        assert_eq!(err.unwrap_err().arg, "venue_time");
    }

    #[test]
    fn arrivals_due_by_a_book_see_the_previous_view() {
        let mut v = venue();
        bid(&mut v, "b1", 10_000, 1.0, 0.0); // due 0.01

        // the book at 0.01 would make the post-only bid cross and put 9.0 ahead of it, but the
        // order arrives first: acked against asks at 100.01, 5.0 ahead (capped, never raised)
        v.on_book([(100.00, 9.0)], [(100.00, 1.0)], 0.01).unwrap();
        assert!(matches!(&v.poll(0.02)[..], [Event::Acked { .. }]));
        v.on_trade(Price(10_000), q(5.5), false, 0.02).unwrap();
        let got = fills(&v.poll(0.1));
        assert!(got.len() == 1 && close(got[0].1, 0.5));
        // beyond the visible depth on arrival: the queue ahead is unknown, a trade at our
        // price fills nothing until a view shows the level; a trade through it does
        let mut v = venue();
        bid(&mut v, "b1", 9_990, 1.0, 0.0);
        v.on_book([(100.00, 1.0)], ASKS, 0.01).unwrap();
        v.on_trade(Price(9_990), q(0.5), false, 0.02).unwrap();
        assert!(fills(&v.poll(0.1)).is_empty());
        v.on_book([(100.00, 1.0), (99.90, 0.2)], ASKS, 0.1).unwrap();
        v.on_trade(Price(9_990), q(0.5), false, 0.11).unwrap();
        assert_eq!(fills(&v.poll(0.2)), [("b1".to_owned(), 0.3, true)]);
        v.on_trade(Price(9_989), q(0.5), false, 0.2).unwrap();
        assert_eq!(fills(&v.poll(0.3)), [("b1".to_owned(), 0.5, true)]);
    }

    fn levels(rows: &[(i64, i64)]) -> Vec<Level> {
        rows.iter()
            .map(|&(price, lots)| Level {
                price: Price(price),
                take: Qty(lots),
                queue: lots,
            })
            .collect()
    }

    #[test]
    fn visible_levels() {
        let view = levels(&[(100, 1), (98, 2)]);
        assert_eq!(visible(&view, true, Price(97)), None);
        assert_eq!(visible(&view, true, Price(99)), Some(0));
        assert_eq!(visible(&view, true, Price(98)), Some(2));
        assert_eq!(visible(&view, true, Price(101)), Some(0));
        assert_eq!(visible(&[], true, Price(100)), None);
        let asks = levels(&[(100, 1), (102, 2)]);
        assert_eq!(visible(&asks, false, Price(103)), None);
        assert_eq!(visible(&asks, false, Price(99)), Some(0));
    }

    #[test]
    fn unsorted_and_repeated_levels_behave_like_a_dict() {
        let mut dst = Vec::new();
        let lot = LotSize::new(1.0).unwrap();
        let rows = [(99.0, 1.0), (100.0, 2.0), (99.0, 3.0)];
        let bids = rows.map(|l| float_level(l, 1.0, &lot, "bids"));
        stage(&mut dst, bids, true).unwrap();
        assert_eq!(dst, levels(&[(100, 2), (99, 3)]));
        let asks = [(1.004, 1.0), (1.0, 2.0)].map(|l| float_level(l, 100.0, &lot, "asks"));
        stage(&mut dst, asks, false).unwrap();
        assert_eq!(dst, levels(&[(100, 2)]));
    }

    #[test]
    fn bad_input_is_refused_and_changes_nothing() {
        let mut v = venue();
        let err = v.on_book([(100.0, f64::NAN)], ASKS, 0.1).unwrap_err();
        assert_eq!(err.arg, "bids");
        assert_eq!(v.on_book(BIDS, [(-1.0, 1.0)], 0.1).unwrap_err().arg, "asks");
        assert_eq!(v.on_book(BIDS, ASKS, f64::NAN).unwrap_err().arg, "now");
        assert_eq!(
            v.on_book(BIDS, [(100.0, -0.01)], 0.1).unwrap_err().arg,
            "asks"
        );
        assert_eq!(
            v.submit(order("x", Side::Buy, -1, 1.0, true), 0.0)
                .unwrap_err()
                .arg,
            "price_ticks"
        );
        assert_eq!(
            v.on_trade(Price(1), Qty(-1), true, 0.0).unwrap_err().arg,
            "qty"
        );
        assert_eq!(v.open_orders("X").count(), 0);
        let bad = PaperConfig {
            tick_size: 0.0,
            ..PaperConfig::default()
        };
        assert_eq!(PaperSim::new(bad).unwrap_err().arg, "tick_size");
        for (edit, arg) in [
            (
                PaperConfig {
                    lot_size: 0.0,
                    ..PaperConfig::default()
                },
                "lot_size",
            ),
            (
                PaperConfig {
                    feed_latency_s: -1.0,
                    ..PaperConfig::default()
                },
                "feed_latency_s",
            ),
            (
                PaperConfig {
                    latency_jitter_s: f64::NAN,
                    ..PaperConfig::default()
                },
                "latency_jitter_s",
            ),
        ] {
            assert_eq!(PaperSim::new(edit).unwrap_err().arg, arg);
        }
    }

    #[test]
    fn an_ask_at_the_deepest_visible_level_has_its_queue_and_fills_only_when_reached() {
        let mut v = venue();
        v.submit(order("s1", Side::Sell, 10_002, 1.0, true), 0.0)
            .unwrap(); // behind 3.0 at the deepest visible ask
        v.on_book(BIDS, [(100.01, 4.0), (100.02, 0.5)], 0.1)
            .unwrap(); // 2.5 of it left
        v.on_trade(Price(10_001), q(5.0), true, 0.2).unwrap(); // below our price: never reaches us
        assert!(fills(&v.poll(0.3)).is_empty());
        v.on_trade(Price(10_002), q(1.5), true, 0.4).unwrap(); // 0.5 ahead, then us
        assert_eq!(fills(&v.poll(0.5)), [("s1".to_owned(), 1.0, true)]);
    }

    #[test]
    fn levels_out_of_order_or_repeated_are_a_dict_sorted_best_first() {
        // bids rising, asks falling: sorted before use, so the deepest level is known
        let mut v = venue();
        let bids = [(99.98, 2.0), (99.99, 3.0), (100.00, 5.0)];
        v.on_book(bids, [(100.02, 3.0), (100.01, 4.0)], 0.0)
            .unwrap();
        bid(&mut v, "b1", 9_999, 1.0, 0.0); // behind 3.0
        v.submit(order("s1", Side::Sell, 10_002, 1.0, true), 0.0)
            .unwrap(); // behind 3.0
        v.on_trade(Price(9_999), q(4.0), false, 0.1).unwrap();
        v.on_trade(Price(10_002), q(4.0), true, 0.1).unwrap();
        let both = [("b1".to_owned(), 1.0, true), ("s1".to_owned(), 1.0, true)];
        assert_eq!(fills(&v.poll(0.2)), both);
        // a repeated price keeps its last size
        let mut v = venue();
        v.on_book([(100.00, 5.0), (100.00, 1.0)], ASKS, 0.0)
            .unwrap();
        bid(&mut v, "b2", 10_000, 1.0, 0.0); // behind 1.0
        v.on_trade(Price(10_000), q(2.0), false, 0.1).unwrap();
        assert_eq!(fills(&v.poll(0.2)), [("b2".to_owned(), 1.0, true)]);
    }

    #[test]
    fn a_trade_at_price_zero_or_of_no_size_is_taken_a_negative_one_refused() {
        let mut v = venue();
        assert!(v.on_trade(Price(0), q(1.0), false, 0.1).is_ok());
        assert!(v.on_trade(Price(10_000), Qty::ZERO, false, 0.1).is_ok());
        assert_eq!(
            v.on_trade(Price(-1), q(1.0), false, 0.1).unwrap_err().arg,
            "price_ticks"
        );
        assert_eq!(
            v.on_trade(Price(10_000), Qty(-1), false, 0.1)
                .unwrap_err()
                .arg,
            "qty"
        );
    }

    #[test]
    fn cancels_are_credited_against_the_queue_left_after_trades() {
        let mut v = venue_with(|c| {
            c.probabilistic = true;
            c.queue_power = 1.0;
        });
        bid(&mut v, "b1", 10_000, 1.0, 0.0); // 500 lots ahead
        let at = |size: f64| [(100.00, size), (99.99, 3.0), (99.98, 2.0)];
        v.on_book(at(8.0), ASKS, 0.1).unwrap(); // 300 lots join behind us
        v.on_trade(Price(10_000), q(1.0), false, 0.2).unwrap(); // 400 ahead, 300 behind

        // 200 lots cancelled: 200 * 400 / 700 = 114 of them ahead of us, 286 left ahead
        v.on_book(at(5.0), ASKS, 0.3).unwrap();
        v.on_trade(Price(10_000), q(3.0), false, 0.4).unwrap();
        assert_eq!(fills(&v.poll(0.5)), [("b1".to_owned(), 0.14, true)]);
        // fewer ahead than behind: 400 cancelled, 400 * 100 / 800 = 50 of them ahead of us
        let mut v = venue_with(|c| {
            c.probabilistic = true;
            c.queue_power = 1.0;
        });
        v.on_book(at(1.0), ASKS, 0.0).unwrap();
        bid(&mut v, "b2", 10_000, 1.0, 0.0); // 100 lots ahead
        v.on_book(at(8.0), ASKS, 0.1).unwrap(); // 700 behind
        v.on_book(at(4.0), ASKS, 0.2).unwrap(); // 50 left ahead
        v.on_trade(Price(10_000), q(1.2), false, 0.3).unwrap();
        assert_eq!(fills(&v.poll(0.4)), [("b2".to_owned(), 0.7, true)]);
    }
}
