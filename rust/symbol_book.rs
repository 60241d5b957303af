//! One symbol's synced book: decode → sequence check → validate → apply, atomically.
//!
//! Every payload is validated completely (decoded, scaled, tick-checked) before the first level
//! changes, so a malformed payload leaves the book exactly as it was.

use std::collections::VecDeque;

use crate::book::{Book, Level, Side};
use crate::decode::{self, DecodeError, Decoded, ErrorKind, Format, Kind, RawLevel, Scratch};
use crate::features::{self, FeatureRow, Tracker};
use crate::fixed::{Decimal, POW10};
use crate::flow::Flow;
use crate::sync::{Ids, Rule, Sequencer, Verdict};

/// A venue and market type; decides the decoder and the sync rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Venue {
    BinanceSpot,
    BinanceUsdm,
    BinanceCoinm,
    BybitSpot,
    BybitLinear,
    Okx,
}

impl Venue {
    /// Every venue with its public name.
    pub const ALL: [(Venue, &'static str); 6] = [
        (Venue::BinanceSpot, "binance-spot"),
        (Venue::BinanceUsdm, "binance-usdm"),
        (Venue::BinanceCoinm, "binance-coinm"),
        (Venue::BybitSpot, "bybit-spot"),
        (Venue::BybitLinear, "bybit-linear"),
        (Venue::Okx, "okx"),
    ];

    pub fn parse(name: &str) -> Option<Venue> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(v, _)| *v)
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(v, _)| *v == self)
            .map_or("", |(_, n)| n)
    }

    pub fn format(self) -> Format {
        match self {
            Venue::BinanceSpot | Venue::BinanceUsdm | Venue::BinanceCoinm => Format::Binance,
            Venue::BybitSpot | Venue::BybitLinear => Format::Bybit,
            Venue::Okx => Format::Okx,
        }
    }

    pub fn rule(self) -> Rule {
        match self {
            Venue::BinanceSpot => Rule::BinanceSpot,
            Venue::BinanceUsdm | Venue::BinanceCoinm => Rule::BinanceFutures,
            Venue::BybitSpot | Venue::BybitLinear => Rule::Bybit,
            Venue::Okx => Rule::Okx,
        }
    }
}

/// Outcome of one payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    Applied = 0,
    Buffered = 1,
    Stale = 2,
    Gap = 3,
    SnapshotTooOld = 4,
    ChecksumMismatch = 5,
    Ignored = 6,
    Trade = 7,
    Ticker = 8,
    BufferOverflow = 9,
    /// Only in batch results: the payload raised a decode error and was skipped.
    Malformed = 10,
}

/// Book construction options.
#[derive(Clone, Debug)]
pub struct Config {
    /// Most diffs kept while waiting for a snapshot.
    pub max_buffer: usize,
    /// Fixed price grid; `None` works at the precision of the strings.
    pub tick_size: Option<Decimal>,
    /// Fixed size grid; `None` works at the precision of the strings.
    pub lot_size: Option<Decimal>,
    /// Half-life, in book updates, of the EWMA volatility.
    pub vol_halflife: f64,
    /// Volume per VPIN bucket (`None`: derived from the first `vpin_calibration_trades`
    /// trades, or VPIN is NaN when that is 0).
    pub vpin_bucket_volume: Option<f64>,
    /// Trades whose total volume sets the bucket volume when none is given (0: off).
    pub vpin_calibration_trades: u64,
    /// VPIN averages over this many buckets.
    pub vpin_buckets: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_buffer: 1024,
            tick_size: None,
            lot_size: None,
            vol_halflife: 100.0,
            vpin_bucket_volume: None,
            vpin_calibration_trades: 0,
            vpin_buckets: 50,
        }
    }
}

/// Event counters (never reset by a resync).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub applied: u64,
    pub buffered: u64,
    pub stale: u64,
    pub gaps: u64,
    pub snapshots: u64,
    pub snapshot_too_old: u64,
    pub checksum_errors: u64,
    pub ignored: u64,
    pub trades: u64,
    pub tickers: u64,
    pub buffer_overflows: u64,
    pub malformed: u64,
    pub crossed: u64,
}

