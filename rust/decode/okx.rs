//! OKX v5 public streams: `books*` snapshot/update (with `seqId`/`prevSeqId` and the CRC32
//! checksum), `books5`/`bbo-tbt` snapshots, `trades`, and the REST `/api/v5/market/books` body.

use std::fmt;

use serde::de::{Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::levels::{IntSeed, LevelsSeed};
use super::{parse_decimal, DecodeError, Decoded, ErrorKind, Kind, RawTrade, Scratch};

#[derive(Default)]
struct Fields<'a> {
    channel: &'a str,
    inst_id: &'a str,
    action: &'a str,
    /// REST bodies carry `code` ("0" = success).
    code: Option<&'a str>,
    msg: &'a str,
    /// Control messages (`subscribe`, `error`, ...) carry `event`.
    event: Option<&'a str>,
    books: usize,
    ts: Option<i64>,
    checksum: Option<i64>,
    seq_id: Option<i64>,
    prev_seq_id: Option<i64>,
    /// The first element that is neither a book nor a whole trade: its index and the first
    /// trade field it lacks (an error on the trades channel, which is only known at the end).
    incomplete_trade: Option<(usize, &'static str)>,
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
    if f.books > 1 {
        return Err(DecodeError::new(
            ErrorKind::BadValue,
            format!("field data: {} books in one message (expected 1)", f.books),
        ));
    }
    let mut decoded = Decoded {
        symbol: f.inst_id,
        event_time_ms: f.ts,
        ..Decoded::default()
    };
    let book_channel = f.channel.starts_with("books") || f.channel == "bbo-tbt";
    if f.event.is_some() {
        // Acks and error events are the feed's business, not the book's.
        return Ok(decoded);
    }
    if let Some(code) = f.code {
        if code != "0" {
            return Err(DecodeError::new(
                ErrorKind::VenueError,
                format!("OKX error response: code {code:?}, msg {:?}", f.msg),
            ));
        }
        if f.books != 1 {
            return Err(DecodeError::new(
                ErrorKind::MissingField,
                "OKX REST body: field data holds no book",
            ));
        }
        decoded.kind = Kind::Snapshot;
    } else if book_channel {
        if f.books != 1 {
            return Err(DecodeError::new(
                ErrorKind::MissingField,
                format!("{}: field data holds no book", f.channel),
            ));
        }
        decoded.kind = match f.action {
            "update" => Kind::Diff,
            // books5 and bbo-tbt push whole snapshots without an action.
            "snapshot" | "" => Kind::Snapshot,
            other => {
                return Err(DecodeError::new(
                    ErrorKind::BadValue,
                    format!("field action: unknown {other:?}"),
                ))
            }
        };
    } else if f.channel.starts_with("trades") {
        if let Some((i, name)) = f.incomplete_trade {
            return Err(DecodeError::new(
                ErrorKind::MissingField,
                format!("{}: field data[{i}].{name}: missing", f.channel),
            ));
        }
        if scratch.trades.is_empty() {
            return Err(DecodeError::new(
                ErrorKind::MissingField,
                format!("{}: field data holds no trade", f.channel),
            ));
        }
        decoded.kind = Kind::Trade;
    }
    if decoded.kind == Kind::Snapshot || decoded.kind == Kind::Diff {
        decoded.last_id = f.seq_id;
        decoded.first_id = f.seq_id;
        decoded.prev_id = f.prev_seq_id;
        if let Some(checksum) = f.checksum {
            let checksum = i32::try_from(checksum).map_err(|_| {
                DecodeError::new(
                    ErrorKind::TooLarge,
                    format!("field checksum: not a 32-bit integer: {checksum}"),
                )
            })?;
            decoded.checksum = Some(checksum);
        }
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
        f.write_str("an OKX v5 JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "arg" => map.next_value_seed(Arg(&mut *self.fields))?,
                "action" => self.fields.action = map.next_value()?,
                "code" => self.fields.code = Some(map.next_value()?),
                "msg" => self.fields.msg = map.next_value()?,
                "event" => self.fields.event = Some(map.next_value()?),
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

struct Arg<'s, 'a>(&'s mut Fields<'a>);

forward_seed!(deserialize_map, <'de> Arg<'_, 'de>);

impl<'de> Visitor<'de> for Arg<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object in field arg")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "channel" => self.0.channel = map.next_value()?,
                "instId" => self.0.inst_id = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// `data` is an array of book objects or of trade objects; which one is known from `arg`,
/// which may come later, so each element is read by the fields it has.
struct Data<'s, 'a> {
    fields: &'s mut Fields<'a>,
    scratch: &'s mut Scratch,
}

forward_seed!(deserialize_seq, <'de> Data<'_, 'de>);

impl<'de> Visitor<'de> for Data<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array in field data")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while seq
            .next_element_seed(Element {
                fields: &mut *self.fields,
                scratch: &mut *self.scratch,
                index,
            })?
            .is_some()
        {
            index += 1;
        }
        Ok(())
    }
}

struct Element<'s, 'a> {
    fields: &'s mut Fields<'a>,
    scratch: &'s mut Scratch,
    index: usize,
}

forward_seed!(deserialize_map, <'de> Element<'_, 'de>);

impl<'de> Visitor<'de> for Element<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an object at data[{}]", self.index)
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        let f = self.fields;
        let (mut is_book, mut price, mut qty, mut side) = (false, None, None, None);
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "bids" => {
                    is_book = true;
                    map.next_value_seed(LevelsSeed {
                        out: &mut self.scratch.bids,
                        field: "bids",
                    })?;
                }
                "asks" => {
                    is_book = true;
                    map.next_value_seed(LevelsSeed {
                        out: &mut self.scratch.asks,
                        field: "asks",
                    })?;
                }
                "ts" => f.ts = Some(map.next_value_seed(IntSeed("ts"))?),
                "checksum" => f.checksum = Some(map.next_value_seed(IntSeed("checksum"))?),
                "seqId" => f.seq_id = Some(map.next_value_seed(IntSeed("seqId"))?),
                "prevSeqId" => f.prev_seq_id = Some(map.next_value_seed(IntSeed("prevSeqId"))?),
                "instId" => f.inst_id = map.next_value()?,
                "px" => price = Some(map.next_value::<&str>()?),
                "sz" => qty = Some(map.next_value::<&str>()?),
                "side" => side = Some(map.next_value::<&str>()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if is_book {
            f.books += 1;
            return Ok(());
        }
        let missing = [
            ("px", price.is_none()),
            ("sz", qty.is_none()),
            ("side", side.is_none()),
        ]
        .into_iter()
        .find_map(|(name, absent)| absent.then_some(name));
        if let Some(name) = missing {
            f.incomplete_trade.get_or_insert((self.index, name));
        }
        if let (Some(price), Some(qty), Some(side)) = (price, qty, side) {
            let i = self.index;
            let buyer_aggressor = match side {
                "buy" => true,
                "sell" => false,
                other => {
                    return Err(M::Error::custom(format_args!(
                        "field data[{i}].side: {other:?}"
                    )))
                }
            };
            self.scratch.trades.push(RawTrade {
                price: parse_decimal(price, &format_args!("data[{i}].px"))?,
                qty: parse_decimal(qty, &format_args!("data[{i}].sz"))?,
                buyer_aggressor,
                time_ms: f.ts.unwrap_or_default(),
            });
        }
        Ok(())
    }
}
