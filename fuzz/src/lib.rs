//! Fuzz targets for the mmcore core. Each target is a function from arbitrary bytes to a set of
//! checked invariants: it returns normally on any input the core handles correctly and panics
//! (which AFL records as a crash) on anything else.
//!
//! The same functions run under AFL++ (`src/bin/afl_target.rs`, built by `cargo afl build`) and
//! under plain `cargo test` over the checked-in corpus (`tests/corpus.rs`), so a regression is
//! caught without the fuzzer installed.

pub mod book_checks;
pub mod decimal;
pub mod decoders;
pub mod router;
pub mod sync;

/// A target's check: returns on inputs the core handles correctly, panics otherwise.
pub type Check = fn(&[u8]);

/// Every target: its name (the corpus directory and the `afl_target` argument) and its check.
pub const TARGETS: [(&str, Check); 7] = [
    ("binance", decoders::binance),
    ("bybit", decoders::bybit),
    ("okx", decoders::okx),
    ("binance_fast", decoders::binance_fast),
    ("decimal", decimal::check),
    ("sync", sync::check),
    ("router", router::check),
];

/// The check of the target called `name`.
pub fn target(name: &str) -> Option<Check> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}