impl Counters {
    /// Name and value of every counter.
    pub fn items(&self) -> [(&'static str, u64); 13] {
        [
            ("applied", self.applied),
            ("buffered", self.buffered),
            ("stale", self.stale),
            ("gaps", self.gaps),
            ("snapshots", self.snapshots),
            ("snapshot_too_old", self.snapshot_too_old),
            ("checksum_errors", self.checksum_errors),
            ("ignored", self.ignored),
            ("trades", self.trades),
            ("tickers", self.tickers),
            ("buffer_overflows", self.buffer_overflows),
            ("malformed", self.malformed),
            ("crossed", self.crossed),
        ]
    }
}

/// Best bid/offer from a ticker stream: `(bid, bid size, ask, ask size, update id)`.
pub type Ticker = (f64, f64, f64, f64, Option<i64>);

/// A diff kept while unsynced.
#[derive(Clone, Debug)]
struct BufferedDiff {
    ids: Option<Ids>,
    event_time_ms: Option<i64>,
    checksum: Option<i32>,
    bids: Vec<RawLevel>,
    asks: Vec<RawLevel>,
}

/// A book change validated and scaled, ready to apply without failing.
#[derive(Debug, Default)]
struct Prepared {
    bids: Vec<Level>,
    asks: Vec<Level>,
}

/// The synced book of one symbol on one venue.
#[derive(Debug)]
pub struct SymbolBook {
    pub venue: Venue,
    pub symbol: String,
    config: Config,
    /// Units per tick and per lot at the fixed scales (1 when not fixed).
    tick_units: u64,
    lot_units: u64,
    seq: Sequencer,
    book: Book,
    buffer: VecDeque<BufferedDiff>,
    tracker: Tracker,
    flow: Flow,
    counters: Counters,
    event_time_ms: Option<i64>,
    ticker: Option<Ticker>,
    /// Boxed so that lending it out for a decode (while `self` is borrowed mutably to apply)
    /// moves a pointer, not the ~150-byte struct twice per payload.
    scratch: Option<Box<Scratch>>,
    prepared: Prepared,
}

fn decimals_error(what: &str, detail: &str) -> DecodeError {
    DecodeError::new(ErrorKind::BadValue, format!("field {what}: {detail}"))
}

impl SymbolBook {
    pub fn new(symbol: &str, venue: Venue, config: Config) -> Result<Self, DecodeError> {
        let mut book = Book::default();
        let mut units = [1u64; 2];
        for (i, (name, grid)) in [
            ("tick_size", config.tick_size),
            ("lot_size", config.lot_size),
        ]
        .into_iter()
        .enumerate()
        {
            let Some(grid) = grid else { continue };
            if grid.mantissa == 0 {
                return Err(decimals_error(name, "must be positive"));
            }
            let scale = grid.significant_decimals();
            units[i] = grid.at_scale(scale).unwrap_or(1);
            if i == 0 {
                book.price_scale = scale;
            } else {
                book.qty_scale = scale;
            }
        }
        Ok(SymbolBook {
            venue,
            symbol: symbol.to_owned(),
            tick_units: units[0],
            lot_units: units[1],
            seq: Sequencer::new(venue.rule()),
            book,
            buffer: VecDeque::new(),
            tracker: Tracker::new(config.vol_halflife),
            flow: Flow::new(
                config.vpin_bucket_volume,
                config.vpin_calibration_trades,
                config.vpin_buckets,
            ),
            counters: Counters::default(),
            event_time_ms: None,
            ticker: None,
            scratch: Some(Box::default()),
            prepared: Prepared::default(),
            config,
        })
    }

