//! The multi-symbol router against one standalone [`SymbolBook`] per symbol.
//!
//! Input: a header line `VENUE SYM1,SYM2,...`, then one payload per line; a line `>SYM BODY` is
//! a REST snapshot for `SYM`. Construction must succeed exactly for a non-empty list of
//! distinct (case-insensitively), non-empty symbols. Then every payload routed to a book must
//! give the same result as applying it to that symbol's standalone twin, leaving both in the
//! same state; a payload the router does not route or refuses leaves every book unchanged; a
//! decode error is the decoder's own error; and the router's counters add up.

use _core::decode::{decode, DecodeError, Scratch};
use _core::router::{Router, RouterCounters};
use _core::symbol_book::{Config, Status, SymbolBook, Venue};

use crate::book_checks::{check_book, check_outcome, State};

/// Most symbols a fuzz input may list (more only slows the search).
const MAX_SYMBOLS: usize = 8;

/// Runs the input described in the module docs.
pub fn check(data: &[u8]) {
    let mut lines = data.split(|&b| b == b'\n');
    let Some(Ok(header)) = lines.next().map(std::str::from_utf8) else {
        return;
    };
    let Some((venue, symbols)) = header.split_once(' ') else {
        return;
    };
    let Some(venue) = Venue::parse(venue) else {
        return;
    };
    let symbols: Vec<&str> = symbols.split(',').collect();
    if symbols.len() > MAX_SYMBOLS {
        return;
    }
    let config = Config::default();
    let valid = symbols
        .iter()
        .enumerate()
        .all(|(i, s)| !s.is_empty() && !symbols[..i].iter().any(|t| t.eq_ignore_ascii_case(s)));
    let mut router = match Router::new(venue, &symbols, &config) {
        Ok(router) => {
            assert!(valid, "a router was built for {symbols:?}");
            router
        }
        Err(err) => {
            assert!(!valid, "no router for {symbols:?}: {err}");
            return;
        }
    };
    let mut twins: Vec<SymbolBook> = symbols
        .iter()
        .map(|s| SymbolBook::new(s, venue, config.clone()).expect("valid config"))
        .collect();
    let mut expected = RouterCounters::default();
    for line in lines {
        let before: Vec<State> = router.books().iter().map(State::of).collect();
        if let Some(rest) = line.strip_prefix(b">") {
            snapshot_line(&mut router, &mut twins, rest, &before, &mut expected);
        } else {
            payload_line(venue, &mut router, &mut twins, line, &before, &mut expected);
        }
        assert_eq!(router.counters(), &expected, "router counters");
        for book in router.books() {
            check_book(book);
        }
    }
}

fn snapshot_line(
    router: &mut Router,
    twins: &mut [SymbolBook],
    line: &[u8],
    before: &[State],
    expected: &mut RouterCounters,
) {
    let Ok(text) = std::str::from_utf8(line) else {
        return;
    };
    let (symbol, body) = text.split_once(' ').unwrap_or((text, ""));
    let index = twins
        .iter()
        .position(|t| t.symbol.eq_ignore_ascii_case(symbol));
    let result = router.apply_snapshot(symbol, body.as_bytes());
    let (Some(i), Some(result)) = (index, &result) else {
        assert!(
            index.is_none() && result.is_none(),
            "snapshot for {symbol:?}: book {index:?}, result {result:?}"
        );
        unchanged(router, before, None);
        return;
    };
    assert_eq!(&twins[i].apply_snapshot(body.as_bytes()), result);
    same_state(router, twins, i);
    check_outcome(&before[i], &router.books()[i], result);
    unchanged(router, before, Some(i));
    match result {
        Ok(_) => expected.routed += 1,
        Err(err) => expected.refused[err.kind as usize] += 1,
    }
}

fn payload_line(
    venue: Venue,
    router: &mut Router,
    twins: &mut [SymbolBook],
    line: &[u8],
    before: &[State],
    expected: &mut RouterCounters,
) {
    let result = router.apply(line);
    match &result {
        Ok((Some(i), status)) => {
            let i = *i;
            assert_eq!(twins[i].apply(line), Ok(*status), "router and book differ");
            same_state(router, twins, i);
            check_outcome(&before[i], &router.books()[i], &Ok(*status));
            unchanged(router, before, Some(i));
            expected.routed += 1;
        }
        Ok((None, status)) => {
            assert_eq!(*status, Status::Ignored);
            unchanged(router, before, None);
            expected.unrouted += 1;
            let mut scratch = Scratch::default();
            let decoded = decode(venue.format(), line, &mut scratch).expect("routing decoded it");
            if decoded.kind != _core::decode::Kind::Other {
                assert!(
                    !twins
                        .iter()
                        .any(|t| t.symbol.eq_ignore_ascii_case(decoded.symbol)),
                    "{:?} names a book of this router but was not routed",
                    decoded.symbol
                );
                expected.unknown_symbol += 1;
            }
        }
        Err(err) => {
            unchanged(router, before, None);
            refused(venue, twins, line, err, expected);
        }
    }
}

/// A refused payload: at decode, every book would refuse it with the decoder's error; at the
/// book, exactly the twin of its symbol refuses it the same way.
fn refused(
    venue: Venue,
    twins: &mut [SymbolBook],
    line: &[u8],
    err: &DecodeError,
    expected: &mut RouterCounters,
) {
    expected.refused[err.kind as usize] += 1;
    let mut scratch = Scratch::default();
    match decode(venue.format(), line, &mut scratch) {
        Err(decode_err) => {
            assert_eq!(&decode_err, err);
            expected.malformed += 1;
        }
        Ok(_) => {
            let results: Vec<_> = twins.iter_mut().map(|t| t.apply(line)).collect();
            let refusing = results.iter().filter(|r| r.as_ref().err() == Some(err));
            assert_eq!(refusing.count(), 1, "{err:?}: books gave {results:?}");
        }
    }
}

/// The router's book `i` and its twin are in the same state.
fn same_state(router: &Router, twins: &[SymbolBook], i: usize) {
    assert_eq!(
        State::of(&router.books()[i]),
        State::of(&twins[i]),
        "router book {i} and its twin differ"
    );
}

/// Every book except `except` is as it was.
fn unchanged(router: &Router, before: &[State], except: Option<usize>) {
    for (i, (book, was)) in router.books().iter().zip(before).enumerate() {
        if Some(i) != except {
            assert_eq!(&State::of(book), was, "book {i} changed");
        }
    }
}
