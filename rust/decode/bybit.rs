//! Bybit v5 public streams: `orderbook.{N}.{symbol}` snapshot/delta and `publicTrade.{symbol}`.
//! Key order differs between spot and futures, so nothing here depends on it.

use std::fmt;

use serde::de::{Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::levels::{IntSeed, LevelsSeed};
use super::{parse_decimal, DecodeError, Decoded, ErrorKind, Kind, RawTrade, Scratch};

#[derive(Default)]
struct Fields<'a> {
    topic: &'a str,
    kind: &'a str,
    ts: Option<i64>,
    symbol: &'a str,
    update_id: Option<i64>,
}

pub fn decode<'a>(payload: &'a [u8], scratch: &mut Scratch) -> Result<Decoded<'a>, DecodeError> {
    let mut fields = Fields::default();
    let mut de = serde_json::Deserializer::from_slice(payload);
    (&mut de).deserialize_map(Message {
        fields: &mut fields,
        scratch: &mut *scratch,
    })?;
    de.end()?;
    let f = fields;
    let mut decoded = Decoded {
        event_time_ms: f.ts,
        ..Decoded::default()
    };
    let mut parts = f.topic.split('.');
    match parts.next() {
        Some("orderbook") => {
            parts.next(); // the depth: the book keeps whatever the venue sends
            decoded.symbol = if f.symbol.is_empty() {
                parts.next().unwrap_or_default()
            } else {
                f.symbol
            };
            decoded.kind = match f.kind {
                // u == 1: the service restarted; the message replaces the book.
                _ if f.update_id == Some(1) => Kind::Snapshot,
                "snapshot" => Kind::Snapshot,
                "delta" => Kind::Diff,
                other => {
                    return Err(DecodeError::new(
                        ErrorKind::BadValue,
                        format!("{}: unknown type {other:?}", f.topic),
                    ))
                }
            };
            let id = f.update_id.ok_or_else(|| {
                DecodeError::new(
                    ErrorKind::MissingField,
                    format!("{}: missing field data.u", f.topic),
                )
            })?;
            decoded.first_id = Some(id);
            decoded.last_id = Some(id);
        }
        Some("publicTrade") => {
            if scratch.trades.is_empty() {
                return Err(DecodeError::new(
                    ErrorKind::MissingField,
                    format!("{}: field data holds no trade", f.topic),
                ));
            }
            decoded.kind = Kind::Trade;
            decoded.symbol = parts.next().unwrap_or_default();
        }
        _ => {}
    }
    Ok(decoded)
}

struct Message<'s, 'a> {
    fields: &'s mut Fields<'a>,
    scratch: &'s mut Scratch,
}

impl<'de> Visitor<'de> for Message<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Bybit v5 public JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "topic" => self.fields.topic = map.next_value()?,
                "type" => self.fields.kind = map.next_value()?,
                "ts" => self.fields.ts = Some(map.next_value_seed(IntSeed("ts"))?),
                "data" => map.next_value_seed(Data {
                    fields: &mut *self.fields,
                    scratch: &mut *self.scratch,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// `data` is an object for the book and an array of trades for publicTrade.
struct Data<'s, 'a> {
    fields: &'s mut Fields<'a>,
    scratch: &'s mut Scratch,
}

forward_seed!(deserialize_any, <'de> Data<'_, 'de>);

impl<'de> Visitor<'de> for Data<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a book object or an array of trades in field data")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "s" => self.fields.symbol = map.next_value()?,
                "u" => self.fields.update_id = Some(map.next_value_seed(IntSeed("data.u"))?),
                "b" => map.next_value_seed(LevelsSeed {
                    out: &mut self.scratch.bids,
                    field: "data.b",
                })?,
                "a" => map.next_value_seed(LevelsSeed {
                    out: &mut self.scratch.asks,
                    field: "data.a",
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some(trade) = seq.next_element_seed(TradeSeed(index))? {
            self.scratch.trades.push(trade);
            index += 1;
        }
        Ok(())
    }
}

struct TradeSeed(usize);

forward_seed!(deserialize_map, <'de> TradeSeed);

impl<'de> Visitor<'de> for TradeSeed {
    type Value = RawTrade;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a trade object at data[{}]", self.0)
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<RawTrade, M::Error> {
        let (mut price, mut qty, mut side, mut time) = (None, None, None, 0);
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "p" => price = Some(map.next_value::<&str>()?),
                "v" => qty = Some(map.next_value::<&str>()?),
                "S" => side = Some(map.next_value::<&str>()?),
                "T" => time = map.next_value_seed(IntSeed("T"))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let i = self.0;
        let need = |v: Option<&'de str>, name: &str| {
            v.ok_or_else(|| M::Error::custom(format_args!("field data[{i}].{name}: missing")))
        };
        let buyer_aggressor = match need(side, "S")? {
            "Buy" => true,
            "Sell" => false,
            other => {
                return Err(M::Error::custom(format_args!(
                    "field data[{i}].S: {other:?}"
                )))
            }
        };
        Ok(RawTrade {
            price: parse_decimal(need(price, "p")?, &format_args!("data[{i}].p"))?,
            qty: parse_decimal(need(qty, "v")?, &format_args!("data[{i}].v"))?,
            buyer_aggressor,
            time_ms: time,
        })
    }
}
