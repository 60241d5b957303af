//! Venue JSON → one [`Decoded`] message with its levels and trades in a reusable [`Scratch`].
//!
//! Decoding is a single serde pass per payload with hand-written visitors: no intermediate JSON
//! tree, strings borrowed from the payload, numbers parsed straight into [`Decimal`]s. Every
//! failure is a [`DecodeError`] naming the field; nothing is applied to a book until the whole
//! payload has decoded.

/// Implements `DeserializeSeed` for a visitor type by handing it to `Deserializer::$method`.
macro_rules! forward_seed {
    ($method:ident, <$de:lifetime> $ty:ty) => {
        impl<$de> serde::de::DeserializeSeed<$de> for $ty {
            type Value = <Self as serde::de::Visitor<$de>>::Value;

            fn deserialize<D: serde::de::Deserializer<$de>>(
                self,
                deserializer: D,
            ) -> Result<Self::Value, D::Error> {
                deserializer.$method(self)
            }
        }
    };
}

mod binance;
mod block;
mod bybit;
mod error;
mod fast;
mod fast_bybit;
mod fast_okx;
mod levels;
mod okx;
mod scan;

use crate::fixed::Decimal;

pub use error::{DecodeError, ErrorKind};

/// The two Binance decoders behind [`decode`], callable one at a time, for the differential fuzz
/// target in `fuzz/` (the `fuzzing` feature only: production code goes through [`decode`]).
#[cfg(feature = "fuzzing")]
pub mod binance_paths {
    /// The general serde decoder for every Binance payload.
    pub use super::binance::decode as general;
    /// The `depthUpdate` fast path: `None` defers to the general decoder.
    pub use super::fast::binance_depth as fast;
}

/// Wire format family; each venue variant of a family shares one decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Binance,
    Bybit,
    Okx,
}

/// What a payload is, as far as the book is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Kind {
    /// Incremental level changes (Binance depthUpdate, Bybit delta, OKX update).
    Diff,
    /// A full replacement of the book: Bybit/OKX in-band snapshots, Binance partial depth,
    /// OKX books5/bbo-tbt, and REST snapshot bodies.
    Snapshot,
    /// One or more trades.
    Trade,
    /// A best bid/offer ticker (Binance bookTicker).
    Ticker,
    /// Anything else: subscription acks, pongs, other channels.
    #[default]
    Other,
}

/// One price level as written by the venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RawLevel {
    pub price: Decimal,
    pub qty: Decimal,
}

/// One trade; `buyer_aggressor` is the taker side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RawTrade {
    pub price: Decimal,
    pub qty: Decimal,
    pub buyer_aggressor: bool,
    pub time_ms: i64,
}

/// Reusable buffers a decode fills, so the hot path allocates nothing once warmed up.
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    pub bids: Vec<RawLevel>,
    pub asks: Vec<RawLevel>,
    pub trades: Vec<RawTrade>,
    /// Best bid and ask of a ticker message.
    pub ticker: Option<(RawLevel, RawLevel)>,
}

impl Scratch {
    /// Gives back memory after an unusually large payload (a deep snapshot), keeping enough
    /// for ordinary diffs.
    pub fn release_excess(&mut self) {
        const KEEP: usize = 1024;
        for levels in [&mut self.bids, &mut self.asks] {
            if levels.capacity() > KEEP {
                levels.clear();
                levels.shrink_to(KEEP);
            }
        }
    }

    fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
        self.trades.clear();
        self.ticker = None;
    }
}

/// A decoded payload's metadata; its levels and trades are in the [`Scratch`] passed to
/// [`decode`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Decoded<'a> {
    pub kind: Kind,
    /// Symbol as the venue wrote it (Binance stream names are lower case); empty when the
    /// payload does not say (a Binance partial-depth message on a raw connection).
    pub symbol: &'a str,
    /// Venue event time in ms, when given.
    pub event_time_ms: Option<i64>,
    /// First update id in the message (Binance `U`); equal to `last_id` elsewhere.
    pub first_id: Option<i64>,
    /// Final update id (Binance `u` / `lastUpdateId`, Bybit `u`, OKX `seqId`).
    pub last_id: Option<i64>,
    /// Id of the previous message in the stream (Binance futures `pu`, OKX `prevSeqId`).
    pub prev_id: Option<i64>,
    /// OKX CRC32 checksum (0 means not provided).
    pub checksum: Option<i32>,
}

/// Decodes one websocket payload or REST body of `format` into `scratch`.
pub fn decode<'a>(
    format: Format,
    payload: &'a [u8],
    scratch: &mut Scratch,
) -> Result<Decoded<'a>, DecodeError> {
    scratch.clear();
    let trimmed = payload.trim_ascii();
    // Text heartbeats are not JSON: OKX answers `ping` with `pong`.
    if trimmed == b"pong" || trimmed == b"ping" {
        return Ok(Decoded::default());
    }
    let decoded = match format {
        Format::Binance => match fast::binance_depth(trimmed, scratch) {
            Some(decoded) => Ok(decoded),
            None => {
                scratch.clear();
                binance::decode(trimmed, scratch)
            }
        },
        Format::Bybit => match fast_bybit::bybit_book(trimmed, scratch) {
            Some(decoded) => Ok(decoded),
            None => {
                scratch.clear();
                bybit::decode(trimmed, scratch)
            }
        },
        Format::Okx => match fast_okx::okx_book(trimmed, scratch) {
            Some(decoded) => Ok(decoded),
            None => {
                scratch.clear();
                okx::decode(trimmed, scratch)
            }
        },
    };
    if decoded.is_err() {
        scratch.clear();
    }
    decoded
}

/// A venue's fast path: its reader for the venue's own key order first, then (from a cleared
/// scratch) its key-by-key reader; `None` defers to the general decoder.
#[inline(always)]
fn in_order_first<'a>(
    payload: &'a [u8],
    scratch: &mut Scratch,
    in_order: fn(&'a [u8], &mut Scratch) -> Option<Decoded<'a>>,
    key_by_key: fn(&'a [u8], &mut Scratch) -> Option<Decoded<'a>>,
) -> Option<Decoded<'a>> {
    if let Some(decoded) = in_order(payload, scratch) {
        return Some(decoded);
    }
    scratch.bids.clear();
    scratch.asks.clear();
    key_by_key(payload, scratch)
}

/// Parses a decimal string, naming the field on failure.
fn parse_decimal<E: serde::de::Error>(
    text: &str,
    field: &dyn std::fmt::Display,
) -> Result<Decimal, E> {
    Decimal::parse(text.as_bytes())
        .map_err(|why| E::custom(format_args!("field {field}: {why}: {text:?}")))
}

/// Parses an integer sent as a JSON string (OKX timestamps), naming the field on failure.
fn parse_int_text<E: serde::de::Error>(text: &str, field: &str) -> Result<i64, E> {
    text.parse::<i64>()
        .map_err(|_| E::custom(format_args!("field {field}: not an integer: {text:?}")))
}

#[cfg(test)]
mod tests;
