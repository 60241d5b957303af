//! Serde seeds shared by the venue decoders: level arrays and typed scalars.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error, IgnoredAny, SeqAccess, Visitor};

use super::{parse_decimal, RawLevel};

/// Fills `out` from a JSON array of levels `[[price, qty, ...], ...]` (extra strings per level,
/// such as OKX's order counts, are skipped).
pub struct LevelsSeed<'s> {
    pub out: &'s mut Vec<RawLevel>,
    pub field: &'static str,
}

impl<'de> DeserializeSeed<'de> for LevelsSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for LevelsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an array of [price, size] levels in field {}", self.field)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if let Some(hint) = seq.size_hint() {
            self.out.reserve(hint);
        }
        let mut index = 0;
        while let Some(level) = seq.next_element_seed(LevelSeed { field: self.field, index })? {
            self.out.push(level);
            index += 1;
        }
        Ok(())
    }
}

/// Where a level sits, for error messages: `b[3]`.
struct LevelField {
    field: &'static str,
    index: usize,
    part: &'static str,
}

impl fmt::Display for LevelField {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}[{}].{}", self.field, self.index, self.part)
    }
}

struct LevelSeed {
    field: &'static str,
    index: usize,
}

impl<'de> DeserializeSeed<'de> for LevelSeed {
    type Value = RawLevel;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawLevel, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for LevelSeed {
    type Value = RawLevel;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a [price, size] array at {}[{}]", self.field, self.index)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawLevel, A::Error> {
        let part = |part| LevelField { field: self.field, index: self.index, part };
        let price: &str = seq
            .next_element()?
            .ok_or_else(|| A::Error::custom(format_args!("field {}: missing", part("price"))))?;
        let qty: &str = seq
            .next_element()?
            .ok_or_else(|| A::Error::custom(format_args!("field {}: missing", part("size"))))?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(RawLevel {
            price: parse_decimal(price, &part("price"))?,
            qty: parse_decimal(qty, &part("size"))?,
        })
    }
}

/// A JSON integer, or an integer written as a string (OKX sends times as strings).
pub struct IntSeed(pub &'static str);

impl<'de> DeserializeSeed<'de> for IntSeed {
    type Value = i64;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<i64, D::Error> {
        deserializer.deserialize_any(self)
    }
}

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
