//! A strict byte scanner for the few JSON shapes on the hot path: level arrays and flat
//! objects of strings and integers. Anything it does not expect is refused, and the caller falls
//! back to the general serde decoder, which names the problem precisely.

use std::fmt;

use super::RawLevel;
use crate::fixed::Decimal;

/// A position in a JSON text.
pub struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, at: 0 }
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// Consumes `byte` (after whitespace) if it is next.
    #[inline]
    pub fn eat(&mut self, byte: u8) -> bool {
        // Venues send compact JSON: look at the next byte before looking for whitespace.
        match self.bytes.get(self.at) {
            Some(&next) if next == byte => {
                self.at += 1;
                true
            }
            Some(b' ' | b'\n' | b'\r' | b'\t') => {
                self.skip_ws();
                let found = self.bytes.get(self.at) == Some(&byte);
                self.at += usize::from(found);
                found
            }
            _ => false,
        }
    }

    /// The contents of a plain ASCII string without escapes (keys, symbols and numbers are);
    /// anything else is left to the general decoder, which validates UTF-8. On `None` nothing
    /// is consumed, so a caller may try another shape at the same place.
    #[inline]
    pub fn string(&mut self) -> Option<&'a [u8]> {
        // Most keys and OKX's per-level extra strings are one character: check that shape
        // before setting up the general search.
        if let Some(&[b'"', c, b'"']) = self.bytes.get(self.at..self.at + 3) {
            if (0x20..0x80).contains(&c) && c != b'"' && c != b'\\' {
                self.at += 3;
                return Some(&self.bytes[self.at - 2..self.at - 1]);
            }
        }
        let before = self.at;
        if !self.eat(b'"') {
            return None;
        }
        let start = self.at;
        let end = self.bytes[start..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || !(0x20..0x80).contains(&b))
            .filter(|&len| self.bytes[start + len] == b'"');
        let Some(len) = end else {
            self.at = before;
            return None;
        };
        self.at = start + len + 1;
        Some(&self.bytes[start..start + len])
    }

    /// A JSON integer of up to 18 digits (larger ones go to the general decoder).
    #[inline]
    pub fn integer(&mut self) -> Option<i64> {
        self.skip_ws();
        let negative = self.bytes.get(self.at) == Some(&b'-');
        let start = self.at + usize::from(negative);
        let (value, used) = Decimal::parse_prefix(&self.bytes[start..]).ok()?;
        let leading_zero = used > 1 && self.bytes[start] == b'0';
        let exponent = matches!(self.bytes.get(start + used), Some(b'e' | b'E'));
        // serde_json reads `-0` as a float, which no integer field accepts.
        let negative_zero = negative && value.mantissa == 0;
        if value.decimals != 0 || used > 18 || leading_zero || exponent || negative_zero {
            return None;
        }
        self.at = start + used;
        let value = value.mantissa as i64;
        Some(if negative { -value } else { value })
    }

    /// An integer written either as a JSON integer or, as OKX does, as a string of 1 to 18
    /// ASCII digits: the general decoder reads both (`IntSeed`); signs and other spellings
    /// its string parser would take are left to it.
    #[inline]
    pub fn int_or_text(&mut self) -> Option<i64> {
        if let Some(value) = self.integer() {
            return Some(value);
        }
        let before = self.at;
        let text = self.string()?;
        if text.is_empty() || text.len() > 18 || !text.iter().all(u8::is_ascii_digit) {
            self.at = before;
            return None;
        }
        Some(
            text.iter()
                .fold(0i64, |value, &digit| value * 10 + i64::from(digit - b'0')),
        )
    }

    /// Skips the value of a key the caller does not use, if it is a plain string or a number;
    /// anything else (objects, arrays, literals, escapes, non-ASCII text) is refused so the
    /// general decoder, which validates it, decides.
    #[inline]
    pub fn skip_scalar(&mut self) -> Option<()> {
        match self.string() {
            Some(_) => Some(()),
            None => self.plain_number(),
        }
    }

    /// A JSON number exactly as RFC 8259 writes it (`-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`),
    /// so this scanner accepts no number the general decoder refuses (`1-2`, `01`, `1.`).
    fn plain_number(&mut self) -> Option<()> {
        self.skip_ws();
        let bytes = &self.bytes[self.at..];
        let digits_from = |at: usize| {
            bytes[at.min(bytes.len())..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        let mut at = usize::from(bytes.first() == Some(&b'-'));
        match bytes.get(at) {
            Some(b'0') => at += 1,
            Some(b'1'..=b'9') => at += digits_from(at),
            _ => return None,
        }
        if bytes.get(at) == Some(&b'.') {
            let n = digits_from(at + 1);
            if n == 0 {
                return None;
            }
            at += 1 + n;
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(bytes.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            let n = digits_from(at);
            if n == 0 {
                return None;
            }
            at += n;
        }
        self.at += at;
        Some(())
    }

    /// Calls `member` for each `"key":` of an object, leaving the cursor on its value; the
    /// member reads the value (or returns `None` to refuse the whole payload).
    #[inline]
    pub fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, &'a [u8]) -> Option<()>,
    ) -> Option<()> {
        if !self.eat(b'{') {
            return None;
        }
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            let key = self.string()?;
            if !self.eat(b':') {
                return None;
            }
            member(self, key)?;
            if self.eat(b',') {
                continue;
            }
            return self.eat(b'}').then_some(());
        }
    }

    /// Only whitespace remains.
    pub fn finish(&mut self) -> Result<(), ()> {
        self.skip_ws();
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(())
        }
    }

    /// Reads `[["p","q",...],...]` into `out` (extra per-level strings or numbers, such as
    /// OKX's order counts, are skipped). On error `out` may hold a partial list; callers discard
    /// it (decode clears the scratch on any error).
    pub fn levels(&mut self, field: &'static str, out: &mut Vec<RawLevel>) -> Result<(), String> {
        let mut index = 0;
        let fail = |index, what: &str| LevelError { field, index, what }.to_string();
        if !self.eat(b'[') {
            return Err(format!(
                "field {field}: expected an array of [price, size] levels"
            ));
        }
        if self.eat(b']') {
            return Ok(());
        }
        loop {
            if !self.eat(b'[') {
                return Err(fail(index, "expected a [price, size] array"));
            }
            let price = self.number(field, index, "price")?;
            if !self.eat(b',') {
                return Err(fail(index, "size: missing"));
            }
            let qty = self.number(field, index, "size")?;
            while self.eat(b',') {
                if self.string().is_none() && self.plain_number().is_none() {
                    return Err(fail(index, "extra elements must be strings or numbers"));
                }
            }
            if !self.eat(b']') {
                return Err(fail(index, "expected ']' after the level"));
            }
            out.push(RawLevel { price, qty });
            index += 1;
            if self.eat(b',') {
                continue;
            }
            if self.eat(b']') {
                return Ok(());
            }
            return Err(fail(index, "expected ',' or ']'"));
        }
    }

    /// One number string of level `index`, parsed in the same pass that finds its closing quote.
    #[inline]
    fn number(&mut self, field: &'static str, index: usize, part: &str) -> Result<Decimal, String> {
        if !self.eat(b'"') {
            return Err(format!(
                "field {field}[{index}].{part}: expected a decimal string"
            ));
        }
        let start = self.at;
        match Decimal::parse_prefix(&self.bytes[start..]) {
            Ok((decimal, used)) if self.bytes.get(start + used) == Some(&b'"') => {
                self.at = start + used + 1;
                Ok(decimal)
            }
            result => {
                self.at = start - 1;
                let why = result
                    .err()
                    .unwrap_or(crate::fixed::NumberError::NotANumber);
                let shown = self
                    .string()
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                Err(format!("field {field}[{index}].{part}: {why}: {shown:?}"))
            }
        }
    }
}

/// Why a level array was refused, with the field and index.
struct LevelError<'a> {
    field: &'static str,
    index: usize,
    what: &'a str,
}

impl fmt::Display for LevelError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "field {}[{}]: {}", self.field, self.index, self.what)
    }
}