    pub fn book(&self) -> &Book {
        &self.book
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn is_synced(&self) -> bool {
        self.seq.is_synced()
    }

    pub fn last_update_id(&self) -> Option<i64> {
        self.seq.last_id()
    }

    pub fn event_time_ms(&self) -> Option<i64> {
        self.event_time_ms
    }

    pub fn ticker(&self) -> Option<Ticker> {
        self.ticker
    }

    pub fn buffered_len(&self) -> usize {
        self.buffer.len()
    }

    /// Bytes held by the book, its buffer and scratch space.
    pub fn heap_bytes(&self) -> usize {
        let buffered: usize = self
            .buffer
            .iter()
            .map(|b| (b.bids.capacity() + b.asks.capacity()) * std::mem::size_of::<RawLevel>())
            .sum();
        self.book.heap_bytes()
            + buffered
            + self.scratch.as_ref().map_or(0, |s| {
                (s.bids.capacity() + s.asks.capacity()) * std::mem::size_of::<RawLevel>()
            })
            + (self.prepared.bids.capacity() + self.prepared.asks.capacity())
                * std::mem::size_of::<Level>()
    }

    /// Decodes and applies one websocket payload.
    pub fn apply(&mut self, payload: &[u8]) -> Result<Status, DecodeError> {
        let mut scratch = self.scratch.take().unwrap_or_default();
        let result = decode::decode(self.venue.format(), payload, &mut scratch)
            .and_then(|decoded| self.apply_decoded(&decoded, &scratch, false));
        self.scratch = Some(scratch);
        self.count_malformed(result)
    }

    /// Decodes and applies a REST depth snapshot body.
    pub fn apply_snapshot(&mut self, payload: &[u8]) -> Result<Status, DecodeError> {
        let mut scratch = self.scratch.take().unwrap_or_default();
        let result =
            decode::decode(self.venue.format(), payload, &mut scratch).and_then(|decoded| {
                if decoded.kind != Kind::Snapshot {
                    return Err(DecodeError::new(
                        ErrorKind::NotASnapshot,
                        "payload is not a depth snapshot",
                    ));
                }
                self.apply_decoded(&decoded, &scratch, true)
            });
        scratch.release_excess();
        self.scratch = Some(scratch);
        self.count_malformed(result)
    }

    fn count_malformed(
        &mut self,
        result: Result<Status, DecodeError>,
    ) -> Result<Status, DecodeError> {
        if result.is_err() {
            self.counters.malformed += 1;
        }
        result
    }

    /// Drops the book and the buffer; the symbol waits for a new snapshot.
    pub fn reset(&mut self) {
        self.seq.lose_sync();
        self.book.clear();
        self.buffer.clear();
        self.tracker.reset_touch();
    }

    /// Whether a decoded payload concerns this book (an empty symbol is accepted: Binance
    /// partial depth on a raw connection does not name one).
    pub fn accepts(&self, decoded: &Decoded) -> bool {
        // The exact spelling first (one compare): the case-folding loop only for Binance's
        // lower-case stream names.
        decoded.symbol.is_empty()
            || decoded.symbol == self.symbol
            || decoded.symbol.eq_ignore_ascii_case(&self.symbol)
    }

    /// Applies a payload already decoded into `scratch` (the router decodes once, then routes).
    /// `rest` marks a REST snapshot (its sync may find it too old).
    pub fn apply_decoded(
        &mut self,
        decoded: &Decoded,
        scratch: &Scratch,
        rest: bool,
    ) -> Result<Status, DecodeError> {
        if !self.accepts(decoded) {
            self.counters.ignored += 1;
            return Ok(Status::Ignored);
        }
        let status = match decoded.kind {
            Kind::Other => {
                self.counters.ignored += 1;
                Status::Ignored
            }
            Kind::Trade => {
                for t in &scratch.trades {
                    self.flow
                        .add(t.price.to_f64(), t.qty.to_f64(), t.buyer_aggressor);
                }
                if let Some(last) = scratch.trades.last() {
                    self.event_time_ms = Some(last.time_ms);
                }
                self.counters.trades += 1;
                Status::Trade
            }
            Kind::Ticker => {
                if let Some((bid, ask)) = scratch.ticker {
                    self.ticker = Some((
                        bid.price.to_f64(),
                        bid.qty.to_f64(),
                        ask.price.to_f64(),
                        ask.qty.to_f64(),
                        decoded.last_id,
                    ));
                }
                self.counters.tickers += 1;
                Status::Ticker
            }
            Kind::Diff => self.on_diff(decoded, scratch)?,
            Kind::Snapshot => self.on_snapshot(decoded, scratch, rest)?,
        };
        Ok(status)
    }

    fn diff_ids(&self, decoded: &Decoded) -> Result<Option<Ids>, DecodeError> {
        let (Some(first), Some(last)) = (decoded.first_id, decoded.last_id) else {
            return Ok(None);
        };
        if self.seq.rule == Rule::BinanceFutures && decoded.prev_id.is_none() {
            return Err(DecodeError::new(
                ErrorKind::MissingField,
                format!(
                    "depthUpdate: missing field pu ({} diffs carry it)",
                    self.venue.name()
                ),
            ));
        }
        Ok(Some(Ids {
            first,
            last,
            prev: decoded.prev_id,
        }))
    }

    fn on_diff(&mut self, decoded: &Decoded, scratch: &Scratch) -> Result<Status, DecodeError> {
        let ids = self.diff_ids(decoded)?;
        match self.seq.check(ids) {
            Verdict::Stale => {
                self.counters.stale += 1;
                Ok(Status::Stale)
            }
            Verdict::Buffer => self.buffer_diff(ids, decoded, scratch),
            Verdict::Gap => {
                // Validate before keeping it as the first diff of the next sync.
                self.check_levels(&scratch.bids, &scratch.asks)?;
                self.counters.gaps += 1;
                self.reset();
                self.buffer_diff(ids, decoded, scratch)?;
                Ok(Status::Gap)
            }
            Verdict::Apply => {
                let mut prepared = std::mem::take(&mut self.prepared);
                let result = self.prepare(&scratch.bids, &scratch.asks, &mut prepared);
                if result.is_ok() {
                    self.commit_diff(&prepared);
                    self.seq.advance(ids.map(|i| i.last));
                }
                self.prepared = prepared;
                result?;
                Ok(self.after_update(decoded.event_time_ms, decoded.checksum))
            }
        }
    }

    fn buffer_diff(
        &mut self,
        ids: Option<Ids>,
        decoded: &Decoded,
        scratch: &Scratch,
    ) -> Result<Status, DecodeError> {
        self.check_levels(&scratch.bids, &scratch.asks)?;
        self.buffer.push_back(BufferedDiff {
            ids,
            event_time_ms: decoded.event_time_ms,
            checksum: decoded.checksum,
            bids: scratch.bids.clone(),
            asks: scratch.asks.clone(),
        });
        self.counters.buffered += 1;
        if self.buffer.len() > self.config.max_buffer.max(1) {
            self.buffer.pop_front();
            self.counters.buffer_overflows += 1;
            return Ok(Status::BufferOverflow);
        }
        Ok(Status::Buffered)
    }

    fn on_snapshot(
        &mut self,
        decoded: &Decoded,
        scratch: &Scratch,
        rest: bool,
    ) -> Result<Status, DecodeError> {
        if !rest && self.seq.snapshot_is_stale(decoded.last_id) {
            self.counters.stale += 1;
            return Ok(Status::Stale);
        }
        // The buffer is read while the book changes, so it is held aside meanwhile.
        let mut buffer = std::mem::take(&mut self.buffer);
        let result = self.sync_from(decoded, scratch, rest, &buffer);
        match result {
            Ok((Status::Gap, Some(hole))) => {
                // The buffer itself has a hole: keep what follows it for the next sync.
                buffer.drain(..hole);
            }
            Ok((Status::SnapshotTooOld, _)) | Err(_) => {}
            Ok(_) => buffer.clear(),
        }
        self.buffer = buffer;
        result.map(|(status, _)| status)
    }

    /// Applies a snapshot and replays the buffered diffs that follow it. Returns the status and,
    /// for a hole inside the buffer, where the diffs to keep start.
    fn sync_from(
        &mut self,
        decoded: &Decoded,
        scratch: &Scratch,
        rest: bool,
        buffer: &VecDeque<BufferedDiff>,
    ) -> Result<(Status, Option<usize>), DecodeError> {
        let id = decoded.last_id;
        // Plan the replay on a copy of the sequencer, before touching anything.
        let mut plan = self.seq;
        plan.sync_at(id);
        let mut replay = Vec::new();
        let mut gap_at = None;
        for (i, diff) in buffer.iter().enumerate() {
            match plan.check(diff.ids) {
                Verdict::Apply => {
                    plan.advance(diff.ids.map(|ids| ids.last));
                    replay.push(diff);
                }
                Verdict::Stale | Verdict::Buffer => {}
                Verdict::Gap => {
                    gap_at = Some(i);
                    break;
                }
            }
        }
        if gap_at.is_some() && replay.is_empty() && rest {
            self.counters.snapshot_too_old += 1;
            return Ok((Status::SnapshotTooOld, None));
        }
        // Refused before the scales are raised below: a refused snapshot changes nothing.
        unique_prices(&scratch.bids, "bids")?;
        unique_prices(&scratch.asks, "asks")?;
        // Validate everything at the scales it will all need.
        let mut all: Vec<(&[RawLevel], &[RawLevel])> = vec![(&scratch.bids, &scratch.asks)];
        all.extend(replay.iter().map(|d| (&d.bids[..], &d.asks[..])));
        self.fit_scales(&all, true)?;
        let mut prepared = Vec::with_capacity(all.len());
        for (bids, asks) in &all {
            let mut levels = Prepared::default();
            self.convert(bids, asks, &mut levels)?;
            prepared.push(levels);
        }
        // An in-band snapshot of a synced book (Bybit orderbook.1, OKX books5/bbo-tbt, Binance
        // partial depth) continues the same market: OFI and volatility carry on through it.
        // Only a resync (a REST body, or the first snapshot after losing sync) starts afresh.
        let resync = rest || !self.seq.is_synced();
        // Commit: nothing below can fail.
        let mut prepared = prepared.into_iter();
        let snapshot = prepared.next().unwrap_or_default();
        self.book.bids.replace(snapshot.bids.into_iter());
        self.book.asks.replace(snapshot.asks.into_iter());
        if resync {
            self.tracker.reset_touch();
        }
        self.seq.sync_at(id);
        self.counters.snapshots += 1;
        let mut event_time = decoded.event_time_ms;
        let mut checksum = decoded.checksum;
        for (diff, levels) in replay.iter().zip(prepared) {
            self.commit_diff(&levels);
            self.seq.advance(diff.ids.map(|ids| ids.last));
            event_time = diff.event_time_ms.or(event_time);
            checksum = diff.checksum;
        }
        if gap_at.is_some() {
            self.counters.gaps += 1;
            self.reset();
            return Ok((Status::Gap, gap_at));
        }
        Ok((self.after_update(event_time, checksum), None))
    }

    /// Bookkeeping after a change: features history, crossed check, OKX checksum.
    fn after_update(&mut self, event_time_ms: Option<i64>, checksum: Option<i32>) -> Status {
        if event_time_ms.is_some() {
            self.event_time_ms = event_time_ms;
        }
        if let Some(expected) = checksum.filter(|c| *c != 0) {
            if okx_checksum(&self.book) != expected {
                self.counters.checksum_errors += 1;
                self.reset();
                return Status::ChecksumMismatch;
            }
        }
        self.tracker.on_update(&self.book);
        if self.book.is_crossed() {
            self.counters.crossed += 1;
        }
        self.counters.applied += 1;
        Status::Applied
    }

    fn commit_diff(&mut self, prepared: &Prepared) {
        for level in &prepared.bids {
            self.book.bids.set(*level);
        }
        for level in &prepared.asks {
            self.book.asks.set(*level);
        }
    }

    /// Checks that levels are representable on this book's grid, without changing anything.
    fn check_levels(&mut self, bids: &[RawLevel], asks: &[RawLevel]) -> Result<(), DecodeError> {
        self.fit_scales(&[(bids, asks)], false)
    }

    /// Validates and scales a diff's levels, raising the book's scales first when needed.
    #[inline]
    fn prepare(
        &mut self,
        bids: &[RawLevel],
        asks: &[RawLevel],
        out: &mut Prepared,
    ) -> Result<(), DecodeError> {
        if self.convert_exact(bids, asks, out) {
            return Ok(());
        }
        if self.needed_scales(bids, asks, false) != (self.book.price_scale, self.book.qty_scale) {
            self.fit_scales(&[(bids, asks)], true)?;
        }
        self.convert(bids, asks, out)
    }

    /// Raises the book's scales and follows with the features tracker, so a finer scale is
    /// not mistaken for a price move (a ×10ⁿ jump in mid) or an OFI burst.
    fn raise_scales(&mut self, price_scale: u8, qty_scale: u8) -> Result<(), DecodeError> {
        let (old_price, old_qty) = (self.book.price_scale, self.book.qty_scale);
        if !self.book.raise_scales(price_scale, qty_scale) {
            return Err(DecodeError::new(
                ErrorKind::ScaleOverflow,
                format!(
                    "values need {price_scale} price / {qty_scale} size decimals and the book no \
                     longer fits at that precision (pass tick_size/lot_size)"
                ),
            ));
        }
        let factor = |new: u8, old: u8| POW10[usize::from(new - old)];
        self.tracker.rescale(
            factor(self.book.price_scale, old_price) as i64,
            factor(self.book.qty_scale, old_qty),
        );
        Ok(())
    }

    /// Scales the levels need: the book's own, raised (when no fixed grid is set) to the most
    /// decimals any value is written with — one multiply per value afterwards. `significant`
    /// raises only to the decimals that carry digits, for books that would overflow otherwise.
    fn needed_scales(&self, bids: &[RawLevel], asks: &[RawLevel], significant: bool) -> (u8, u8) {
        let (mut price_scale, mut qty_scale) = (self.book.price_scale, self.book.qty_scale);
        let needed = |d: Decimal| {
            if significant {
                d.significant_decimals()
            } else {
                d.decimals
            }
        };
        for level in bids.iter().chain(asks) {
            if level.price.decimals > price_scale && self.config.tick_size.is_none() {
                price_scale = price_scale.max(needed(level.price));
            }
            if level.qty.decimals > qty_scale && self.config.lot_size.is_none() {
                qty_scale = qty_scale.max(needed(level.qty));
            }
        }
        (price_scale, qty_scale)
    }

    /// Finds scales at which every level converts — the written decimals first, else the
    /// significant ones — and, when `raise`, raises the book to them. Nothing changes on error.
    fn fit_scales(
        &mut self,
        levels: &[(&[RawLevel], &[RawLevel])],
        raise: bool,
    ) -> Result<(), DecodeError> {
        let mut error = None;
        for significant in [false, true] {
            let current = (self.book.price_scale, self.book.qty_scale);
            let (p, q) = levels.iter().fold(current, |(p, q), (bids, asks)| {
                let (np, nq) = self.needed_scales(bids, asks, significant);
                (p.max(np), q.max(nq))
            });
            let mut probe = Prepared::default();
            let fits = levels
                .iter()
                .try_for_each(|(bids, asks)| self.convert_at(bids, asks, p, q, &mut probe));
            match fits.and_then(|()| {
                if raise {
                    self.raise_scales(p, q)
                } else {
                    Ok(())
                }
            }) {
                Ok(()) => return Ok(()),
                Err(err) => error = Some(err),
            }
        }
        Err(error
            .unwrap_or_else(|| DecodeError::new(ErrorKind::ScaleOverflow, "values do not fit")))
    }

    /// The common diff in one pass: every value written with no more decimals than the book
    /// holds, so each converts with one exact multiply and no scale needs raising. `false`
    /// (with `out` partly filled) sends the diff down the general path of [`Self::prepare`],
    /// which reaches the same levels for what this accepts and words the error for the rest.
    #[inline]
    fn convert_exact(&self, bids: &[RawLevel], asks: &[RawLevel], out: &mut Prepared) -> bool {
        let (price_scale, qty_scale) = (self.book.price_scale, self.book.qty_scale);
        let (tick, lot) = (self.tick_units, self.lot_units);
        out.bids.clear();
        out.asks.clear();
        for (side, levels, target) in [
            (Side::Bid, bids, &mut out.bids),
            (Side::Ask, asks, &mut out.asks),
        ] {
            target.reserve(levels.len());
            for raw in levels {
                let (Some(price_shift), Some(qty_shift)) = (
                    price_scale.checked_sub(raw.price.decimals),
                    qty_scale.checked_sub(raw.qty.decimals),
                ) else {
                    return false;
                };
                let price = raw
                    .price
                    .mantissa
                    .checked_mul(POW10[usize::from(price_shift)]);
                let qty = raw.qty.mantissa.checked_mul(POW10[usize::from(qty_shift)]);
                let (Some(price), Some(qty)) = (price, qty) else {
                    return false;
                };
                if price > i64::MAX as u64
                    || qty > Level::MAX_QTY
                    || (tick != 1 && price % tick != 0)
                    || (lot != 1 && qty % lot != 0)
                {
                    return false;
                }
                target.push(Level::new(
                    side.key(price as i64),
                    qty,
                    raw.price.decimals,
                    raw.qty.decimals,
                ));
            }
        }
        true
    }

    fn convert(
        &self,
        bids: &[RawLevel],
        asks: &[RawLevel],
        out: &mut Prepared,
    ) -> Result<(), DecodeError> {
        self.convert_at(bids, asks, self.book.price_scale, self.book.qty_scale, out)
    }

    fn convert_at(
        &self,
        bids: &[RawLevel],
        asks: &[RawLevel],
        price_scale: u8,
        qty_scale: u8,
        out: &mut Prepared,
    ) -> Result<(), DecodeError> {
        out.bids.clear();
        out.asks.clear();
        for (side, levels, name) in [(Side::Bid, bids, "bids"), (Side::Ask, asks, "asks")] {
            let target = match side {
                Side::Bid => &mut out.bids,
                Side::Ask => &mut out.asks,
            };
            for (i, raw) in levels.iter().enumerate() {
                let price = to_units(raw.price, price_scale, self.tick_units)
                    .filter(|p| *p <= i64::MAX as u64)
                    .ok_or_else(|| self.grid_error(name, i, "price", raw.price, price_scale))?;
                let qty = to_units(raw.qty, qty_scale, self.lot_units)
                    .filter(|q| *q <= Level::MAX_QTY)
                    .ok_or_else(|| self.grid_error(name, i, "size", raw.qty, qty_scale))?;
                target.push(Level::new(
                    side.key(price as i64),
                    qty,
                    raw.price.decimals,
                    raw.qty.decimals,
                ));
            }
        }
        Ok(())
    }

    fn grid_error(
        &self,
        side: &str,
        i: usize,
        part: &str,
        value: Decimal,
        scale: u8,
    ) -> DecodeError {
        let grid = if part == "price" {
            self.config.tick_size
        } else {
            self.config.lot_size
        };
        let mut text = String::new();
        Decimal::write_at(value.mantissa, value.decimals, value.decimals, &mut text);
        // Off the grid when the value would fit at the scale but is no multiple of the grid.
        let kind = match grid {
            Some(_) if value.at_scale(scale).is_some() => ErrorKind::OffGrid,
            _ => ErrorKind::ScaleOverflow,
        };
        let why = match grid {
            Some(grid) => {
                let mut g = String::new();
                Decimal::write_at(grid.mantissa, grid.decimals, grid.decimals, &mut g);
                let grid_name = if part == "price" {
                    "tick_size"
                } else {
                    "lot_size"
                };
                format!("{text} is not a multiple of {grid_name} {g} or does not fit")
            }
            None => format!("{text} does not fit"),
        };
        DecodeError::new(kind, format!("field {side}[{i}].{part}: {why}"))
    }

    /// The features record over the top `depth` levels.
    pub fn features(&self, depth: usize, band_bps: Option<f64>) -> FeatureRow {
        let ctx = features::Context {
            tracker: &self.tracker,
            flow: &self.flow,
            synced: self.seq.is_synced(),
            event_time_ms: self.event_time_ms,
        };
        features::compute(&self.book, &ctx, depth, band_bps)
    }
}

/// Refuses a snapshot side that names a price twice (which row would win is arbitrary), however
/// the two are written (`"1.5"` and `"1.50"` are one price). Venues send sides sorted, so the
/// check is one pass; only unsorted input is sorted.
fn unique_prices(levels: &[RawLevel], side: &str) -> Result<(), DecodeError> {
    // Exact values at the finest scale: a u64 mantissa times 10^18 fits a u128.
    let value = |level: &RawLevel| {
        u128::from(level.price.mantissa)
            * u128::from(POW10[usize::from(crate::fixed::MAX_DECIMALS - level.price.decimals)])
    };
    let ascending = levels.windows(2).all(|w| value(&w[0]) < value(&w[1]));
    let descending = levels.windows(2).all(|w| value(&w[0]) > value(&w[1]));
    if ascending || descending {
        return Ok(());
    }
    let mut order: Vec<usize> = (0..levels.len()).collect();
    order.sort_by_key(|&i| (value(&levels[i]), i));
    match order
        .windows(2)
        .find(|w| value(&levels[w[0]]) == value(&levels[w[1]]))
    {
        Some(pair) => Err(DecodeError::new(
            ErrorKind::DuplicatePrice,
            format!(
                "field {side}[{}].price: the same price as {side}[{}]",
                pair[1], pair[0]
            ),
        )),
        None => Ok(()),
    }
}

/// `value` in units of `10^-scale`, when exact and on a grid of `grid_units`.
#[inline]
fn to_units(value: Decimal, scale: u8, grid_units: u64) -> Option<u64> {
    value
        .at_scale(scale)
        .filter(|units| grid_units == 1 || units % grid_units == 0)
}

/// OKX's CRC32 over the top 25 levels, interleaved bid/ask, in the venue's original text.
pub fn okx_checksum(book: &Book) -> i32 {
    let mut text = String::with_capacity(1024);
    let mut bids = book.bids.iter_best_first().take(25);
    let mut asks = book.asks.iter_best_first().take(25);
    let write = |level: &Level, side: Side, text: &mut String| {
        Decimal::write_at(
            side.price(level.key) as u64,
            book.price_scale,
            level.px_decimals(),
            text,
        );
        text.push(':');
        Decimal::write_at(level.qty(), book.qty_scale, level.qty_decimals(), text);
        text.push(':');
    };
    loop {
        let (bid, ask) = (bids.next(), asks.next());
        if bid.is_none() && ask.is_none() {
            break;
        }
        if let Some(level) = bid {
            write(level, Side::Bid, &mut text);
        }
        if let Some(level) = ask {
            write(level, Side::Ask, &mut text);
        }
    }
    text.pop();
    crc32fast::hash(text.as_bytes()) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decimal() -> impl Strategy<Value = Decimal> {
        (
            prop_oneof![4 => 0u64..1000, 1 => 0u64..100_000_000, 1 => Just(u64::MAX / 3)],
            prop_oneof![4 => 0u8..3, 1 => 0u8..10],
        )
            .prop_map(|(mantissa, decimals)| Decimal { mantissa, decimals })
    }

    fn raw_levels() -> impl Strategy<Value = Vec<RawLevel>> {
        prop::collection::vec(
            (decimal(), decimal()).prop_map(|(price, qty)| RawLevel { price, qty }),
            0..4,
        )
    }

    proptest! {
        /// The one-pass conversion accepts only diffs the general path takes at the same
        /// scales, and gives the very same levels.
        #[test]
        fn the_one_pass_conversion_agrees_with_the_general_path(
            grids in (prop::option::of(1u64..5), prop::option::of(1u64..5), 0u8..3, 0u8..3),
            scales in (0u8..10, 0u8..10),
            bids in raw_levels(),
            asks in raw_levels(),
        ) {
            let (tick, lot, tick_decimals, lot_decimals) = grids;
            let config = Config {
                tick_size: tick.map(|mantissa| Decimal { mantissa, decimals: tick_decimals }),
                lot_size: lot.map(|mantissa| Decimal { mantissa, decimals: lot_decimals }),
                ..Config::default()
            };
            let mut book = SymbolBook::new("X", Venue::BinanceSpot, config).unwrap();
            if tick.is_none() {
                book.book.price_scale = scales.0;
            }
            if lot.is_none() {
                book.book.qty_scale = scales.1;
            }
            let mut fast = Prepared::default();
            if book.convert_exact(&bids, &asks, &mut fast) {
                let current = (book.book.price_scale, book.book.qty_scale);
                prop_assert_eq!(book.needed_scales(&bids, &asks, false), current);
                let mut general = Prepared::default();
                prop_assert!(book.convert(&bids, &asks, &mut general).is_ok());
                prop_assert_eq!(fast.bids, general.bids);
                prop_assert_eq!(fast.asks, general.asks);
            }
        }
    }

    /// Found by the fuzzer (`fuzz/`, bybit and okx targets): a snapshot naming a price twice was
    /// refused only after the book's scales had been raised to fit it, so the refused payload
    /// changed the book (and later payloads could overflow the raised scale).
    #[test]
    fn a_snapshot_with_a_duplicate_price_changes_nothing() {
        let mut book = SymbolBook::new("X", Venue::BinanceSpot, Config::default()).unwrap();
        book.apply_snapshot(br#"{"lastUpdateId":1,"bids":[["2","1"]],"asks":[["3","1"]]}"#)
            .unwrap();
        let before = book.book().clone();
        let err = book
            .apply_snapshot(
                br#"{"lastUpdateId":2,"bids":[["1.5","1.000"],["1.50","2"]],"asks":[["3","1"]]}"#,
            )
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::DuplicatePrice);
        assert_eq!(
            err.message,
            "field bids[1].price: the same price as bids[0]"
        );
        assert_eq!(book.book(), &before);
        assert_eq!(book.last_update_id(), Some(1));
    }
}
