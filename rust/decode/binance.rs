//! Binance spot and futures market data: diff depth (`depthUpdate`, with `pu` on futures),
//! REST and partial-depth snapshots, trade, aggTrade and bookTicker, raw or wrapped in a
//! combined-stream envelope `{"stream":..,"data":..}`.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use super::levels::{IntSeed, LevelsSeed};
use super::scan::Cursor;
use super::{parse_decimal, DecodeError, Decoded, ErrorKind, Kind, RawLevel, RawTrade, Scratch};
use crate::fixed::Decimal;

/// Fields seen anywhere in the payload (the envelope's `data` shares the same record).
#[derive(Default)]
struct Fields<'a> {
    event: Option<&'a str>,
    stream: &'a str,
    symbol: &'a str,
    event_time: Option<i64>,
    trade_time: Option<i64>,
    first_id: Option<i64>,
    last_id: Option<i64>,
    prev_id: Option<i64>,
    snapshot_id: Option<i64>,
    price: Option<&'a str>,
    qty: Option<&'a str>,
    buyer_is_maker: Option<bool>,
    /// bookTicker prices `b`, `a` and sizes `B`, `A`.
    ticker_prices: [Option<Decimal>; 2],
    ticker_sizes: [Option<&'a str>; 2],
}

struct Payload<'s, 'a> {
    fields: &'s mut Fields<'a>,
    scratch: &'s mut Scratch,
}

pub fn decode<'a>(payload: &'a [u8], scratch: &mut Scratch) -> Result<Decoded<'a>, DecodeError> {
    let mut fields = Fields::default();
    let mut de = serde_json::Deserializer::from_slice(payload);
    Payload {
        fields: &mut fields,
        scratch,
    }
    .deserialize(&mut de)?;
    de.end()?;
    classify(fields, scratch)
}

/// Whether a combined-stream name is a partial-depth stream (`btcusdt@depth20@100ms`): a
/// top-N snapshot even when, on futures, its body looks like a `depthUpdate` with `pu`.
pub fn partial_depth_stream(stream: &[u8]) -> bool {
    stream
        .split(|&b| b == b'@')
        .nth(1)
        .and_then(|part| part.strip_prefix(b"depth"))
        .is_some_and(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit))
}

fn missing(event: &str, field: &str) -> DecodeError {
    DecodeError::new(
        ErrorKind::MissingField,
        format!("{event}: missing field {field}"),
    )
}

fn classify<'a>(f: Fields<'a>, scratch: &mut Scratch) -> Result<Decoded<'a>, DecodeError> {
    let symbol = if f.symbol.is_empty() {
        f.stream.split('@').next().unwrap_or_default()
    } else {
        f.symbol
    };
    let mut decoded = Decoded {
        symbol,
        event_time_ms: f.event_time,
        ..Decoded::default()
    };
    match f.event {
        Some("depthUpdate") => {
            if symbol.is_empty() {
                return Err(missing("depthUpdate", "s"));
            }
            let last = f.last_id.ok_or_else(|| missing("depthUpdate", "u"))?;
            if partial_depth_stream(f.stream.as_bytes()) {
                // Futures partial depth: the whole top N at update id `u`.
                decoded.kind = Kind::Snapshot;
                decoded.first_id = Some(last);
                decoded.last_id = Some(last);
            } else {
                decoded.kind = Kind::Diff;
                decoded.first_id = Some(f.first_id.ok_or_else(|| missing("depthUpdate", "U"))?);
                decoded.last_id = Some(last);
                decoded.prev_id = f.prev_id;
            }
        }
        Some(event @ ("trade" | "aggTrade")) => {
            let field =
                |name: &str, value: Option<&'a str>| value.ok_or_else(|| missing(event, name));
            let price = parse_decimal::<serde_json::Error>(field("p", f.price)?, &"p")?;
            let qty = parse_decimal::<serde_json::Error>(field("q", f.qty)?, &"q")?;
            let buyer_is_maker = f.buyer_is_maker.ok_or_else(|| missing(event, "m"))?;
            scratch.trades.push(RawTrade {
                price,
                qty,
                buyer_aggressor: !buyer_is_maker,
                time_ms: f.trade_time.or(f.event_time).unwrap_or_default(),
            });
            decoded.kind = Kind::Trade;
        }
        Some("bookTicker") | None
            if f.ticker_prices.iter().all(Option::is_some)
                && f.ticker_sizes.iter().all(Option::is_some) =>
        {
            let level = |i: usize, name: &str| -> Result<RawLevel, DecodeError> {
                Ok(RawLevel {
                    price: f.ticker_prices[i].unwrap_or_default(),
                    qty: parse_decimal::<serde_json::Error>(
                        f.ticker_sizes[i].unwrap_or_default(),
                        &name,
                    )?,
                })
            };
            scratch.ticker = Some((level(0, "B")?, level(1, "A")?));
            decoded.kind = Kind::Ticker;
            decoded.last_id = f.last_id;
        }
        None if f.snapshot_id.is_some() => {
            decoded.kind = Kind::Snapshot;
            decoded.last_id = f.snapshot_id;
            decoded.first_id = f.snapshot_id;
        }
        _ => {}
    }
    Ok(decoded)
}

