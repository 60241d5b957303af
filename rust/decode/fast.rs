//! Fast path for the hottest payload, the Binance `depthUpdate` (raw or in a combined-stream
//! envelope): one strict pass of [`Cursor`] instead of the general serde decoder. Anything
//! unexpected (an unknown key, a malformed value) returns `None` and the general decoder takes
//! over, so both accept exactly the same inputs and errors still name the field.

use super::scan::Cursor;
use super::{Decoded, Kind, Scratch};

#[derive(Default)]
struct Fields<'a> {
    event: Option<&'a [u8]>,
    symbol: Option<&'a str>,
    event_time: Option<i64>,
    first_id: Option<i64>,
    last_id: Option<i64>,
    prev_id: Option<i64>,
}

/// Decodes a Binance diff-depth payload, or `None` to defer to the general decoder.
pub fn binance_depth<'a>(payload: &'a [u8], scratch: &mut Scratch) -> Option<Decoded<'a>> {
    super::in_order_first(payload, scratch, in_order, key_by_key)
}

/// Any key order the general decoder accepts, one key at a time.
fn key_by_key<'a>(payload: &'a [u8], scratch: &mut Scratch) -> Option<Decoded<'a>> {
    let mut cursor = Cursor::new(payload);
    let mut fields = Fields::default();
    members(&mut cursor, &mut fields, scratch, false)?;
    cursor.finish().ok()?;
    if fields.event != Some(b"depthUpdate".as_slice()) {
        return None;
    }
    Some(Decoded {
        kind: Kind::Diff,
        symbol: fields.symbol.filter(|s| !s.is_empty())?,
        event_time_ms: fields.event_time,
        first_id: Some(fields.first_id?),
        last_id: Some(fields.last_id?),
        prev_id: fields.prev_id,
        ..Decoded::default()
    })
}

/// The payload as Binance writes it, keys in its order and no whitespace (`E`, then `T` on
/// futures, `s`, `U`, `u`, `pu` on futures, `b`, `a`), raw or in a combined-stream envelope that
/// names the stream first: the fixed text between the values is compared in one go instead of
/// dispatching on each key. Anything else (`None`) goes through [`members`], which reads the same
/// values with the same scanner, so the result is identical where both accept.
#[inline]
pub(super) fn in_order<'a>(payload: &'a [u8], scratch: &mut Scratch) -> Option<Decoded<'a>> {
    let mut cursor = Cursor::new(payload);
    let envelope = cursor.literal(b"{\"stream\":");
    if envelope {
        // Partial-depth streams are snapshots: the general decoder classifies them.
        if super::binance::partial_depth_stream(cursor.string()?) || !cursor.literal(b",\"data\":")
        {
            return None;
        }
    }
    cursor.expect(b"{\"e\":\"depthUpdate\",\"E\":")?;
    let event_time = cursor.integer()?;
    if cursor.literal(b",\"T\":") {
        cursor.skip_integer()?;
    }
    cursor.expect(b",\"s\":")?;
    let symbol = cursor.text().filter(|s| !s.is_empty())?;
    cursor.expect(b",\"U\":")?;
    let first_id = cursor.integer()?;
    cursor.expect(b",\"u\":")?;
    let last_id = cursor.integer()?;
    let prev_id = if cursor.literal(b",\"pu\":") {
        Some(cursor.integer()?)
    } else {
        None
    };
    cursor.expect(b",\"b\":")?;
    cursor.levels("b", &mut scratch.bids).ok()?;
    cursor.expect(b",\"a\":")?;
    cursor.levels("a", &mut scratch.asks).ok()?;
    if !cursor.literal(b"}") || (envelope && !cursor.literal(b"}")) {
        return None;
    }
    cursor.finish().ok()?;
    Some(Decoded {
        kind: Kind::Diff,
        symbol,
        event_time_ms: Some(event_time),
        first_id: Some(first_id),
        last_id: Some(last_id),
        prev_id,
        ..Decoded::default()
    })
}

fn members<'a>(
    cursor: &mut Cursor<'a>,
    f: &mut Fields<'a>,
    scratch: &mut Scratch,
    nested: bool,
) -> Option<()> {
    cursor.object(|cursor, key| {
        match key {
            b"e" => f.event = Some(cursor.string()?),
            b"s" => f.symbol = Some(cursor.text()?),
            // Partial-depth streams are snapshots: the general decoder classifies them.
            b"stream" if !nested => {
                if super::binance::partial_depth_stream(cursor.string()?) {
                    return None;
                }
            }
            b"data" if !nested => members(cursor, f, scratch, true)?,
            b"E" => f.event_time = Some(cursor.integer()?),
            b"T" => {
                cursor.integer()?;
            }
            b"U" => f.first_id = Some(cursor.integer()?),
            b"u" => f.last_id = Some(cursor.integer()?),
            b"pu" => f.prev_id = Some(cursor.integer()?),
            b"b" => cursor.levels("b", &mut scratch.bids).ok()?,
            b"a" => cursor.levels("a", &mut scratch.asks).ok()?,
            _ => return None,
        }
        Some(())
    })
}
