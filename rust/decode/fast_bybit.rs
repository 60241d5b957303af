//! Fast path for Bybit v5 `orderbook.{N}.{symbol}` snapshots and deltas: one strict pass of
//! [`Cursor`], like the Binance one in `fast.rs`. Anything unexpected returns `None` and the
//! general decoder (`bybit.rs`) takes over, so both accept the same inputs with the same result.

use super::scan::Cursor;
use super::{Decoded, Kind, Scratch};

#[derive(Default)]
struct Fields<'a> {
    topic: Option<&'a str>,
    kind: Option<&'a [u8]>,
    ts: Option<i64>,
    symbol: Option<&'a str>,
    update_id: Option<i64>,
}

/// Decodes a Bybit order-book payload, or `None` to defer to the general decoder.
pub fn bybit_book<'a>(payload: &'a [u8], scratch: &mut Scratch) -> Option<Decoded<'a>> {
    super::in_order_first(payload, scratch, in_order, key_by_key)
}

/// Any key order the general decoder accepts, one key at a time.
fn key_by_key<'a>(payload: &'a [u8], scratch: &mut Scratch) -> Option<Decoded<'a>> {
    let mut cursor = Cursor::new(payload);
    let mut f = Fields::default();
    message(&mut cursor, &mut f, scratch)?;
    cursor.finish().ok()?;
    decoded(&f)
}

/// The payload as Bybit writes it, keys in its order and no whitespace: `topic`, then `ts` and
/// `type` (spot) or `type` and `ts` (linear), then `data` with `s`, `b`, `a`, `u`, `seq`, then
/// `cts` when sent. The fixed text between the values is compared in one go instead of
/// dispatching on each key; anything else (`None`) goes through [`message`], which reads the
/// same values with the same scanner, so the result is identical where both accept.
#[inline]
pub(super) fn in_order<'a>(payload: &'a [u8], scratch: &mut Scratch) -> Option<Decoded<'a>> {
    let mut cursor = Cursor::new(payload);
    let mut f = Fields::default();
    cursor.expect(b"{\"topic\":")?;
    f.topic = Some(cursor.text()?);
    if cursor.literal(b",\"ts\":") {
        f.ts = Some(cursor.integer()?);
        cursor.expect(b",\"type\":")?;
        f.kind = Some(kind(&mut cursor)?);
    } else if cursor.literal(b",\"type\":") {
        f.kind = Some(kind(&mut cursor)?);
        cursor.expect(b",\"ts\":")?;
        f.ts = Some(cursor.integer()?);
    } else {
        return None;
    }
    cursor.expect(b",\"data\":{\"s\":")?;
    f.symbol = Some(cursor.text()?);
    cursor.expect(b",\"b\":")?;
    cursor.levels("data.b", &mut scratch.bids).ok()?;
    cursor.expect(b",\"a\":")?;
    cursor.levels("data.a", &mut scratch.asks).ok()?;
    cursor.expect(b",\"u\":")?;
    f.update_id = Some(cursor.integer()?);
    // `seq` and `cts` are not used: checked, not converted.
    cursor.expect(b",\"seq\":")?;
    cursor.skip_integer()?;
    cursor.expect(b"}")?;
    if cursor.literal(b",\"cts\":") {
        cursor.skip_integer()?;
    }
    cursor.expect(b"}")?;
    cursor.finish().ok()?;
    decoded(&f)
}

/// The `type` string: its two usual values compared whole, anything else read as a string.
#[inline(always)]
fn kind<'a>(cursor: &mut Cursor<'a>) -> Option<&'a [u8]> {
    if cursor.literal(b"\"delta\"") {
        return Some(b"delta");
    }
    if cursor.literal(b"\"snapshot\"") {
        return Some(b"snapshot");
    }
    cursor.string()
}

/// The message the fields describe, as the general decoder reads them.
#[inline]
fn decoded<'a>(f: &Fields<'a>) -> Option<Decoded<'a>> {
    // The topic's parts as the general decoder splits them: `orderbook`, the depth, the symbol
    // (split only when `data.s` does not name the symbol).
    let topic = f.topic?;
    if !topic.starts_with("orderbook") || topic.as_bytes().get(9).is_some_and(|&b| b != b'.') {
        return None;
    }
    let symbol = match f.symbol.filter(|s| !s.is_empty()) {
        Some(symbol) => symbol,
        None => topic.split('.').nth(2).unwrap_or_default(),
    };
    let id = f.update_id?;
    let kind = match f.kind.unwrap_or_default() {
        // u == 1: the service restarted; the message replaces the book.
        _ if id == 1 => Kind::Snapshot,
        b"snapshot" => Kind::Snapshot,
        b"delta" => Kind::Diff,
        _ => return None,
    };
    Some(Decoded {
        kind,
        symbol,
        event_time_ms: f.ts,
        first_id: Some(id),
        last_id: Some(id),
        ..Decoded::default()
    })
}

fn message<'a>(cursor: &mut Cursor<'a>, f: &mut Fields<'a>, scratch: &mut Scratch) -> Option<()> {
    cursor.object(|cursor, key| {
        match key {
            b"topic" => f.topic = Some(cursor.text()?),
            b"type" => f.kind = Some(cursor.string()?),
            b"ts" => f.ts = Some(cursor.int_or_text()?),
            b"data" => data(cursor, f, scratch)?,
            // `cts` and anything else the venue adds, when it is a plain scalar.
            _ => cursor.skip_scalar()?,
        }
        Some(())
    })
}

fn data<'a>(cursor: &mut Cursor<'a>, f: &mut Fields<'a>, scratch: &mut Scratch) -> Option<()> {
    cursor.object(|cursor, key| {
        match key {
            b"s" => f.symbol = Some(cursor.text()?),
            b"u" => f.update_id = Some(cursor.int_or_text()?),
            b"b" => cursor.levels("data.b", &mut scratch.bids).ok()?,
            b"a" => cursor.levels("data.a", &mut scratch.asks).ok()?,
            // `seq`, `cts` and anything else the venue adds, when it is a plain scalar.
            _ => cursor.skip_scalar()?,
        }
        Some(())
    })
}
