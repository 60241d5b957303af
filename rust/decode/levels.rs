//! Serde seeds shared by the venue decoders: level arrays and typed scalars.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error, Visitor};
use serde::Deserialize;

use super::scan::Cursor;
use super::RawLevel;

/// Fills `out` from a JSON array of levels `[[price, qty, ...], ...]` (extra strings per level,
/// such as OKX's order counts, are skipped).
///
/// The JSON library skips the array (and checks it is one JSON value); the array itself is read
/// by [`Cursor::levels`], a scanner for exactly this shape: it is the hottest loop of the decoder,
/// and a generic visitor per element costs several times more.
pub struct LevelsSeed<'s> {
    pub out: &'s mut Vec<RawLevel>,
    pub field: &'static str,
}

impl<'de> DeserializeSeed<'de> for LevelsSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let raw = <&serde_json::value::RawValue>::deserialize(deserializer)?;
        let mut cursor = Cursor::new(raw.get().as_bytes());
        cursor
            .levels(self.field, self.out)
            .map_err(D::Error::custom)?;
        cursor.finish().map_err(|()| {
            D::Error::custom(format_args!("field {}: trailing characters", self.field))
        })
    }
}

/// A JSON integer, or an integer written as a string (OKX sends times as strings).
pub struct IntSeed(pub &'static str);

forward_seed!(deserialize_any, <'de> IntSeed);

impl<'de> Visitor<'de> for IntSeed {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an integer in field {}", self.0)
    }

    fn visit_i64<E: Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::custom(format_args!("field {}: too large: {v}", self.0)))
    }

    fn visit_borrowed_str<E: Error>(self, v: &'de str) -> Result<i64, E> {
        super::parse_int_text(v, self.0)
    }

    fn visit_str<E: Error>(self, v: &str) -> Result<i64, E> {
        super::parse_int_text(v, self.0)
    }
}
