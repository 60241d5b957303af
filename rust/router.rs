//! The multi-symbol router of one venue connection, in Rust: decode once, find the symbol's
//! book, apply, and count every payload that reached no book or was refused.
//!
//! [`Routing`] is the part that does not own the books (the Python binding keeps each book in
//! its own Python object); [`Router`] owns its [`SymbolBook`]s for Rust callers.

use crate::decode::{self, DecodeError, Decoded, ErrorKind, Kind, Scratch};
use crate::symbol_book::{Config, Status, SymbolBook, Venue};

/// Symbols of a multi-symbol router, in registration order.
#[derive(Clone, Debug, Default)]
pub struct SymbolIndex {
    symbols: Vec<String>,
}

impl SymbolIndex {
    /// Adds a symbol; returns its index, or `None` if it is already present.
    pub fn add(&mut self, symbol: &str) -> Option<usize> {
        if self.find(symbol).is_some() {
            return None;
        }
        self.symbols.push(symbol.to_owned());
        Some(self.symbols.len() - 1)
    }

    /// Index of `symbol`. A linear scan beats hashing for the few dozen symbols one
    /// connection carries, and needs no case-folded copy.
    #[inline]
    pub fn find(&self, symbol: &str) -> Option<usize> {
        self.symbols
            .iter()
            .position(|s| s.eq_ignore_ascii_case(symbol))
    }

    pub fn symbols(&self) -> &[String] {
        &self.symbols
    }
}

/// What a router did with its payloads; never reset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouterCounters {
    /// Payloads applied to (or buffered, or found stale by) a book.
    pub routed: u64,
    /// Payloads for no book: acks, pongs, other channels, and unknown symbols.
    pub unrouted: u64,
    /// Book or trade payloads naming a symbol this router does not carry.
    pub unknown_symbol: u64,
    /// Payloads that failed to decode before routing.
    pub malformed: u64,
    /// Every refusal, at decode or at the book (grid, scale, missing `pu`, duplicate price),
    /// by [`ErrorKind`] in the order of [`ErrorKind::ALL`].
    pub refused: [u64; ErrorKind::ALL.len()],
}

impl RouterCounters {
    /// Name and value of every counter; refusals are `refused_<kind>`.
    pub fn items(&self) -> Vec<(String, u64)> {
        let mut items = vec![
            ("routed".to_owned(), self.routed),
            ("unrouted".to_owned(), self.unrouted),
            ("unknown_symbol".to_owned(), self.unknown_symbol),
            ("malformed".to_owned(), self.malformed),
        ];
        items.extend(
            ErrorKind::ALL
                .iter()
                .zip(self.refused)
                .map(|(kind, n)| (format!("refused_{}", kind.name()), n)),
        );
        items
    }

    /// Refusals of one kind.
    pub fn refused(&self, kind: ErrorKind) -> u64 {
        self.refused[kind as usize]
    }

    fn refuse(&mut self, err: &DecodeError) {
        self.refused[err.kind as usize] += 1;
    }
}

/// Decoding, symbol lookup and counting for one venue connection; the books live elsewhere.
#[derive(Debug)]
pub struct Routing {
    venue: Venue,
    index: SymbolIndex,
    scratch: Scratch,
    counters: RouterCounters,
}

/// A payload decoded and matched to the book at `index`.
pub struct Target<'a> {
    pub index: usize,
    pub decoded: Decoded<'a>,
}

impl Routing {
    /// A routing for `symbols` on `venue`: at least one, none empty, none twice (any case).
    pub fn new<S: AsRef<str>>(
        venue: Venue,
        symbols: &[S],
    ) -> Result<Self, crate::arg_error::ArgError> {
        use crate::arg_error::ArgError;
        if symbols.is_empty() {
            return Err(ArgError::new("symbols", "need at least one"));
        }
        let mut index = SymbolIndex::default();
        for symbol in symbols {
            let symbol = symbol.as_ref();
            if symbol.is_empty() {
                return Err(ArgError::new("symbols", "empty symbol"));
            }
            if index.add(symbol).is_none() {
                return Err(ArgError::new("symbols", format!("{symbol:?} given twice")));
            }
        }
        Ok(Routing {
            venue,
            index,
            scratch: Scratch::default(),
            counters: RouterCounters::default(),
        })
    }

    pub fn venue(&self) -> Venue {
        self.venue
    }

    pub fn index(&self) -> &SymbolIndex {
        &self.index
    }

    pub fn counters(&self) -> &RouterCounters {
        &self.counters
    }