forward_seed!(deserialize_map, <'de> Payload<'_, 'de>);

impl<'de> Visitor<'de> for Payload<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Binance market-data JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        let f = self.fields;
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "data" => map.next_value_seed(Payload {
                    fields: &mut *f,
                    scratch: &mut *self.scratch,
                })?,
                "stream" => f.stream = map.next_value()?,
                "e" => f.event = Some(map.next_value()?),
                "s" => f.symbol = map.next_value()?,
                "E" => f.event_time = Some(map.next_value_seed(IntSeed("E"))?),
                "T" => f.trade_time = Some(map.next_value_seed(IntSeed("T"))?),
                "U" => f.first_id = Some(map.next_value_seed(IntSeed("U"))?),
                "u" => f.last_id = Some(map.next_value_seed(IntSeed("u"))?),
                "pu" => f.prev_id = Some(map.next_value_seed(IntSeed("pu"))?),
                "lastUpdateId" => {
                    f.snapshot_id = Some(map.next_value_seed(IntSeed("lastUpdateId"))?)
                }
                "p" => f.price = Some(map.next_value()?),
                "q" => f.qty = Some(map.next_value()?),
                "m" => f.buyer_is_maker = Some(map.next_value()?),
                "B" => f.ticker_sizes[0] = Some(map.next_value()?),
                "A" => f.ticker_sizes[1] = Some(map.next_value()?),
                "b" => map.next_value_seed(LevelsOrText {
                    levels: &mut self.scratch.bids,
                    price: &mut f.ticker_prices[0],
                    field: "b",
                })?,
                "a" => map.next_value_seed(LevelsOrText {
                    levels: &mut self.scratch.asks,
                    price: &mut f.ticker_prices[1],
                    field: "a",
                })?,
                "bids" => map.next_value_seed(LevelsSeed {
                    out: &mut self.scratch.bids,
                    field: "bids",
                })?,
                "asks" => map.next_value_seed(LevelsSeed {
                    out: &mut self.scratch.asks,
                    field: "asks",
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Binance reuses `b` and `a`: levels in depthUpdate, prices in bookTicker, the aggregate trade
/// id (`a`) in aggTrade.
struct LevelsOrText<'s> {
    levels: &'s mut Vec<RawLevel>,
    price: &'s mut Option<Decimal>,
    field: &'static str,
}

impl<'de> DeserializeSeed<'de> for LevelsOrText<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let raw = <&serde_json::value::RawValue>::deserialize(deserializer)?;
        let text = raw.get().as_bytes();
        match text.first() {
            Some(b'[') => {
                let mut cursor = Cursor::new(text);
                cursor
                    .levels(self.field, self.levels)
                    .map_err(D::Error::custom)
            }
            Some(b'"') => {
                let inner = &text[1..text.len() - 1];
                let price = Decimal::parse(inner).map_err(|why| {
                    D::Error::custom(format_args!(
                        "field {}: {why}: {}",
                        self.field,
                        String::from_utf8_lossy(text)
                    ))
                })?;
                *self.price = Some(price);
                Ok(())
            }
            Some(b'0'..=b'9') => Ok(()),
            _ => Err(D::Error::custom(format_args!(
                "field {}: expected levels, a price or an id",
                self.field
            ))),
        }
    }
}
