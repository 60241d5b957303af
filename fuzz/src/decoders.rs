//! Venue decoder targets (one per wire format) and the Binance fast path against the general
//! decoder.
//!
//! A venue target decodes the payload, checks the decoded message is self-consistent and that
//! decoding is a pure function of the payload (a dirty scratch leaks nothing), then feeds it to
//! books of the format's venues, fresh and synced by the payload itself, as a websocket message
//! and as a REST body, with and without a fixed grid: every step is checked by
//! [`crate::book_checks::step`].

use _core::decode::{binance_paths, decode, Decoded, Format, Kind, RawLevel, RawTrade, Scratch};
use _core::fixed::{Decimal, MAX_DECIMALS};
use _core::symbol_book::{Config, SymbolBook, Venue};

use crate::book_checks::step;

/// Binance spot and futures (one decoder; the sync rules differ).
pub fn binance(data: &[u8]) {
    venue_decoder(
        Format::Binance,
        &[Venue::BinanceSpot, Venue::BinanceUsdm],
        data,
    );
}

/// Bybit spot and linear (one decoder and one sync rule).
pub fn bybit(data: &[u8]) {
    venue_decoder(Format::Bybit, &[Venue::BybitLinear], data);
}

/// OKX.
pub fn okx(data: &[u8]) {
    venue_decoder(Format::Okx, &[Venue::Okx], data);
}

/// The two book configurations every payload meets: the precision of the strings, and a fixed
/// grid with a one-diff buffer (off-grid refusals, buffer overflow).
fn configs() -> [Config; 2] {
    let grid = |mantissa, decimals| Some(Decimal { mantissa, decimals });
    [
        Config::default(),
        Config {
            max_buffer: 1,
            tick_size: grid(1, 4),
            lot_size: grid(1, 3),
            ..Config::default()
        },
    ]
}

fn venue_decoder(format: Format, venues: &[Venue], data: &[u8]) {
    let mut scratch = Scratch::default();
    let first = decode(format, data, &mut scratch);
    let symbol = match &first {
        Ok(decoded) => {
            check_decoded(format, decoded, &scratch);
            decoded.symbol.to_owned()
        }
        Err(err) => {
            assert!(!err.message.is_empty(), "an error without a message");
            assert!(
                scratch.bids.is_empty()
                    && scratch.asks.is_empty()
                    && scratch.trades.is_empty()
                    && scratch.ticker.is_none(),
                "an error left levels in the scratch: {scratch:?}"
            );
            String::new()
        }
    };
    let mut dirty = Scratch::default();
    dirty.bids.push(RawLevel::default());
    dirty.asks.push(RawLevel::default());
    dirty.trades.push(RawTrade::default());
    dirty.ticker = Some((RawLevel::default(), RawLevel::default()));
    let again = decode(format, data, &mut dirty);
    assert_eq!(first, again, "decoding twice differs");
    assert_eq!(
        (
            &scratch.bids,
            &scratch.asks,
            &scratch.trades,
            scratch.ticker
        ),
        (&dirty.bids, &dirty.asks, &dirty.trades, dirty.ticker),
        "a used scratch changed the result"
    );
    let symbol = if symbol.is_empty() {
        "BTCUSDT"
    } else {
        &symbol
    };
    // Each venue meets each configuration once (by position when there are several venues:
    // every book costs execution speed).
    let books = configs()
        .into_iter()
        .enumerate()
        .map(|(i, config)| (venues[i % venues.len()], config));
    for (venue, config) in books {
        let mut book = SymbolBook::new(symbol, venue, config).expect("valid config");
        // Unsynced (a diff is buffered), then synced by the payload when it is a snapshot
        // (replaying what was buffered), then the payload again on the synced book.
        let _ = step(&mut book, data, false);
        let _ = step(&mut book, data, true);
        let _ = step(&mut book, data, false);
    }
}

/// A decoded message's parts agree with its kind, and every number is a valid [`Decimal`].
fn check_decoded(format: Format, decoded: &Decoded, scratch: &Scratch) {
    let decimals = scratch
        .bids
        .iter()
        .chain(&scratch.asks)
        .chain(scratch.ticker.iter().flat_map(|(b, a)| [b, a]))
        .flat_map(|l| [l.price, l.qty])
        .chain(scratch.trades.iter().flat_map(|t| [t.price, t.qty]));
    for value in decimals {
        assert!(value.decimals <= MAX_DECIMALS, "{value:?}");
    }
    match decoded.kind {
        Kind::Trade => assert!(!scratch.trades.is_empty(), "a trade message without trades"),
        Kind::Ticker => assert!(scratch.ticker.is_some(), "a ticker without prices"),
        Kind::Diff if format == Format::Binance => {
            assert!(!decoded.symbol.is_empty(), "a Binance diff without symbol");
            assert!(decoded.first_id.is_some() && decoded.last_id.is_some());
        }
        Kind::Diff if format == Format::Bybit => assert!(decoded.last_id.is_some()),
        _ => {}
    }
}

/// The Binance fast path against the general decoder. The fast path may defer (`None`) on any
/// input; whatever it accepts, the general decoder accepts with the same message and the same
/// levels. And `decode` (fast path first, general decoder on deferral) accepts and refuses
/// exactly what the general decoder does, with the same result or the same error.
pub fn binance_fast(data: &[u8]) {
    let trimmed = data.trim_ascii();
    let mut general_scratch = Scratch::default();
    let general = binance_paths::general(trimmed, &mut general_scratch);
    let mut fast_scratch = Scratch::default();
    if let Some(fast) = binance_paths::fast(trimmed, &mut fast_scratch) {
        assert_eq!(
            general.as_ref().ok(),
            Some(&fast),
            "the fast path accepted what the general decoder gave as {general:?}"
        );
        assert_eq!(fast.kind, Kind::Diff);
        assert_eq!(
            (&fast_scratch.bids, &fast_scratch.asks),
            (&general_scratch.bids, &general_scratch.asks),
            "the fast path read other levels"
        );
    }
    if trimmed == b"ping" || trimmed == b"pong" {
        // Text heartbeats are answered before either decoder runs.
        return;
    }
    let mut scratch = Scratch::default();
    let combined = decode(Format::Binance, data, &mut scratch);
    match (&combined, &general) {
        (Ok(c), Ok(g)) => {
            assert_eq!(c, g);
            assert_eq!(
                (
                    &scratch.bids,
                    &scratch.asks,
                    &scratch.trades,
                    scratch.ticker
                ),
                (
                    &general_scratch.bids,
                    &general_scratch.asks,
                    &general_scratch.trades,
                    general_scratch.ticker
                )
            );
        }
        (Err(c), Err(g)) => assert_eq!(c, g),
        _ => panic!("decode gave {combined:?}, the general decoder {general:?}"),
    }
}