    /// Decodes `payload` and finds its book; `None` for payloads no book here takes (counted).
    /// A decode error is counted as malformed and by kind.
    pub fn target<'a>(&mut self, payload: &'a [u8]) -> Result<Option<Target<'a>>, DecodeError> {
        let decoded = match decode::decode(self.venue.format(), payload, &mut self.scratch) {
            Ok(decoded) => decoded,
            Err(err) => {
                self.counters.malformed += 1;
                self.counters.refuse(&err);
                return Err(err);
            }
        };
        if decoded.kind == Kind::Other {
            self.counters.unrouted += 1;
            return Ok(None);
        }
        match self.index.find(decoded.symbol) {
            Some(index) => Ok(Some(Target { index, decoded })),
            None => {
                self.counters.unrouted += 1;
                self.counters.unknown_symbol += 1;
                Ok(None)
            }
        }
    }

    /// Applies a target found by [`Routing::target`] to its book, counting a refusal by kind.
    pub fn apply(
        &mut self,
        book: &mut SymbolBook,
        target: &Target<'_>,
    ) -> Result<Status, DecodeError> {
        let result = book.apply_decoded(&target.decoded, &self.scratch, false);
        self.count(result)
    }

    /// Applies a REST snapshot body to `book`, counting a refusal by kind.
    pub fn apply_snapshot(
        &mut self,
        book: &mut SymbolBook,
        payload: &[u8],
    ) -> Result<Status, DecodeError> {
        let result = book.apply_snapshot(payload);
        self.count(result)
    }

    fn count(&mut self, result: Result<Status, DecodeError>) -> Result<Status, DecodeError> {
        match &result {
            Ok(_) => self.counters.routed += 1,
            Err(err) => self.counters.refuse(err),
        }
        result
    }
}

/// Many symbols of one venue behind one call per message, for Rust callers.
#[derive(Debug)]
pub struct Router {
    routing: Routing,
    books: Vec<SymbolBook>,
}

impl Router {
    /// One book per symbol, each built with `config`.
    pub fn new<S: AsRef<str>>(
        venue: Venue,
        symbols: &[S],
        config: &Config,
    ) -> Result<Self, RouterError> {
        let routing = Routing::new(venue, symbols)?;
        let books = symbols
            .iter()
            .map(|s| SymbolBook::new(s.as_ref(), venue, config.clone()))
            .collect::<Result<_, _>>()?;
        Ok(Router { routing, books })
    }

    /// Applies one payload to its symbol's book: `(book index, status)`, index `None` when no
    /// book here takes it. On error every book is unchanged.
    pub fn apply(&mut self, payload: &[u8]) -> Result<(Option<usize>, Status), DecodeError> {
        let Some(target) = self.routing.target(payload)? else {
            return Ok((None, Status::Ignored));
        };
        let status = self.routing.apply(&mut self.books[target.index], &target)?;
        Ok((Some(target.index), status))
    }

    /// Applies a REST depth snapshot to `symbol`'s book (`None`: not routed here).
    pub fn apply_snapshot(
        &mut self,
        symbol: &str,
        payload: &[u8],
    ) -> Option<Result<Status, DecodeError>> {
        let i = self.routing.index.find(symbol)?;
        Some(self.routing.apply_snapshot(&mut self.books[i], payload))
    }

    /// The book of `symbol`.
    pub fn book(&self, symbol: &str) -> Option<&SymbolBook> {
        self.routing.index.find(symbol).map(|i| &self.books[i])
    }

    pub fn books(&self) -> &[SymbolBook] {
        &self.books
    }

    pub fn counters(&self) -> &RouterCounters {
        self.routing.counters()
    }
}

/// Why a router could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouterError {
    Symbols(crate::arg_error::ArgError),
    Config(DecodeError),
}

impl From<crate::arg_error::ArgError> for RouterError {
    fn from(err: crate::arg_error::ArgError) -> Self {
        RouterError::Symbols(err)
    }
}

impl From<DecodeError> for RouterError {
    fn from(err: DecodeError) -> Self {
        RouterError::Config(err)
    }
}

