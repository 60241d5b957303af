//! Invariants of one [`SymbolBook`] step, shared by the decoder, sync and router targets: the
//! status a payload gets must agree with what happened to the book.

use _core::book::{Book, Ladder};
use _core::decode::DecodeError;
use _core::symbol_book::{Status, SymbolBook};

/// Everything a step may change, compared before and after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    pub synced: bool,
    pub last_id: Option<i64>,
    pub book: Book,
    pub buffered: usize,
}

impl State {
    pub fn of(book: &SymbolBook) -> State {
        State {
            synced: book.is_synced(),
            last_id: book.last_update_id(),
            book: book.book().clone(),
            buffered: book.buffered_len(),
        }
    }
}

/// Checks the book alone: no zero-size level, each side strictly ordered best first, and an
/// unsynced book holds no levels (a resync starts from an empty book).
pub fn check_book(book: &SymbolBook) {
    for (name, ladder) in [("bids", &book.book().bids), ("asks", &book.book().asks)] {
        check_ladder(name, ladder);
    }
    if !book.is_synced() {
        assert!(
            book.book().bids.is_empty() && book.book().asks.is_empty(),
            "an unsynced book holds levels: {:?}",
            book.book()
        );
    }
}

fn check_ladder(name: &str, ladder: &Ladder) {
    let levels: Vec<_> = ladder.iter_best_first().collect();
    assert_eq!(levels.len(), ladder.len());
    for level in &levels {
        assert!(level.qty() > 0, "{name}: a level of size zero: {level:?}");
    }
    for pair in levels.windows(2) {
        assert!(
            pair[0].key > pair[1].key,
            "{name}: not strictly best first: {pair:?}"
        );
    }
}

/// Applies `payload` (a REST snapshot body when `snapshot`) and checks that the status agrees
/// with the change: an error, a stale or too-old snapshot, or a payload for no book (ignored,
/// trade, ticker) changes nothing; `Applied` leaves the book synced; buffering, a gap or a
/// checksum mismatch leave it unsynced.
pub fn step(book: &mut SymbolBook, payload: &[u8], snapshot: bool) -> Result<Status, DecodeError> {
    let before = State::of(book);
    let malformed = book.counters().malformed;
    let result = if snapshot {
        book.apply_snapshot(payload)
    } else {
        book.apply(payload)
    };
    check_book(book);
    check_outcome(&before, book, &result);
    match &result {
        Err(_) => assert_eq!(book.counters().malformed, malformed + 1),
        Ok(_) => assert_eq!(book.counters().malformed, malformed),
    }
    result
}

/// The status-versus-state rules of [`step`], for callers that applied the payload themselves
/// (the router).
pub fn check_outcome(before: &State, book: &SymbolBook, result: &Result<Status, DecodeError>) {
    let after = State::of(book);
    let unchanged = || {
        assert_eq!(
            before, &after,
            "{result:?} changed the book's state\nbefore: {before:?}\nafter: {after:?}"
        )
    };
    match result {
        Err(err) => {
            assert!(!err.message.is_empty(), "an error without a message");
            unchanged();
        }
        Ok(Status::Stale | Status::SnapshotTooOld | Status::Ignored) => unchanged(),
        Ok(Status::Trade | Status::Ticker) => unchanged(),
        Ok(Status::Applied) => assert!(after.synced, "Applied but not synced"),
        Ok(Status::Buffered) => {
            assert!(!after.synced, "Buffered while synced");
            assert!(after.buffered > 0, "Buffered but the buffer is empty");
        }
        Ok(Status::BufferOverflow | Status::Gap | Status::ChecksumMismatch) => {
            assert!(!after.synced, "{result:?} but still synced")
        }
        Ok(Status::Malformed) => panic!("Malformed is a batch status, not a step result"),
    }
}
