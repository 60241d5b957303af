//! A strict byte scanner for the few JSON shapes on the hot path: level arrays and flat
//! objects of strings and integers. Anything it does not expect is refused, and the caller falls
//! back to the general serde decoder, which names the problem precisely.

use std::fmt;

use super::block::{self, below, Masks};
use super::RawLevel;
use crate::fixed::{digit_run, Decimal, POW10};

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
        // One-character strings (OKX's per-level counts) need no block.
        if let Some(&[b'"', c, b'"']) = self.bytes.get(self.at..self.at + 3) {
            if is_plain(c) {
                self.at += 3;
                return Some(&self.bytes[self.at - 2..self.at - 1]);
            }
        }
        let before = self.at;
        if !self.eat(b'"') {
            return None;
        }
        let start = self.at;
        // A block at a time: the first quote closes the string if no special byte comes
        // before it; most strings end in the first block.
        let mut from = start;
        loop {
            let masks = block::classify(&block::load(self.bytes, from));
            if masks.quote != 0 {
                let len = masks.quote.trailing_zeros();
                if masks.special & below(len) != 0 {
                    break;
                }
                let end = from + len as usize;
                self.at = end + 1;
                return Some(&self.bytes[start..end]);
            }
            if masks.special != 0 || from + block::WIDTH >= self.bytes.len() {
                break;
            }
            from += block::WIDTH;
        }
        self.at = before;
        None
    }

    /// [`Cursor::string`] as text, for the values kept as `&str` (symbols, topics). The
    /// scanner returns printable ASCII only, so the UTF-8 check never fails here; it stays
    /// checked (no `unsafe`): comparing symbols and topics as bytes would save it (~100
    /// instructions per message).
    #[inline]
    pub fn text(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.string()?).ok()
    }

    /// A JSON integer of up to 18 digits (larger ones go to the general decoder).
    #[inline]
    pub fn integer(&mut self) -> Option<i64> {
        if let Some((block, len)) = self.short_integer() {
            self.at += len;
            return Some(digit_run(&block, 0, len) as i64);
        }
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

    /// Skips a JSON integer whose value the caller does not use (Bybit's `seq` and `cts`),
    /// accepting exactly what [`Cursor::integer`] accepts without converting its digits.
    #[inline]
    pub fn skip_integer(&mut self) -> Option<()> {
        if let Some((_, len)) = self.short_integer() {
            self.at += len;
            return Some(());
        }
        self.integer().map(drop)
    }

    /// The common integer, up to 15 digits without a sign, from one block: the block and the
    /// length of its digits. `None` leaves everything else to [`Cursor::integer`]'s byte-wise
    /// parser (which also refuses a leading zero, a fraction and an exponent).
    #[inline(always)]
    fn short_integer(&self) -> Option<([u8; block::WIDTH], usize)> {
        let block = block::load(self.bytes, self.at);
        let len = (!block::classify(&block).digit).trailing_zeros() as usize;
        let leading_zero = len > 1 && block[0] == b'0';
        // A fraction or exponent makes a float, which no integer field accepts.
        let ok = (1..block::WIDTH).contains(&len)
            && !leading_zero
            && !matches!(block[len], b'.' | b'e' | b'E');
        ok.then_some((block, len))
    }

    /// An integer written either as a JSON integer or, as OKX does, as a string of 1 to 18
    /// ASCII digits: the general decoder reads both (`IntSeed`); signs and other spellings
    /// its string parser would take are left to it.
    #[inline]
    pub fn int_or_text(&mut self) -> Option<i64> {
        if self.bytes.get(self.at) == Some(&b'"') {
            // The common case, up to 15 digits, from one block.
            let block = block::load(self.bytes, self.at + 1);
            let masks = block::classify(&block);
            let len = masks.quote.trailing_zeros();
            if (1..block::WIDTH as u32).contains(&len) && masks.digit & below(len) == below(len) {
                self.at += len as usize + 2;
                return Some(digit_run(&block, 0, len as usize) as i64);
            }
        }
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
        if self.string().is_some() || self.integer().is_some() {
            return Some(());
        }
        self.plain_number()
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
            let key = self.key()?;
            member(self, key)?;
            if self.eat(b',') {
                continue;
            }
            return self.eat(b'}').then_some(());
        }
    }

    /// A member's `"key":`; the key without its quotes.
    #[inline(always)]
    fn key(&mut self) -> Option<&'a [u8]> {
        let at = self.at;
        // One-character keys written compactly (all of Binance's): one 4-byte compare.
        if let Some(&[b'"', c, b'"', b':']) = self.bytes.get(at..at + 4) {
            if is_plain(c) {
                self.at = at + 4;
                return Some(&self.bytes[at + 1..at + 2]);
            }
        }
        // Longer keys: the quote, the key and `":` from one block.
        if self.bytes.get(at) == Some(&b'"') {
            let block = block::load(self.bytes, at + 1);
            let masks = block::classify(&block);
            let len = masks.quote.trailing_zeros() as usize;
            if len + 1 < block::WIDTH
                && masks.special & below(len as u32) == 0
                && block[len + 1] == b':'
            {
                self.at = at + len + 3;
                return Some(&self.bytes[at + 1..at + 1 + len]);
            }
        }
        let key = self.string()?;
        self.eat(b':').then_some(key)
    }

    /// Consumes `text` if the payload continues with exactly it (no whitespace skipped): the
    /// fixed parts of a message written in the venue's usual key order, compared at once.
    #[inline(always)]
    pub fn literal(&mut self, text: &[u8]) -> bool {
        let found = self.bytes[self.at..].starts_with(text);
        self.at += if found { text.len() } else { 0 };
        found
    }

    /// [`Cursor::literal`] as an `Option`, for `?`: the payload must continue with `text`.
    #[inline(always)]
    pub fn expect(&mut self, text: &[u8]) -> Option<()> {
        self.literal(text).then_some(())
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
            let level = match self.compact_level() {
                Some(level) => level,
                None => self.level_start(field, index)?,
            };
            // The level's end: `]` at once (Binance, Bybit) or after OKX's two count strings
            // when each is one digit; anything else one element at a time.
            let closed = self.literal(b"]") || self.two_short_strings_closed();
            if !closed {
                self.level_end(field, index)?;
            }
            out.push(level);
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

    /// Skips `,"c","d"]`, the end of a level with two one-character strings written compactly
    /// (OKX's per-level counts, which the book ignores, are mostly "0" and a one-digit order
    /// count), with one masked 8-byte compare: `c` and `d` are checked to be in `0x30..=0x3F`
    /// (digits and `:;<=>?`, all plain string bytes). On `false` nothing is consumed and
    /// [`Cursor::level_end`] reads what follows.
    #[inline(always)]
    fn two_short_strings_closed(&mut self) -> bool {
        const MASK: u64 = u64::from_le_bytes([0xFF, 0xFF, 0xF0, 0xFF, 0xFF, 0xFF, 0xF0, 0xFF]);
        const TEXT: u64 = u64::from_le_bytes([b',', b'"', 0x30, b'"', b',', b'"', 0x30, b'"']);
        let Some(chunk) = self.bytes[self.at..].first_chunk::<9>() else {
            return false;
        };
        let (word, close) = (chunk.first_chunk::<8>(), chunk[8]);
        let found = word.is_some_and(|w| u64::from_le_bytes(*w) & MASK == TEXT) && close == b']';
        self.at += if found { 9 } else { 0 };
        found
    }

    /// The rest of level `index` after its price and size: extra strings or numbers (such as
    /// OKX's counts), then `]`; or the error naming what is wrong.
    #[inline(never)]
    fn level_end(&mut self, field: &'static str, index: usize) -> Result<(), String> {
        let fail = |what| LevelError { field, index, what }.to_string();
        while self.eat(b',') {
            if self.string().is_none() && self.plain_number().is_none() {
                return Err(fail("extra elements must be strings or numbers"));
            }
        }
        if !self.eat(b']') {
            return Err(fail("expected ']' after the level"));
        }
        Ok(())
    }

    /// `["price","size"` of a level written compactly (as venues do) with short numbers, each
    /// read from one block; on `None` nothing is consumed and [`Cursor::level_start`] reads it.
    #[inline(always)]
    fn compact_level(&mut self) -> Option<RawLevel> {
        let at = self.at;
        if self.bytes.get(at..at + 2) != Some(b"[\"") {
            return None;
        }
        let block = block::load(self.bytes, at + 2);
        let (price, len) = block_decimal(&block, block::classify(&block))?;
        let at = at + 2 + len + 1;
        if self.bytes.get(at..at + 2) != Some(b",\"") {
            return None;
        }
        let block = block::load(self.bytes, at + 2);
        let (qty, len) = block_decimal(&block, block::classify(&block))?;
        self.at = at + 2 + len + 1;
        Some(RawLevel { price, qty })
    }

    /// `[price, size` of level `index` written any other way (whitespace, long numbers), or
    /// the error naming what is wrong with it.
    #[inline(never)]
    fn level_start(&mut self, field: &'static str, index: usize) -> Result<RawLevel, String> {
        let fail = |what| LevelError { field, index, what }.to_string();
        if !self.eat(b'[') {
            return Err(fail("expected a [price, size] array"));
        }
        let price = self.number(field, index, "price")?;
        if !self.eat(b',') {
            return Err(fail("size: missing"));
        }
        let qty = self.number(field, index, "size")?;
        Ok(RawLevel { price, qty })
    }

    /// One number string of level `index`, parsed in the same pass that finds its closing quote.
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

/// A byte a fast-path string may hold: printable ASCII but for `"` and `\\`, as
/// [`block::Masks::special`] and `quote` leave it.
#[inline(always)]
fn is_plain(byte: u8) -> bool {
    (0x20..0x80).contains(&byte) && byte != b'"' && byte != b'\\'
}

/// The contents of a decimal string, `digits[.digits]` (as [`Decimal::parse`] reads it), when
/// its closing quote is in `block` and a point has at most 7 digits before it and 8 after it
/// (prices and sizes do), with their length; `None` leaves it to the byte-wise parser, which also names
/// what is wrong.
#[inline(always)]
fn block_decimal(block: &[u8; block::WIDTH], masks: Masks) -> Option<(Decimal, usize)> {
    let len = masks.quote.trailing_zeros() as usize;
    if len == 0 || len >= block::WIDTH {
        return None;
    }
    let body = below(len as u32);
    let dot = masks.dot & body;
    if (masks.digit | dot) & body != body || dot & dot.wrapping_sub(1) != 0 {
        return None;
    }
    if dot == 0 {
        let mantissa = digit_run(block, 0, len);
        return Some((
            Decimal {
                mantissa,
                decimals: 0,
            },
            len,
        ));
    }
    let point = dot.trailing_zeros() as usize;
    let decimals = len - point - 1;
    // A point needs digits on both sides.
    if point == 0 || point > 7 || decimals == 0 || decimals > 8 {
        return None;
    }
    let mantissa =
        digit_run(block, 0, point) * POW10[decimals] + digit_run(block, point + 1, decimals);
    Some((
        Decimal {
            mantissa,
            decimals: decimals as u8,
        },
        len,
    ))
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