impl std::fmt::Display for RouterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RouterError::Symbols(err) => err.fmt(f),
            RouterError::Config(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for RouterError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::Decimal;

    #[test]
    fn finds_case_insensitively_and_refuses_duplicates() {
        let mut index = SymbolIndex::default();
        assert_eq!(index.add("BTCUSDT"), Some(0));
        assert_eq!(index.add("ETH-USDT"), Some(1));
        assert_eq!(index.add("btcusdt"), None);
        assert_eq!(index.find("btcusdt"), Some(0));
        assert_eq!(index.find("ETH-USDT"), Some(1));
        assert_eq!(index.find("XRPUSDT"), None);
    }

    fn snapshot(lid: i64, bid: &str) -> String {
        format!(
            "{{\"lastUpdateId\":{lid},\"bids\":[[\"{bid}\",\"1\"]],\"asks\":[[\"200\",\"1\"]]}}"
        )
    }

    fn combined(symbol: &str, body: &str) -> String {
        format!(
            "{{\"stream\":\"{}@depth\",\"data\":{body}}}",
            symbol.to_lowercase()
        )
    }

    fn diff(symbol: &str, u: i64, bid: &str, pu: Option<i64>) -> String {
        let pu = pu.map_or(String::new(), |p| format!(",\"pu\":{p}"));
        let body = format!(
            "{{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"{symbol}\",\"U\":{u},\"u\":{u}{pu},\"b\":[[\"{bid}\",\"2\"]],\"a\":[]}}"
        );
        combined(symbol, &body)
    }

    #[test]
    fn routes_by_symbol_and_counts_what_reaches_no_book() {
        let mut router = Router::new(
            Venue::BinanceSpot,
            &["BTCUSDT", "ETHUSDT"],
            &Config::default(),
        )
        .unwrap();
        router
            .apply_snapshot("ETHUSDT", snapshot(10, "100").as_bytes())
            .unwrap()
            .unwrap();
        let (i, status) = router
            .apply(diff("ETHUSDT", 11, "101", None).as_bytes())
            .unwrap();
        assert_eq!((i, status), (Some(1), Status::Applied));
        assert_eq!(
            router.book("ethusdt").unwrap().book().best_bid().unwrap().0,
            101
        );
        assert_eq!(router.book("BTCUSDT").unwrap().counters().applied, 0);
        // Unknown symbol, an ack, a pong: no book changes, each counted.
        assert_eq!(
            router
                .apply(diff("XRPUSDT", 1, "1", None).as_bytes())
                .unwrap(),
            (None, Status::Ignored)
        );
        router.apply(b"{\"result\":null,\"id\":1}").unwrap();
        router.apply(b"pong").unwrap();
        let c = router.counters();
        assert_eq!((c.routed, c.unrouted, c.unknown_symbol), (2, 3, 1));
        assert!(router.apply_snapshot("XRPUSDT", b"{}").is_none());
    }

    #[test]
    fn counts_every_refusal_by_kind_and_leaves_books_unchanged() {
        let config = Config {
            tick_size: Some(Decimal {
                mantissa: 5,
                decimals: 1,
            }),
            ..Config::default()
        };
        let mut router = Router::new(Venue::BinanceUsdm, &["BTCUSDT"], &config).unwrap();
        router
            .apply_snapshot("BTCUSDT", snapshot(10, "100").as_bytes())
            .unwrap()
            .unwrap();
        let before = router.book("BTCUSDT").unwrap().book().clone();
        let refused = |router: &mut Router, payload: String| {
            router.apply(payload.as_bytes()).unwrap_err().kind
        };
        assert_eq!(
            refused(&mut router, diff("BTCUSDT", 11, "100.2", Some(10))),
            ErrorKind::OffGrid
        );
        assert_eq!(
            refused(&mut router, diff("BTCUSDT", 11, "100.5", None)),
            ErrorKind::MissingField
        );
        assert_eq!(
            refused(&mut router, "{\"stream\":".into()),
            ErrorKind::BadJson
        );
        assert_eq!(
            refused(&mut router, diff("BTCUSDT", 11, "1e5", Some(10))),
            ErrorKind::NotANumber
        );
        let c = router.counters().clone();
        assert_eq!(c.refused(ErrorKind::OffGrid), 1);
        assert_eq!(c.refused(ErrorKind::MissingField), 1);
        assert_eq!(c.refused(ErrorKind::BadJson), 1);
        assert_eq!(c.refused(ErrorKind::NotANumber), 1);
        assert_eq!(c.malformed, 2, "decode-stage refusals only");
        assert_eq!(c.routed, 1);
        assert_eq!(router.book("BTCUSDT").unwrap().book(), &before);
        let names: Vec<String> = c.items().into_iter().map(|(n, _)| n).collect();
        assert!(names.contains(&"refused_off_grid".to_owned()));
        // The scale overflow kind: a price that no longer fits the book.
        let mut wide = Router::new(Venue::BinanceSpot, &["X"], &Config::default()).unwrap();
        wide.apply_snapshot("X", snapshot(1, "9000000000000000000").as_bytes())
            .unwrap()
            .unwrap();
        let err = wide
            .apply(diff("X", 2, "1.5", None).as_bytes())
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::ScaleOverflow);
        assert_eq!(wide.counters().refused(ErrorKind::ScaleOverflow), 1);
    }

    #[test]
    fn refuses_bad_symbol_lists() {
        let config = Config::default();
        let empty: [&str; 0] = [];
        assert!(Router::new(Venue::Okx, &empty, &config).is_err());
        assert!(Router::new(Venue::Okx, &[""], &config).is_err());
        assert!(Router::new(Venue::Okx, &["A", "a"], &config).is_err());
    }
}
