//! Fast path for OKX v5 order-book pushes (`books*` snapshot/update, `books5`, `bbo-tbt`): one
//! strict pass of [`Cursor`], like the Binance one in `fast.rs`. Anything unexpected (control
//! events, REST bodies, trades, several books) returns `None` and the general decoder (`okx.rs`)
//! takes over, so both accept the same inputs with the same result.

use super::scan::Cursor;
use super::{Decoded, Kind, Scratch};

#[derive(Default)]
struct Fields<'a> {
    channel: &'a [u8],
    inst_id: &'a str,
    action: &'a [u8],
    books: usize,
    ts: Option<i64>,
    checksum: Option<i64>,
    seq_id: Option<i64>,
    prev_seq_id: Option<i64>,
}

/// Decodes an OKX order-book push, or `None` to defer to the general decoder.
pub fn okx_book<'a>(payload: &'a [u8], scratch: &mut Scratch) -> Option<Decoded<'a>> {
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

/// A `books*` push as OKX writes it, keys in its order and no whitespace: `arg` with `channel`
/// and `instId`, `action`, then one book with `asks`, `bids`, `ts` and, when sent, `checksum`,
/// `prevSeqId` and `seqId`. The fixed text between the values is compared in one go instead of
/// dispatching on each key; anything else (`None`) goes through [`message`], which reads the
/// same values with the same scanner, so the result is identical where both accept.
#[inline]
pub(super) fn in_order<'a>(payload: &'a [u8], scratch: &mut Scratch) -> Option<Decoded<'a>> {
    let mut cursor = Cursor::new(payload);
    let mut f = Fields::default();
    cursor.expect(b"{\"arg\":{\"channel\":")?;
    // The full-depth channel compared whole; the others read as a string.
    f.channel = if cursor.literal(b"\"books\"") {
        b"books"
    } else {
        cursor.string()?
    };
    cursor.expect(b",\"instId\":")?;
    f.inst_id = cursor.text()?;
    cursor.expect(b"},\"action\":")?;
    // The two actions compared whole; anything else read as a string.
    f.action = if cursor.literal(b"\"update\"") {
        b"update"
    } else if cursor.literal(b"\"snapshot\"") {
        b"snapshot"
    } else {
        cursor.string()?
    };
    cursor.expect(b",\"data\":[{\"asks\":")?;
    cursor.levels("asks", &mut scratch.asks).ok()?;
    cursor.expect(b",\"bids\":")?;
    cursor.levels("bids", &mut scratch.bids).ok()?;
    f.books = 1;
    cursor.expect(b",\"ts\":")?;
    f.ts = Some(cursor.int_or_text()?);
    if cursor.literal(b",\"checksum\":") {
        f.checksum = Some(cursor.int_or_text()?);
    }
    if cursor.literal(b",\"prevSeqId\":") {
        f.prev_seq_id = Some(cursor.int_or_text()?);
    }
    if cursor.literal(b",\"seqId\":") {
        f.seq_id = Some(cursor.int_or_text()?);
    }
    cursor.expect(b"}]}")?;
    cursor.finish().ok()?;
    decoded(&f)
}

/// The message the fields describe, as the general decoder reads them.
#[inline]
fn decoded<'a>(f: &Fields<'a>) -> Option<Decoded<'a>> {
    let book_channel = f.channel.starts_with(b"books") || f.channel == b"bbo-tbt";
    if !book_channel || f.books != 1 {
        return None;
    }
    let kind = match f.action {
        b"update" => Kind::Diff,
        // books5 and bbo-tbt push whole snapshots without an action.
        b"snapshot" | b"" => Kind::Snapshot,
        _ => return None,
    };
    Some(Decoded {
        kind,
        symbol: f.inst_id,
        event_time_ms: f.ts,
        first_id: f.seq_id,
        last_id: f.seq_id,
        prev_id: f.prev_seq_id,
        checksum: f.checksum.map(i32::try_from).transpose().ok()?,
    })
}

fn message<'a>(cursor: &mut Cursor<'a>, f: &mut Fields<'a>, scratch: &mut Scratch) -> Option<()> {
    cursor.object(|cursor, key| {
        match key {
            b"arg" => cursor.object(|cursor, key| {
                match key {
                    b"channel" => f.channel = cursor.string()?,
                    b"instId" => f.inst_id = cursor.text()?,
                    _ => cursor.skip_scalar()?,
                }
                Some(())
            })?,
            b"action" => f.action = cursor.string()?,
            b"data" => data(cursor, f, scratch)?,
            // REST bodies (`code`, `msg`) and control messages (`event`) are the general
            // decoder's; so is any key it reads with a type of its own.
            b"code" | b"msg" | b"event" => return None,
            _ => cursor.skip_scalar()?,
        }
        Some(())
    })
}

/// `data`: an array of book objects (exactly one is accepted, checked by the caller).
fn data<'a>(cursor: &mut Cursor<'a>, f: &mut Fields<'a>, scratch: &mut Scratch) -> Option<()> {
    if !cursor.eat(b'[') {
        return None;
    }
    if cursor.eat(b']') {
        return Some(());
    }
    loop {
        let mut is_book = false;
        cursor.object(|cursor, key| {
            match key {
                b"bids" => {
                    is_book = true;
                    cursor.levels("bids", &mut scratch.bids).ok()?;
                }
                b"asks" => {
                    is_book = true;
                    cursor.levels("asks", &mut scratch.asks).ok()?;
                }
                b"ts" => f.ts = Some(cursor.int_or_text()?),
                b"checksum" => f.checksum = Some(cursor.int_or_text()?),
                b"seqId" => f.seq_id = Some(cursor.int_or_text()?),
                b"prevSeqId" => f.prev_seq_id = Some(cursor.int_or_text()?),
                b"instId" => f.inst_id = cursor.text()?,
                // Trade fields are typed by the general decoder: a book never has them.
                b"px" | b"sz" | b"side" => return None,
                _ => cursor.skip_scalar()?,
            }
            Some(())
        })?;
        if !is_book {
            return None;
        }
        f.books += 1;
        if cursor.eat(b',') {
            continue;
        }
        return cursor.eat(b']').then_some(());
    }
}
